"""A full disk under data_dir (a real, size-limited tmpfs): the flow waits, nothing floods.

The fault is real: ``data_dir`` is a tmpfs of a few MB, filled with a filler file while posts
wait for a smarthost that is down and then comes back. Mounting needs root (or
CAP_SYS_ADMIN); without it the test is skipped and says so.
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness import mailbox
from masbot.signing.signer import init_key
from masbot.store import Store
from support import LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, bail_request, write_config, wait_until, titles_by_destination

USER, PASSWORD = "society", "societypw"
DESTINATIONS = [LOCAL_LIST, *PARTNERS.values()]
FAST_RETRY = "delivery:\n  retry_first_seconds: 0.3\n  retry_max_seconds: 1\n"


@pytest.fixture
def small_disk():
    """A 6 MB tmpfs, unmounted afterwards."""
    where = Path(tempfile.mkdtemp(prefix="mb-disk-"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): "
                    f"{proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Write a filler file until the file system says it is full."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:  # the last partial pages too
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler




def pending(db: Path) -> int:
    """Deliveries pending in the store; -1 while the daemon has not yet created its tables."""
    store = Store.open_read_only(db)
    try:
        if not store.has_tables():
            return -1
        return store.pending_count()
    finally:
        store.close()


def status(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", "status", "-c", str(config)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("killed", [False, True], ids=["recovers-running", "killed-while-full"])
def test_full_disk_pauses_the_flow_and_floods_nothing(tmp_path, gpg_home, smtp_sink, dovecot,
                                                      small_disk, killed):
    """killed: SIGKILLed while the disk is full, with deliveries accepted but not recorded;
    the next start (after space is freed) records them from the runtime file instead of
    sending them again."""
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    # Retries 1-2 s apart, so that the disk fills between two attempts and the next one
    # finds the smarthost back: accepted, then recording it fails.
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port,
                         extra="delivery:\n  retry_first_seconds: 2\n  retry_max_seconds: 4\n")
    files.config.write_text(files.config.read_text().replace(
        f"data_dir: {files.data_dir}", f"data_dir: {small_disk / 'data'}"))
    db = small_disk / "data" / "masbot.sqlite3"
    log_file = tmp_path / "masbot.log"
    sink.close_listener()  # the smarthost is down: posts wait in the outbox
    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    proc = start()
    stderr_before = ""
    filler = None
    try:
        early = [f"Early appeal {i}" for i in range(3)]
        for i, title in enumerate(early):
            mailbox.append(dovecot, USER, PASSWORD, bail_request(f"early{i}@example.net", title=title))
        assert wait_until(lambda: db.exists() and pending(db) == 9, 30), "posts were not queued"
        time.sleep(1.2)  # the daemon's state (waiting in IDLE) is published before the fill

        filler = fill(small_disk)
        # The answers wait at RCPT TO until a post has been accepted, so that the first write
        # to fail is a delivery's: whichever write fails first pauses the others.
        members = [f"early{i}@example.net" for i in range(3)]
        sink.rcpt_modes.update(dict.fromkeys(members, "hold"))
        sink.reopen()  # the smarthost comes back while the disk is full
        # A destination accepts a post, then recording that fails: before the fix this sent
        # thousands of copies of one post.
        assert wait_until(lambda: "(recorded once the store can write)" in log_file.read_text(),
                          20), "no post was accepted while the disk was full"
        for member in members:  # an answer in flight is accepted now and cannot be recorded
            del sink.rcpt_modes[member]
        time.sleep(3)
        late = [f"Late appeal {i}" for i in range(2)]
        for i, title in enumerate(late):
            mailbox.append(dovecot, USER, PASSWORD, bail_request(f"late{i}@example.net", title=title))
        time.sleep(5)

        # While full: nothing went out twice, the late mail waits in the mailbox, status works.
        for destination, counts in titles_by_destination(sink, DESTINATIONS).items():
            assert all(n == 1 for n in counts.values()), (destination, counts)
        assert mailbox.count(dovecot, USER, PASSWORD) == 2, "mail left the mailbox unrecorded"
        during = status(files.config)
        assert during.returncode == 0 and "Traceback" not in during.stderr, during.stderr
        assert "store writes: cannot write since" in during.stdout, during.stdout
        sent_while_full = len(sink.deliveries)

        if killed:
            proc.send_signal(signal.SIGKILL)
            stderr_before = proc.communicate()[1]
        filler.unlink()  # space again: everything resumes by itself
        filler = None
        if killed:
            proc = start()
        assert wait_until(lambda: mailbox.count(dovecot, USER, PASSWORD) == 0 and
                          all(len(sink.for_rcpt(d)) == 5 for d in DESTINATIONS), 60), \
            f"not delivered after recovery: {titles_by_destination(sink, DESTINATIONS)}"
        time.sleep(2)  # a late duplicate would arrive now
    finally:
        if filler is not None:
            filler.unlink()
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
    for destination, counts in titles_by_destination(sink, DESTINATIONS).items():
        assert set(counts) == set(early + late), (destination, counts)
        assert all(n == 1 for n in counts.values()), (destination, counts)
    # Each member got exactly one answer: queued while the smarthost was down, and one sent
    # while the disk was full is not sent again after a restart.
    for member in members + ["late0@example.net", "late1@example.net"]:
        assert len(sink.for_rcpt(member)) == 1, (member, len(sink.for_rcpt(member)))
    log = log_file.read_text()
    for text in (stderr_before, stderr, log):
        assert "Task exception was never retrieved" not in text
        assert "Traceback" not in text, text[-3000:]
    outage_lines = [line for line in log.splitlines() if "store: cannot write" in line]
    assert 1 <= len(outage_lines) <= 2, outage_lines  # one a minute, not one per attempt
    assert "(recorded once the store can write)" in log  # the path that used to flood
    if killed:
        assert "accepted before the last stop but could not be recorded" in log
    else:
        assert "store: writes work again" in log
    print(f"{sent_while_full} deliveries accepted while the disk was full; log lines about "
          f"the outage: {len(outage_lines)}")
    after = status(files.config)  # the daemon has stopped: status says so, and exits 1
    assert after.returncode == 1 and "daemon: not running" in after.stdout, after.stderr
    assert "0 pending" in after.stdout and "quarantined: 0" in after.stdout, after.stdout


def test_status_on_a_full_disk_with_no_daemon_running(tmp_path, small_disk):
    """No -shm file can be made: status still reads the store and says so."""
    files = write_config(tmp_path, tmp_path, smtp_port=25)
    files.config.write_text(files.config.read_text().replace(
        f"data_dir: {files.data_dir}", f"data_dir: {small_disk / 'data'}"))
    store = Store(small_disk / "data" / "masbot.sqlite3")
    store.record("d1", "accepted", post=b"post", destinations=[LOCAL_LIST], now=1)
    store.close()
    fill(small_disk)
    out = status(files.config)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr  # not running
    assert f"{LOCAL_LIST}: 1 pending" in out.stdout, out.stdout
    assert "read without its WAL" in out.stdout, out.stdout


def test_lmtp_answers_452_on_a_full_disk_and_250_once_it_has_room(tmp_path, gpg_home, smtp_sink,
                                                                  small_disk):
    import smtplib

    from harness.dovecot import free_port

    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    port = free_port()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, listener_port=port)
    files.config.write_text(files.config.read_text()
                            .replace(f"data_dir: {files.data_dir}", f"data_dir: {small_disk / 'data'}")
                            .replace(f"  port: {port}\n", f"  port: {port}\n  lmtp: true\n"))
    proc = subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    filler = None
    try:
        log_file = tmp_path / "masbot.log"
        assert wait_until(lambda: log_file.exists() and "masbot running" in log_file.read_text(), 30)
        filler = fill(small_disk)
        mail = bail_request("lmtp.full@example.net", title="Via LMTP on a full disk")
        with smtplib.LMTP("127.0.0.1", port) as lmtp:
            try:
                lmtp.sendmail("x@example.net", [SOCIETY_ADDRESS], mail)
                answer = 250
            except smtplib.SMTPDataError as exc:
                answer = exc.smtp_code
        assert answer == 452  # the sending server keeps it and tries again
        filler.unlink()
        filler = None
        time.sleep(1.5)  # the store's probe finds room again
        with smtplib.LMTP("127.0.0.1", port) as lmtp:
            assert lmtp.sendmail("x@example.net", [SOCIETY_ADDRESS], mail) == {}
        assert wait_until(lambda: all(len(sink.for_rcpt(d)) == 1 for d in DESTINATIONS), 20)
    finally:
        if filler is not None:
            filler.unlink()
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert "Traceback" not in stderr and "Traceback" not in (tmp_path / "masbot.log").read_text()
