"""The durable store (SQLite): handled messages, appeals, posts and the outbox.

No table holds a member's address, name or any header of their mail: a handled message is
remembered only by the SHA-256 digest of its bytes, so that a crash between recording an
outcome and removing the original from the mailbox never posts twice.

Durability: WAL with ``synchronous=FULL``. A commit returns only after the WAL is on disk,
because a commit is followed by things that cannot be undone (the original is deleted from
the mailbox, an LMTP ``250`` is answered). ``secure_delete`` overwrites freed pages. In the
daemon, writes go through :meth:`Store.write` to a writer thread that commits them in batches
(:mod:`masbot.commits`), so the event loop never waits for an fsync; reads stay on the
caller's connection and see what is committed.

Write failures (disk full, I/O error, a read-only file system, a lock held too long) raise
:class:`StoreWriteError` and mark :attr:`Store.health` down: the daemon's flow waits (delivery
pauses, mail stays in the mailbox) until a write succeeds again, and logs that once a minute,
not once per attempt. Reads keep working, so ``masbot status`` opens the store read-only.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Callable, Iterable, Sequence, TypeVar

from masbot.commits import Committer
from masbot.post.build import PostImage
from masbot.storehealth import StoreWriteError, WriteHealth, is_write_failure

__all__ = ["AppealRecord", "ItemOutcome", "OutboxItem", "OutboxState", "Store",
           "StoreWriteError", "WriteHealth", "is_write_failure"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class OutboxState(str, enum.Enum):
    """Where one post stands with one destination (the ``outbox.state`` column)."""

    PENDING = "pending"  # waiting for its next attempt
    SENT = "sent"        # the destination accepted it
    FAILED = "failed"    # refused for good (5xx) or too old; shown by ``masbot status``

SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    digest  TEXT PRIMARY KEY,      -- SHA-256 of the inbound message bytes
    outcome TEXT NOT NULL,         -- accepted / invalid / answered / ignored / refused
    at      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    scope TEXT PRIMARY KEY,        -- e.g. "ANYTOWN-2026"
    next  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS appeals (
    appeal_id       TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    origin          TEXT NOT NULL, -- fingerprint of the origin society
    template        TEXT NOT NULL,
    status          TEXT NOT NULL,
    issued          TEXT NOT NULL,
    expires         TEXT NOT NULL,
    digest          TEXT NOT NULL, -- SHA-256 of the canonical text
    update_key_hash TEXT,          -- only for our own appeals; never the key itself
    action          TEXT NOT NULL, -- relay / hold / drop
    signed_text     TEXT NOT NULL, -- the clearsigned public appeal
    fields          TEXT NOT NULL DEFAULT '[]', -- the public fields as JSON, for revisions
    record          TEXT NOT NULL DEFAULT '', -- the relay record it came with (partner appeals)
    origin_key      TEXT NOT NULL DEFAULT '', -- the origin's public key (partner appeals)
    PRIMARY KEY (origin, appeal_id, revision)
);
CREATE TABLE IF NOT EXISTS posts (
    id        INTEGER PRIMARY KEY,
    appeal_id TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    data      BLOB NOT NULL,       -- the signed post, byte for byte as sent
    created   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER NOT NULL REFERENCES posts(id),
    destination   TEXT NOT NULL,   -- a list address from the config
    state         TEXT NOT NULL DEFAULT 'pending',  -- pending / sent / failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL,
    next_attempt  INTEGER NOT NULL,
    last_error    TEXT,
    done_at       INTEGER,
    UNIQUE (post_id, destination)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt);
CREATE TABLE IF NOT EXISTS held_images (
    origin       TEXT NOT NULL,
    appeal_id    TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,    -- image-N.jpg / image-N.png (never the sender's file name)
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,    -- already re-encoded without metadata; public once approved
    PRIMARY KEY (origin, appeal_id, revision, position)
);
CREATE TABLE IF NOT EXISTS commands (
    digest TEXT PRIMARY KEY,       -- SHA-256 of a moderator's signed command: never obeyed twice
    at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    id           INTEGER PRIMARY KEY,
    recipient    TEXT NOT NULL,    -- the sender's address: kept only until the answer is sent
    data         BLOB NOT NULL,    -- the answer (it may carry a one-time Update-Key)
    created      INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error   TEXT
);
CREATE TABLE IF NOT EXISTS quarantined (
    digest TEXT PRIMARY KEY,       -- SHA-256 of a message that failed 3 times; nothing else of it
    at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS daemon_state (
    key   TEXT PRIMARY KEY,        -- e.g. "imap": the inbox connection's state, for `status`
    value TEXT NOT NULL,
    at    INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Answer:
    """An answer to a sender, to be queued with the message's outcome."""

    recipient: str
    data: bytes


@dataclass(frozen=True)
class QueuedAnswer:
    """An answer waiting to be sent."""

    id: int
    recipient: str
    data: bytes
    created: int
    attempts: int


@dataclass(frozen=True)
class AppealRecord:
    """What the store keeps of one appeal revision."""

    appeal_id: str
    revision: int
    origin: str
    template: str
    status: str
    issued: str
    expires: str
    digest: str
    update_key_hash: str | None
    action: str
    signed_text: str
    fields: str = "[]"
    record: str = ""
    origin_key: str = ""


@dataclass(frozen=True)
class OutboxItem:
    """One post waiting for (or done with) one destination."""

    id: int
    post_id: int
    destination: str
    state: OutboxState
    attempts: int
    created: int
    next_attempt: int
    last_error: str | None


@dataclass(frozen=True)
class ItemOutcome:
    """What one delivery attempt left an outbox item in: SENT (``at`` is when), still
    PENDING (a temporary failure; ``at`` is the next attempt) or FAILED for good (at ``at``)."""

    item_id: int
    state: OutboxState
    at: int
    error: str | None = None


class Store:
    """The SQLite store. One instance per process; all methods are quick and synchronous.

    Every write raises :class:`StoreWriteError` when it cannot be done now (see
    :attr:`health`); other SQLite errors are bugs and propagate unchanged.
    """

    def __init__(self, path: Path, *, read_only: bool = False,
                 health: WriteHealth | None = None) -> None:
        path = Path(path)
        self.path = path
        self.read_only = read_only
        self.health = health or WriteHealth()
        self.without_wal = False
        self._committer: Committer | None = None
        self._in_batch = False
        self._numbers: dict[str, int] = {}  # scope -> next number, taken ahead of the store
        if read_only:
            # mode=ro: the database is never written, not even a checkpoint at close. SQLite
            # still needs the -shm index of the WAL; when it cannot make one (a full disk and
            # no daemon running), read the main file alone: it may miss the last changes.
            uri = path.resolve().as_uri()
            try:
                # Not bound to one thread: a dry run (rules explain) may read from a worker
                # thread, and nothing is ever written through this connection.
                self.db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None,
                                          timeout=5, check_same_thread=False)
                self.db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                self.db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                          isolation_level=None, check_same_thread=False)
                self.without_wal = True
            self.db.execute("PRAGMA query_only=ON")
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.execute("PRAGMA foreign_keys=ON")
        # One transaction, so that a reader (masbot status) sees either no tables or all.
        self.db.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")

    @classmethod
    def open_read_only(cls, path: Path) -> "Store":
        """The store for reading only (``masbot status``): works on a full or read-only disk,
        while the daemon runs, and never checkpoints. Raises sqlite3.Error when unreadable."""
        return cls(path, read_only=True)

    def has_tables(self) -> bool:
        """Whether the schema exists (it is created in one transaction, so all or none)."""
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE name='outbox'").fetchone() \
            is not None

    def close(self, checkpoint: bool = True) -> None:
        """Commit what the writer thread holds, checkpoint the WAL (when writable and
        possible) and close; never raises for a checkpoint that cannot be written."""
        if self._committer is not None:
            self._committer.stop()
            self._committer = None
        try:
            if checkpoint and not self.read_only and self.health.writable:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            if not is_write_failure(exc):
                raise
            log.warning("store: the WAL could not be checkpointed at close (%s); SQLite does "
                        "it at the next start", exc)
        finally:
            self.db.close()

    def _tx(self, what: str = "recording") -> "_Transaction | contextlib.nullcontext[None]":
        if self._in_batch:  # run_batch holds the transaction and a savepoint per write
            return contextlib.nullcontext()
        return _Transaction(self.db, self.health, what)

    def start_writer(self) -> None:
        """From now on :meth:`write` runs in a writer thread with a connection of its own,
        committing what was submitted meanwhile in one transaction (the daemon)."""
        if self._committer is None and not self.read_only:
            committer = Committer(lambda: Store(self.path, health=self.health))
            committer.start()
            self._committer = committer

    @property
    def committer(self) -> "Committer | None":
        """The writer thread, when :meth:`start_writer` started one."""
        return self._committer

    async def write(self, operation: Callable[["Store"], T], *, alone: bool = False) -> T:
        """Run ``operation`` (one of this class's write methods, given the store to write
        through) and return its result once it is committed; raises what it raised, or
        :class:`StoreWriteError`. ``alone``: it must not run inside a transaction (a WAL
        checkpoint). Without a writer thread it runs here, at once."""
        if self._committer is None:
            return operation(self)
        return await self._committer.submit(operation, alone)

    def run_batch(self, operations: Sequence[Callable[["Store"], object]]
                  ) -> list[tuple[bool, object]]:
        """Run ``operations`` in one transaction, each in a savepoint; return (True, result)
        or (False, exception) for each. A write failure fails them all (StoreWriteError)."""
        results: list[tuple[bool, object]] = []
        try:
            with self._tx("recording"):
                self._in_batch = True
                for operation in operations:
                    self.db.execute("SAVEPOINT one")
                    try:
                        value = operation(self)
                    except Exception as exc:  # noqa: BLE001 - handed to its caller
                        if isinstance(exc, StoreWriteError) or is_write_failure(exc):
                            raise
                        if self.db.in_transaction:
                            self.db.execute("ROLLBACK TO one")
                            self.db.execute("RELEASE one")
                        results.append((False, exc))
                        continue
                    self.db.execute("RELEASE one")
                    results.append((True, value))
                self._in_batch = False
        except Exception as exc:  # noqa: BLE001 - every write of the batch shares its fate
            failure = exc if isinstance(exc, StoreWriteError) else StoreWriteError(str(exc))
            return [(False, failure) for _ in operations]
        finally:
            self._in_batch = False
        return results

    def probe(self) -> bool:
        """Try a tiny write; True (and the store is up again) when it worked."""
        try:
            with self._tx("probing the store"):
                self.db.execute("INSERT OR REPLACE INTO daemon_state(key, value, at) "
                                "VALUES('store-probe', 'ok', ?)", (int(time.time()),))
        except StoreWriteError:
            return False
        return True

    # -- handled messages ------------------------------------------------------------------
    def handled(self, digest: str) -> str | None:
        """The recorded outcome of the message with this digest, or None if never handled."""
        row = self.db.execute("SELECT outcome FROM handled WHERE digest=?", (digest,)).fetchone()
        return row[0] if row else None

    def next_number(self, scope: str) -> int:
        """The next sequence number in ``scope``, never given twice by this process. It is
        stored with the appeal that uses it (:meth:`record`'s ``numbered``): a number whose
        appeal was never recorded may be given again after a restart, and was never public."""
        number = max(self._numbers.get(scope, 0), self.peek_number(scope))
        self._numbers[scope] = number + 1
        return number

    def record(self, digest: str, outcome: str, *, appeal: AppealRecord | None = None,
               post: bytes | None = None, destinations: Iterable[str] = (),
               held_images: Sequence[PostImage] = (), answers: Sequence[Answer] = (),
               numbered: bool = False, now: int | None = None) -> int | None:
        """Record a message's outcome, its appeal, its post for every destination and the
        mail it causes (the answer to its sender, notices to moderators), atomically.

        ``held_images`` are kept with a held appeal until a moderator decides. ``numbered``:
        the appeal's id took a number from :meth:`next_number`, stored now. Returns the post
        id when a post was queued. Once this returns, the outcome is on disk.
        """
        now = int(time.time()) if now is None else now
        post_id = None
        with self._tx("recording a message's outcome"):
            if numbered and appeal is not None:
                scope, _, number = appeal.appeal_id.rpartition("-")
                self.db.execute(
                    "INSERT INTO counters(scope, next) VALUES(?, ?) "
                    "ON CONFLICT(scope) DO UPDATE SET next=MAX(next, excluded.next)",
                    (scope, int(number) + 1))
            self.db.execute("INSERT OR REPLACE INTO handled(digest, outcome, at) VALUES(?,?,?)",
                            (digest, outcome, now))
            self._queue_answers(answers, now)
            if appeal is not None:
                self.db.execute(
                    "INSERT INTO appeals VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (appeal.appeal_id, appeal.revision, appeal.origin, appeal.template,
                     appeal.status, appeal.issued, appeal.expires, appeal.digest,
                     appeal.update_key_hash, appeal.action, appeal.signed_text, appeal.fields,
                     appeal.record, appeal.origin_key))
                self.db.executemany(
                    "INSERT INTO held_images VALUES(?,?,?,?,?,?,?)",
                    [(appeal.origin, appeal.appeal_id, appeal.revision, n, i.name,
                      i.content_type, i.data) for n, i in enumerate(held_images)])
            if post is not None:
                cur = self.db.execute(
                    "INSERT INTO posts(appeal_id, revision, data, created) VALUES(?,?,?,?)",
                    (appeal.appeal_id if appeal else "", appeal.revision if appeal else 0,
                     post, now))
                post_id = cur.lastrowid
                self.db.executemany(
                    "INSERT INTO outbox(post_id, destination, created, next_attempt) "
                    "VALUES(?,?,?,?)", [(post_id, d, now, now) for d in destinations])
        return post_id

    def seen(self, origin: str, appeal_id: str, revision: int) -> bool:
        """True when this revision of this origin's appeal was recorded before (loop check)."""
        return self.db.execute(
            "SELECT 1 FROM appeals WHERE origin=? AND appeal_id=? AND revision=?",
            (origin, appeal_id, revision)).fetchone() is not None

    def latest(self, origin: str, appeal_id: str) -> AppealRecord | None:
        """The newest revision of an appeal, or None when there is none."""
        row = self.db.execute("SELECT * FROM appeals WHERE origin=? AND appeal_id=? "
                              "ORDER BY revision DESC LIMIT 1", (origin, appeal_id)).fetchone()
        return AppealRecord(*row) if row else None

    def held(self, appeal_id: str, revision: int) -> AppealRecord | None:
        """The appeal revision waiting for a moderator, or None."""
        row = self.db.execute("SELECT * FROM appeals WHERE appeal_id=? AND revision=? AND "
                              "action='hold'", (appeal_id, revision)).fetchone()
        return AppealRecord(*row) if row else None

    def held_images(self, record: AppealRecord) -> list[PostImage]:
        """The images kept with a held appeal revision, in order."""
        rows = self.db.execute(
            "SELECT name, content_type, data FROM held_images WHERE origin=? AND appeal_id=? "
            "AND revision=? ORDER BY position", (record.origin, record.appeal_id, record.revision))
        return [PostImage(*row) for row in rows]

    def purge_held_images(self, today: str) -> int:
        """Delete the images of held revisions that expired before ``today`` (ISO date) or
        are no longer held; return how many images went."""
        with self._tx("deleting expired held images"):
            cur = self.db.execute(
                "DELETE FROM held_images WHERE NOT EXISTS (SELECT 1 FROM appeals a WHERE "
                "a.origin=held_images.origin AND a.appeal_id=held_images.appeal_id AND "
                "a.revision=held_images.revision AND a.action='hold' AND a.expires >= ?)",
                (today,))
        return cur.rowcount

    def moderate(self, digest: str, command: str, record: AppealRecord, action: str, *,
                 post: bytes | None = None, destinations: Iterable[str] = (),
                 answers: Sequence[Answer] = (), now: int | None = None) -> bool:
        """Apply a moderator's command once: False when this exact command was used before."""
        now = int(time.time()) if now is None else now
        with self._tx("recording a moderator's command"):
            if self.db.execute("SELECT 1 FROM commands WHERE digest=?", (command,)).fetchone():
                return False
            self.db.execute("INSERT INTO commands(digest, at) VALUES(?,?)", (command, now))
            self._queue_answers(answers, now)
            self.db.execute("INSERT OR REPLACE INTO handled(digest, outcome, at) VALUES(?,?,?)",
                            (digest, f"moderation: {action}", now))
            self.db.execute("UPDATE appeals SET action=? WHERE origin=? AND appeal_id=? AND "
                            "revision=?", (action, record.origin, record.appeal_id,
                                           record.revision))
            self.db.execute("DELETE FROM held_images WHERE origin=? AND appeal_id=? AND "
                            "revision=?", (record.origin, record.appeal_id, record.revision))
            if post is not None:
                cur = self.db.execute(
                    "INSERT INTO posts(appeal_id, revision, data, created) VALUES(?,?,?,?)",
                    (record.appeal_id, record.revision, post, now))
                self.db.executemany(
                    "INSERT INTO outbox(post_id, destination, created, next_attempt) "
                    "VALUES(?,?,?,?)", [(cur.lastrowid, d, now, now) for d in destinations])
        return True

    def appeals(self) -> list[AppealRecord]:
        """Every appeal revision recorded, oldest first."""
        rows = self.db.execute("SELECT * FROM appeals ORDER BY issued, appeal_id, revision")
        return [AppealRecord(*row) for row in rows]

    # -- outbox --------------------------------------------------------------------------
    def due(self, now: int, limit: int = 100, exclude: Iterable[int] = ()) -> list[OutboxItem]:
        """Pending items whose next attempt is due (other than ``exclude``, by id), oldest
        first."""
        skip = list(exclude)
        rows = self.db.execute(
            "SELECT id, post_id, destination, state, attempts, created, next_attempt, last_error "
            "FROM outbox WHERE state=? AND next_attempt<=? "
            f"AND id NOT IN ({','.join('?' * len(skip))}) ORDER BY next_attempt, id "
            "LIMIT ?", (OutboxState.PENDING.value, now, *skip, limit))
        return [OutboxItem(r[0], r[1], r[2], OutboxState(r[3]), *r[4:]) for r in rows]

    def next_due(self, exclude: Iterable[int] = ()) -> int | None:
        """When the earliest pending item (other than ``exclude``, by id) is due, or None
        when nothing is pending."""
        skip = list(exclude)
        row = self.db.execute(
            "SELECT MIN(next_attempt) FROM outbox WHERE state=? AND id NOT IN "
            f"({','.join('?' * len(skip))})", (OutboxState.PENDING.value, *skip)).fetchone()
        return row[0]

    def pending_item(self, item_id: int, post_id: int) -> bool:
        """True when outbox item ``item_id`` exists, belongs to ``post_id`` and is pending."""
        return self.db.execute("SELECT 1 FROM outbox WHERE id=? AND post_id=? AND state=?",
                               (item_id, post_id, OutboxState.PENDING.value)).fetchone() is not None

    def post_data(self, post_id: int) -> bytes:
        """The signed bytes of a post."""
        return bytes(self.db.execute("SELECT data FROM posts WHERE id=?", (post_id,)).fetchone()[0])

    def mark_sent(self, item_id: int, now: int) -> None:
        """The destination accepted the post."""
        with self._tx("recording a delivery"):
            self.db.execute("UPDATE outbox SET state=?, attempts=attempts+1, done_at=?, "
                            "last_error=NULL WHERE id=?", (OutboxState.SENT.value, now, item_id))

    def settle(self, outcomes: Sequence[ItemOutcome]) -> None:
        """Record what delivery attempts did, every item in one transaction."""
        with self._tx("recording deliveries"):
            for o in outcomes:
                if o.state is OutboxState.SENT:
                    self.db.execute("UPDATE outbox SET state=?, attempts=attempts+1, done_at=?, "
                                    "last_error=NULL WHERE id=?",
                                    (OutboxState.SENT.value, o.at, o.item_id))
                elif o.state is OutboxState.PENDING:
                    self.db.execute("UPDATE outbox SET attempts=attempts+1, last_error=?, "
                                    "next_attempt=? WHERE id=?",
                                    ((o.error or "")[:500], o.at, o.item_id))
                else:
                    self.db.execute("UPDATE outbox SET state=?, attempts=attempts+1, "
                                    "last_error=?, done_at=? WHERE id=?",
                                    (OutboxState.FAILED.value, (o.error or "")[:500], o.at,
                                     o.item_id))

    def mark_retry(self, item_id: int, error: str, next_attempt: int) -> None:
        """A temporary failure: try again at ``next_attempt``."""
        with self._tx("recording a delivery to retry"):
            self.db.execute("UPDATE outbox SET attempts=attempts+1, last_error=?, next_attempt=? "
                            "WHERE id=?", (error[:500], next_attempt, item_id))

    def mark_failed(self, item_id: int, error: str, now: int) -> None:
        """A permanent failure, kept for the operator to see."""
        with self._tx("recording a failed delivery"):
            self.db.execute("UPDATE outbox SET state=?, attempts=attempts+1, last_error=?, "
                            "done_at=? WHERE id=?",
                            (OutboxState.FAILED.value, error[:500], now, item_id))

    def queue_summary(self) -> list[tuple[str, int, int | None, int, str | None]]:
        """Per destination: (destination, pending, oldest pending created, failed, last error)."""
        rows = self.db.execute(
            "SELECT destination, SUM(state=:p), MIN(CASE WHEN state=:p THEN created END), "
            "SUM(state=:f), (SELECT last_error FROM outbox o2 WHERE o2.destination=o.destination "
            "AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) FROM outbox o GROUP BY destination "
            "ORDER BY destination", {"p": OutboxState.PENDING.value, "f": OutboxState.FAILED.value})
        return [tuple(r) for r in rows]

    # -- quarantine ------------------------------------------------------------------------
    def quarantine(self, digest: str, now: int | None = None) -> None:
        """Remember that the message with this digest was given up on (nothing else of it)."""
        now = int(time.time()) if now is None else now
        with self._tx("recording a quarantined message"):
            self.db.execute("INSERT OR IGNORE INTO quarantined(digest, at) VALUES(?,?)",
                            (digest, now))

    def is_quarantined(self, digest: str) -> bool:
        """True when this message was given up on before (it goes straight back there)."""
        return self.db.execute("SELECT 1 FROM quarantined WHERE digest=?",
                               (digest,)).fetchone() is not None

    def quarantined_count(self) -> int:
        """How many messages were given up on and moved to the quarantine folder."""
        try:
            return self.db.execute("SELECT COUNT(*) FROM quarantined").fetchone()[0]
        except sqlite3.OperationalError:  # a store from before the table existed (read-only)
            return 0

    def set_state(self, key: str, value: str, now: int | None = None) -> None:
        """Publish a piece of the running daemon's state for ``masbot status``."""
        now = int(time.time()) if now is None else now
        with self._tx("publishing the daemon's state"):
            self.db.execute("INSERT OR REPLACE INTO daemon_state(key, value, at) VALUES(?,?,?)",
                            (key, value, now))

    def states(self) -> dict[str, tuple[str, int]]:
        """Everything the daemon published: key -> (value, when)."""
        return {k: (v, at) for k, v, at in self.db.execute("SELECT key, value, at FROM daemon_state")}

    def pending_count(self) -> int:
        """How many deliveries are still pending."""
        return self.db.execute("SELECT COUNT(*) FROM outbox WHERE state=?",
                               (OutboxState.PENDING.value,)).fetchone()[0]

    # -- for the operator: status, retry, drop ---------------------------------------------
    def clear_states(self) -> None:
        """Forget what an earlier daemon published: a starting daemon speaks for itself."""
        with self._tx():
            self.db.execute("DELETE FROM daemon_state")

    def delivered_counts(self) -> dict[str, int]:
        """Per destination: how many posts it has accepted."""
        return {d: n for d, n in self.db.execute(
            "SELECT destination, COUNT(*) FROM outbox WHERE state='sent' GROUP BY destination")}

    def failed_items(self) -> list[OutboxItem]:
        """Every delivery that failed for good, oldest first."""
        rows = self.db.execute(
            "SELECT id, post_id, destination, state, attempts, created, next_attempt, last_error "
            "FROM outbox WHERE state='failed' ORDER BY id")
        return [OutboxItem(*row) for row in rows]

    def retry_failed(self, ids: Sequence[int] | None, now: int | None = None) -> int:
        """Put failed deliveries (``ids``, or all when None) back in the queue as if new, due
        now; return how many. Their age starts again, so max_age does not fail them at once."""
        now = int(time.time()) if now is None else now
        where, args = self._failed_where(ids)
        with self._tx():
            cur = self.db.execute(
                "UPDATE outbox SET state='pending', attempts=0, created=?, next_attempt=?, "
                f"done_at=NULL WHERE {where}", (now, now, *args))
        return cur.rowcount

    def drop_failed(self, ids: Sequence[int] | None) -> int:
        """Delete failed deliveries (``ids``, or all when None); return how many."""
        where, args = self._failed_where(ids)
        with self._tx():
            cur = self.db.execute(f"DELETE FROM outbox WHERE {where}", args)
        return cur.rowcount

    def retry_pending_now(self, now: int | None = None) -> int:
        """Make every pending delivery due now (the smarthost settings were corrected)."""
        now = int(time.time()) if now is None else now
        with self._tx():
            cur = self.db.execute("UPDATE outbox SET next_attempt=? WHERE state='pending' AND "
                                  "next_attempt>?", (now, now))
        return cur.rowcount

    @staticmethod
    def _failed_where(ids: Sequence[int] | None) -> tuple[str, tuple[int, ...]]:
        if ids is None:
            return "state='failed'", ()
        return (f"state='failed' AND id IN ({','.join('?' * len(ids))})", tuple(ids)) if ids \
            else ("0", ())

    # -- answers to senders: kept only until sent -------------------------------------------
    def _queue_answers(self, answers: Sequence[Answer], now: int) -> None:
        self.db.executemany("INSERT INTO answers(recipient, data, created, next_attempt) "
                            "VALUES(?,?,?,?)", [(a.recipient, a.data, now, now) for a in answers])

    def due_answers(self, now: int, limit: int = 50) -> list[QueuedAnswer]:
        """Answers whose next attempt is due, oldest first."""
        rows = self.db.execute("SELECT id, recipient, data, created, attempts FROM answers "
                               "WHERE next_attempt<=? ORDER BY next_attempt, id LIMIT ?",
                               (now, limit))
        return [QueuedAnswer(*row) for row in rows]

    def next_answer_due(self) -> int | None:
        """When the earliest queued answer is due, or None when none waits."""
        return self.db.execute("SELECT MIN(next_attempt) FROM answers").fetchone()[0]

    def answer_count(self) -> int:
        """How many answers wait to be sent."""
        return self.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def forget_answers(self, answer_ids: Iterable[int]) -> None:
        """Delete answers that were sent (or given up), in one transaction: with
        ``secure_delete`` the freed pages are overwritten; :meth:`scrub` then clears the WAL's
        copies."""
        with self._tx("forgetting sent answers"):
            self.db.executemany("DELETE FROM answers WHERE id=?", [(i,) for i in answer_ids])

    def retry_answer(self, answer_id: int, error: str, next_attempt: int) -> None:
        """A temporary failure: try the answer again at ``next_attempt``."""
        with self._tx("recording an answer to retry"):
            self.db.execute("UPDATE answers SET attempts=attempts+1, last_error=?, "
                            "next_attempt=? WHERE id=?", (error[:300], next_attempt, answer_id))

    def answers_due_now(self, now: int | None = None) -> int:
        """Make every waiting answer due now (the smarthost settings were corrected)."""
        now = int(time.time()) if now is None else now
        with self._tx("making answers due"):
            cur = self.db.execute("UPDATE answers SET next_attempt=? WHERE next_attempt>?",
                                  (now, now))
        return cur.rowcount

    def scrub(self) -> None:
        """Checkpoint and truncate the WAL, so rows deleted from the database (sent answers)
        leave no copy in it either."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            if not is_write_failure(exc):
                raise
            self.health.failed(exc, "clearing the log of sent answers")
            raise StoreWriteError(str(exc)) from exc

    # -- what a route reads (masbot.gather) --------------------------------------------------
    def peek_number(self, scope: str) -> int:
        """The number :meth:`next_number` would give now, without taking it."""
        row = self.db.execute("SELECT next FROM counters WHERE scope=?", (scope,)).fetchone()
        return row[0] if row else 1

    def command_used(self, command: str) -> bool:
        """True when the moderator command with this digest was obeyed before."""
        return self.db.execute("SELECT 1 FROM commands WHERE digest=?",
                               (command,)).fetchone() is not None

    def waiting(self, today: str) -> tuple[tuple[str, int, str, str], ...]:
        """The revisions held for a moderator that have not expired by ``today`` (ISO date):
        (appeal id, revision, title, expires), oldest first."""
        rows = self.db.execute("SELECT appeal_id, revision, signed_text, expires FROM appeals "
                               "WHERE action='hold' AND expires >= ? ORDER BY issued", (today,))
        return tuple((appeal_id, revision, _title(text), expires)
                     for appeal_id, revision, text, expires in rows)

    @classmethod
    def reader(cls, path: Path) -> "Store | None":
        """The store at ``path`` opened read-only (for a dry run), or None when there is
        none yet or it cannot be read. Nothing is created, changed or checkpointed."""
        if not Path(path).is_file():
            return None
        try:
            store = cls.open_read_only(path)
        except sqlite3.Error:
            return None
        if not store.has_tables():  # the daemon is creating it
            store.close()
            return None
        return store


def _title(signed_text: str) -> str:
    return next((line[7:] for line in signed_text.split("\n") if line.startswith("Title: ")), "")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT; a write that cannot be done becomes StoreWriteError.

    SQLite may already have rolled back by itself after SQLITE_FULL or an I/O error, so the
    ROLLBACK is only issued while a transaction is open, and its own failure never hides
    the first one.
    """

    def __init__(self, db: sqlite3.Connection, health: WriteHealth, what: str) -> None:
        self.db = db
        self.health = health
        self.what = what

    def __enter__(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._raise(exc)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as error:
                self._rollback()
                self._raise(error)
            self.health.succeeded()
            return
        self._rollback()
        if exc is not None and is_write_failure(exc):
            self._raise(exc)

    def _rollback(self) -> None:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection rolls back by itself when it cannot

    def _raise(self, exc: BaseException) -> None:
        if is_write_failure(exc):
            self.health.failed(exc, self.what)
            raise StoreWriteError(f"{self.what}: {exc}") from exc
        raise exc


