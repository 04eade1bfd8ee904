#!/usr/bin/env python3
"""The thinnest bot that does masbot's essential work: the reference the benchmark compares to.

    python bench/thinbot.py --imap-port N --smtp-port N --gnupghome DIR --log FILE

It uses masbot's components and nothing else: aioimaplib with IDLE, python-gnupg with the same
Ed25519 key and two signatures per appeal (the appeal clearsigned, the post signed detached,
each through ``asyncio.to_thread`` with 4 messages in flight as in masbot), and aiosmtplib
over one connection kept open, one transaction per post with an RCPT TO per destination. It
does no validation, keeps no store, sends no answers and publishes nothing. Its posts are
RFC 3156 multipart/signed, so the benchmark checks them as it checks masbot's. It logs the
line the benchmark waits for ("connected, waiting with IDLE") in masbot's log format.

Nothing here imports masbot.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import logging
import re
import secrets
import signal
import sys
from datetime import datetime, timezone
from email.utils import format_datetime

import aioimaplib
import aiosmtplib
import gnupg

SOCIETY = "mas@anytown.example"
DESTINATIONS = ("members@anytown.example", "master@lists.riverside.example",
                "red@lists.valle.example")
BATCH = 50
IN_FLIGHT = 4
log = logging.getLogger("thinbot")
_UID = re.compile(rb"\bUID (\d+)")
_EXISTS = re.compile(rb"^(?:\* )?\d+ EXISTS")
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)
ANNOUNCED = asyncio.Event()  # an EXISTS was seen: search again


def _watch_untagged() -> None:
    """Dovecot announces mail that arrives while we work inside the answer to our own
    command, and aioimaplib drops that line; without it a burst could wait for the next
    mail. masbot watches for it the same way (masbot/intake/imapwire.py)."""
    original = aioimaplib.IMAP4ClientProtocol._untagged_response

    def untagged(self: aioimaplib.IMAP4ClientProtocol, line: bytes) -> object:
        if _EXISTS.match(bytes(line)):
            ANNOUNCED.set()
        return original(self, line)
    aioimaplib.IMAP4ClientProtocol._untagged_response = untagged  # type: ignore[method-assign]


class Bot:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.gpg = gnupg.GPG(gnupghome=args.gnupghome)
        self.gpg.encoding = "utf-8"
        self.fingerprint = self.gpg.list_keys(secret=True)[0]["fingerprint"]
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.smtp: aiosmtplib.SMTP | None = None
        self.smtp_lock = asyncio.Lock()
        self.number = 0

    def _sign(self, data: bytes, **kwargs: object) -> bytes:
        result = self.gpg.sign(data, keyid=self.fingerprint, extra_args=["--digest-algo", "SHA512"],
                               **kwargs)
        if result.status != "signature created":
            raise RuntimeError(f"gpg did not sign: {result.status}")
        return result.data

    async def handle(self, raw: bytes) -> None:
        async with self.slots:
            msg = _PARSER.parsebytes(raw)
            body = msg.get_payload(decode=True) or b""
            title = " ".join(str(msg.get("Subject", "")).split()).removeprefix("[bail] ")
            self.number += 1
            appeal_id = f"ANYTOWN-2026-{self.number:04d}"
            text = (f"Appeal-ID: {appeal_id}\nTitle: {title}\n\n"
                    + body.decode("utf-8", "replace").replace("\r\n", "\n").strip() + "\n")
            clearsigned = await asyncio.to_thread(self._sign, text.encode("utf-8"), clearsign=True)
            content = (b'Content-Type: text/plain; charset="utf-8"\r\n'
                       b"Content-Transfer-Encoding: 8bit\r\n\r\n"
                       + clearsigned.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            signature = await asyncio.to_thread(self._sign, content, detach=True, clearsign=False)
            boundary = f"=-thin-{secrets.token_hex(12)}"
            post = (f"From: Anytown Mutual Aid Society <{SOCIETY}>\r\n"
                    f"To: {', '.join(DESTINATIONS)}\r\n"
                    f"Subject: [{appeal_id}] {title}\r\n"
                    f"Date: {format_datetime(datetime.now(timezone.utc))}\r\n"
                    f"Message-ID: <{secrets.token_hex(16)}@anytown.example>\r\n"
                    "MIME-Version: 1.0\r\n"
                    f'Content-Type: multipart/signed; boundary="{boundary}"; micalg=pgp-sha512; '
                    'protocol="application/pgp-signature"\r\n\r\n'
                    f"--{boundary}\r\n").encode() + content + (
                    f"\r\n--{boundary}\r\n"
                    "Content-Type: application/pgp-signature\r\n\r\n").encode() + (
                    signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b"\r\n")
                    + f"\r\n--{boundary}--\r\n".encode())
        await self.send(post)

    async def send(self, post: bytes) -> None:
        async with self.smtp_lock:
            for attempt in (1, 2):
                if self.smtp is None or not self.smtp.is_connected:
                    self.smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.args.smtp_port,
                                                local_hostname="anytown.example", timeout=30)
                    await self.smtp.connect()
                try:
                    await self.smtp.sendmail(SOCIETY, list(DESTINATIONS), post)
                    return
                except aiosmtplib.SMTPServerDisconnected:
                    self.smtp = None
                    if attempt == 2:
                        raise

    async def run(self) -> None:
        await asyncio.to_thread(self._sign, b"warm-up\r\n", detach=True)  # as masbot does
        imap = aioimaplib.IMAP4(host="127.0.0.1", port=self.args.imap_port, timeout=30)
        await imap.wait_hello_from_server()
        await imap.login(self.args.user, self.args.password)
        await imap.select("INBOX")
        log.info("imap 127.0.0.1:%d: connected, waiting with IDLE", self.args.imap_port)
        while True:
            await self.drain(imap)
            if ANNOUNCED.is_set():
                continue
            idle = await imap.idle_start(timeout=120)
            try:
                await imap.wait_server_push(timeout=60)
            except asyncio.TimeoutError:
                pass
            imap.idle_done()
            await asyncio.wait_for(idle, 10)

    async def drain(self, imap: aioimaplib.IMAP4) -> None:
        while True:
            ANNOUNCED.clear()
            response = await imap.uid_search("ALL")
            uids = [u.decode() for u in bytes(response.lines[0]).split() if u.isdigit()]
            if not uids and not ANNOUNCED.is_set():
                return
            if not uids:
                continue  # announced during the search, which could not see it yet
            uid_set = ",".join(uids[:BATCH])
            fetched = await imap.uid("fetch", uid_set, "(UID BODY.PEEK[])")
            raws, uid = [], None
            for line in fetched.lines:
                if isinstance(line, bytearray):
                    if uid is not None:
                        raws.append(bytes(line))
                    uid = None
                else:
                    m = _UID.search(bytes(line))
                    uid = m.group(1) if m else None
            await asyncio.gather(*(self.handle(raw) for raw in raws))
            await imap.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
            await imap.uid("expunge", uid_set)


async def main(args: argparse.Namespace) -> None:
    _watch_untagged()
    bot = Bot(args)
    task = asyncio.create_task(bot.run())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    if bot.smtp is not None and bot.smtp.is_connected:
        await bot.smtp.quit()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--imap-port", type=int, required=True)
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--gnupghome", required=True)
    p.add_argument("--user", default="society")
    p.add_argument("--password", default="societypw")
    p.add_argument("--log", required=True)
    a = p.parse_args()
    logging.basicConfig(filename=a.log, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(a))
    sys.exit(0)
