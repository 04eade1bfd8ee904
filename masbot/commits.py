"""Group commit: the daemon's writes to the store run in one thread, many to a transaction.

A commit with ``synchronous=FULL`` waits for an fsync; on the event loop that would stop
everything else for the length of it, and one commit per write costs one fsync per write.
Here every write submitted while the previous commit was under way goes into the next
transaction, each inside a savepoint of its own, and one commit covers them all. The caller's
await returns only once its write is committed, so every promise that says "committed before"
(an original removed from IMAP, an LMTP ``250``, a post sent) still holds.

A write that fails on its own (a constraint, a bug) is rolled back to its savepoint and raises
for its caller alone; one that cannot be written (disk full, I/O error, a lock held too long)
fails the whole transaction, and every write in it raises :class:`StoreWriteError`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 500  # writes in one transaction at most


@dataclass
class _Write:
    operation: Callable[[Any], Any]
    alone: bool  # must run outside any transaction (a WAL checkpoint)
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _hand_back(write: _Write, ok: bool, value: Any) -> None:
    try:
        write.loop.call_soon_threadsafe(_settle, write.future, ok, value)
    except RuntimeError:
        pass  # the loop is closed: nobody waits any more


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return  # the caller stopped waiting; the write is done (or failed) all the same
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Committer:
    """One writer thread with its own connection (made by ``open_store`` in that thread)."""

    def __init__(self, open_store: Callable[[], Any]) -> None:
        self._open = open_store
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self.commits = 0  # transactions committed (for the benchmark's trace)
        self.writes = 0

    def start(self) -> None:
        """Start the thread and open its connection; raises what opening raised."""
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            raise self._failed

    async def submit(self, operation: Callable[[Any], T], alone: bool = False) -> T:
        """Run ``operation(store)`` in the writer thread; return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Write(operation, alone, future, loop))
        return await future

    def stop(self) -> None:
        """Commit what was submitted, then end the thread and close its connection."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        try:
            store = self._open()
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    batch.append(more)
                self._commit(store, batch)
        finally:
            store.close(checkpoint=False)

    def _commit(self, store: Any, batch: list[_Write]) -> None:
        together = [w for w in batch if not w.alone]
        results: list[tuple[bool, Any]] = []
        if together:
            results = store.run_batch([w.operation for w in together])
            self.commits += 1
            self.writes += len(together)
        for write, (ok, value) in zip(together, results):
            _hand_back(write, ok, value)
        for write in batch:
            if write.alone:
                try:
                    ok, value = True, write.operation(store)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    ok, value = False, exc
                _hand_back(write, ok, value)
