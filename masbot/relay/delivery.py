"""Outbox delivery: every queued post reaches every destination, through outages.

A post leaves in one SMTP transaction for all its destinations behind the same server (one
RCPT TO each), over the transport's kept-open connections. The state stays per destination:
the server may take the post for some destinations and refuse it for others, and only the
refused ones are tried again. Each route (server) has its own transactions in flight, so a
slow or dead server never holds up the destinations behind another. Temporary failures back
off exponentially with jitter; a 5xx or an item older than the maximum age fails for good and
is shown by ``masbot status``.

Exactly once: the moment the server takes a post, the destinations it took are listed as
"accepted but not recorded", and :attr:`Deliverer.journal` is called so the daemon writes that
list to its runtime file (:mod:`masbot.runtime`) before the store commits the delivery. A
restart after a crash in between (a SIGKILL, the store unable to write) records them as sent
and never sends them again. Only a crash between the server's answer and that write, which
SMTP cannot close, can send a post twice.

When the store cannot write (disk full, I/O error), delivery pauses: nothing is sent that
could not be recorded, and what was accepted is recorded once writes work again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from masbot.backoff import jittered
from masbot.relay.smtp import DeliveryError, Transport, route_of
from masbot.store import ItemOutcome, OutboxItem, OutboxState, Store, StoreWriteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a temporary failure."""

    first_delay: float = 30.0
    max_delay: float = 3600.0
    max_age: float = 5 * 24 * 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: half to all of ``first_delay * 2**(attempts-1)``."""
        return jittered(attempts, self.first_delay, self.max_delay, rng)


class Deliverer:
    """Drains the outbox through a transport; call :meth:`kick` when something is queued.

    Up to ``in_flight`` transactions are open at once per route."""

    def __init__(self, store: Store, transport: Transport, sender: str,
                 retry: RetryPolicy = RetryPolicy(), clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, in_flight: int = 4) -> None:
        self.store = store
        self.transport = transport
        self.sender = sender
        self.retry = retry
        self.clock = clock
        self.rng = rng or random.Random()
        self.in_flight = in_flight
        self._wake = asyncio.Event()
        self._in_hand: set[int] = set()  # item ids in a transaction now
        self._busy: dict[str, int] = {}  # route -> transactions in flight
        self._routes: set[str] = set()  # the routes the last look at the outbox found due
        self._tasks: set[asyncio.Task[None]] = set()
        # item id -> (when its destination accepted it, post id), until the store records it
        self._unrecorded: dict[int, tuple[int, int]] = {}
        # Called (synchronously) whenever that list grows: the daemon writes it to the runtime
        # file, so that a crash before the store commits does not send those again.
        self.journal: Callable[[], None] | None = None
        # route -> (monotonic time it may be tried again, failures in a row), after an
        # unexpected error: that route rests instead of being dispatched again at once
        self._resting: dict[str, tuple[float, int]] = {}

    def busy(self) -> bool:
        """True while a transaction is in flight."""
        return bool(self._tasks)

    def kick(self) -> None:
        """Look at the outbox now rather than at the next due time."""
        self._wake.set()

    @property
    def unrecorded(self) -> int:
        """Deliveries accepted by their destination but not yet recorded."""
        return len(self._unrecorded)

    def unrecorded_items(self, limit: int = 400) -> dict[str, list[int]]:
        """The deliveries accepted but not recorded, as plain data for the runtime file:
        item id -> [accepted at, post id] (the first ``limit``, so the file stays small)."""
        return {str(k): [at, post]
                for k, (at, post) in sorted(self._unrecorded.items())[:limit]}

    def adopt_unrecorded(self, items: object) -> int:
        """Take over what :meth:`unrecorded_items` said before a restart: those items are
        recorded as sent (once the store writes), never sent again. Entries that do not match
        a pending item of the same post are ignored. Returns how many were taken."""
        if not isinstance(items, dict):
            return 0
        taken = 0
        for key, value in items.items():
            try:
                item_id, (at, post_id) = int(key), (int(value[0]), int(value[1]))
            except (TypeError, ValueError, IndexError):
                continue
            if self.store.pending_item(item_id, post_id):
                self._unrecorded[item_id] = (at, post_id)
                taken += 1
        return taken

    async def run(self) -> None:
        """Deliver until cancelled; pause while the store cannot write."""
        errors = 0
        try:
            while True:
                if not self.store.health.writable:
                    await self.store.health.until_writable(self.store.probe)
                if not await self._record_unrecorded():
                    continue
                try:
                    self._dispatch()
                    nxt = self.store.next_due(exclude=self._in_hand | self._unrecorded.keys())
                    errors = 0
                except sqlite3.Error as exc:  # the store cannot even be read: wait, say so
                    errors += 1
                    delay = jittered(errors, 1.0, 60.0, self.rng)
                    log.error("delivery: the outbox cannot be read (%s); trying again in %.0f s",
                              exc, delay)
                    await asyncio.sleep(delay)
                    continue
                timeout = None if nxt is None else max(0.05, nxt - self.clock())
                if self._resting:
                    rest = min(t for t, _ in self._resting.values()) - time.monotonic()
                    timeout = max(0.05, min(timeout or rest, rest))
                self._wake.clear()
                # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
                # cancellation that arrives as the event is set, and stopping would hang.
                try:
                    async with asyncio.timeout(min(timeout or 60, 60)):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _record_unrecorded(self) -> bool:
        """Record the deliveries that were accepted but whose transaction could not record
        them (or that a restart took over); False when the store still cannot write."""
        waiting = {k: v for k, v in self._unrecorded.items() if k not in self._in_hand}
        if not waiting:
            return True
        try:
            await self.store.write(lambda s: s.settle(
                [ItemOutcome(item_id, OutboxState.SENT, at) for item_id, (at, _) in waiting.items()]))
        except StoreWriteError:
            return False
        for item_id in waiting:
            self._unrecorded.pop(item_id, None)
        log.info("recorded the deliveries that were accepted while the store could not write")
        return True

    def _full(self, route: str, now: float) -> bool:
        return (self._busy.get(route, 0) >= self.in_flight
                or self._resting.get(route, (0.0, 0))[0] > now)

    def _dispatch(self) -> None:
        """Start a transaction for each due post and route that has room."""
        now = time.monotonic()
        if self._routes and all(self._full(r, now) for r in self._routes):
            return  # looked at again when a transaction ends
        groups: dict[tuple[int, str], list[OutboxItem]] = {}
        skip = self._in_hand | self._unrecorded.keys()
        for item in self.store.due(int(self.clock()), limit=64, exclude=skip):
            route = route_of(self.transport, item.destination)
            groups.setdefault((item.post_id, route), []).append(item)
        self._routes = {route for _, route in groups}
        for (post_id, route), items in groups.items():
            if self._full(route, now):
                continue
            self._busy[route] = self._busy.get(route, 0) + 1
            self._in_hand.update(i.id for i in items)
            task = asyncio.create_task(self._transaction(post_id, route, items))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _transaction(self, post_id: int, route: str, items: list[OutboxItem]) -> None:
        try:
            if self.store.health.writable:
                await self._deliver(post_id, items)
            self._resting.pop(route, None)
        except Exception as exc:  # noqa: BLE001 - a bug must not end delivery or loop at once
            _, failures = self._resting.get(route, (0.0, 0))
            delay = jittered(failures + 1, 1.0, 300.0, self.rng)
            self._resting[route] = (time.monotonic() + delay, failures + 1)
            log.error("delivery to %s: unexpected %s: %s; trying again in %.0f s",
                      ", ".join(i.destination for i in items), type(exc).__name__, exc, delay)
        finally:
            self._in_hand.difference_update(i.id for i in items)
            self._busy[route] -= 1
            if not self._busy[route]:
                del self._busy[route]
            self._wake.set()

    async def _deliver(self, post_id: int, items: Sequence[OutboxItem]) -> None:
        """One attempt of one post to ``items``' destinations (one route), recorded per
        destination."""
        now = self.clock()
        by_destination = {item.destination: item for item in items}
        taken: dict[int, int] = {}  # item id -> when its destination accepted it

        def accepted(recipients: Sequence[str]) -> None:
            # Called between the server's 250 and anything else; must not raise.
            at = int(self.clock())
            for recipient in recipients:
                item = by_destination.get(recipient)
                if item is not None:
                    taken[item.id] = at
                    self._unrecorded[item.id] = (at, post_id)
            if self.journal is not None:
                self.journal()

        refused: dict[str, DeliveryError] = {}
        try:
            refused = await self.transport.send(self.store.post_data(post_id), self.sender,
                                                list(by_destination), accepted)
        except DeliveryError as exc:
            refused = {d: exc.refused.get(d, exc) for d, item in by_destination.items()
                       if item.id not in taken}
        if not taken and not refused:  # a transport that took them all without saying so
            accepted(list(by_destination))
        outcomes = [ItemOutcome(item_id, OutboxState.SENT, at) for item_id, at in taken.items()]
        notes = []
        for destination, error in refused.items():
            item = by_destination[destination]
            if error.permanent or now - item.created > self.retry.max_age:
                reason = (str(error) if error.permanent
                          else f"gave up after {item.attempts + 1} attempts: {error}")
                outcomes.append(ItemOutcome(item.id, OutboxState.FAILED, int(now), reason))
                notes.append((logging.ERROR, "post %d to %s failed for good: %s",
                              destination, reason))
            else:
                delay = self.retry.delay(item.attempts + 1, self.rng)
                outcomes.append(ItemOutcome(item.id, OutboxState.PENDING, int(now + delay),
                                            str(error)))
                notes.append((logging.WARNING, f"post %d to %s: %s; retry in {delay:.0f} s",
                              destination, str(error)))
        try:
            await self.store.write(lambda s: s.settle(outcomes))
        except StoreWriteError:
            # The accepted ones stay listed (and journaled) until the store records them; the
            # others were not recorded as tried, so they are tried again once it writes.
            if taken:
                log.info("post %d delivered to %s (recorded once the store can write)",
                         post_id, ", ".join(i.destination for i in items if i.id in taken))
            return
        for item_id in taken:
            self._unrecorded.pop(item_id, None)
        if taken:
            log.info("post %d delivered to %s", post_id,
                     ", ".join(i.destination for i in items if i.id in taken))
        for level, text, destination, detail in notes:
            log.log(level, text, post_id, destination, detail)

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while self.store.pending_count():
            if time.monotonic() > deadline:
                return False
            self.kick()
            await asyncio.sleep(0.05)
        return True
