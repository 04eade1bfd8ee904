"""Outbox delivery: every queued post reaches every destination, through outages.

One worker task per destination, so a slow or dead partner never holds up the others.
Temporary failures back off exponentially with jitter; a 5xx or an item older than the
maximum age fails for good and is shown by ``masbot status``.

When the store cannot write (disk full, I/O error), delivery pauses: nothing is sent that
could not be recorded. A post the destination accepted but whose delivery could not be
recorded is remembered in memory and recorded as sent once writes work again, so it is not
sent a second time. The daemon also keeps that list in its runtime state file
(:mod:`masbot.runtime`), which needs no new disk space, so a restart during the outage does
not send them again either (only a crash within a second of the acceptance can).
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from masbot.backoff import jittered
from masbot.relay.smtp import DeliveryError, Transport
from masbot.store import OutboxItem, Store, StoreWriteError

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
    """Drains the outbox through a transport; call :meth:`kick` when something is queued."""

    def __init__(self, store: Store, transport: Transport, sender: str,
                 retry: RetryPolicy = RetryPolicy(), clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.transport = transport
        self.sender = sender
        self.retry = retry
        self.clock = clock
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        # item id -> (when its destination accepted it, post id), for deliveries not recorded
        self._unrecorded: dict[int, tuple[int, int]] = {}
        self.on_unrecorded: Callable[[], None] | None = None  # called when that list grows
        # destination -> (monotonic time it may be tried again, failures in a row), after an
        # unexpected error: that destination rests instead of being dispatched again at once
        self._resting: dict[str, tuple[float, int]] = {}

    def kick(self) -> None:
        """Look at the outbox now rather than at the next due time."""
        self._wake.set()

    @property
    def unrecorded(self) -> int:
        """Deliveries accepted by their destination but not yet recorded (store down)."""
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
                if self._unrecorded and not self._record_unrecorded():
                    continue
                try:
                    self._dispatch()
                    nxt = self.store.next_due(exclude=self._unrecorded)
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

    def _record_unrecorded(self) -> bool:
        """Record the deliveries that were accepted during a store outage; False when the
        store still cannot write."""
        for item_id, (at, _) in sorted(self._unrecorded.items()):
            try:
                self.store.mark_sent(item_id, at)
            except StoreWriteError:
                return False
            del self._unrecorded[item_id]
        log.info("recorded the deliveries that were accepted while the store could not write")
        return True

    def _dispatch(self) -> None:
        by_destination: dict[str, list[OutboxItem]] = {}
        for item in self.store.due(int(self.clock()), limit=1000):
            if item.id not in self._unrecorded:
                by_destination.setdefault(item.destination, []).append(item)
        now = time.monotonic()
        for destination, queue in by_destination.items():
            if destination in self._busy or self._resting.get(destination, (0.0, 0))[0] > now:
                continue
            self._busy.add(destination)
            task = asyncio.create_task(self._drain(destination, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, destination: str, queue: list[OutboxItem]) -> None:
        try:
            for item in queue:
                if not self.store.health.writable or not await self._deliver(item):
                    break  # the destination (or the store) is failing: leave the rest
            self._resting.pop(destination, None)
        except Exception as exc:  # noqa: BLE001 - a bug must not end delivery or loop at once
            _, failures = self._resting.get(destination, (0.0, 0))
            delay = jittered(failures + 1, 1.0, 300.0, self.rng)
            self._resting[destination] = (time.monotonic() + delay, failures + 1)
            log.error("delivery to %s: unexpected %s: %s; trying again in %.0f s", destination,
                      type(exc).__name__, exc, delay)
        finally:
            self._busy.discard(destination)
            self._wake.set()

    async def _deliver(self, item: OutboxItem) -> bool:
        """One attempt; True when the item is done with (delivered or failed for good)."""
        now = self.clock()
        recorded = False

        def accepted() -> None:
            # Called between the server's 250 and QUIT; must not raise into the transport.
            nonlocal recorded
            recorded = True
            at = int(self.clock())
            try:
                self.store.mark_sent(item.id, at)
            except StoreWriteError:
                self._unrecorded[item.id] = (at, item.post_id)
                if self.on_unrecorded is not None:
                    self.on_unrecorded()

        try:
            await self.transport.send(self.store.post_data(item.post_id), self.sender,
                                      [item.destination], accepted)
        except DeliveryError as exc:
            if recorded:  # failed after the server accepted it (at QUIT): it is delivered
                log.info("post %d delivered to %s", item.post_id, item.destination)
                return True
            try:
                if exc.permanent or now - item.created > self.retry.max_age:
                    reason = (str(exc) if exc.permanent
                              else f"gave up after {item.attempts + 1} attempts: {exc}")
                    self.store.mark_failed(item.id, reason, int(now))
                    log.error("post %d to %s failed for good: %s", item.post_id,
                              item.destination, reason)
                    return True
                delay = self.retry.delay(item.attempts + 1, self.rng)
                self.store.mark_retry(item.id, str(exc), int(now + delay))
            except StoreWriteError:
                return False  # nothing was sent; it is tried again once the store writes
            log.warning("post %d to %s: %s; retry in %.0f s", item.post_id, item.destination,
                        exc, delay)
            return False
        if not recorded:
            accepted()
        if item.id in self._unrecorded:
            log.info("post %d delivered to %s (recorded once the store can write)",
                     item.post_id, item.destination)
            return False
        log.info("post %d delivered to %s", item.post_id, item.destination)
        return True

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while self.store.pending_count():
            if time.monotonic() > deadline:
                return False
            self.kick()
            await asyncio.sleep(0.05)
        return True
