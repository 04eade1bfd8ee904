"""The store's write failures as plain data: the error, the health, its log lines, reading
while writes fail."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from masbot.store import OutboxState, Store, StoreWriteError, WriteHealth, is_write_failure


def test_a_refused_write_is_a_store_write_error_and_marks_the_store_down(tmp_path, caplog):
    store = Store(tmp_path / "s.sqlite3")
    store.record("d1", "accepted", post=b"post", destinations=["a@example.org"], now=1)
    store.db.execute("PRAGMA query_only=ON")  # SQLite itself refuses every write from now on
    with pytest.raises(StoreWriteError, match="recording a delivery"):
        store.mark_sent(1, 2)
    assert not store.health.writable and store.health.refused == 1
    assert not store.probe()
    assert not store.db.in_transaction  # rolled back, the error not hidden by the ROLLBACK
    assert [i.state for i in store.due(10)] == [OutboxState.PENDING]  # reads still work
    store.db.execute("PRAGMA query_only=OFF")
    assert store.probe() and store.health.writable
    store.mark_sent(1, 3)
    assert store.due(10) == [] and store.pending_count() == 0
    assert "store: cannot write" in caplog.text and "store: writes work again" in caplog.text
    store.close()


def test_a_bug_is_not_a_write_failure(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.record("d1", "accepted", now=1)
    with pytest.raises(sqlite3.IntegrityError):
        with store._tx():
            store.db.execute("INSERT INTO handled(digest, outcome, at) VALUES('d1', 'x', 1)")
    assert store.health.writable
    assert not is_write_failure(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert is_write_failure(sqlite3.OperationalError("database or disk is full"))
    store.close()


def test_the_outage_is_logged_once_a_minute_not_per_attempt(caplog):
    now = [1000.0]
    health = WriteHealth(clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="masbot.store")
    for _ in range(500):  # 500 refused writes in 50 s
        health.failed(OSError("database or disk is full"), "recording")
        now[0] += 0.1
    assert caplog.text.count("store: cannot write") == 1
    now[0] += 15
    health.failed(OSError("database or disk is full"), "recording")  # 65 s after the first
    assert caplog.text.count("store: cannot write") == 2
    assert "501 write(s) refused" in health.describe()
    health.succeeded()
    assert caplog.text.count("store: writes work again") == 1 and health.describe() == "writable"


def test_status_reads_a_store_without_writing_anything(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.record("d1", "accepted", post=b"post", destinations=["a@example.org"], now=1)
    store.quarantine("q1")
    store.close()  # a clean stop: WAL checkpointed away
    before = path.read_bytes()
    reader = Store.open_read_only(path)
    assert reader.pending_count() == 1 and reader.quarantined_count() == 1
    with pytest.raises(sqlite3.Error):
        reader.db.execute("DELETE FROM outbox")
    reader.close()
    assert path.read_bytes() == before


def test_a_reader_sees_all_tables_or_none(tmp_path):
    """The schema is made in one transaction: while it is being made, a reader finds no
    tables (status says so), never some of them."""
    import sqlite3
    path = tmp_path / "masbot.sqlite3"
    sqlite3.connect(path).close()  # the file exists, the daemon has not made its tables yet
    reader = Store.open_read_only(path)
    assert not reader.has_tables()
    reader.close()
    assert Store.reader(path) is None
    Store(path).close()
    reader = Store.open_read_only(path)
    assert reader.has_tables() and reader.pending_count() == 0
    reader.close()
