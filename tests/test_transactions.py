"""Posts leave in few SMTP transactions (issue 18): one per post for every destination behind
the same server, over connections kept open, with the state still exact per destination, and
nothing sent twice when masbot dies between the server's 250 and the store's commit."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness import mailbox
from masbot import runtime
from masbot.config.settings import SmtpConfig
from masbot.relay.answers import AnswerSender
from masbot.relay.delivery import Deliverer, RetryPolicy
from masbot.relay.smtp import Accepted, DeliveryError, SmtpTransport
from masbot.signing.signer import init_key
from masbot.store import Answer, OutboxState, Store
from support import (LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, bail_request, start_daemon,
                     stop_daemon, until, wait_until, write_config)

DESTINATIONS = [LOCAL_LIST, *PARTNERS.values()]
RIVERSIDE, VALLE = PARTNERS["riverside"], PARTNERS["valle"]
MEMBER = "member.4411@example.net"
USER, PASSWORD = "society", "societypw"


def transport(port: int, **kwargs) -> SmtpTransport:
    return SmtpTransport(SmtpConfig("127.0.0.1", port, security="none", timeout=5),
                         local_hostname="anytown.example", **kwargs)


async def deliver_all(store: Store, deliverer: Deliverer, timeout: float = 20) -> None:
    task = asyncio.create_task(deliverer.run())
    try:
        await until(lambda: store.pending_count() == 0, timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def mail_froms(sink) -> list[str]:
    return [value for verb, value in sink.attempts if verb == "MAIL"]


async def test_a_post_leaves_in_one_transaction_for_all_its_destinations(tmp_path, smtp_sink,
                                                                      caplog):
    caplog.set_level(logging.INFO)
    sink = smtp_sink()
    store = Store(tmp_path / "s.sqlite3")
    via = transport(sink.port)
    for n in range(6):
        store.record(f"d{n}", "accepted", post=f"Subject: post {n}\r\n\r\nbody {n}\r\n".encode(),
                     destinations=DESTINATIONS)
    try:
        await deliver_all(store, Deliverer(store, via, SOCIETY_ADDRESS))
        assert len(mail_froms(sink)) == 6, "one MAIL FROM per post, not one per destination"
        assert [sorted(m.rcpt_tos) for m in sink.messages] == [sorted(DESTINATIONS)] * 6
        assert len(sink.connections) <= via.max_connections, "connections are kept and reused"
        opened = set(sink.connections)
        # Later work takes a connection kept open, it does not open another.
        store.record("d6", "accepted", post=b"Subject: post 6\r\n\r\nbody 6\r\n",
                     destinations=DESTINATIONS)
        await deliver_all(store, Deliverer(store, via, SOCIETY_ADDRESS))
        assert sink.connections == opened and len(mail_froms(sink)) == 7
    finally:
        await via.aclose()
        store.close()
    assert store_counts(tmp_path / "s.sqlite3") == {d: 7 for d in DESTINATIONS}
    assert "while the store could not write" not in caplog.text, "each recorded once, at once"


def store_counts(path: Path) -> dict[str, int]:
    store = Store(path)
    try:
        return store.delivered_counts()
    finally:
        store.close()


async def test_an_idle_connection_is_closed_after_a_few_seconds(tmp_path, smtp_sink):
    sink = smtp_sink()
    via = transport(sink.port, idle_seconds=0.3)
    await via.send(b"Subject: x\r\n\r\nx\r\n", SOCIETY_ADDRESS, [LOCAL_LIST])
    assert len(via._idle) == 1
    await asyncio.sleep(0.8)
    assert via._idle == [], "closed with QUIT once idle"
    await via.send(b"Subject: y\r\n\r\ny\r\n", SOCIETY_ADDRESS, [LOCAL_LIST])
    await via.aclose()
    assert len(sink.connections) == 2


async def test_a_refused_destination_is_retried_alone_and_the_others_stay_delivered(
        tmp_path, smtp_sink):
    sink = smtp_sink()
    sink.rcpt_modes[RIVERSIDE] = "tempfail"  # 451 at RCPT TO for riverside only
    sink.rcpt_modes[VALLE] = "permfail"      # 550 at RCPT TO for valle only
    store = Store(tmp_path / "s.sqlite3")
    via = transport(sink.port)
    post_id = store.record("d1", "accepted", post=b"Subject: one\r\n\r\npost\r\n",
                           destinations=DESTINATIONS)
    deliverer = Deliverer(store, via, SOCIETY_ADDRESS, RetryPolicy(0.3, 0.5))
    task = asyncio.create_task(deliverer.run())
    try:
        await until(lambda: {i.destination for i in store.failed_items()} == {VALLE})
        await until(lambda: store.delivered_counts() == {LOCAL_LIST: 1})
        (first,) = sink.messages
        assert first.rcpt_tos == (LOCAL_LIST,), "one transaction: the server took one of three"
        items = {i.destination: i for i in outbox(store, post_id)}
        assert items[LOCAL_LIST].state is OutboxState.SENT
        assert items[VALLE].state is OutboxState.FAILED and "550" in items[VALLE].last_error
        assert items[RIVERSIDE].state is OutboxState.PENDING
        assert items[RIVERSIDE].attempts >= 1 and "451" in items[RIVERSIDE].last_error
        sink.rcpt_modes.clear()  # riverside's server is back
        await until(lambda: store.pending_count() == 0)
        await asyncio.sleep(0.5)  # a wrong second copy would arrive now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await via.aclose()
    assert [m.rcpt_tos for m in sink.messages] == [(LOCAL_LIST,), (RIVERSIDE,)], \
        "the retry carried only the destination that was refused"
    rcpts = [value for verb, value in sink.attempts if verb == "RCPT"]
    assert Counter(rcpts)[LOCAL_LIST] == 1 and Counter(rcpts)[VALLE] == 1
    assert store.delivered_counts() == {LOCAL_LIST: 1, RIVERSIDE: 1}
    store.close()


def outbox(store: Store, post_id: int):
    rows = store.db.execute(
        "SELECT id, post_id, destination, state, attempts, created, next_attempt, last_error "
        "FROM outbox WHERE post_id=?", (post_id,))
    from masbot.store import OutboxItem
    return [OutboxItem(r[0], r[1], r[2], OutboxState(r[3]), *r[4:]) for r in rows]


async def test_answers_leave_on_the_connection_the_posts_keep_open(tmp_path, smtp_sink):
    sink = smtp_sink()
    store = Store(tmp_path / "s.sqlite3")
    via = transport(sink.port)
    deliverer = Deliverer(store, via, SOCIETY_ADDRESS)
    answers = AnswerSender(store, via)
    store.record("d1", "accepted", post=b"Subject: post\r\n\r\npost\r\n", destinations=DESTINATIONS)
    tasks = [asyncio.create_task(deliverer.run())]
    try:
        await until(lambda: store.pending_count() == 0)
        store.record("d2", "answered", answers=[Answer(MEMBER, b"Subject: re\r\n\r\nanswer\r\n")])
        tasks.append(asyncio.create_task(answers.run()))
        await until(lambda: store.answer_count() == 0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await via.aclose()
        store.close()
    assert [m.rcpt_tos for m in sink.messages] == [tuple(DESTINATIONS), (MEMBER,)]
    assert sink.messages[0].peer == sink.messages[1].peer, "the answer took the post's connection"
    assert len(sink.connections) == 1


class TwoSmarthosts:
    """A transport over two servers, by domain: what a society whose partner's list sits
    behind another server would use (each server has its own pool of connections)."""

    def __init__(self, local: SmtpTransport, other: SmtpTransport) -> None:
        self.local, self.other = local, other

    def _for(self, recipient: str) -> SmtpTransport:
        return self.other if recipient.endswith("valle.example") else self.local

    def route(self, recipient: str) -> str:
        return self._for(recipient).route(recipient)

    async def send(self, data: bytes, sender: str, recipients: Sequence[str],
                   accepted: Accepted | None = None) -> dict[str, DeliveryError]:
        vias = [self._for(r) for r in recipients]
        assert all(v is vias[0] for v in vias), "the deliverer never mixes routes"
        return await vias[0].send(data, sender, recipients, accepted)

    async def aclose(self) -> None:
        await self.local.aclose()
        await self.other.aclose()


async def test_a_destination_behind_another_server_gets_its_own_connection(tmp_path, smtp_sink):
    near, far = smtp_sink(), smtp_sink()
    store = Store(tmp_path / "s.sqlite3")
    via = TwoSmarthosts(transport(near.port), transport(far.port))
    far.rcpt_modes[VALLE] = "tempfail"  # the far server is in trouble: the near one is not held up
    store.record("d1", "accepted", post=b"Subject: one\r\n\r\npost\r\n", destinations=DESTINATIONS)
    deliverer = Deliverer(store, via, SOCIETY_ADDRESS, RetryPolicy(0.3, 0.5))
    task = asyncio.create_task(deliverer.run())
    try:
        await until(lambda: store.delivered_counts() == {LOCAL_LIST: 1, RIVERSIDE: 1})
        far.rcpt_modes.clear()
        await until(lambda: store.pending_count() == 0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await via.aclose()
        store.close()
    assert [sorted(m.rcpt_tos) for m in near.messages] == [sorted([LOCAL_LIST, RIVERSIDE])]
    assert [m.rcpt_tos for m in far.messages] == [(VALLE,)]


async def test_what_the_server_took_is_journaled_before_the_store_is_asked_to_commit(
        tmp_path, smtp_sink):
    """The daemon's runtime file must list an accepted post (and a sent answer) before the
    store commits it, whenever a crash may come: the journal is called first, at once."""
    sink = smtp_sink()
    events: list[tuple[str, object]] = []

    class Watched(Store):
        async def write(self, operation, *, alone=False):
            events.append(("commit", (deliverer.unrecorded_items(), answers.sent_not_forgotten)))
            return await super().write(operation, alone=alone)

    store = Watched(tmp_path / "s.sqlite3")
    via = transport(sink.port)
    deliverer = Deliverer(store, via, SOCIETY_ADDRESS)
    answers = AnswerSender(store, via)
    deliverer.journal = lambda: events.append(("journal", deliverer.unrecorded_items()))
    answers.journal = lambda: events.append(("journal", answers.sent_not_forgotten))
    post_id = store.record("d1", "accepted", post=b"Subject: post\r\n\r\npost\r\n",
                           destinations=DESTINATIONS,
                           answers=[Answer(MEMBER, b"Subject: re\r\n\r\nanswer\r\n")])
    ids = {str(i.id) for i in outbox(store, post_id)}
    try:
        await deliver_all(store, deliverer)
        events.append(("-", None))
        task = asyncio.create_task(answers.run())
        await until(lambda: store.answer_count() == 0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await via.aclose()
        store.close()
    split = events.index(("-", None))
    post_events, answer_events = events[:split], events[split + 1:]
    journal = next(n for n, (kind, _) in enumerate(post_events) if kind == "journal")
    assert set(post_events[journal][1]) == ids  # type: ignore[arg-type]
    commit = next(n for n, (kind, _) in enumerate(post_events) if kind == "commit")
    assert journal < commit and set(post_events[commit][1][0]) == ids  # type: ignore[index]
    journal = next(n for n, (kind, value) in enumerate(answer_events) if kind == "journal")
    forget = next(n for n, (kind, value) in enumerate(answer_events)
                  if kind == "commit" and value[1])  # type: ignore[index]
    assert journal < forget


def test_sigkill_between_the_server_s_250_and_the_commit_sends_nothing_twice(
        tmp_path, gpg_home, smtp_sink, dovecot):
    """The store is held locked from the moment the smarthost receives the first mail until
    masbot is SIGKILLed: the server has answered 250 to the post (all three destinations) and
    to the answer, and the store could not commit either. After a restart neither goes again."""
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port,
                         extra="delivery:\n  retry_first_seconds: 0.3\n  retry_max_seconds: 1\n")
    db = files.data_dir / "masbot.sqlite3"
    held: list[sqlite3.Connection] = []

    def hold_the_store(envelope) -> None:
        if not held:  # before the 250 of the first mail to leave, post or answer
            conn = sqlite3.connect(db, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("BEGIN EXCLUSIVE")
            held.append(conn)
    sink.on_data = hold_the_store
    mailbox.append(dovecot, USER, PASSWORD, bail_request(MEMBER, title="Killed after the 250"))
    state = runtime.state_path(files.data_dir)

    def journaled() -> bool:
        st = runtime.StateFile.read(state) or {}
        items = st.get("unrecorded_items")
        return isinstance(items, dict) and len(items) == 3 and bool(st.get("answers_sent"))

    proc = start_daemon(files.config)
    try:
        assert wait_until(journaled, 30), runtime.StateFile.read(state)
        assert len(sink.deliveries) == 4, "the post reached all three lists, the answer its member"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        for conn in held:
            conn.execute("ROLLBACK")
            conn.close()
    sink.on_data = None
    proc = start_daemon(files.config)
    log = tmp_path / "masbot.log"
    try:
        assert wait_until(lambda: "recorded now and not sent again" in log.read_text()
                          and "deleted now and not sent again" in log.read_text(), 20)
        assert wait_until(lambda: mailbox.count(dovecot, USER, PASSWORD) == 0, 20)
        time.sleep(1.5)  # a second copy would go now
        status = subprocess.run([sys.executable, "-m", "masbot", "status", "-c",
                                 str(files.config)], capture_output=True, text=True)
    finally:
        stop_daemon(proc)
    got = Counter(r for m in sink.messages for r in m.rcpt_tos)
    assert got == {**{d: 1 for d in DESTINATIONS}, MEMBER: 1}, got
    for destination in DESTINATIONS:
        assert f"{destination}: 0 pending, 0 failed\n  delivered: 1\n" in status.stdout, \
            status.stdout
    assert "answers waiting to be sent: 0" in status.stdout
