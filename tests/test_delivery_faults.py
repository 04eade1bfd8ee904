"""Delivery when the store refuses writes (SQLite's own refusal, query_only) and when a
transport has a bug: nothing is sent twice, nothing loops, no task dies unnoticed."""

from __future__ import annotations

import asyncio
import gc
import logging

from masbot.config.settings import SmtpConfig
from masbot.relay.delivery import Deliverer, RetryPolicy
from masbot.relay.smtp import SmtpTransport
from masbot.store import Store

DESTINATIONS = ["members@anytown.example", "master@lists.riverside.example"]


async def test_an_accepted_post_that_cannot_be_recorded_is_not_sent_again(tmp_path, smtp_sink,
                                                                         caplog):
    sink = smtp_sink()
    store = Store(tmp_path / "s.sqlite3")
    store.record("d1", "accepted", post=b"Subject: x\r\n\r\npost one\r\n", destinations=DESTINATIONS)
    store.db.execute("PRAGMA query_only=ON")  # every write is refused from now on
    transport = SmtpTransport(SmtpConfig("127.0.0.1", sink.port, security="none", timeout=5))
    deliverer = Deliverer(store, transport, "mas@anytown.example", RetryPolicy(0.1, 0.2))
    task = asyncio.create_task(deliverer.run())
    try:
        for _ in range(100):
            if deliverer.unrecorded == 2:
                break
            await asyncio.sleep(0.02)
        assert deliverer.unrecorded == 2
        await asyncio.sleep(2)  # paused: no copy goes out while nothing can be recorded
        assert len(sink.deliveries) == 2 and store.pending_count() == 2
        store.db.execute("PRAGMA query_only=OFF")
        for _ in range(200):  # the probe (1 s backoff) finds the store writable again
            if store.pending_count() == 0:
                break
            await asyncio.sleep(0.05)
        assert store.pending_count() == 0 and deliverer.unrecorded == 0
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == sorted(DESTINATIONS)
    assert caplog.text.count("store: cannot write") == 1
    gc.collect()
    assert "never retrieved" not in caplog.text


class BrokenTransport:
    """A transport with a bug (not a DeliveryError): a fake behind the transport's seam,
    because real SMTP cannot produce one."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, data, sender, recipients, accepted=None) -> None:
        self.calls += 1
        raise RuntimeError("a bug in the transport")


async def test_a_bug_in_delivery_rests_the_destination_instead_of_looping(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    store = Store(tmp_path / "s.sqlite3")
    store.record("d1", "accepted", post=b"post", destinations=DESTINATIONS[:1])
    transport = BrokenTransport()
    deliverer = Deliverer(store, transport, "mas@anytown.example", RetryPolicy(0.1, 0.2))
    task = asyncio.create_task(deliverer.run())
    try:
        await asyncio.sleep(1.4)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()
    # The first rest is 0.5-1 s: two or three tries in 1.4 s, not thousands.
    assert 1 <= transport.calls <= 3, transport.calls
    assert "unexpected RuntimeError: a bug in the transport" in caplog.text
    gc.collect()
    assert "never retrieved" not in caplog.text
