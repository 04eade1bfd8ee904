"""Privacy is a test: many distinct senders in, then every byte masbot wrote is searched."""

from __future__ import annotations

import email
import re
import email.policy
import subprocess
import sys
from pathlib import Path

from harness import mailbox
from masbot.post import build as post
from masbot.signing.signer import init_key
from support import (LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, all_bytes_under, bail_request,
                     decoded_parts, invalid_request, leaks, photo_with_exif, with_photo,
                     write_config)
from test_end_to_end import run_daemon_until

USER, PASSWORD = "society", "societypw"
DESTINATIONS = [LOCAL_LIST, *PARTNERS.values()]
HOSTILE_HEADERS = (
    "Received: from phone.example.net (cpe-{n}.isp.example [198.51.100.{n}]) by mx.example\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=sel{n}; b=QUJD{n}\r\n"
    "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; b=ARCSEAL{n}\r\n"
    "Authentication-Results: mx.example; spf=pass smtp.mailfrom=example.net\r\n"
    "Received-SPF: pass (mx.example: domain of example.net) client-ip=198.51.100.{n}\r\n"
    "Autocrypt: addr=ac{n}@example.net; keydata=AUTOCRYPTKEY{n}\r\n"
    "X-Mailer: SecretPhone {n}\r\n"
    "In-Reply-To: <thread{n}@example.net>\r\n"
    "References: <thread{n}@example.net>\r\n"
)


def sender(kind: str, n: int) -> str:
    return f"zq{kind}{n:03d}.privacy@example.net"


def with_headers(raw: bytes, n: int) -> bytes:
    return HOSTILE_HEADERS.format(n=n).encode() + raw


def command(addr: str, text: str) -> bytes:
    return (f"From: Someone Private <{addr}>\r\nTo: {SOCIETY_ADDRESS}\r\nSubject: {text}\r\n"
            f"Message-ID: <{addr.split('@')[0]}.c@example.net>\r\n\r\n{text}\r\n").encode()


def update(addr: str, appeal_id: str, key: str) -> bytes:
    """A champion's update from an address of their own (not the one that filed it)."""
    return (f"From: Champion <{addr}>\r\nTo: {SOCIETY_ADDRESS}\r\nSubject: update\r\n"
            f"Message-ID: <{addr.split('@')[0]}.u@example.net>\r\n\r\n"
            f"Template: update\r\nRefers-To: {appeal_id}\r\nUpdate-Key: {key}\r\n"
            "Status: funded\r\nStop-Sharing: yes\r\n").encode()


UPDATES = 40


async def test_three_hundred_senders_leave_no_trace(tmp_path, gpg_home, dovecot, smtp_sink):
    """300 requests (valid, some with a phone photo whose EXIF names the sender; invalid; help;
    template; junk), then 40 updates from 40 more senders; none of the 340 found anywhere."""
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port,
                         extra="limits:\n  answers_per_minute: 10000\n"
                               "attachments:\n  images: keep\n")
    mails, senders, valid, photos = [], [], 0, 0
    for n in range(300):
        kind = ("valid", "invalid", "help", "template", "junk")[n % 5]
        addr = sender(kind, n)
        senders.append(addr)
        if kind == "valid":
            raw = bail_request(addr, title=f"Bail appeal {n}")
            if n % 25 == 0:  # the photo's EXIF, comment and file name all name the sender
                raw = with_photo(raw, photo_with_exif(addr), f"{addr.split('@')[0]}.jpg")
                photos += 1
            valid += 1
        elif kind == "invalid":
            raw = invalid_request(addr)
        elif kind == "help":
            raw = command(addr, "help")
        elif kind == "template":
            raw = command(addr, "template bail")
        else:
            raw = command(addr, f"hello, please add me to the list, I am neighbour {n}")
        mails.append(with_headers(raw, n))
    for raw in mails:
        mailbox.append(dovecot, USER, PASSWORD, raw)

    def done() -> bool:
        posts = [m for m in sink.deliveries if m.rcpt_tos[0] in DESTINATIONS]
        return (len(posts) >= 3 * valid and len(sink.deliveries) >= 3 * valid + 300
                and mailbox.count(dovecot, USER, PASSWORD) == 0)

    await run_daemon_until(files.config, done, timeout=120)
    posts = [m for m in sink.deliveries if m.rcpt_tos[0] in DESTINATIONS]
    assert len(posts) == 3 * valid
    with_images = [m for m in posts if b"filename=\"image-1.jpg\"" in m.data]
    assert len(with_images) == 3 * photos, "each photo is published, re-encoded"

    # Phase two: champions update 40 appeals from addresses of their own.
    updates = []
    for n in range(0, 300, 5):
        if len(updates) == UPDATES:
            break
        addr = sender("valid", n)
        answer = next(m for m in sink.deliveries if list(m.rcpt_tos) == [addr])
        text = email.message_from_bytes(answer.data, policy=email.policy.default).get_content()
        key = re.search(r"Update-Key: (\S+)", text).group(1)
        appeal_id = re.search(r"Appeal-ID: (\S+)", text).group(1)
        champion = sender("update", n)
        senders.append(champion)
        updates.append(champion)
        mailbox.append(dovecot, USER, PASSWORD, with_headers(update(champion, appeal_id, key), n))

    def updated() -> bool:
        return (len([m for m in sink.deliveries if m.rcpt_tos[0] in DESTINATIONS])
                >= 3 * (valid + UPDATES)
                and all(any(list(m.rcpt_tos) == [c] for m in sink.deliveries) for c in updates)
                and mailbox.count(dovecot, USER, PASSWORD) == 0)

    await run_daemon_until(files.config, updated, timeout=120)
    posts = [m for m in sink.deliveries if m.rcpt_tos[0] in DESTINATIONS]
    assert len(posts) == 3 * (valid + UPDATES)
    assert len(senders) == 300 + UPDATES == len(set(senders))

    needles = senders + [s.split("@")[0] for s in senders]
    needles += ["198.51.100.", "QUJD", "ARCSEAL", "AUTOCRYPTKEY", "SecretPhone", "thread1",
                "Someone Private", "mx.example", "09:12:00 -0800"]
    haystacks = [(f"post {i}", m.data) for i, m in enumerate(posts)]
    haystacks += [(f"post {i}, decoded", decoded_parts(m.data)) for i, m in enumerate(posts)]
    haystacks += [(str(p), data) for p, data in all_bytes_under(files.data_dir)]
    haystacks += [("log", (tmp_path / "masbot.log").read_bytes())]
    for folder in mailbox.list_mailboxes(dovecot, USER, PASSWORD):
        haystacks += [(f"mailbox {folder}", raw)
                      for raw in mailbox.fetch_all(dovecot, USER, PASSWORD, folder)]
    assert leaks(needles, haystacks) == []
    assert mailbox.count(dovecot, USER, PASSWORD) == 0

    # Every header of every post is on the allow-list, and the Date is UTC.
    for received in posts:
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        assert set(msg.keys()) <= set(post.ALLOWED_HEADERS), set(msg.keys())
        assert msg["Date"].endswith("+0000")

    # The operator's own audit agrees.
    audit = subprocess.run([sys.executable, "-m", "masbot", "audit", "-c", str(files.config)],
                           capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout
    assert "audit: 0 address(es)" in audit.stdout


def test_audit_finds_a_planted_address(tmp_path, gpg_home):
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    files = write_config(tmp_path, Path(home.path), smtp_port=2525, imap_port=1143)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    (files.data_dir / "stray.txt").write_bytes(b"junk jo.quick@example.com more " + SOCIETY_ADDRESS.encode())
    audit = subprocess.run([sys.executable, "-m", "masbot", "audit", "-c", str(files.config)],
                           capture_output=True, text=True)
    assert audit.returncode == 1
    assert "j***@example.com" in audit.stdout and "jo.quick" not in audit.stdout
    assert "anytown.example" not in audit.stdout.split("audit:")[0]


def test_rate_limits_count_salted_hashes_in_memory_only():
    from masbot.intake.ratelimit import RateLimiter
    now = [0.0]
    limiter = RateLimiter(per_sender_per_hour=3, answers_per_minute=2, clock=lambda: now[0])
    assert [limiter.sender_allowed("a@example.net") for _ in range(4)] == [True, True, True, False]
    assert limiter.sender_allowed("A@Example.NET") is False, "case does not make a new sender"
    assert limiter.sender_allowed("b@example.net") is True, "one flooder does not block others"
    assert not any(b"a@example.net" in k or b"example" in k for k in limiter._senders)
    now[0] = 3601.0
    assert limiter.sender_allowed("a@example.net") is True, "the window slides"
    assert [limiter.answer_allowed() for _ in range(3)] == [True, True, False]
    salt = limiter._salt
    now[0] = 3601.0 + 86400
    limiter.sender_allowed("c@example.net")
    assert limiter._salt != salt, "the salt rotates daily"
