"""The IMAP inbox: picks up mail with IDLE (or polling), hands it over, removes the original.

UID based. Every message in the mailbox is work to do, because handled originals are removed:
after a crash, whatever is still there is handled again, and the store recognises the ones
whose outcome was already committed.

The connection follows the state table of :mod:`masbot.intake.imapstate`. What it promises:

* **Noticed at once.** Every untagged response is read, also the ones aioimaplib drops
  because they arrive inside the answer to one of masbot's own commands: an ``EXISTS``
  anywhere means "search again", and a ``BYE`` or a closed connection ends the session
  at once, whatever command was waiting. A safety-net search runs every
  :data:`SAFETY_NET_SECONDS` (or ``idle_seconds`` when smaller) in case an announcement
  was still missed.
* **Reconnects with a backoff that resets.** Failures in a row back off with jitter,
  doubling from ``backoff_initial``; a session that worked (it drained the mailbox once)
  starts the count afresh, and after one the first :data:`QUICK_RETRIES` tries all wait
  ``backoff_initial`` (a server that went away is most likely restarting).
* **The store first.** When the store cannot write, nothing is fetched or handled; mail
  stays in the mailbox and the inbox waits, connected, until writes work again.
* **Poison messages end in quarantine.** A message whose handling raises (other than for a
  store or system fault) is tried again after a backoff; after :data:`MAX_TRIES` failed
  tries it is moved to the ``imap.quarantine`` folder and only its digest is recorded.
  Tries are counted in memory, by digest: a restart gives a message its tries again.
  When :data:`MASS_FAILURE` messages or more fail and none has been handled since, the
  fault is the system's (gpg, a key, the config), not theirs: none is quarantined until a
  message is handled again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import aioimaplib

from masbot.backoff import jittered
from masbot.config.settings import ImapConfig
from masbot.intake.imapstate import Connection, Event, State
from masbot.intake.imapwire import WatchedClient, Link
from masbot.intake.message import message_digest
from masbot.store import Store, StoreWriteError, is_write_failure

log = logging.getLogger(__name__)
Handler = Callable[[bytes], Awaitable[object]]
T = TypeVar("T")
BATCH = 50  # messages fetched, handled concurrently and removed together (two batches in hand)
MAX_TRIES = 3  # failed tries before a message goes to the quarantine folder
MASS_FAILURE = 3  # this many messages failing, none handled since: the system is at fault
SAFETY_NET_SECONDS = 60.0  # search at least this often, even when no EXISTS came
QUICK_RETRIES = 3  # reconnects at backoff_initial before the delay starts doubling
_FETCH_UID = re.compile(rb"\bUID (\d+)")
# OSErrors that say the machine, not the message, is in trouble: such a failure is no try
_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM,
                  errno.EMFILE, errno.ENFILE}


@dataclass
class _Batch:
    """Messages fetched together and being handled, to be removed together."""

    digests: dict[int, str]  # uid -> digest
    give_up: list[int]  # uids to move to the quarantine folder
    work: list[int]  # uids being handled, in the order of ``handling``'s results
    handling: asyncio.Future[list[Any]]


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids)


class ImapError(Exception):
    """The server said NO or BAD, or did not answer in time."""


class ConnectionLost(ImapError):
    """The server said BYE or the connection closed."""


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        text = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"{what}: {response.result} {text}".strip())
    return response


def not_the_message(exc: BaseException) -> bool:
    """True when a handling failure is the system's fault (the store cannot write, the disk
    is full, out of memory), so it does not count as one of the message's tries."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (StoreWriteError, MemoryError)) or is_write_failure(current):
            return True
        if isinstance(current, OSError) and current.errno in _SYSTEM_ERRNOS:
            return True
        current = current.__cause__ or current.__context__
    return False


class ImapInbox:
    """Watches one mailbox and hands every message to ``handler``, once.

    ``store`` (optional) gives the write health that pauses intake and the quarantine
    record; without it, messages are still quarantined but not counted.
    """

    def __init__(self, config: ImapConfig, password: str, handler: Handler,
                 rng: random.Random | None = None, *, store: Store | None = None,
                 safety_net: float = SAFETY_NET_SECONDS, retry_first: float = 5.0) -> None:
        self.config = config
        self.password = password
        self.handler = handler
        self.rng = rng or random.Random()
        self.store = store
        self.safety_net = min(safety_net, config.idle_seconds)
        self.retry_first = retry_first
        self.conn = Connection()
        self.last_error: str | None = None
        self.handled = 0
        self.quarantined = 0
        self.link: Link | None = None
        self._detail = ""
        self._paused = False
        self._stop = asyncio.Event()
        self._tries: dict[str, int] = {}        # digest -> failed tries (in memory only)
        self._failing_since: dict[str, float] = {}  # digest -> monotonic time of its 1st failure
        self._last_success = float("-inf")
        self._retry_at: dict[int, float] = {}   # uid -> monotonic time it may be tried again

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The connection's state for ``masbot status``, in words."""
        return self.conn.state.value + (f": {self._detail}" if self._detail else "")

    def _event(self, event: Event, detail: str = "") -> None:
        self.conn.handle(event)
        self._detail = detail

    def _store_writable(self) -> bool:
        return self.store is None or self.store.health.writable

    def pause(self) -> None:
        """Take no new messages from the mailbox (used when stopping)."""
        self._paused = True
        self._stop.set()

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep a session open until cancelled or paused; reconnect with backoff after any
        failure."""
        cfg = self.config
        while not self._paused:
            self._event(Event.CONNECT)
            try:
                await self._session()
            except asyncio.CancelledError:
                if self.conn.state is not State.STOPPED:
                    self._event(Event.STOP)
                raise
            except Exception as exc:  # noqa: BLE001 - every failure leads to a reconnect
                lost = isinstance(exc, ConnectionLost)
                self.last_error = (str(exc) if isinstance(exc, ImapError)
                                   else f"{type(exc).__name__}: {exc}")[:300]
                self._event(Event.LOST if lost else Event.FAILED)
                # A server that worked and went away is likely restarting and back within
                # seconds: the first tries come quickly, then the delay doubles. One that
                # never worked (a refused login) is backed off from the first try.
                quick = QUICK_RETRIES - 1 if self.conn.worked else 0
                delay = jittered(max(1, self.conn.failures - quick), cfg.backoff_initial,
                                 cfg.backoff_max, self.rng)
                self._detail = f"reconnecting in {delay:.1f} s (attempt {self.conn.failures})"
                log.warning("imap %s:%s: %s; reconnecting in %.1f s (attempt %d)",
                            cfg.host, cfg.port, self.last_error, delay, self.conn.failures)
                try:
                    async with asyncio.timeout(delay):
                        await self._stop.wait()
                except TimeoutError:
                    pass
        if self.conn.state is not State.STOPPED:
            self._event(Event.STOP)

    def _connect(self, link: Link) -> WatchedClient:
        cfg = self.config
        ctx = None
        if cfg.tls == "implicit":
            ctx = ssl.create_default_context(cafile=str(cfg.cafile) if cfg.cafile else None)
        return WatchedClient(cfg.host, cfg.port, cfg.timeout, ctx, link)

    async def _call(self, awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:
        """Await one command, but give up at once when the connection is lost (aioimaplib
        leaves a command waiting on a dead socket) and after ``timeout`` (imap.timeout)."""
        link = self.link
        assert link is not None
        task = asyncio.ensure_future(awaitable)
        gone = asyncio.ensure_future(link.lost.wait())
        try:
            await asyncio.wait({task, gone}, timeout=timeout or self.config.timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if link.lost.is_set():
            raise ConnectionLost(f"{what}: {link.reason}")
        raise ImapError(f"{what}: no answer within {timeout or self.config.timeout:g} s")

    async def _session(self) -> None:
        cfg = self.config
        link = self.link = Link()
        client = self._connect(link)
        try:
            await self._call(client.wait_hello_from_server(), "greeting")
            response = await self._call(client.login(cfg.username, self.password), "login")
            if response.result != "OK":
                raise ImapError("login refused by the server (check imap.username and the password)")
            _ok(await self._call(client.select(cfg.mailbox), f"select {cfg.mailbox}"),
                f"select {cfg.mailbox}")
            for folder in ((cfg.move_to,) if cfg.after == "move" else ()) + (cfg.quarantine,):
                await self._call(client.create(folder), f"create {folder}")  # NO if it exists
            idle = cfg.idle and client.has_capability("IDLE")
            self.last_error = None
            log.info("imap %s:%s: connected, %s", cfg.host, cfg.port,
                     "waiting with IDLE" if idle else f"polling every {cfg.poll_seconds:g} s")
            self._event(Event.READY)
            while not self._paused:
                if self.conn.state is State.DRAINING:
                    if self._store_writable():
                        await self._drain(client)
                    if not self._store_writable():
                        self._event(Event.STORE_DOWN, "the store cannot write; mail stays in "
                                    "the mailbox until it can")
                        continue
                    self._event(Event.DRAINED, "IDLE" if idle else "polling")
                if self._paused:
                    break
                event, detail = await self._wait(client, idle), self._detail
                self._event(event)
                if self.conn.state is State.PAUSED:
                    self._detail = detail  # still paused, for the same reason
        finally:
            await self._close(client, link)

    async def _wait(self, client: WatchedClient, idle: bool) -> Event:
        """Wait (in IDLE, or for the poll interval) for mail, a timer or, while paused, the
        store; return the event that ended the wait. Raises ConnectionLost at once on BYE or
        a closed connection."""
        link = self.link
        assert link is not None
        paused = self.conn.state is State.PAUSED
        if paused and self._store_writable():
            return Event.STORE_UP
        if not paused and link.arrived.is_set():
            return Event.MAIL
        timeout = self.safety_net if idle else self.config.poll_seconds
        if self._retry_at:
            timeout = max(0.05, min(timeout, min(self._retry_at.values()) - time.monotonic()))
        idle_task = None
        if idle:
            idle_task = await self._call(client.idle_start(timeout=self.config.idle_seconds + 60),
                                         "idle")
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(link.lost.wait()),
                                             asyncio.ensure_future(self._stop.wait())}
        if paused:
            assert self.store is not None
            waiters.add(asyncio.ensure_future(self.store.health.until_writable(self.store.probe)))
        else:
            waiters.add(asyncio.ensure_future(link.arrived.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        if link.lost.is_set():
            raise ConnectionLost(f"while waiting: {link.reason}")
        if idle_task is not None:
            client.idle_done()
            _ok(await self._call(idle_task, "idle done"), "idle")
            while not client.protocol.idle_queue.empty():  # read through the observer already
                client.protocol.idle_queue.get_nowait()
        else:
            _ok(await self._call(client.noop(), "noop"), "noop")
        if paused:
            return Event.STORE_UP if self._store_writable() else Event.WAKE
        return Event.MAIL if link.arrived.is_set() else Event.WAKE

    # -- handling ---------------------------------------------------------------------------
    async def _drain(self, client: WatchedClient) -> None:
        """Handle every message in the mailbox, oldest UID first, a batch at a time, until a
        search finds nothing to do and no mail was announced since it started.

        Searching again matters: mail that arrives while masbot works is announced inside the
        answers to masbot's own commands (even the last, empty SEARCH), not when IDLE starts.
        """
        link = self.link
        assert link is not None
        rescans = 0
        while not self._paused and self._store_writable():
            link.arrived.clear()
            response = _ok(await self._call(client.uid_search("ALL"), "uid search"), "uid search")
            uids = sorted(int(u) for u in bytes(response.lines[0]).split() if u.isdigit())
            present = set(uids)
            for uid in [u for u in self._retry_at if u not in present]:
                del self._retry_at[uid]
            now = time.monotonic()
            todo = [u for u in uids if self._retry_at.get(u, 0.0) <= now]
            if todo:
                rescans = 0
                await self._handle_batches(client, todo)
            elif link.arrived.is_set() and rescans < 5:
                rescans += 1  # announced during the search, which could not yet see it
            else:
                link.arrived.clear()
                return

    async def _handle_batches(self, client: WatchedClient, uids: list[int]) -> None:
        """Handle ``uids`` a batch at a time, two batches in hand: the next batch is fetched
        and its messages start (as the handler's slots free up) while the previous one
        finishes, and a batch is removed from the mailbox while the next one is handled, so
        the handler never waits for IMAP between batches."""
        in_hand: list[_Batch] = []
        try:
            for start in range(0, len(uids), BATCH):
                if self._paused or not self._store_writable():
                    break
                in_hand.append(await self._start_batch(client, uids[start:start + BATCH]))
                if len(in_hand) == 2:
                    await self._finish_batch(client, in_hand[0])
                    in_hand.pop(0)
            while in_hand:
                await self._finish_batch(client, in_hand[0])
                in_hand.pop(0)
        except asyncio.CancelledError:
            for batch in in_hand:
                batch.handling.cancel()
            raise
        except BaseException:
            # The session failed: the messages in hand finish first (nothing is removed now;
            # the next session finds them committed), so none is handled twice at once.
            await asyncio.gather(*(b.handling for b in in_hand), return_exceptions=True)
            raise

    async def _start_batch(self, client: WatchedClient, uids: list[int]) -> "_Batch":
        fetched = await self._fetch(client, uids)
        if not fetched:
            raise ImapError("the server listed messages it then did not return")
        digests = {uid: message_digest(raw) for uid, raw in fetched.items()}
        give_up = [uid for uid in fetched
                   if self.store is not None and self.store.is_quarantined(digests[uid])]
        work = [uid for uid in fetched if uid not in give_up]
        self._detail = f"handling {len(work)} message(s)"
        handling = asyncio.ensure_future(asyncio.gather(
            *(self.handler(fetched[uid]) for uid in work), return_exceptions=True))
        return _Batch(digests, give_up, work, handling)

    async def _finish_batch(self, client: WatchedClient, batch: "_Batch") -> None:
        """Wait for the batch's messages, then remove those handled (their outcome is
        committed) and quarantine those that failed too often."""
        cfg = self.config
        results = await batch.handling
        digests, give_up, work = batch.digests, batch.give_up, batch.work
        done = []
        for uid, result in zip(work, results):
            digest = digests[uid]
            ref = digest[:12]
            if not isinstance(result, BaseException):
                done.append(uid)
                self._tries.pop(digest, None)
                self._failing_since.pop(digest, None)
                self._last_success = time.monotonic()
                continue
            if isinstance(result, (StoreWriteError, asyncio.CancelledError)):
                if self.store is None:  # no health to wait for: do not try again at once
                    self._retry_at[uid] = time.monotonic() + self.retry_first
                continue  # left in place; the store's own log line says why
            if not_the_message(result):
                self._retry_at[uid] = time.monotonic() + jittered(1, self.retry_first,
                                                                  self.retry_first, self.rng)
                log.warning("message %s: not handled (%s, a system fault); it stays in the "
                            "mailbox and is tried again", ref, type(result).__name__)
                continue
            tries = self._tries[digest] = self._tries.get(digest, 0) + 1
            self._failing_since.setdefault(digest, time.monotonic())
            if tries >= MAX_TRIES and self._everything_fails():
                delay = jittered(tries, self.retry_first, 300.0, self.rng)
                self._retry_at[uid] = time.monotonic() + delay
                log.error("message %s: handling failed (%s) %d times, but so does every message "
                          "(%d) since the first of them: not quarantined, tried again in %.0f s; "
                          "check gpg, the keys and the configuration", ref,
                          type(result).__name__, tries, len(self._failing_since), delay)
                continue
            if tries < MAX_TRIES:
                delay = jittered(tries, self.retry_first, 300.0, self.rng)
                self._retry_at[uid] = time.monotonic() + delay
                log.warning("message %s: handling failed (%s), try %d of %d; it stays in the "
                            "mailbox and is tried again in %.0f s", ref, type(result).__name__,
                            tries, MAX_TRIES, delay)
                continue
            try:
                if self.store is not None:
                    await self.store.write(lambda s: s.quarantine(digest))
            except StoreWriteError:
                continue
            give_up.append(uid)
            log.error("message %s: handling failed %d times (last: %s); moved to the IMAP "
                      "folder %s for the operator", ref, tries, type(result).__name__,
                      cfg.quarantine)
        if done:
            await self._remove(client, done)
            self.handled += len(done)
        if give_up:
            await self._move(client, give_up, cfg.quarantine)
            self.quarantined += len(give_up)
            for uid in give_up:
                self._tries.pop(digests[uid], None)
                self._failing_since.pop(digests[uid], None)
                self._retry_at.pop(uid, None)

    def _everything_fails(self) -> bool:
        """True when MASS_FAILURE messages or more are failing and none was handled since
        the first of them failed."""
        return (len(self._failing_since) >= MASS_FAILURE
                and self._last_success < min(self._failing_since.values()))

    async def _fetch(self, client: WatchedClient, uids: list[int]) -> dict[int, bytes]:
        """The raw bytes of ``uids`` that still exist, by UID."""
        response = _ok(await self._call(client.uid("fetch", _uid_set(uids), "(UID BODY.PEEK[])"),
                                        "fetch"), "fetch")
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

    async def _remove(self, client: WatchedClient, uids: list[int]) -> None:
        if self.config.after == "move":
            assert self.config.move_to is not None
            await self._move(client, uids, self.config.move_to)
        else:
            await self._delete(client, _uid_set(uids))

    async def _move(self, client: WatchedClient, uids: list[int], folder: str) -> None:
        uid_set = _uid_set(uids)
        if client.has_capability("MOVE"):
            _ok(await self._call(client.uid("move", uid_set, folder), "move"), "move")
            return
        _ok(await self._call(client.uid("copy", uid_set, folder), "copy"), "copy")
        await self._delete(client, uid_set)

    async def _delete(self, client: WatchedClient, uid_set: str) -> None:
        _ok(await self._call(client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"),
                             "delete"), "delete")
        if client.has_capability("UIDPLUS"):
            _ok(await self._call(client.uid("expunge", uid_set), "expunge"), "expunge")
        else:
            _ok(await self._call(client.expunge(), "expunge"), "expunge")

    async def _close(self, client: WatchedClient, link: Link) -> None:
        protocol = client.protocol
        if not link.lost.is_set() and protocol.state in ("AUTH", "SELECTED"):
            try:
                if protocol.has_pending_idle_command():
                    client.idle_done()
                await self._call(client.logout(), "logout", timeout=2)
            except Exception:  # noqa: BLE001 - a broken session may not log out; it is closed anyway
                pass
        if getattr(protocol, "transport", None) is not None:
            protocol.transport.close()
        # Cancel aioimaplib's own tasks and read their outcome, so that none is left with an
        # exception nobody retrieved.
        tasks = [*client.tasks, *protocol.tasks, client._client_task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
