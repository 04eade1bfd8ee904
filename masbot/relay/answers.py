"""Answers to senders: queued with the message's outcome, sent with retries, then forgotten.

An answer may carry the one-time Update-Key, so it must not be lost to an SMTP outage; and it
carries the sender's address, which masbot must not keep. Both hold: the answer is written in
the same transaction as the outcome (so a crash loses neither), retried like posts, and
deleted as soon as the smarthost has taken it (with the others sent in the same pass) or it
is given up (a 5xx, or older than the maximum age). Deleted pages are overwritten
(``secure_delete``) and, once the queue is empty, the WAL is checkpointed and truncated, so no
copy of the address stays in the data directory.

While the store cannot write, the sender waits (no answer is sent that could not then be
forgotten); an answer sent whose deletion failed is remembered in memory and deleted once
writes work again, never sent twice by this process.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from masbot.relay.delivery import RetryPolicy
from masbot.relay.smtp import DeliveryError, Transport
from masbot.store import QueuedAnswer, Store, StoreWriteError

log = logging.getLogger(__name__)


class AnswerSender:
    """Drains the answer queue through a transport; call :meth:`kick` when one is queued.

    Up to ``in_flight`` answers are sent at once: each goes to another recipient, and one
    slow or dead recipient's server must not hold up the others."""

    def __init__(self, store: Store, transport: Transport, retry: RetryPolicy = RetryPolicy(),
                 clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, in_flight: int = 4) -> None:
        self.in_flight = in_flight
        self.store = store
        self.transport = transport
        self.retry = retry
        self.clock = clock
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._sent_not_forgotten: set[int] = set()
        self._dirty = False  # answers were deleted since the WAL was last truncated
        # Called when sent answers could not be forgotten (the store cannot write): the daemon
        # keeps their ids in its runtime file, so a restart forgets them instead of resending.
        self.on_unforgotten: Callable[[], None] | None = None

    @property
    def sent_not_forgotten(self) -> list[int]:
        """The answers sent (or given up) whose deletion waits for the store to write."""
        return sorted(self._sent_not_forgotten)

    def adopt_sent(self, ids: object) -> int:
        """Take over what :attr:`sent_not_forgotten` said before a restart: those answers are
        deleted at the next pass and never sent again. Returns how many were taken."""
        if not isinstance(ids, list):
            return 0
        taken = {i for i in ids if isinstance(i, int)}
        self._sent_not_forgotten |= taken
        return len(taken)

    def kick(self) -> None:
        """Look at the queue now."""
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self._pass()
            except StoreWriteError:
                await self.store.health.until_writable(self.store.probe)
                continue
            nxt = self.store.next_answer_due()
            timeout = 60.0 if nxt is None else min(60.0, max(0.05, nxt - self.clock()))
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _pass(self) -> None:
        self._forget_sent()
        if not self.store.health.writable:
            raise StoreWriteError("the store cannot write")
        slots = asyncio.Semaphore(self.in_flight)

        async def send(answer: QueuedAnswer) -> None:
            async with slots:
                await self._send(answer)
        due = self.store.due_answers(int(self.clock()))
        results = await asyncio.gather(*(send(a) for a in due), return_exceptions=True)
        self._forget_sent()
        for result in results:
            if isinstance(result, BaseException):
                raise result  # a StoreWriteError waits in run(); anything else is a bug
        if self._dirty and self.store.answer_count() == 0:
            self.store.scrub()
            self._dirty = False

    async def _send(self, answer: QueuedAnswer) -> None:
        now = self.clock()
        try:
            await self.transport.send(answer.data, "", [answer.recipient])
        except DeliveryError as exc:
            error = str(exc).replace(answer.recipient, "<sender>")
            if exc.permanent or now - answer.created > self.retry.max_age:
                log.warning("answer %d given up (%s); forgotten", answer.id, error)
                self._sent_not_forgotten.add(answer.id)
                return
            delay = self.retry.delay(answer.attempts + 1, self.rng)
            log.warning("answer %d: %s; retry in %.0f s", answer.id, error, delay)
            self.store.retry_answer(answer.id, error, int(now + delay))
            return
        log.info("answer %d sent; forgotten", answer.id)
        self._sent_not_forgotten.add(answer.id)

    def _forget_sent(self) -> None:
        """Delete the answers this pass sent or gave up, in one transaction; they stay in
        memory (and are never sent again) until that works."""
        if self._sent_not_forgotten:
            try:
                self.store.forget_answers(sorted(self._sent_not_forgotten))
            except StoreWriteError:
                if self.on_unforgotten is not None:
                    self.on_unforgotten()
                raise
            self._sent_not_forgotten.clear()
            self._dirty = True

    async def drain(self, timeout: float) -> bool:
        """Wait until no answer waits (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while self.store.answer_count():
            if time.monotonic() > deadline:
                return False
            self.kick()
            await asyncio.sleep(0.05)
        return True
