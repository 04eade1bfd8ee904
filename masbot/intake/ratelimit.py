"""Rate limits that need no member list: counters keyed by salted hashes that live in memory.

The salt is random, never written anywhere, and replaced every ``rotate_seconds`` (a day by
default), so the counters cannot be linked to an address after a restart or after a day, and
nothing about senders is ever on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Window:
    """Events in a sliding window of ``seconds``; at most ``limit`` are allowed."""

    limit: int
    seconds: float
    events: deque = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Count an event at ``now`` if the window has room; True when counted."""
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()
        if len(self.events) >= self.limit:
            return False
        self.events.append(now)
        return True


class RateLimiter:
    """Per-sender and global limits, in memory only."""

    def __init__(self, per_sender_per_hour: int, answers_per_minute: int,
                 clock: Callable[[], float] = time.monotonic, rotate_seconds: float = 86400.0,
                 random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.per_sender_per_hour = per_sender_per_hour
        self.answers = Window(answers_per_minute, 60.0)
        self.clock = clock
        self.rotate_seconds = rotate_seconds
        self.random_bytes = random_bytes
        self._rotate(clock())

    def _rotate(self, now: float) -> None:
        self._salt = self.random_bytes(32)
        self._salted_at = now
        self._senders: dict[bytes, Window] = {}

    def _key(self, address: str) -> bytes:
        return hmac.new(self._salt, address.strip().casefold().encode("utf-8"),
                        hashlib.sha256).digest()

    def sender_allowed(self, address: str | None) -> bool:
        """Count one message from ``address``; False when it is over its hourly limit."""
        now = self.clock()
        if now - self._salted_at >= self.rotate_seconds:
            self._rotate(now)
        if not address:
            return True
        window = self._senders.setdefault(self._key(address), Window(self.per_sender_per_hour, 3600.0))
        if len(self._senders) > 100_000:  # a flood of distinct senders must not grow memory
            self._senders = {k: w for k, w in self._senders.items() if w.events and
                             w.events[-1] > now - 3600.0}
        return window.allow(now)

    def answer_allowed(self) -> bool:
        """Count one answer to a message that is not a valid request; False over the limit."""
        return self.answers.allow(self.clock())
