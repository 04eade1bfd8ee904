"""Posts anyone can read: what a mail app that knows nothing of OpenPGP shows first, the
Reply-To that reaches people, and a relaying society that renders the reading parts again.

"A mail app that knows nothing of OpenPGP" is modelled the way such apps (and web archives)
pick what to show: the first text/plain (or text/html) leaf in MIME order, treating
multipart/signed as multipart/mixed. Where neomutt is installed, it is also run for real.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import time
from datetime import datetime, timezone
from email.message import Message

import pytest

from harness.openpgp import extract_signed, gosop_verify, gpg_verify_detached, sqop_verify
from masbot.post import build as post
from masbot.post import verify
from masbot.post.verify import PostCheck, Reason, Refused
from masbot.signing.keyring import Keyring
from lang_support import assert_no_english, fianza, spanish  # noqa: F401
from site_support import LONG_LINK, _bail, _hardship, society

SITE = "https://anytown.example/"
CONTACT = "people@anytown.example"


@pytest.fixture(scope="module")
def anytown():
    s = society("Anytown Mutual Aid", "mas@anytown.example")
    yield s
    s.close()


@pytest.fixture(scope="module")
def riverside():
    s = society("Riverside Solidarity", "help@riverside.example")
    yield s
    s.close()


def _post(signer, clearsigned: str, record: post.RelayRecord, origin_key: str, *,
          content: bytes | None = None, reply_to: str | None = CONTACT,
          sender: tuple[str, str] = ("Anytown Mutual Aid", "mas@anytown.example")) -> bytes:
    content = content if content is not None else post.signed_content(
        clearsigned, record, origin_key, site_url=SITE, contact=CONTACT)
    sig = signer.detach_sign(content)
    env = post.Envelope(sender[0], sender[1], ("members@anytown.example",),
                        f"[{record.appeal_id}] title",
                        datetime(2026, 11, 23, 12, tzinfo=timezone.utc), "<a@anytown.example>",
                        reply_to=reply_to)
    return post.assemble(content, sig.data, sig.hash_algo, env, "=-b-123")


def own_post(s, appeal=None) -> bytes:
    appeal = appeal or _bail()
    record = post.RelayRecord(s.fingerprint, "Anytown Mutual Aid", appeal.appeal_id,
                              appeal.revision, (s.fingerprint,))
    return _post(s.signer, s.signer.clearsign(appeal.canonical_text()), record,
                 s.signer.export_public())


def first_leaf(msg: Message, kind: str = "text/plain") -> str:
    for part in msg.walk():
        if part.get_content_type() == kind:
            return part.get_content().replace("\r\n", "\n")
    raise AssertionError(f"no {kind} part")


def test_first_screen_of_a_plain_mail_app(anytown) -> None:
    msg = email.message_from_bytes(own_post(anytown), policy=email.policy.default)
    screen = first_leaf(msg).split("\n")[:12]  # about one phone screen
    text = "\n".join(screen)
    assert screen[0] == "Bond for River, held since the march"
    for needle in ("For: River", "Goal: 1,500 USD", "Needed by: December 5, 2026", "How to help: ",
                   f"Give: {LONG_LINK}", f"{SITE}appeals/ANYTOWN-2026-0001/"):
        assert needle in text, (needle, text)
    full = first_leaf(msg)
    assert not re.search(r"(?m)^(-----BEGIN|- |Masbot-Relay|Origin:)", full), full
    assert "* " not in full.split("________")[0].replace("• ", "")


def test_html_alternative_first_screen_and_no_script(anytown) -> None:
    msg = email.message_from_bytes(own_post(anytown), policy=email.policy.default)
    html = first_leaf(msg, "text/html")
    head = html[:html.index("<article")]
    assert "<h1>Bond for River" in head and f"{SITE}appeals/ANYTOWN-2026-0001/" in head
    assert "How to help" in head and "December 5, 2026" in head
    assert "<script" not in html.lower() and "&lt;please&gt;" in html


def test_reply_to_is_the_human_contact(anytown) -> None:
    msg = email.message_from_bytes(own_post(anytown), policy=email.policy.default)
    assert msg["Reply-To"] == CONTACT and msg["From"].addresses[0].addr_spec != CONTACT
    assert f"it goes to {CONTACT}" in first_leaf(msg)


def test_funded_revision_says_so_first_and_asks_no_money(anytown) -> None:
    msg = email.message_from_bytes(own_post(anytown, _hardship()[1]), policy=email.policy.default)
    screen = first_leaf(msg).split("\n")[:8]
    assert screen[1].startswith("Funded.")
    assert not any(line.startswith("Give:") for line in screen)


def test_post_verifies_everywhere_with_the_reading_parts(anytown) -> None:
    raw = own_post(anytown)
    signed, signature = extract_signed(raw)
    cert = anytown.signer.export_public().encode()
    for check in (sqop_verify, gosop_verify, gpg_verify_detached):
        assert check(signature, signed, cert).signed_by(anytown.fingerprint)
    with Keyring.of(cert) as keyring:
        result = verify.verify_post(raw, keyring)
    assert isinstance(result, PostCheck), result
    assert result.appeal_text.startswith("Appeal-ID: ANYTOWN-2026-0001\n")
    # Clearsigning escaped nothing: the list items are "* " lines.
    assert "\n- " not in result.clearsigned_appeal and "\n* 1500 USD bond" in result.clearsigned_appeal


def test_a_relaying_society_renders_the_reading_parts_again(anytown, riverside) -> None:
    """Riverside's post carries HTML of its own making (with a marker); what we would relay
    is rendered from the appeal we verified, so the marker is gone."""
    appeal = _bail()
    clearsigned = anytown.signer.clearsign(appeal.canonical_text())
    record = post.RelayRecord(anytown.fingerprint, "Anytown Mutual Aid", appeal.appeal_id, 1,
                              (anytown.fingerprint, riverside.fingerprint))
    genuine = post.signed_content(clearsigned, record, anytown.signer.export_public())
    marked = genuine.replace(b"<h1>Bond", b"<h1>MARKER-FROM-RIVERSIDE Bond", 1)
    assert marked != genuine
    raw = _post(riverside.signer, clearsigned, record, anytown.signer.export_public(),
                content=marked, sender=("Riverside Solidarity", "help@riverside.example"))
    with Keyring.of(riverside.signer.export_public().encode(),
                    anytown.signer.export_public().encode()) as keyring:
        check = verify.verify_post(raw, keyring)
    assert isinstance(check, PostCheck), check
    ours = post.signed_content(check.clearsigned_appeal, verify.next_record(check, "F" * 40),
                               check.origin_key, site_url=SITE, contact=CONTACT)
    assert b"MARKER-FROM-RIVERSIDE" not in ours
    text = email.message_from_bytes(ours, policy=email.policy.default)
    assert f"{SITE}appeals/ANYTOWN-2026-0001.{anytown.fingerprint[-16:].lower()}/" in \
        first_leaf(text)
    assert "Signed by Anytown Mutual Aid" in first_leaf(text)


def _reading_variant(content: bytes, old: bytes, new: bytes) -> bytes:
    assert old in content
    return content.replace(old, new, 1)


@pytest.mark.parametrize("old,new,why", [
    (b'Content-Type: text/html; charset="utf-8"', b'Content-Type: text/plain; charset="utf-8"',
     "two text/plain"),
    (b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
     b'\r\nContent-Language: en\r\n\r\nBond', b'Content-Type: text/html; charset="utf-8"\r\n'
     b'Content-Transfer-Encoding: quoted-printable\r\nContent-Language: en\r\n\r\nBond',
     "HTML only"),
    (b'Content-Type: text/html; charset="utf-8"', b'Content-Type: text/html; charset="latin-1"',
     "another charset"),
])
def test_reading_parts_of_another_shape_are_refused(anytown, old, new, why) -> None:
    appeal = _bail()
    clearsigned = anytown.signer.clearsign(appeal.canonical_text())
    record = post.RelayRecord(anytown.fingerprint, "Anytown Mutual Aid", appeal.appeal_id, 1,
                              (anytown.fingerprint,))
    content = post.signed_content(clearsigned, record, anytown.signer.export_public())
    raw = _post(anytown.signer, clearsigned, record, anytown.signer.export_public(),
                content=_reading_variant(content, old, new))
    with Keyring.of(anytown.signer.export_public().encode()) as keyring:
        result = verify.verify_post(raw, keyring)
    assert isinstance(result, Refused) and result.reason == Reason.BAD_CONTENT, (why, result)


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True).stdout


def _wait_for(session: str, needle: str, tries: int = 100) -> str:
    screen = ""
    for _ in range(tries):
        screen = _screen(session)
        if needle in screen:
            break
        time.sleep(0.1)
    return screen


NEOMUTT = pytest.mark.skipif(not (shutil.which("neomutt") and shutil.which("tmux")),
                             reason="apt-get install neomutt tmux")


def _neomutt_screen(raw: bytes, tmp_path, needle: str) -> str:
    """neomutt without our key (it cannot check the signature), the usual header weeding, on
    a 50x40 terminal: the screen once the message is open and shows ``needle``."""
    mbox = tmp_path / "post.mbox"
    mbox.write_bytes(b"From mas@anytown.example Mon Nov 23 12:00:00 2026\n"
                     + raw.replace(b"\r\n", b"\n") + b"\n")
    rc = tmp_path / "muttrc"
    rc.write_text("ignore *\nunignore from: subject: date: reply-to:\n"
                  "set pager_index_lines=0\nset help=no\n")
    session = f"mb{time.monotonic_ns()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "50", "-y", "40",
                    f"TERM=xterm LANG=C.UTF-8 HOME={tmp_path} neomutt -n -F {rc} -R -f {mbox}"],
                   check=True)
    try:
        _wait_for(session, "ANYTOWN")
        screen = ""
        for _ in range(5):  # a key sent while neomutt still starts up can be lost
            subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
            screen = _wait_for(session, needle, tries=20)
            if needle in screen:
                break
        (tmp_path / "neomutt-screen.txt").write_text(screen)
        return screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@NEOMUTT
def test_neomutt_shows_the_reading_text_first(anytown, tmp_path) -> None:
    """The message opens on the reading text."""
    screen = _neomutt_screen(own_post(anytown), tmp_path, "How to help")
    assert "Bond for River" in screen and "How to help" in screen, screen
    before = screen.split("How to help")[0]
    for needle in ("Needed by: December 5, 2026", "Goal: 1,500 USD", "Reply-To: people@"):
        assert needle in before, screen
    assert "BEGIN PGP" not in before and "Masbot-Relay" not in before, screen
    assert not re.search(r"(?m)^- ", before), screen


@NEOMUTT
def test_neomutt_shows_a_spanish_post_in_spanish(anytown, spanish, tmp_path) -> None:
    """A Spanish appeal's post opens on Spanish labels, a Spanish deadline and amount."""
    from datetime import date
    from decimal import Decimal
    tr = spanish
    how = tr._("How to help")
    screen = _neomutt_screen(own_post(anytown, fianza()), tmp_path, how)
    assert "Fianza para Lupe" in screen and how in screen, screen
    before = screen.split(how)[0].replace("\xa0", " ")
    goal = tr.amount(Decimal("2500"), "USD").replace("\xa0", " ")
    for needle in (f"{tr.words.label('Goal')}: {goal}",
                   f"{tr.words.label('Needed-By')}: {tr.date(date(2026, 12, 5))}",
                   tr._("{appeal_id}, revision {revision}", appeal_id="ANYTOWN-2026-0005",
                        revision=1)):
        assert needle in before, (needle, screen)
    body = screen.split("[-- Type: multipart/alternative")[-1]
    assert_no_english(body)
