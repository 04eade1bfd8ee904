"""The LMTP listener as Postfix sees it: one answer per recipient; a taken port is one line."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness.dovecot import free_port
from masbot.signing.signer import init_key
from support import LOCAL_LIST, SOCIETY_ADDRESS, bail_request, write_config


def _config(tmp_path, gpg_home, smtp_sink, port: int):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, listener_port=port)
    files.config.write_text(files.config.read_text().replace(
        f"  port: {port}\n", f"  port: {port}\n  lmtp: true\n"))
    return files, sink


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_lmtp_answers_each_recipient(tmp_path, gpg_home, smtp_sink):
    port = free_port()
    files, sink = _config(tmp_path, gpg_home, smtp_sink, port)
    proc = subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        with smtplib.LMTP("127.0.0.1", port, local_hostname="postfix.test") as lmtp:
            lmtp.ehlo_or_helo_if_needed()
            assert lmtp.mail("x@example.net")[0] == 250
            for rcpt in (SOCIETY_ADDRESS, "help@anytown.example"):
                assert lmtp.rcpt(rcpt)[0] == 250
            # smtplib reads the first recipient's answer to DATA; LMTP owes one more.
            code, _ = lmtp.data(bail_request("two.rcpts@example.net", title="Two recipients"))
            assert code == 250
            lmtp.sock.settimeout(5)  # a missing second line would stall Postfix: fail instead
            code, _ = lmtp.getreply()
            assert code == 250, "one answer per accepted recipient"
            assert lmtp.noop()[0] == 250, "the session is in step after DATA"
        deadline = time.monotonic() + 20
        while not sink.for_rcpt(LOCAL_LIST) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(sink.for_rcpt(LOCAL_LIST)) == 1, "handled once for both recipients"
    finally:
        proc.terminate()
        proc.wait(15)


def test_a_taken_listener_port_is_one_clear_line(tmp_path, gpg_home, smtp_sink):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        files, _ = _config(tmp_path, gpg_home, smtp_sink, port)
        result = subprocess.run([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"masbot: cannot listen on 127.0.0.1:{port}: Address already in use (another program "
        "uses it: stop it or change listener.port)"]
