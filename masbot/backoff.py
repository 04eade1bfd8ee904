"""One jittered exponential backoff, shared by the IMAP reconnects, the outbox retries, the
store's recovery probe and the tries of a message that fails."""

from __future__ import annotations

import random


def jittered(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """The delay before try ``attempt`` (1-based): half to all of ``initial * 2**(attempt-1)``,
    the ceiling capped at ``maximum``.

    Half-jitter keeps a floor (a flapping peer is never hammered) while spreading the
    retries of many clients apart.
    """
    ceiling = min(maximum, initial * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)
