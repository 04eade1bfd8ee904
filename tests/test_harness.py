"""Self-tests of the test harness (tests/harness): each component is shown to work
*and* to be able to say no (a checker that cannot fail is a defect)."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from email.message import MIMEPart
from email.policy import SMTP
from pathlib import Path

import aioimaplib
import aiosmtplib
import pytest

from harness import mailbox
from harness.dovecot import Dovecot
from harness.openpgp import (
    GpgHome,
    extract_signed,
    gosop_verify,
    gpg_verify_detached,
    gpg_verify_inline,
    multipart_signed_params,
    sqop_inline_verify,
    sqop_verify,
)
from harness.smtp_sink import SmtpSink

USER, PW = "society", "societypw"

SAMPLE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: society@example.org\r\n"
    b"Subject: harness sample\r\n"
    b"Message-ID: <harness-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hello \xe2\x98\x83.\r\n"
    b".leading dot line\r\n"
    b"..two dots\r\n"
    b"From here on, mbox would mangle this line.\r\n"
    b"trailing space   \r\n"
    b"\r\n"
    b"end\r\n"
)


def _imap_caps(server: Dovecot) -> tuple[set[str], set[str]]:
    """(pre-login, post-login) capability sets via imaplib."""
    conn = imaplib.IMAP4(server.host, server.port, timeout=10)
    try:
        pre = set(conn.capabilities)
        conn.login(USER, PW)
        typ, data = conn.capability()
        assert typ == "OK"
        post = set(data[0].decode().upper().split())
        return pre, post
    finally:
        conn.logout()


# ------------------------------------------------------------------ Dovecot + mailbox
def test_dovecot_login_append_count_fetch(dovecot: Dovecot) -> None:
    assert mailbox.count(dovecot, USER, PW) == 0
    mailbox.append(dovecot, USER, PW, SAMPLE)
    mailbox.append(dovecot, USER, PW, SAMPLE.replace(b"\r\n", b"\n"))  # LF-only file
    assert mailbox.count(dovecot, USER, PW) == 2
    assert mailbox.fetch_all(dovecot, USER, PW) == [SAMPLE, SAMPLE]
    assert mailbox.flags(dovecot, USER, PW) == [set(), set()]  # BODY.PEEK left them unseen

    mailbox.create_mailbox(dovecot, USER, PW, "Processed")
    mailbox.append(dovecot, USER, PW, SAMPLE, mailbox="Processed", flags=r"(\Seen)")
    assert set(mailbox.list_mailboxes(dovecot, USER, PW)) == {"INBOX", "Processed"}
    assert mailbox.count(dovecot, USER, PW, "Processed") == 1
    assert mailbox.flags(dovecot, USER, PW, "Processed") == [{r"\Seen"}]
    assert mailbox.wait_count(dovecot, USER, PW, 1, mailbox="Processed", timeout=1)
    assert not mailbox.wait_count(dovecot, USER, PW, 5, timeout=0.3)
    with pytest.raises(mailbox.ImapError):
        mailbox.count(dovecot, USER, PW, "NoSuchFolder")


def test_dovecot_rejects_wrong_password(dovecot: Dovecot) -> None:
    with pytest.raises(imaplib.IMAP4.error):
        mailbox.count(dovecot, USER, "wrong")


def test_imaps_verifies_with_cafile(dovecot: Dovecot) -> None:
    assert dovecot.imaps_port and dovecot.cafile
    ctx = ssl.create_default_context(cafile=str(dovecot.cafile))
    for host in ("127.0.0.1", "localhost"):
        conn = imaplib.IMAP4_SSL(host, dovecot.imaps_port, ssl_context=ctx, timeout=10)
        assert conn.login(USER, PW)[0] == "OK"
        conn.logout()
    # Without our CA the certificate must be rejected: verification is real.
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("127.0.0.1", dovecot.imaps_port,
                          ssl_context=ssl.create_default_context(), timeout=10)


def test_idle_false_removes_only_idle(dovecot: Dovecot, dovecot_factory: Callable[..., Dovecot]) -> None:
    no_idle = dovecot_factory(idle=False)
    pre_default, post_default = _imap_caps(dovecot)
    pre_no_idle, post_no_idle = _imap_caps(no_idle)
    assert "IDLE" in post_default and "IDLE" in pre_default
    assert "IDLE" not in post_no_idle and "IDLE" not in pre_no_idle
    # Nothing else is lost: guards the hard-coded list against Dovecot version drift.
    assert post_default - post_no_idle == {"IDLE"}
    assert post_no_idle - post_default == set()


def test_restart_keeps_mail_and_ports(dovecot: Dovecot) -> None:
    port, imaps_port = dovecot.port, dovecot.imaps_port
    mailbox.append(dovecot, USER, PW, SAMPLE)
    t0 = time.perf_counter()
    dovecot.stop()
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(OSError):
        socket.create_connection((dovecot.host, port), timeout=1).close()
    dovecot.restart()
    assert (dovecot.port, dovecot.imaps_port) == (port, imaps_port)
    assert mailbox.count(dovecot, USER, PW) == 1
    assert "Dovecot" in dovecot.log_text()


async def test_aioimaplib_idle_gets_exists_push(dovecot: Dovecot) -> None:
    client = aioimaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PW)).result == "OK"
    assert client.has_capability("IDLE")
    assert (await client.select("INBOX")).result == "OK"
    idle = await client.idle_start(timeout=10)
    await asyncio.to_thread(mailbox.append, dovecot, USER, PW, SAMPLE)
    pushed = await client.wait_server_push(timeout=5)  # Dovecot notifies after ~500 ms
    client.idle_done()
    await asyncio.wait_for(idle, 5)
    assert pushed != aioimaplib.STOP_WAIT_SERVER_PUSH
    assert any(line.endswith(b"EXISTS") for line in pushed), pushed
    resp = await client.uid_search("ALL")
    assert resp.result == "OK" and resp.lines[0].split() == [b"1"]
    resp = await client.uid("fetch", "1", "(BODY.PEEK[])")
    assert resp.result == "OK" and bytes(resp.lines[1]) == SAMPLE
    await client.logout()


async def test_aioimaplib_sees_no_idle_and_imaps(dovecot: Dovecot, dovecot_factory: Callable[..., Dovecot]) -> None:
    no_idle = dovecot_factory(idle=False)
    client = aioimaplib.IMAP4(no_idle.host, no_idle.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(USER, PW)).result == "OK"
    # aioimaplib unions pre- and post-login capabilities, so both must lack IDLE.
    assert not client.has_capability("IDLE")
    await client.select("INBOX")
    with pytest.raises(aioimaplib.Abort):
        await client.idle_start(timeout=1)
    await client.logout()

    ctx = ssl.create_default_context(cafile=str(dovecot.cafile))
    tls = aioimaplib.IMAP4_SSL(dovecot.host, dovecot.imaps_port, timeout=10, ssl_context=ctx)
    await tls.wait_hello_from_server()
    assert (await tls.login(USER, PW)).result == "OK"
    await tls.logout()


# ------------------------------------------------------------------ SMTP sink
async def test_sink_receives_identical_bytes(smtp_sink: Callable[..., SmtpSink], tmp_path: Path) -> None:
    sink = smtp_sink(write_dir=tmp_path / "out")
    await aiosmtplib.send(SAMPLE, sender="bot@example.org",
                          recipients=["a@example.net", "B@example.net"],
                          hostname=sink.host, port=sink.port, timeout=10)
    assert sink.wait_for(1, timeout=5)
    got = sink.messages[0]
    assert got.data == SAMPLE
    assert got.mail_from == "bot@example.org"
    assert got.rcpt_tos == ("a@example.net", "B@example.net")
    assert sink.for_rcpt("b@EXAMPLE.net") == [SAMPLE]
    assert sink.for_rcpt("nobody@example.net") == []
    assert (tmp_path / "out" / "0001.eml").read_bytes() == SAMPLE

    with smtplib.SMTP(sink.host, sink.port, timeout=10) as s:
        s.sendmail("bot@example.org", ["c@example.net"], SAMPLE)
    assert sink.wait_for(2, timeout=5)
    assert sink.for_rcpt("c@example.net") == [SAMPLE]
    assert not sink.wait_for(3, timeout=0.05)


@pytest.mark.parametrize(("mode", "code"), [("tempfail", 451), ("permfail", 550)])
async def test_sink_fault_modes(smtp_sink: Callable[..., SmtpSink], mode: str, code: int) -> None:
    sink = smtp_sink()
    send = dict(sender="bot@example.org", recipients=["x@example.net"],
                hostname=sink.host, port=sink.port, timeout=10)
    sink.mode = mode  # default stage: DATA
    with pytest.raises(aiosmtplib.SMTPDataError) as exc:
        await aiosmtplib.send(SAMPLE, **send)
    assert exc.value.code == code
    sink.fail_stage = "rcpt"
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as exc2:
        await aiosmtplib.send(SAMPLE, **send)
    assert exc2.value.recipients[0].code == code
    assert sink.messages == []
    assert ("RCPT", "x@example.net") in sink.attempts

    sink.mode = "accept"
    sink.rcpt_modes = {"Y@example.net": mode}  # per-recipient override, partial success
    errors, _ = await aiosmtplib.send(SAMPLE, sender="bot@example.org",
                                      recipients=["x@example.net", "y@example.net"],
                                      hostname=sink.host, port=sink.port, timeout=10)
    assert errors["y@example.net"].code == code
    assert sink.wait_for(1, timeout=5)
    assert sink.messages[0].rcpt_tos == ("x@example.net",)


async def test_sink_close_listener_and_reopen(smtp_sink: Callable[..., SmtpSink]) -> None:
    sink = smtp_sink()
    port = sink.port
    sink.close_listener()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sink.host, port), timeout=2).close()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(SAMPLE, sender="bot@example.org", recipients=["x@example.net"],
                              hostname=sink.host, port=port, timeout=5)
    sink.reopen()
    assert sink.port == port
    await aiosmtplib.send(SAMPLE, sender="bot@example.org", recipients=["x@example.net"],
                          hostname=sink.host, port=port, timeout=10)
    assert sink.wait_for(1, timeout=5)
    assert sink.messages[0].data == SAMPLE


# ------------------------------------------------------------------ OpenPGP
@pytest.fixture
def signer(gpg_home: Callable[[], GpgHome]) -> tuple[GpgHome, str, bytes]:
    home = gpg_home()
    fpr = home.gen_key("Society bot <society@example.org>")
    return home, fpr, home.export(fpr)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def test_detached_signature_verifiers(signer: tuple[GpgHome, str, bytes],
                                      gpg_home: Callable[[], GpgHome]) -> None:
    home, fpr, cert = signer
    assert len(fpr) == 40 and home.fingerprints() == [fpr]
    assert cert.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    sig = home.sign_detached(SAMPLE, fpr)  # binary mode over CRLF bytes
    tampered = _flip(SAMPLE, SAMPLE.index(b"end"))
    for verify in (sqop_verify, gosop_verify, gpg_verify_detached):
        good = verify(sig, SAMPLE, cert)
        assert good.ok and good.signed_by(fpr) and good.signer == fpr, good.describe()
        bad = verify(sig, tampered, cert)
        assert not bad, bad.describe()
    # binary-mode signature does not survive CRLF -> LF
    assert not sqop_verify(sig, SAMPLE.replace(b"\r\n", b"\n"), cert)
    # a different key's certificate does not vouch for the signature
    other = gpg_home()
    other_cert = other.export(other.gen_key("Mallory <m@example.org>"))
    for verify in (sqop_verify, gosop_verify, gpg_verify_detached):
        assert not verify(sig, SAMPLE, other_cert)
    # SHA-512 signatures verify too
    assert sqop_verify(home.sign_detached(SAMPLE, fpr, digest_algo="SHA512"), SAMPLE, cert)


def test_clearsign_verifiers(signer: tuple[GpgHome, str, bytes]) -> None:
    home, fpr, cert = signer
    text = b"Appeal: we need blankets.\r\nThank you.\r\n"
    clear = home.clearsign(text, fpr)
    ok, recovered, who = sqop_inline_verify(clear, cert)
    assert ok and who == fpr and recovered.replace(b"\r\n", b"\n") == text.replace(b"\r\n", b"\n")
    g = gpg_verify_inline(clear, cert)
    assert g.ok and g.signer == fpr, g.describe()
    forged = clear.replace(b"blankets", b"blanketz")
    assert forged != clear
    assert not sqop_inline_verify(forged, cert).ok
    assert not gpg_verify_inline(forged, cert).ok


def _pgp_mime(home: GpgHome, fpr: str, boundary: str = "sig-7Fq2x") -> tuple[bytes, bytes]:
    """Build an RFC 3156 message by hand; return (raw message, exact signed bytes)."""
    inner = MIMEPart(policy=SMTP)
    inner.set_content("Hallo \u2603\nFrom here on a line.\n--\u00a0\n--" + boundary + "x not a delimiter\n",
                      cte="quoted-printable")
    signed = inner.as_bytes(policy=SMTP)
    sig = home.sign_detached(signed, fpr, digest_algo="SHA512").replace(b"\n", b"\r\n")
    b = boundary.encode()
    raw = (
        b"From: society@example.org\r\nTo: list@example.org\r\nSubject: signed\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/signed; micalg=pgp-sha512;\r\n"
        b' protocol="application/pgp-signature"; boundary="' + b + b'"\r\n'
        b"\r\n"
        b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
        b"--" + b + b"\r\n" + signed + b"\r\n--" + b + b"\r\n"
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
        b"Content-Description: OpenPGP digital signature\r\n"
        b"\r\n" + sig + b"\r\n--" + b + b"--\r\n"
    )
    return raw, signed


async def test_pgp_mime_extract_after_smtp(signer: tuple[GpgHome, str, bytes],
                                           smtp_sink: Callable[..., SmtpSink]) -> None:
    home, fpr, cert = signer
    raw, signed = _pgp_mime(home, fpr)
    assert multipart_signed_params(raw)["micalg"] == "pgp-sha512"
    sink = smtp_sink()
    await aiosmtplib.send(raw, sender="society@example.org", recipients=["list@example.org"],
                          hostname=sink.host, port=sink.port, timeout=10)
    assert sink.wait_for(1, timeout=5)
    wire = sink.for_rcpt("list@example.org")[0]
    assert wire == raw

    part, sig = extract_signed(wire)
    assert part == signed  # exact bytes: no delimiter CRLF, no re-serialisation
    assert sig.startswith(b"-----BEGIN PGP SIGNATURE-----")
    for verify in (sqop_verify, gosop_verify, gpg_verify_detached):
        assert verify(sig, part, cert).signed_by(fpr), verify(sig, part, cert).describe()

    # LF-only copy (as saved by many tools) is converted back to CRLF first.
    part_lf, sig_lf = extract_signed(wire.replace(b"\r\n", b"\n"))
    assert part_lf == signed and sqop_verify(sig_lf, part_lf, cert)

    # The delimiter's CRLF is not signed data: including it must fail.
    assert not sqop_verify(sig, part + b"\r\n", cert)
    # One flipped byte inside the signed part fails every verifier.
    tampered_wire = wire.replace(b"Hallo", b"Hallp")
    assert tampered_wire != wire
    part_t, sig_t = extract_signed(tampered_wire)
    for verify in (sqop_verify, gosop_verify, gpg_verify_detached):
        assert not verify(sig_t, part_t, cert)


def test_extract_signed_rejects_non_signed() -> None:
    with pytest.raises(ValueError):
        extract_signed(SAMPLE)
    truncated = (b"Content-Type: multipart/signed; boundary=b; protocol=\"application/pgp-signature\"\r\n\r\n"
                 b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\n")
    with pytest.raises(ValueError):
        extract_signed(truncated)
