"""Moderators decide from their own mail app (issue 19): a one-word reply, PGP/MIME-signed the
way Thunderbird and K-9 Mail build it, quoting the notice. Every forgery is refused with its
reason. Real keys, a real store, the society's own code; the notices go through SMTP."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from masbot import moderation
from masbot.config.settings import load_config
from masbot.daemon import store_path
from masbot.relay.smtp import SmtpTransport
from masbot.signing.keyring import from_config
from masbot.signing.signer import Signer, init_key
from masbot.society import Society
from masbot.store import Store
from support import bail_request, write_config

MODS = "mods@anytown.example"
HOLD_ALL = "rules:\n  - name: everything waits\n    match: {}\n    action: hold\n"
MOD = "Jo Moderator <jo@example.org>"


def quoted(notice: str) -> str:
    return "\n".join("> " + line for line in notice.split("\n"))


def thunderbird(signer: Signer, text: str, *, html: bool = True, protected: bool = True,
                from_: str = MOD) -> bytes:
    """A signed reply as Thunderbird builds it: protected headers around text and HTML."""
    plain = ("Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\n" + text.replace("\n", "\r\n"))
    inner = plain
    if html:
        inner = ("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
                 "This is a multi-part message in MIME format.\r\n--alt\r\n" + plain
                 + "\r\n--alt\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<html><body>"
                 "<p>approve</p><blockquote>the notice</blockquote></body></html>\r\n--alt--\r\n")
    if protected:
        inner = ("Content-Type: multipart/mixed; boundary=\"mix\"; protected-headers=\"v1\"\r\n"
                 f"From: {from_}\r\nTo: mas@anytown.example\r\nSubject: Re: [held]\r\n\r\n"
                 "--mix\r\n" + inner + "\r\n--mix--\r\n")
    data = inner.encode("utf-8")
    sig = signer.detach_sign(data)
    return (f"From: {from_}\r\nTo: mas@anytown.example\r\nSubject: Re: [held]\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/signed; "
            "micalg=pgp-sha512;\r\n protocol=\"application/pgp-signature\"; "
            "boundary=\"sig\"\r\n\r\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)"
            "\r\n--sig\r\n").encode() + data + (
        b"\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"OpenPGP_signature.asc\""
        b"\r\nContent-Disposition: attachment; filename=\"OpenPGP_signature.asc\"\r\n\r\n"
        + sig.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n--sig--\r\n")


@pytest.fixture
async def desk(tmp_path, gpg_home, smtp_sink):
    """A society that holds everything, its moderator's key and a stranger's."""
    own, mod_home, stranger_home = gpg_home(), gpg_home(), gpg_home()
    init_key(Path(own.path), "Anytown", "mas@anytown.example")
    init_key(Path(mod_home.path), "Jo Moderator", "jo@example.org")
    init_key(Path(stranger_home.path), "Mallory", "jo@example.org")
    mod, stranger = Signer(Path(mod_home.path)), Signer(Path(stranger_home.path))
    (tmp_path / "mod.asc").write_text(mod.export_public())
    sink = smtp_sink()
    files = write_config(tmp_path, Path(own.path), smtp_port=sink.port, extra=(
        HOLD_ALL + f"moderators: [{MODS}]\nmoderator_keys:\n  - fingerprint: {mod.fingerprint}\n"
        "    key_file: mod.asc\n"))
    config = load_config(files.config)
    store = Store(store_path(config))
    keyring = from_config(config)
    society = Society(config, store, Signer(config.society.gnupghome),
                      SmtpTransport(config.smtp), keyring=keyring)
    yield society, mod, stranger, sink
    keyring.close()
    store.close()


def notices(sink) -> list[str]:
    return [email.message_from_bytes(m.data, policy=email.policy.default).get_body(
        ("plain",)).get_content().replace("\r\n", "\n") for m in sink.messages
        if list(m.rcpt_tos) == [MODS]]


async def test_a_one_word_signed_reply_releases_the_held_appeal(desk):
    society, mod, stranger, sink = desk
    held = await society.handle(bail_request("filer@example.net", title="Held appeal"))
    assert held.action == "hold" and held.destinations == ()
    (notice,) = notices(sink)
    assert "the relay rule 'everything waits' holds it" in notice
    shown = notice.split("The appeal, as readers would see it:\n\n")[1]
    assert shown.startswith("Held appeal\n") and "Needed by: " in shown, shown
    assert "Appeal-ID:" not in shown and "-----BEGIN" not in shown
    assert "It can wait until 20" in notice and "Moderation-Ref: ANYTOWN ANYTOWN-2026-0001 1 " \
        in notice
    reply = f"approve\n\nOn Sunday, Anytown wrote:\n{quoted(notice)}\n"

    # Forgeries first: each is refused with its reason, and nothing is released.
    unsigned = (f"From: {MOD}\r\nSubject: Re: [held]\r\nContent-Type: text/plain\r\n\r\n"
                + reply.replace("\n", "\r\n")).encode()
    forged = [
        (unsigned, "the command is not signed"),
        (thunderbird(stranger, reply), "not signed by a moderator"),
        # The word outside the signed part: the signed reply quotes the notice and says nothing.
        (thunderbird(mod, f"\n{quoted(notice)}\n"), "does not start with approve"),
        (b"From: " + MOD.encode() + b"\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\nContent-Type: text/plain"
         b"\r\n\r\napprove\r\n--w\r\n" + thunderbird(mod, f"\n{quoted(notice)}\n") + b"\r\n--w--\r\n",
         "the command is not signed"),
        # Another society's notice, signed by our moderator.
        (thunderbird(mod, reply.replace("Moderation-Ref: ANYTOWN ", "Moderation-Ref: RIVERSIDE ")),
         "of the society RIVERSIDE"),
        # The reference edited to another revision: the notice's token no longer fits.
        (thunderbird(mod, reply.replace("ANYTOWN-2026-0001 1 ", "ANYTOWN-2026-0001 2 ")),
         "not held"),
        # A From that is not the signer's.
        (thunderbird(mod, reply, from_="Admin <admin@anytown.example>"), "from-mismatch"),
    ]
    for raw, why in forged:
        outcome = await society.handle(raw)
        assert outcome.kind == "refused" and why in outcome.reason, (why, outcome.reason)
    assert society.store.pending_count() == 0

    # The genuine reply: multipart/alternative inside protected headers.
    done = await society.handle(thunderbird(mod, reply))
    assert done.kind == "moderation" and done.action == "relay", done.reason
    assert len(done.destinations) == 3 and society.store.pending_count() == 3
    # The same signed reply again is not obeyed twice.
    again = await society.handle(thunderbird(mod, reply).replace(b"Re: [held]", b"Re: [held] ", 1))
    assert again.kind == "refused" and "not held" in again.reason


async def test_k9_plain_replies_reject_with_a_reason_and_held_lists_what_waits(desk):
    society, mod, _, sink = desk
    await society.handle(bail_request("one@example.net", title="First"))
    await society.handle(bail_request("two@example.net", title="Second"))
    first, second = notices(sink)
    listing = await society.handle(thunderbird(mod, "held\n", html=False, protected=False))
    assert listing.kind == "moderation" and "listed 2" in listing.reason
    answer = email.message_from_bytes(sink.messages[-1].data, policy=email.policy.default)
    text = answer.get_content()
    assert "ANYTOWN-2026-0001 revision 1: First" in text and "0002 revision 1: Second" in text
    # K-9 Mail with OpenKeychain: the signed part is the text/plain itself.
    reply = f"Reject: the story names the person\n\n{quoted(second)}\n"
    done = await society.handle(thunderbird(mod, reply, html=False, protected=False))
    assert done.kind == "moderation" and done.action == "rejected", done.reason
    assert society.store.pending_count() == 0
    listing = await society.handle(thunderbird(mod, "held\n\n-- \nJo\n", html=False))
    assert "listed 1" in listing.reason


def test_a_reply_is_read_only_where_it_belongs_to_the_command():
    ref = moderation.reference("ANYTOWN", "ANYTOWN-2026-0001", 1, "d" * 64)
    read = moderation.read_command(f"reject: duplicate\n> approve\n> {ref}\n", "ANYTOWN", "F")
    assert isinstance(read, moderation.Command) and read.verb == "reject"
    assert read.note == "duplicate" and read.nonce == ref.split()[-1]
    assert "does not start" in moderation.read_command(f"> approve\n> {ref}\n", "ANYTOWN", "F")
    two = moderation.reference("ANYTOWN", "ANYTOWN-2026-0002", 1, "e" * 64)
    assert "more than one" in moderation.read_command(f"approve\n> {ref}\n> {two}\n", "ANYTOWN",
                                                      "F")
    assert "RIVERSIDE" in moderation.read_command(f"approve\n{ref}\n", "RIVERSIDE", "F")


async def test_the_operator_lists_approves_and_rejects_from_the_shell(desk, tmp_path):
    society, _, _, sink = desk
    await society.handle(bail_request("one@example.net", title="First"))
    await society.handle(bail_request("two@example.net", title="Second"))
    config = str(tmp_path / "config.yaml")

    def masbot(*argv: str) -> tuple[int, str]:
        out = subprocess.run([sys.executable, "-m", "masbot", *argv, "-c", config],
                             capture_output=True, text=True, timeout=60)
        assert "Traceback" not in out.stderr, out.stderr
        return out.returncode, out.stdout + out.stderr

    code, out = masbot("held")
    assert code == 0 and "ANYTOWN-2026-0001  revision 1" in out and "Second" in out
    code, out = masbot("approve", "anytown-2026-0001")
    assert code == 0 and "approved ANYTOWN-2026-0001" in out and "3 list(s)" in out, out
    code, out = masbot("reject", "ANYTOWN-2026-0002", "--revision", "1")
    assert code == 0 and "rejected ANYTOWN-2026-0002" in out, out
    code, out = masbot("approve", "ANYTOWN-2026-0002")
    assert code == 1 and "not held" in out, out
    code, out = masbot("held")
    assert code == 0 and "no appeal waits" in out
    assert society.store.pending_count() == 3


class GpgSigner:
    """Signs as a mail app does, with a key of a throwaway home (optionally in the past)."""

    def __init__(self, home, fpr: str, when: str | None = None) -> None:
        self.home, self.fpr, self.when = home, fpr, when

    def detach_sign(self, data: bytes):
        from types import SimpleNamespace
        faked = ["--faked-system-time", self.when] if self.when else []
        out = self.home.run(*faked, "--pinentry-mode", "loopback", "--passphrase", "",
                            "--digest-algo", "SHA512", "--armor", "--detach-sign", "-u",
                            self.fpr, input=data).stdout
        return SimpleNamespace(data=out, hash_algo="10")


async def test_expired_and_revoked_moderator_keys_are_refused(tmp_path, gpg_home, smtp_sink):
    from spoof.corpus import FAKED, _gen, _revoked_cert
    own, old, gone = gpg_home(), gpg_home(), gpg_home()
    init_key(Path(own.path), "Anytown", "mas@anytown.example")
    expired = _gen(old, MOD, "--faked-system-time", FAKED, expire="1d")
    revoked = _gen(gone, "Jo Moderator <jo@example.org>")
    (tmp_path / "old.asc").write_bytes(old.export(expired))
    (tmp_path / "gone.asc").write_bytes(_revoked_cert(gone, revoked))
    sink = smtp_sink()
    files = write_config(tmp_path, Path(own.path), smtp_port=sink.port, extra=(
        HOLD_ALL + f"moderators: [{MODS}]\nmoderator_keys:\n"
        f"  - fingerprint: {expired}\n    key_file: old.asc\n"
        f"  - fingerprint: {revoked}\n    key_file: gone.asc\n"))
    config = load_config(files.config)
    store = Store(store_path(config))
    society = Society(config, store, Signer(config.society.gnupghome),
                      SmtpTransport(config.smtp))
    try:
        await society.handle(bail_request("filer@example.net", title="Held appeal"))
        (notice,) = notices(sink)
        reply = f"approve\n\n{quoted(notice)}\n"
        for signer, why in ((GpgSigner(old, expired, FAKED), "expired"),
                            (GpgSigner(gone, revoked), "revoked")):
            outcome = await society.handle(thunderbird(signer, reply))  # type: ignore[arg-type]
            assert outcome.kind == "refused" and why in outcome.reason, outcome.reason
        assert store.pending_count() == 0 and store.waiting("2000-01-01")
    finally:
        store.close()
