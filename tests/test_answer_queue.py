"""No member loses an answer (issue 13, item 5): the answer that carries the Update-Key is
recorded with the outcome, survives an SMTP outage and a SIGKILL, is sent once the smarthost
is back, and is then forgotten: no byte of the data directory keeps the sender's address.

The daemon runs as a real process, with its LMTP listener and an aiosmtpd smarthost.
"""

from __future__ import annotations

import re
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

from harness.dovecot import free_port
from masbot.signing.signer import init_key
from support import SOCIETY_ADDRESS, all_bytes_under, bail_request, write_config, wait_until

MEMBER = "member.7731@example.net"


def masbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], capture_output=True,
                          text=True, timeout=60)



def test_an_answer_survives_an_outage_and_a_sigkill_then_nothing_of_it_is_kept(
        tmp_path, gpg_home, smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    sink.mode = "tempfail"  # the smarthost is down: every post and answer waits
    port = free_port()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, listener_port=port,
                         extra="delivery:\n  retry_first_seconds: 0.2\n  retry_max_seconds: 1\n")
    config = str(files.config)
    log = tmp_path / "masbot.log"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert wait_until(lambda: "masbot running" in (log.read_text() if log.exists() else ""))
        return proc

    proc = start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail(MEMBER, [SOCIETY_ADDRESS], bail_request(MEMBER))
        assert wait_until(lambda: "answers waiting to be sent: 1" in masbot(
            "status", "-c", config).stdout)
        assert not sink.for_rcpt(MEMBER)
        proc.send_signal(signal.SIGKILL)  # the answer exists only in the store now
        proc.wait(timeout=30)
        sink.mode = "accept"
        proc = start()
        assert wait_until(lambda: bool(sink.for_rcpt(MEMBER))), "the answer arrives after all"
        (answer,) = sink.for_rcpt(MEMBER)
        assert re.search(rb"Update-Key: \S{20,}", answer), "with the one-time key"
        assert wait_until(lambda: "answers waiting to be sent: 0" in masbot(
            "status", "-c", config).stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in log.read_text()
    found = [str(path) for path, data in all_bytes_under(files.data_dir)
             if MEMBER.encode() in data or MEMBER.encode("utf-16-le") in data]
    assert found == [], f"the sender's address is still in {found}"
    assert MEMBER not in log.read_text()
