"""The IMAP inbox: picks up mail with IDLE (or polling), hands it over, removes the original.

UID based. Every message in the mailbox is work to do, because handled originals are removed:
after a crash, whatever is still there is handled again, and the store recognises the ones
whose outcome was already committed. Any failure (login refused, connection dropped, server
restarted) closes the session and reconnects after an exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
from typing import Awaitable, Callable

import aioimaplib

from masbot.config.settings import ImapConfig

log = logging.getLogger(__name__)
Handler = Callable[[bytes], Awaitable[object]]
BATCH = 50  # messages fetched, handled concurrently and removed together
_FETCH_UID = re.compile(rb"\bUID (\d+)")


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids)


class ImapError(Exception):
    """The server said NO or BAD, or the connection broke."""


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        text = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"{what}: {response.result} {text}".strip())
    return response


def backoff(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Delay before reconnect attempt ``attempt`` (1-based): full jitter, capped."""
    ceiling = min(maximum, initial * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


class ImapInbox:
    """Watches one mailbox and hands every message to ``handler``, once."""

    def __init__(self, config: ImapConfig, password: str, handler: Handler,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.password = password
        self.handler = handler
        self.rng = rng or random.Random()
        self.state = "starting"
        self.last_error: str | None = None
        self.handled = 0
        self._paused = False

    async def run(self) -> None:
        """Keep a session open until cancelled; reconnect with backoff after any failure."""
        failures = 0
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                self.state = "stopped"
                raise
            except Exception as exc:  # noqa: BLE001 - every failure leads to a reconnect
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                delay = backoff(failures, self.config.backoff_initial, self.config.backoff_max,
                                self.rng)
                self.state = f"reconnecting in {delay:.1f} s"
                log.warning("imap %s:%s: %s; reconnecting in %.1f s (attempt %d)",
                            self.config.host, self.config.port, self.last_error, delay, failures)
                await asyncio.sleep(delay)
            else:
                failures = 0

    def _connect(self, lost: asyncio.Event) -> aioimaplib.IMAP4:
        cfg = self.config
        ctx = None
        if cfg.tls == "implicit":
            ctx = ssl.create_default_context(cafile=str(cfg.cafile) if cfg.cafile else None)
        # IMAP4 itself (not IMAP4_SSL, which drops conn_lost_cb) takes the TLS context.
        return aioimaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout, ssl_context=ctx,
                                conn_lost_cb=lambda exc: lost.set())

    async def _session(self) -> None:
        cfg = self.config
        lost = asyncio.Event()
        self.state = "connecting"
        client = self._connect(lost)
        try:
            await client.wait_hello_from_server()
            response = await client.login(cfg.username, self.password)
            if response.result != "OK":
                raise ImapError("login refused by the server (check imap.username and the password)")
            _ok(await client.select(cfg.mailbox), f"select {cfg.mailbox}")
            if cfg.after == "move":
                await client.create(cfg.move_to)  # NO when it exists already: fine
            idle = cfg.idle and client.has_capability("IDLE")
            self.last_error = None
            log.info("imap %s:%s: connected, %s", cfg.host, cfg.port,
                     "waiting with IDLE" if idle else f"polling every {cfg.poll_seconds:g} s")
            while True:
                await self._drain(client, lost)
                if idle:
                    self.state = "idle"
                    await self._idle(client, lost)
                else:
                    self.state = "polling"
                    try:  # asyncio.timeout: wait_for can swallow a cancellation (3.11)
                        async with asyncio.timeout(cfg.poll_seconds):
                            await lost.wait()
                    except TimeoutError:
                        pass
                    _ok(await client.noop(), "noop")
                if lost.is_set():
                    raise ImapError("connection lost")
        finally:
            await self._close(client, lost)

    async def _idle(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        idle_task = await client.idle_start(timeout=self.config.idle_seconds)
        push = asyncio.ensure_future(client.wait_server_push(timeout=self.config.idle_seconds + 30))
        gone = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({push, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, gone):
                task.cancel()
        if lost.is_set():
            raise ImapError("connection lost during IDLE")
        client.idle_done()
        async with asyncio.timeout(self.config.timeout):
            await idle_task

    def pause(self) -> None:
        """Take no new messages from the mailbox (used when stopping)."""
        self._paused = True

    async def _drain(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        """Handle every message in the mailbox, oldest UID first, a batch at a time, until a
        search finds the mailbox empty.

        Searching again matters: mail that arrives while a batch is handled is announced
        during our own commands, not after IDLE starts, so IDLE alone would not see it. The
        messages of a batch are handled concurrently; each is removed from the mailbox only
        after its outcome is committed. A message whose handling failed stays in the mailbox,
        and the session is restarted after a backoff to try it again.
        """
        while not self._paused:
            response = _ok(await client.uid_search("ALL"), "uid search")
            uids = sorted(int(u) for u in bytes(response.lines[0]).split() if u.isdigit())
            if not uids:
                return
            await self._handle_batch(client, lost, uids[:BATCH])

    async def _handle_batch(self, client: aioimaplib.IMAP4, lost: asyncio.Event,
                            uids: list[int]) -> None:
        if lost.is_set():
            raise ImapError("connection lost")
        fetched = await self._fetch(client, uids)
        self.state = "handling"
        results = await asyncio.gather(*(self.handler(raw) for raw in fetched.values()),
                                       return_exceptions=True)
        done = [uid for uid, result in zip(fetched, results)
                if not isinstance(result, BaseException)]
        if done:
            await self._remove(client, done)
            self.handled += len(done)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise ImapError(f"{len(failures)} message(s) could not be handled and stay in "
                            f"the mailbox: {type(failures[0]).__name__}: {failures[0]}")
        if not fetched:
            raise ImapError("the server listed messages it then did not return")

    async def _fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
        """The raw bytes of ``uids`` that still exist, by UID."""
        response = _ok(await client.uid("fetch", _uid_set(uids), "(UID BODY.PEEK[])"), "fetch")
        found: dict[int, bytes] = {}
        uid = None
        for line in response.lines:
            if isinstance(line, bytearray):
                if uid is not None:
                    found[uid] = bytes(line)
                uid = None
            else:
                m = _FETCH_UID.search(bytes(line))
                uid = int(m.group(1)) if m else None
        return found

    async def _remove(self, client: aioimaplib.IMAP4, uids: list[int]) -> None:
        cfg = self.config
        uid_set = _uid_set(uids)
        if cfg.after == "move":
            if client.has_capability("MOVE"):
                _ok(await client.uid("move", uid_set, cfg.move_to), "move")
                return
            _ok(await client.uid("copy", uid_set, cfg.move_to), "copy")
        _ok(await client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "delete")
        if client.has_capability("UIDPLUS"):
            _ok(await client.uid("expunge", uid_set), "expunge")
        else:
            _ok(await client.expunge(), "expunge")

    async def _close(self, client: aioimaplib.IMAP4, lost: asyncio.Event) -> None:
        protocol = client.protocol
        if not lost.is_set() and protocol.state in ("AUTH", "SELECTED"):
            try:
                if protocol.has_pending_idle_command():
                    client.idle_done()
                async with asyncio.timeout(2):
                    await client.logout()
            except Exception:  # noqa: BLE001 - a broken session may not log out; it is closed anyway
                pass
        if getattr(protocol, "transport", None) is not None:
            protocol.transport.close()
        for task in list(client.tasks):
            task.cancel()
