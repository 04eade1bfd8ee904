"""The post (RFC 3156): byte-exact signed content, allow-listed headers, independent verifiers."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from pathlib import Path

import aiosmtplib
import pytest

from harness.openpgp import (extract_signed, gosop_verify, gpg_verify_detached,
                             sqop_inline_verify, sqop_verify)
from masbot.post import build as post
from masbot.signing.signer import Signer, init_key

TRICKY = (
    "Appeal-ID: ANYTOWN-2026-0001\n"
    "Title: Ünïcödé — «quotes» and emoji ✊\n"
    "Story:\n"
    "From here on the line starts with From and a space.\n"
    "- a dash item\n"
    "-- not a signature, but looks like one\n"
    + "A very long line " * 12 + "\n"
    "Trailing dots.\n"
    ".\n"
)


@pytest.fixture
def signer(gpg_home):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", "mas@anytown.example")
    return Signer(Path(home.path))


def build(signer: Signer, *, name: str = "Anytown Mutual Aid Society",
          subject: str = "[ANYTOWN-2026-0001] A title") -> tuple[bytes, bytes]:
    record = post.RelayRecord(signer.fingerprint, name, "ANYTOWN-2026-0001", 1, (signer.fingerprint,))
    content = post.signed_content(signer.clearsign(TRICKY), record, signer.export_public())
    sig = signer.detach_sign(content)
    envelope = post.Envelope(name, "mas@anytown.example",
                             ("members@anytown.example", "master@lists.riverside.example"),
                             subject, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc),
                             "<abc@anytown.example>")
    return post.assemble(content, sig.data, sig.hash_algo, envelope, "=-b-123"), content


def test_signed_content_is_on_the_wire_byte_for_byte_and_verifies(signer):
    raw, content = build(signer)
    signed, signature = extract_signed(raw)
    assert signed == content
    cert = signer.export_public().encode()
    for verify in (sqop_verify, gosop_verify, gpg_verify_detached):
        assert verify(signature, signed, cert).signed_by(signer.fingerprint)
    tampered = signed.replace(b"ANYTOWN-2026-0001", b"ANYTOWN-2026-0002", 1)
    assert not sqop_verify(signature, tampered, cert).ok, "a test that cannot fail is a defect"


def test_no_line_starts_with_from_and_lines_are_7bit_crlf(signer):
    raw, _ = build(signer)
    assert all(b < 128 for b in raw)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert not any(line.startswith(b"From ") for line in raw.split(b"\r\n"))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_clearsigned_appeal_survives_and_verifies(signer):
    raw, _ = build(signer)
    signed, _ = extract_signed(raw)
    part = list(email.message_from_bytes(signed, policy=email.policy.default).iter_parts())[1]
    assert part.get_filename() == post.APPEAL_FILE
    result = sqop_inline_verify(part.get_content().encode(), signer.export_public().encode())
    assert result.ok
    text = result.text.decode() if isinstance(result.text, bytes) else result.text
    assert "From here on the line" in text and "Ünïcödé" in text


def test_headers_come_only_from_the_allow_list_and_resist_injection(signer):
    raw, _ = build(signer, name="Evil\r\nBcc: victim@example.org", subject="Hi\nX-Injected: yes")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert set(msg.keys()) <= set(post.ALLOWED_HEADERS)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert msg["Date"].endswith("+0000")


async def test_bytes_arrive_unchanged_through_smtp(signer, smtp_sink):
    raw, content = build(signer)
    sink = smtp_sink()
    await aiosmtplib.send(raw, sender="mas@anytown.example", recipients=["members@anytown.example"],
                          hostname=sink.host, port=sink.port)
    assert sink.wait_for(1, 5)
    received = sink.messages[0].data
    assert received == raw
    signed, signature = extract_signed(received)
    assert sqop_verify(signature, signed, signer.export_public().encode()).ok


def test_relay_record_names_origin_and_path(signer):
    raw, _ = build(signer)
    signed, _ = extract_signed(raw)
    parts = list(email.message_from_bytes(signed, policy=email.policy.default).iter_parts())
    assert parts[0].get_content_type() == "multipart/alternative"
    record = parts[2].get_content()
    assert f"Origin: {signer.fingerprint}" in record and "Revision: 1" in record
    assert parts[3].get_content_type() == "application/pgp-keys"
