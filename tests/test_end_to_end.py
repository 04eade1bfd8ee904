"""One request travels end to end on real servers: Dovecot, aiosmtpd, gpg, sqop.

The daemon runs in-process against a throwaway Dovecot; the smarthost is an aiosmtpd sink;
every post is verified with gpg and with sqop (and gosop) against the exported society key.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path

import pytest

from harness import mailbox
from harness.openpgp import (extract_signed, gosop_verify, gpg_verify_detached,
                             sqop_inline_verify, sqop_verify)
from masbot.daemon import Daemon
from masbot.signing.signer import Signer, init_key
from support import (LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, all_bytes_under, bail_request,
                     invalid_request, leaks, wait_until, write_config)

USER, PASSWORD = "society", "societypw"
DESTINATIONS = [LOCAL_LIST, *PARTNERS.values()]


def inbox_empty(server) -> bool:
    """The originals are removed just after their outcome is committed, so a test that
    checks the INBOX waits for that too (stopping earlier leaves them for the next start)."""
    return mailbox.count(server, USER, PASSWORD) == 0


async def run_daemon_until(config: Path, condition, timeout: float = 30.0) -> None:
    daemon = Daemon(config)
    task = asyncio.create_task(daemon.run())
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while not condition():
            if task.done():
                task.result()
                raise AssertionError("the daemon stopped by itself")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("timed out waiting for the daemon")
            await asyncio.sleep(0.1)
    finally:
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0


@pytest.fixture
def society(tmp_path, gpg_home, dovecot, smtp_sink):
    home = gpg_home()
    fingerprint = init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port)
    return files, sink, fingerprint


def posts(sink):
    return [m for m in sink.deliveries if m.rcpt_tos[0] in DESTINATIONS]


def answers(sink):
    return [m for m in sink.deliveries if m.rcpt_tos[0] not in DESTINATIONS]


async def test_request_travels_end_to_end(society, dovecot, tmp_path):
    files, sink, fingerprint = society
    good, bad = "sam.housemate.7731@example.net", "jo.quick.2024@example.com"
    mailbox.append(dovecot, USER, PASSWORD, bail_request(good))
    mailbox.append(dovecot, USER, PASSWORD, invalid_request(bad))

    await run_daemon_until(files.config, lambda: len(posts(sink)) >= 3 and len(answers(sink)) >= 2
                           and inbox_empty(dovecot))
    await asyncio.sleep(0.5)  # anything sent twice would arrive now

    # The valid appeal reached every destination exactly once, the invalid one none.
    assert sorted(m.rcpt_tos[0] for m in posts(sink)) == sorted(DESTINATIONS)
    assert len({m.data for m in posts(sink)}) == 1, "the same signed bytes go everywhere"

    # Every post verifies with gpg, sqop and gosop against the exported society key.
    cert = Signer(files.gnupghome).export_public().encode()
    for received in posts(sink):
        signed, signature = extract_signed(received.data)
        for verify in (gpg_verify_detached, sqop_verify, gosop_verify):
            result = verify(signature, signed, cert)
            assert result.ok and result.signed_by(fingerprint), result.describe()
        appeal_part = email.message_from_bytes(signed, policy=email.policy.default)
        clearsigned = next(p for p in appeal_part.iter_parts()
                           if p.get_filename() == "signed-appeal.txt").get_content()
        ok, text, _ = sqop_inline_verify(clearsigned.encode(), cert)
        text = text.decode() if isinstance(text, bytes) else text
        assert ok and "Appeal-ID: ANYTOWN-" in text and "Held-At: Anytown County Jail" in text

    # Answers: the valid sender gets the Appeal-ID and Update-Key, the invalid one its errors.
    by_rcpt = {m.rcpt_tos[0]: m for m in answers(sink)}
    assert set(by_rcpt) == {good, bad}
    for received in by_rcpt.values():
        assert received.mail_from in ("", "<>"), "answers use the null envelope sender"
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        assert msg["Auto-Submitted"] == "auto-replied"
    accepted = email.message_from_bytes(by_rcpt[good].data, policy=email.policy.default)
    assert "Update-Key: " in accepted.get_content() and "ANYTOWN-" in accepted["Subject"]
    refused = email.message_from_bytes(by_rcpt[bad].data, policy=email.policy.default).get_content()
    assert "! Needed-By: this date is in the past" in refused
    assert "! Donate: use an https:// link" in refused
    assert "! Held-At: remove the booking" in refused

    # Nothing about the senders in any post, nor anywhere under the data directory or the log.
    needles = [good, bad, good.split("@")[0], bad.split("@")[0], "555 0100", "192.0.2.44",
               "PhoneMail"]
    haystacks = [(f"post to {m.rcpt_tos[0]}", m.data) for m in posts(sink)]
    haystacks += [(str(p), data) for p, data in all_bytes_under(files.data_dir)]
    haystacks += [("log", (tmp_path / "masbot.log").read_bytes())]
    assert leaks(needles, haystacks) == []

    # The INBOX is empty: both originals were removed once their outcome was recorded.
    assert mailbox.count(dovecot, USER, PASSWORD) == 0


async def test_move_to_folder_and_poll_without_idle(tmp_path, gpg_home, dovecot_factory, smtp_sink):
    server = dovecot_factory(idle=False)
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=server.port,
                         after="move", idle=True)
    mailbox.append(server, USER, PASSWORD, bail_request("first.sender@example.net"))

    async def append_later():
        await asyncio.sleep(1.0)  # while masbot polls (the server has no IDLE)
        await asyncio.to_thread(mailbox.append, server, USER, PASSWORD,
                                bail_request("second.sender@example.net", title="Second appeal"))

    later = asyncio.create_task(append_later())
    await run_daemon_until(files.config, lambda: len(posts(sink)) >= 6 and inbox_empty(server))
    await later
    assert mailbox.count(server, USER, PASSWORD) == 0
    assert mailbox.count(server, USER, PASSWORD, "Processed") == 2
    assert "polling every" in (tmp_path / "masbot.log").read_text()


async def test_refused_login_is_logged_and_retried_with_backoff(tmp_path, gpg_home, dovecot,
                                                              smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port,
                         imap_password="wrong", backoff_initial=0.2)
    mailbox.append(dovecot, USER, PASSWORD, bail_request("patient.sender@example.net"))
    log = tmp_path / "masbot.log"
    await run_daemon_until(files.config, lambda: log.exists() and
                           log.read_text().count("login refused") >= 2, timeout=30)
    lines = [line for line in log.read_text().splitlines() if "login refused" in line]
    delays = [float(line.split("reconnecting in ")[1].split(" s")[0]) for line in lines]
    assert "attempt 1" in lines[0] and "attempt 2" in lines[1]
    # backoff_initial 0.2: attempt 1 waits 0.1-0.2 s, attempt 2 0.2-0.4 s (jitter), and so on
    assert 0.1 <= delays[0] <= 0.2 <= delays[1] <= 0.4, delays
    assert mailbox.count(dovecot, USER, PASSWORD) == 1, "nothing handled without a login"
    assert sink.deliveries == []


async def test_reconnects_after_dovecot_restart(society, dovecot):
    files, sink, _ = society

    async def restart_then_append():
        await asyncio.sleep(1.5)  # masbot is in IDLE by now
        await asyncio.to_thread(dovecot.restart)
        await asyncio.to_thread(mailbox.append, dovecot, USER, PASSWORD,
                                bail_request("after.restart@example.net"))

    job = asyncio.create_task(restart_then_append())
    await run_daemon_until(files.config, lambda: len(posts(sink)) >= 3 and inbox_empty(dovecot),
                           timeout=30)
    await job
    assert mailbox.count(dovecot, USER, PASSWORD) == 0


def test_masbot_run_stops_cleanly_on_sigterm(society, dovecot):
    import signal
    import subprocess
    import sys
    import time

    files, sink, _ = society
    mailbox.append(dovecot, USER, PASSWORD, bail_request("sigterm.sender@example.net"))
    proc = subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: len(sink.deliveries) >= 3, 20), "the appeal was not delivered"
        deadline = time.monotonic() + 10
        while mailbox.count(dovecot, USER, PASSWORD) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert "stopped" in (files.config.parent / "masbot.log").read_text()


async def test_imap_over_implicit_tls(tmp_path, gpg_home, dovecot, smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port,
                         imap_port=dovecot.imaps_port, imap_cafile=Path(dovecot.cafile))
    mailbox.append(dovecot, USER, PASSWORD, bail_request("tls.sender@example.net"))
    await run_daemon_until(files.config, lambda: len(posts(sink)) >= 3 and inbox_empty(dovecot))
    assert mailbox.count(dovecot, USER, PASSWORD) == 0


async def test_mail_arriving_while_a_batch_is_handled_is_not_left_waiting(society, dovecot):
    """Regression: mail announced during our own commands was only seen at the next new mail."""
    files, sink, _ = society
    for i in range(60):
        mailbox.append(dovecot, USER, PASSWORD, bail_request(f"early{i}@example.net",
                                                             title=f"Early {i}"))

    async def append_during_the_drain():
        while len(posts(sink)) < 3:
            await asyncio.sleep(0.01)
        for i in range(10):
            await asyncio.to_thread(mailbox.append, dovecot, USER, PASSWORD,
                                    bail_request(f"late{i}@example.net", title=f"Late {i}"))

    job = asyncio.create_task(append_during_the_drain())
    await run_daemon_until(files.config, lambda: job.done() and len(posts(sink)) >= 210
                           and inbox_empty(dovecot),
                           timeout=60)
    assert mailbox.count(dovecot, USER, PASSWORD) == 0
