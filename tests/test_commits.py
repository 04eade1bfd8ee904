"""The store's writer thread (masbot.commits): many writes to one commit, off the event loop,
each write's failure its own unless the store itself cannot write."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from masbot.store import AppealRecord, Store, StoreWriteError


def appeal(appeal_id: str, revision: int = 1) -> AppealRecord:
    return AppealRecord(appeal_id, revision, "F" * 40, "bail", "open", "2026-11-23",
                        "2026-12-23", "0" * 64, None, "relay", "signed text")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.sqlite3")
    s.start_writer()
    yield s
    s.close()


async def test_writes_made_meanwhile_share_one_commit_and_each_returns_once_committed(store):
    async def one(n: int) -> None:
        await store.write(lambda s: s.record(f"d{n}", "ignored"))
        assert store.handled(f"d{n}") == "ignored", "committed, and seen by the reader"
    await asyncio.gather(*(one(n) for n in range(200)))
    assert store.committer is not None
    assert store.committer.writes == 200 and store.committer.commits < 50


async def test_the_event_loop_runs_while_a_commit_waits(store):
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)
    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await store.write(lambda s: (time.sleep(0.5), s.record("slow", "ignored")))
    task.cancel()
    assert time.monotonic() - started >= 0.5 and ticks >= 20


async def test_a_write_that_fails_by_itself_fails_alone(store):
    await store.write(lambda s: s.record("first", "accepted", appeal=appeal("ANYTOWN-2026-0001")))
    # Hold the writer so that the next three land in one transaction.
    hold = asyncio.ensure_future(store.write(lambda s: time.sleep(0.3)))
    await asyncio.sleep(0.05)
    results = await asyncio.gather(
        store.write(lambda s: s.record("a", "ignored")),
        store.write(lambda s: s.record("dup", "accepted", appeal=appeal("ANYTOWN-2026-0001"))),
        store.write(lambda s: s.record("b", "ignored")),
        return_exceptions=True)
    await hold
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert store.handled("a") == store.handled("b") == "ignored"
    assert store.handled("dup") is None, "rolled back to its savepoint"


async def test_a_write_the_store_cannot_do_fails_the_whole_transaction(store):
    def disk_full(s: Store) -> None:
        s.record("c", "ignored")
        raise sqlite3.OperationalError("database or disk is full")
    hold = asyncio.ensure_future(store.write(lambda s: time.sleep(0.3)))
    await asyncio.sleep(0.05)
    results = await asyncio.gather(store.write(lambda s: s.record("a", "ignored")),
                                   store.write(disk_full), return_exceptions=True)
    await hold
    assert all(isinstance(r, StoreWriteError) for r in results), results
    assert store.handled("a") is None and store.handled("c") is None
    assert not store.health.writable, "an outage, as for a write on the caller's connection"
    await store.write(lambda s: s.record("later", "ignored"))
    assert store.health.writable


async def test_numbers_are_taken_in_memory_and_stored_with_their_appeal(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.start_writer()
    assert [store.next_number("ANYTOWN-2026") for _ in range(3)] == [1, 2, 3]
    await store.write(lambda s: s.record("d", "accepted", appeal=appeal("ANYTOWN-2026-0002"),
                                         numbered=True))
    store.close()
    again = Store(path)
    try:
        # 1 and 3 were never recorded (nothing public carries them); 2 was, so the next is 3.
        assert again.next_number("ANYTOWN-2026") == 3
    finally:
        again.close()
