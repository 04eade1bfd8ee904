"""Whether the store can write: the error a refused write raises, and the outage it starts.

A write that cannot be done now (disk full, I/O error, read-only file system, a lock held too
long) is :class:`StoreWriteError`; :class:`WriteHealth` turns a run of them into one outage
with one log line a minute, and lets the flow wait for its end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from typing import Callable

from masbot.backoff import jittered

log = logging.getLogger("masbot.store")


class StoreWriteError(Exception):
    """The store could not write (disk full, I/O error, read-only, locked): nothing was
    recorded. Not the message's fault: the flow waits and tries again once writes work."""


# Base result codes (sqlite3's ``sqlite_errorname``, extended codes share the prefix) that mean
# "this write cannot be done now", as opposed to a bug such as a constraint violation.
_WRITE_FAILURES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN",
                   "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_PERM", "SQLITE_NOMEM")
_WRITE_FAILURE_TEXTS = ("disk is full", "disk i/o error", "readonly database", "database is locked",
                        "unable to open")


def is_write_failure(exc: BaseException) -> bool:
    """True for an SQLite error that says the write could not be done now (space, I/O,
    permissions, locks); False for a bug (a constraint, a syntax error)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_WRITE_FAILURES) or any(
        t in str(exc).lower() for t in _WRITE_FAILURE_TEXTS)


class WriteHealth:
    """Whether the store can write, with the log lines and the wait that go with it.

    The first failure logs one line; while writes keep failing, at most one line a minute
    follows. Any successful write (or :meth:`Store.probe`) ends the outage.
    """

    LOG_EVERY = 60.0
    STABLE = 60.0  # writable this long: an outage after it starts the probe backoff afresh

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.clock = clock
        self.rng = rng or random.Random()
        self.writable = True
        self.down_since: float | None = None  # monotonic
        self.down_at: float | None = None     # wall clock, for status
        self.last_error: str | None = None
        self.refused = 0                      # writes refused in this outage
        self.outages = 0                      # outages in a row without a stable minute between
        self._up_since = clock()
        self._logged_at: float | None = None
        self._logged_down = False

    def failed(self, exc: BaseException, what: str) -> None:
        """A write failed: the store is down until a write succeeds."""
        now = self.clock()
        self.refused += 1
        self.last_error = str(exc)[:200]
        if self.writable:
            self.writable = False
            self.down_since, self.down_at = now, time.time()
            self.outages = self.outages + 1 if now - self._up_since < self.STABLE else 1
        if self._logged_at is None or now - self._logged_at >= self.LOG_EVERY:
            self._logged_at = now
            self._logged_down = True
            log.error("store: cannot write (%s) while %s; delivery and intake wait, mail stays "
                      "in the mailbox, until writes work again (%d write(s) refused in %.0f s)",
                      self.last_error, what, self.refused, now - (self.down_since or now))

    def succeeded(self) -> None:
        """A write succeeded: the store is up."""
        if self.writable:
            return
        now = self.clock()
        if self._logged_down:
            log.warning("store: writes work again after %.0f s (%d write(s) were refused); "
                        "resuming", now - (self.down_since or now), self.refused)
            self._logged_down = False
        self.writable = True
        self.down_since = self.down_at = None
        self.refused = 0
        self._up_since = now

    def describe(self) -> str:
        """One line for ``masbot status``."""
        if self.writable:
            return "writable"
        return (f"cannot write since {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.down_at or 0))} "
                f"UTC ({self.refused} write(s) refused): {self.last_error}; delivery and intake "
                "wait for it")

    async def until_writable(self, probe: Callable[[], bool]) -> None:
        """Return once the store can write, probing with a jittered backoff (1 s up to 30 s,
        growing while outages follow each other)."""
        while not self.writable:
            await asyncio.sleep(jittered(max(1, self.outages), 1.0, 30.0, self.rng))
            if not self.writable:
                probe()
