"""Test helpers that know masbot: a society's config on disk, sample requests, searching bytes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SOCIETY_ADDRESS = "mas@anytown.example"
LOCAL_LIST = "members@anytown.example"
PARTNERS = {"riverside": "master@lists.riverside.example", "valle": "red@lists.valle.example"}
FAKE_FPRS = {"riverside": "A" * 40, "valle": "B" * 40}


@dataclass
class SocietyFiles:
    config: Path
    data_dir: Path
    gnupghome: Path


def write_config(tmp: Path, gnupghome: Path, *, smtp_port: int, imap_port: int | None = None,
                 imap_password: str = "societypw", after: str = "delete", idle: bool = True,
                 listener_port: int | None = None, extra: str = "",
                 backoff_initial: float = 0.05, imap_cafile: Path | None = None) -> SocietyFiles:
    """A complete society config in ``tmp``: loopback IMAP and SMTP, two partners."""
    secrets = tmp / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "imap").write_text(imap_password + "\n")
    data_dir = tmp / "data"
    imap = ""
    if imap_port is not None:
        imap = (
            "imap:\n  host: 127.0.0.1\n"
            f"  port: {imap_port}\n"
            + (f"  tls: implicit\n  cafile: {imap_cafile}\n" if imap_cafile else "  tls: none\n")
            + "  username: society\n"
            "  password_file: secrets/imap\n"
            f"  after: {after}\n" + ("  move_to: Processed\n" if after == "move" else "")
            + f"  idle: {'true' if idle else 'false'}\n  poll_seconds: 0.5\n"
            f"  backoff_initial: {backoff_initial}\n  backoff_max: 1\n  timeout: 10\n")
    listener = f"listener:\n  host: 127.0.0.1\n  port: {listener_port}\n" if listener_port else ""
    partners = "".join(f"  - name: {n}\n    addresses: [{a}]\n    fingerprint: {FAKE_FPRS[n]}\n"
                       for n, a in PARTNERS.items())
    config = tmp / "config.yaml"
    config.write_text(
        "society:\n  name: Anytown Mutual Aid Society\n  id: ANYTOWN\n"
        f"  address: {SOCIETY_ADDRESS}\n  gnupghome: {gnupghome}\n"
        f"data_dir: {data_dir}\n{imap}{listener}"
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: none\n  timeout: 10\n"
        f"local_list: {LOCAL_LIST}\npartners:\n{partners}"
        "default:\n  action: relay\n  to: [local, partners]\n"
        f"log:\n  level: info\n  file: {tmp / 'masbot.log'}\n" + extra)
    return SocietyFiles(config, data_dir, gnupghome)


def bail_request(sender: str, *, title: str = "Get Sam home from Anytown County Jail",
                 needed_by: date | None = None, message_id: str | None = None) -> bytes:
    """A valid bail request mail from ``sender`` (CRLF line ends)."""
    needed = (needed_by or date.today() + timedelta(days=20)).isoformat()
    local = sender.split("@")[0]
    text = f"""From: {local.title()} <{sender}>
To: {SOCIETY_ADDRESS}
Subject: [bail] {title}
Message-ID: {message_id or f"<{local}.1@example.net>"}
Date: Mon, 23 Nov 2026 09:12:00 -0800
Reply-To: {sender}
User-Agent: PhoneMail 1.0
X-Originating-IP: [192.0.2.44]
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Title: {title}
Filed-By: champion
Relation: housemate
Consent: prior
Name-To-Publish: Sam R.
Location: Anytown, OR
Held-At: Anytown County Jail
Bail: 2500 USD
Goal: 2500 USD
Needed-By: {needed}
Posted-By: Anytown Community Bail Fund
Bail-Return: fund
Funds-Holder: Anytown Community Bail Fund posts the bail directly
Donate: https://bailfund.example/give/sam
Story:
Sam cooks at our food share every week. Since Saturday Sam has been held on a bail
they cannot pay, and may lose their job and room if they are not out by Monday.
Funds-Use:
- 2500 USD cash bail posted by the fund
How-To-Help:
Give at the link and share this appeal.
Private:
Call me on 555 0100 if the fund needs anything.
"""
    return text.replace("\n", "\r\n").encode()


def invalid_request(sender: str) -> bytes:
    """A bail request with errors: past date, http link, booking number, short story."""
    local = sender.split("@")[0]
    text = f"""From: {sender}
To: {SOCIETY_ADDRESS}
Subject: [bail] help Alex
Message-ID: <{local}.2@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Title: Alex needs bail
Filed-By: self
Location: Anytown, OR
Held-At: Anytown County Jail, booking #2026-114532
Bail: 5000 USD
Goal: 5000 USD
Needed-By: 2020-01-15
Posted-By: the fund
Bail-Return: fund
Funds-Holder: the fund
Donate: http://bailfund.example/alex
Story:
Alex is held. Please help.
Funds-Use:
- bail
How-To-Help:
Give.
"""
    return text.replace("\n", "\r\n").encode()


def all_bytes_under(root: Path) -> list[tuple[Path, bytes]]:
    """Every file under ``root`` with its raw bytes (SQLite main file, WAL and logs included)."""
    return [(p, p.read_bytes()) for p in sorted(Path(root).rglob("*")) if p.is_file()]


def leaks(needles: list[str], haystacks: list[tuple[str, bytes]]) -> list[str]:
    """Which needles occur (case-insensitively, as UTF-8) in which haystacks."""
    found = []
    for name, data in haystacks:
        lowered = data.lower()
        for needle in needles:
            if needle.lower().encode() in lowered:
                found.append(f"{needle!r} in {name}")
    return found


def photo_with_exif(artist: str, *, size: tuple[int, int] = (48, 32)) -> bytes:
    """A JPEG as a phone writes it: EXIF with ``artist``, a description, GPS and a comment."""
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x013B] = artist
    exif[0x010E] = f"taken by {artist}"
    exif[0x8825] = {1: "N", 2: (45.0, 31.0, 12.5), 3: "W", 4: (122.0, 40.0, 55.1)}
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(out, "JPEG", exif=exif.tobytes(),
                                               comment=artist.encode())
    return out.getvalue()


def with_photo(raw: bytes, photo: bytes, filename: str) -> bytes:
    """``raw`` (a single-part text mail) as multipart/mixed with ``photo`` attached."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_content()
    for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
        del msg[name]
    msg.set_content(body)
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename=filename)
    return msg.as_bytes(policy=email.policy.SMTP)


def decoded_parts(raw: bytes) -> bytes:
    """Every leaf part of a mail decoded from its transfer encoding (base64 hides text from a
    byte search), joined: what a reader who opens every attachment sees."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return b"\n".join(part.get_payload(decode=True) or b"" for part in msg.walk()
                      if not part.is_multipart())


async def until(condition, timeout: float = 30) -> None:
    """Wait (polling every 0.1 s) until ``condition()`` is true; fail after ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


def wait_until(condition, timeout: float = 30) -> bool:
    """Poll ``condition`` (every 0.05 s, from a plain thread) until it holds or ``timeout``
    seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def titles_by_destination(sink, destinations) -> dict[str, Counter]:
    """How many times each appeal title reached each of ``destinations`` at ``sink``."""
    out: dict[str, Counter] = {d: Counter() for d in destinations}
    for received in sink.messages:
        for rcpt in received.rcpt_tos:  # one transaction may carry several destinations
            if rcpt in out:
                subject = email.message_from_bytes(received.data,
                                                   policy=email.policy.default)["Subject"]
                out[rcpt][subject.split("] ", 1)[1]] += 1
    return out


def start_daemon(config: Path) -> subprocess.Popen:
    """``masbot run -c config`` as a real process (its output discarded: a pipe nobody reads
    could fill and stop it)."""
    return subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_daemon(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    finally:
        proc.kill()
