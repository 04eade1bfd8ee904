"""Answers to senders: queued with the message's outcome, sent with retries, then forgotten.

An answer may carry the one-time Update-Key, so it must not be lost to an SMTP outage; and it
carries the sender's address, which masbot must not keep. Both hold: the answer is written in
the same transaction as the outcome (so a crash loses neither), retried like posts, and
deleted as soon as the smarthost has taken it (with the others sent in the same pass) or it
is given up (a 5xx, or older than the maximum age). Deleted pages are overwritten
(``secure_delete``) and, once the queue has been empty for :data:`SCRUB_AFTER` seconds, the
WAL is checkpointed and truncated, so no copy of the address stays in the data directory.

Answers leave through the same transport as posts, so over the same kept-open connections.
An answer the smarthost took is listed as sent until its deletion is committed, and
:attr:`AnswerSender.journal` is called so the daemon writes that list to its runtime file
first: a restart after a crash in between (a SIGKILL, the store unable to write) deletes those
answers instead of sending them again. While the store cannot write, the sender waits (no
answer is sent that could not then be forgotten).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from masbot.relay.delivery import RetryPolicy
from masbot.relay.smtp import DeliveryError, Transport, send_one
from masbot.store import QueuedAnswer, Store, StoreWriteError

log = logging.getLogger(__name__)
SCRUB_AFTER = 2.0  # seconds the queue stays empty before the WAL is truncated (not per pass)


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
        self._dirty: float | None = None  # when answers were deleted, WAL not truncated since
        self._passing = False
        # Called (synchronously) whenever the list of answers sent but not yet forgotten grows:
        # the daemon writes it to its runtime file, so a restart forgets them, never resends.
        self.journal: Callable[[], None] | None = None

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

    def busy(self) -> bool:
        """True while answers are being sent."""
        return self._passing

    def kick(self) -> None:
        """Look at the queue now."""
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            self._wake.clear()
            self._passing = True
            try:
                await self._pass()
            except StoreWriteError:
                self._passing = False  # waiting for the disk is not sending
                await self.store.health.until_writable(self.store.probe)
                continue
            finally:
                self._passing = False
            nxt = self.store.next_answer_due()
            timeout = 60.0 if nxt is None else min(60.0, max(0.05, nxt - self.clock()))
            if self._dirty is not None:
                timeout = min(timeout, max(0.05, self._dirty + SCRUB_AFTER - time.monotonic()))
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _pass(self) -> None:
        await self._forget_sent()
        if not self.store.health.writable:
            raise StoreWriteError("the store cannot write")
        slots = asyncio.Semaphore(self.in_flight)

        async def send(answer: QueuedAnswer) -> None:
            async with slots:
                await self._send(answer)
        due = self.store.due_answers(int(self.clock()))
        results = await asyncio.gather(*(send(a) for a in due), return_exceptions=True)
        await self._forget_sent()
        for result in results:
            if isinstance(result, BaseException):
                raise result  # a StoreWriteError waits in run(); anything else is a bug
        if self._dirty is not None and time.monotonic() - self._dirty >= SCRUB_AFTER:
            if self.store.answer_count() == 0:
                await self.store.write(lambda s: s.scrub(), alone=True)
                self._dirty = None
            else:
                self._dirty = time.monotonic()  # looked at again once the queue is empty

    async def _send(self, answer: QueuedAnswer) -> None:
        now = self.clock()
        try:
            await send_one(self.transport, answer.data, "", answer.recipient)
        except DeliveryError as exc:
            error = str(exc).replace(answer.recipient, "<sender>")
            if exc.permanent or now - answer.created > self.retry.max_age:
                log.warning("answer %d given up (%s); forgotten", answer.id, error)
                self._taken(answer.id)
                return
            delay = self.retry.delay(answer.attempts + 1, self.rng)
            log.warning("answer %d: %s; retry in %.0f s", answer.id, error, delay)
            await self.store.write(lambda s: s.retry_answer(answer.id, error, int(now + delay)))
            return
        log.info("answer %d sent; forgotten", answer.id)
        self._taken(answer.id)

    def _taken(self, answer_id: int) -> None:
        """Never send ``answer_id`` again: listed, and journaled, until its deletion commits."""
        self._sent_not_forgotten.add(answer_id)
        if self.journal is not None:
            self.journal()

    async def _forget_sent(self) -> None:
        """Delete the answers this pass sent or gave up, in one transaction; they stay listed
        (and are never sent again) until that works."""
        if self._sent_not_forgotten:
            done = sorted(self._sent_not_forgotten)
            await self.store.write(lambda s: s.forget_answers(done))
            self._sent_not_forgotten.difference_update(done)
            if self._dirty is None:
                self._dirty = time.monotonic()

    async def drain(self, timeout: float) -> bool:
        """Wait until no answer waits (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while self.store.answer_count():
            if time.monotonic() > deadline:
                return False
            self.kick()
            await asyncio.sleep(0.05)
        return True
