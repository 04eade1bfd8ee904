"""`masbot rules explain` and the daemon make the same plan for every kind of message.

Real gpg keys (the society, a partner, a moderator), a real store and SMTP for the answers.
Each message is explained first (the store as the daemon would read it), then handled by the
society; the outcome, the deciding step and the destinations must be the same.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from masbot import cli
from masbot.config.settings import load_config
from masbot.daemon import store_path
from masbot.explain import explain
from masbot.post import build as post
from masbot.relay.smtp import SmtpTransport
from masbot.signing.keyring import from_config
from masbot.signing.signer import Signer, init_key
from masbot.society import Society
from masbot.store import Store
from support import FAKE_FPRS, PARTNERS, bail_request, write_config

RULES = """\
moderators: [mods@anytown.example]
rules:
  - name: updates wait
    match: {kind: update}
    action: hold
  - name: partner housing waits
    match: {origin: partner, template: [housing]}
    action: hold
"""


def appeal_text(appeal_id: str, revision: int, *, template: str = "bail", days: int = 20,
                issued: datetime | None = None) -> str:
    """A partner's canonical appeal, issued a day ago unless told otherwise."""
    now = datetime.now(timezone.utc)
    issued = issued or now - timedelta(days=1)
    return (f"Appeal-ID: {appeal_id}\nRevision: {revision}\nSociety: Riverside MAS\n"
            f"Issued: {issued:%Y-%m-%dT%H:%M:%SZ}\nExpires: {(now + timedelta(days=days)).date()}"
            f"\nStatus: open\nUpdates-To: mas@riverside.example\nTemplate: {template}\n"
            f"Title: Riverside appeal {appeal_id} r{revision}\n"
            "Story:\nR. was arrested at the sign wave on Friday.\n")


class Partner:
    """Riverside: signs its own appeals and posts them to us."""

    def __init__(self, home: Path) -> None:
        init_key(home, "Riverside MAS", "mas@riverside.example")
        self.signer = Signer(home)
        self.n = 0

    def post(self, text: str, origin: Signer | None = None) -> bytes:
        """Riverside's post of ``text``, its own appeal or ``origin``'s that it relays."""
        fields = dict(re.findall(r"^([\w-]+): (.*)$", text, re.M))
        fpr = self.signer.fingerprint
        origin = origin or self.signer
        path = (origin.fingerprint, fpr) if origin is not self.signer else (fpr,)
        record = post.RelayRecord(origin.fingerprint, "Origin", fields["Appeal-ID"],
                                  int(fields["Revision"]), path)
        content = post.signed_content(origin.clearsign(text), record, origin.export_public())
        sig = self.signer.detach_sign(content)
        self.n += 1
        envelope = post.Envelope("Riverside MAS", "mas@riverside.example",
                                 ("mas@anytown.example",), f"[{fields['Appeal-ID']}] x",
                                 datetime.now(timezone.utc), f"<p{self.n}@riverside.example>")
        return post.assemble(content, sig.data, sig.hash_algo, envelope, f"=-b-{self.n}")


def command_mail(mod, fpr: str, text: str, n: int) -> bytes:
    return (f"From: jo@example.org\r\nSubject: moderation\r\nMessage-ID: <c{n}@example.org>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + mod.clearsign(
                text.encode(), fpr)


def update_mail(appeal_id: str, key: str) -> bytes:
    return (f"From: member@example.net\r\nSubject: update\r\nMessage-ID: <u1@example.net>\r\n"
            f"\r\nTemplate: update\r\nRefers-To: {appeal_id}\r\nUpdate-Key: {key}\r\n"
            "Status: funded\r\nStop-Sharing: yes\r\n").encode()


@pytest.fixture
def world(tmp_path, gpg_home, smtp_sink):
    own, river, mod = gpg_home(), gpg_home(), gpg_home()
    init_key(Path(own.path), "Anytown", "mas@anytown.example")
    partner = Partner(Path(river.path))
    mod_fpr = mod.gen_key("Jo Moderator <jo@example.org>")
    (tmp_path / "riverside.asc").write_text(partner.signer.export_public())
    (tmp_path / "mod.asc").write_bytes(mod.export(mod_fpr))
    sink = smtp_sink()
    files = write_config(tmp_path, Path(own.path), smtp_port=sink.port, listener_port=2599,
                         extra=RULES + f"moderator_keys:\n  - fingerprint: {mod_fpr}\n"
                         "    key_file: mod.asc\n")
    text = files.config.read_text().replace(
        f"fingerprint: {FAKE_FPRS['riverside']}\n",
        f"fingerprint: {partner.signer.fingerprint}\n    key_file: riverside.asc\n")
    files.config.write_text(text)
    return files, partner, mod, mod_fpr, sink


async def test_explain_and_the_daemon_agree_on_every_kind_of_message(world):
    files, partner, mod, mod_fpr, sink = world
    config = load_config(files.config)
    signer = Signer(config.society.gnupghome)
    store = Store(store_path(config))
    keyring = from_config(config)
    society = Society(config, store, signer, SmtpTransport(config.smtp), keyring=keyring)
    seen: list[tuple[str, str, str, tuple[str, ...]]] = []

    async def both(raw: bytes, expect_outcome: str, expect_step: str | None = None) -> None:
        told = explain(config, signer.fingerprint, raw, store_path(config))
        assert told.plan is not None, told
        done = await society.handle(raw)
        got = (told.plan.outcome, told.plan.decided_by, told.plan.destinations)
        assert got == (done.kind, done.decided_by, done.destinations), (told.plan, done)
        assert done.kind == expect_outcome, (done.kind, done.reason)
        if expect_step is not None:
            assert done.decided_by == expect_step, done.decided_by
        seen.append((done.kind, done.decided_by, done.reason, done.destinations))

    try:
        await both(bail_request("member@example.net"), "request", "rules (default)")
        answer = email.message_from_bytes(sink.messages[-1].data, policy=email.policy.default)
        text = answer.get_content()
        appeal_id = re.search(r"Appeal-ID: (\S+)", text).group(1)
        key = re.search(r"Update-Key: (\S+)", text).group(1)
        # An update under a `kind: update` rule is held, in the dry run too.
        await both(update_mail(appeal_id, key), "update", "rules (updates wait)")
        await both(update_mail(appeal_id, "Aa3-Y8_kLm2NpR5sTu7VwX9a").replace(b"<u1@", b"<u2@"),
                   "invalid", "authorise")
        # An unsigned mail from a partner's list goes to verification and is refused.
        await both(bail_request(PARTNERS["riverside"]), "refused", "verify")
        # Partner posts: relayed, held, seen, out of order, looping, stale.
        await both(partner.post(appeal_text("RIVER-2026-0001", 1)), "partner-post",
                   "rules (default)")
        await both(partner.post(appeal_text("RIVER-2026-0002", 1, template="housing")),
                   "partner-post", "rules (partner housing waits)")
        await both(partner.post(appeal_text("RIVER-2026-0001", 1)), "not-relayed", "loop")
        await both(partner.post(appeal_text("RIVER-2026-0005", 2)), "partner-post",
                   "rules (updates wait)")
        await both(partner.post(appeal_text("RIVER-2026-0005", 1)), "not-relayed",
                   "forward-only")
        # Our own appeal, relayed back to us.
        await both(partner.post(appeal_text("ANYTOWN-2026-0077", 1), origin=signer),
                   "not-relayed", "loop")
        await both(partner.post(appeal_text("RIVER-2026-0004", 1, days=-2)), "not-relayed",
                   "freshness")
        # A moderator approves the held partner appeal; the same command again is refused.
        command = ("Moderation: approve\nSociety: ANYTOWN\nAppeal-ID: RIVER-2026-0002\n"
                   "Revision: 1\nNonce: 1\n")
        await both(command_mail(mod, mod_fpr, command, 1), "moderation", "rules (moderator)")
        # Obeyed once: the revision is no longer held (the replay check is the store's too).
        await both(command_mail(mod, mod_fpr, command, 2), "refused", "held")
        await both(command_mail(mod, mod_fpr, command.replace("ANYTOWN\n", "RIVERSIDE\n"), 3),
                   "refused", "verify")
        # Replies.
        await both(b"From: a@example.net\r\nSubject: help\r\n\r\nhelp\r\n", "help", "reply")
        await both(b"From: a@example.net\r\nAuto-Submitted: auto-replied\r\nSubject: away\r\n"
                   b"\r\nAway.\r\n", "automatic", "reply")
    finally:
        keyring.close()
        store.close()
    print("\n".join(map(str, seen)))
    # A message handled before: the daemon drops it, and explain says it is a duplicate.
    raw = bail_request("member@example.net")
    path = files.config.parent / "again.eml"
    path.write_bytes(raw)
    assert cli.main(["rules", "explain", "-c", str(files.config), str(path)]) == 1
