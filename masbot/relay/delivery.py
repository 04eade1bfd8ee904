"""Outbox delivery: every queued post reaches every destination, through outages.

One worker task per destination, so a slow or dead partner never holds up the others.
Temporary failures back off exponentially with jitter; a 5xx or an item older than the
maximum age fails for good and is shown by ``masbot status``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable

from masbot.relay.smtp import DeliveryError, Transport
from masbot.store import OutboxItem, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a temporary failure."""

    first_delay: float = 30.0
    max_delay: float = 3600.0
    max_age: float = 5 * 24 * 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: half to all of ``first_delay * 2**(attempts-1)``."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** max(0, attempts - 1))
        return ceiling * rng.uniform(0.5, 1.0)


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

    def kick(self) -> None:
        """Look at the outbox now rather than at the next due time."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        try:
            while True:
                self._dispatch()
                nxt = self.store.next_due()
                timeout = None if nxt is None else max(0.05, nxt - self.clock())
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

    def _dispatch(self) -> None:
        by_destination: dict[str, list[OutboxItem]] = {}
        for item in self.store.due(int(self.clock()), limit=1000):
            by_destination.setdefault(item.destination, []).append(item)
        for destination, queue in by_destination.items():
            if destination in self._busy:
                continue
            self._busy.add(destination)
            task = asyncio.create_task(self._drain(destination, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, destination: str, queue: list[OutboxItem]) -> None:
        try:
            for item in queue:
                if not await self._deliver(item):
                    break  # the destination is failing: leave the rest for its next attempt
        finally:
            self._busy.discard(destination)
            self._wake.set()

    async def _deliver(self, item: OutboxItem) -> bool:
        now = self.clock()
        recorded = False

        def accepted() -> None:
            nonlocal recorded
            self.store.mark_sent(item.id, int(self.clock()))
            recorded = True

        try:
            await self.transport.send(self.store.post_data(item.post_id), self.sender,
                                      [item.destination], accepted)
        except DeliveryError as exc:
            if recorded:  # failed after the server accepted it (at QUIT): it is delivered
                log.info("post %d delivered to %s", item.post_id, item.destination)
                return True
            if exc.permanent or now - item.created > self.retry.max_age:
                reason = str(exc) if exc.permanent else f"gave up after {item.attempts + 1} attempts: {exc}"
                self.store.mark_failed(item.id, reason, int(now))
                log.error("post %d to %s failed for good: %s", item.post_id, item.destination, reason)
                return True
            delay = self.retry.delay(item.attempts + 1, self.rng)
            self.store.mark_retry(item.id, str(exc), int(now + delay))
            log.warning("post %d to %s: %s; retry in %.0f s", item.post_id, item.destination,
                        exc, delay)
            return False
        if not recorded:
            self.store.mark_sent(item.id, int(self.clock()))
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
