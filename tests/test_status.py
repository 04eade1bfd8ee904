"""`masbot status` tells the truth about a live, a killed and a second daemon; retry and drop.

The daemon runs as a real process (as under systemd) on real Dovecot and an aiosmtpd sink.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from harness import mailbox
from masbot.signing.signer import init_key
from support import LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, bail_request, write_config, wait_until

USER, PASSWORD = "society", "societypw"


def masbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], capture_output=True,
                          text=True, timeout=60)



def test_status_follows_the_daemon_and_failed_posts_can_be_retried_or_dropped(
        tmp_path, gpg_home, dovecot, smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    sink.mode = "permfail"
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port)
    config = str(files.config)
    log = tmp_path / "masbot.log"
    proc = subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: log.exists() and "waiting with IDLE" in log.read_text())
        # The state is published once a second.
        assert wait_until(lambda: "imap: waiting" in masbot("status", "-c", config).stdout)
        status = masbot("status", "-c", config)
        assert status.returncode == 0, status.stdout
        assert f"daemon: running (pid {proc.pid})" in status.stdout
        assert "signing: through gpg-agent\n" in status.stdout, status.stdout
        assert re.search(r"^imap: waiting", status.stdout, re.M), status.stdout

        # A second daemon on the same data_dir: one line, exit 2, the first one untouched.
        second = masbot("run", "-c", config)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"masbot: another masbot is already running on {files.data_dir} (pid {proc.pid}); "
            "stop it first"]
        assert proc.poll() is None

        # Every list answers 550: the posts fail for good, and status exits 1 naming them.
        mailbox.append(dovecot, USER, PASSWORD, bail_request("one@example.net", title="First"))
        assert wait_until(lambda: masbot("status", "-c", config).stdout.count("failed #") == 3)
        status = masbot("status", "-c", config)
        assert status.returncode == 1
        assert f"{LOCAL_LIST}: 0 pending, 1 failed; last error: 550" in status.stdout

        # The lists are fixed; `masbot retry --all` sends them now.
        sink.mode = "accept"
        retried = masbot("retry", "-c", config, "--all")
        assert retried.returncode == 0 and "3 delivery(ies) queued again" in retried.stdout
        assert wait_until(lambda: len(sink.deliveries) == 3, 15), "retry wakes the daemon"
        status = masbot("status", "-c", config)
        assert status.returncode == 0, status.stdout
        for destination in (LOCAL_LIST, *PARTNERS.values()):
            assert f"{destination}: 0 pending, 0 failed\n  delivered: 1\n" in status.stdout

        # One list refuses the next post; it is dropped by its number.
        sink.rcpt_modes = {LOCAL_LIST: "permfail"}
        mailbox.append(dovecot, USER, PASSWORD, bail_request("two@example.net", title="Second"))
        assert wait_until(lambda: "failed #" in masbot("status", "-c", config).stdout)
        number = re.search(r"failed #(\d+)", masbot("status", "-c", config).stdout).group(1)
        assert masbot("drop", "-c", config, "999").returncode == 1, "an unknown number is named"
        dropped = masbot("drop", "-c", config, number)
        assert dropped.returncode == 0 and "1 failed delivery(ies) dropped" in dropped.stdout
        assert wait_until(lambda: masbot("status", "-c", config).returncode == 0)

        # kill -9: nothing is left to say "idle".
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        status = masbot("status", "-c", config)
        assert status.returncode == 1
        assert "daemon: not running" in status.stdout
        assert not re.search(r"^imap: waiting.*\(since", status.stdout, re.M), status.stdout
        assert "before the daemon stopped" in status.stdout
    finally:
        proc.kill()
        proc.wait(10)


def test_status_says_when_gpg_signs_instead_of_the_agent(tmp_path, gpg_home, dovecot, smtp_sink):
    """A key the agent's way does not handle (NIST P-256): the daemon signs through gpg, and
    says so in its log and in status."""
    from support import start_daemon, stop_daemon
    home = gpg_home()
    home.gen_key(f"Anytown Mutual Aid Society <{SOCIETY_ADDRESS}>", algo="nistp256")
    files = write_config(tmp_path, Path(home.path), smtp_port=smtp_sink().port,
                         imap_port=dovecot.port)
    log = tmp_path / "masbot.log"
    proc = start_daemon(files.config)
    try:
        assert wait_until(lambda: log.exists() and "signing through gpg)" in log.read_text())
        assert wait_until(lambda: "signing: through gpg," in
                          masbot("status", "-c", str(files.config)).stdout)
    finally:
        stop_daemon(proc)
