"""Reload: new rules apply from the next message; a broken config is refused and logged."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from harness import mailbox
from masbot.daemon import Daemon
from masbot.signing.signer import init_key
from support import (LOCAL_LIST, PARTNERS, SOCIETY_ADDRESS, bail_request, until,
                     write_config)

USER, PASSWORD = "society", "societypw"
LOCAL_ONLY = "rules:\n  - name: bail stays local\n    match: {template: bail}\n    action: relay\n    to: [local]\n"


async def test_reload_on_change_and_sighup_keeps_the_old_config_when_broken(
        tmp_path, gpg_home, dovecot, smtp_sink):
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port)
    original = files.config.read_text()
    log = tmp_path / "masbot.log"
    daemon = Daemon(files.config)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: log.exists() and "waiting with IDLE" in log.read_text())
        # 1. The file changes: bail appeals now stay local.
        files.config.write_text(original + LOCAL_ONLY)
        await until(lambda: "configuration reloaded" in log.read_text())
        mailbox.append(dovecot, USER, PASSWORD, bail_request("one@example.net", title="First"))
        await until(lambda: len(sink.for_rcpt(LOCAL_LIST)) == 1)
        # 2. A broken config arrives with SIGHUP: refused, logged, the running rules kept.
        files.config.write_text(original + LOCAL_ONLY + "rules_typo: [\n")
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: "reload refused" in log.read_text())
        mailbox.append(dovecot, USER, PASSWORD, bail_request("two@example.net", title="Second"))
        await until(lambda: len(sink.for_rcpt(LOCAL_LIST)) == 2)
        await asyncio.sleep(1)
        assert all(sink.for_rcpt(p) == [] for p in PARTNERS.values()), "old rules were kept"
        assert f"{files.config}:" in log.read_text().split("reload refused")[1], \
            "the refusal names the file and line"
    finally:
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0
    assert mailbox.count(dovecot, USER, PASSWORD) == 0
    assert len(sink.for_rcpt(LOCAL_LIST)) == 2, "nothing handled twice across the reloads"


async def test_a_corrected_smtp_port_applies_at_sighup_and_restart_settings_are_named(
        tmp_path, gpg_home, dovecot, smtp_sink):
    import subprocess
    import sys
    from harness.dovecot import free_port
    home = gpg_home()
    init_key(Path(home.path), "Anytown", SOCIETY_ADDRESS)
    sink = smtp_sink()
    slow_retry = "delivery:\n  retry_first_seconds: 600\n  retry_max_seconds: 600\n"
    files = write_config(tmp_path, Path(home.path), smtp_port=free_port(),
                         imap_port=dovecot.port, extra=slow_retry)
    broken = files.config.read_text()
    log = tmp_path / "masbot.log"
    daemon = Daemon(files.config)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: log.exists() and "waiting with IDLE" in log.read_text())
        mailbox.append(dovecot, USER, PASSWORD, bail_request("one@example.net"))
        # Nothing listens there: the three posts and the answer wait.
        await until(lambda: log.read_text().count("retry in") >= 4)
        # The operator fixes the port, and also changes an IMAP setting.
        fixed = (broken.replace(f"port: {daemon_port(broken)}\n  security", f"port: {sink.port}\n"
                                "  security").replace("poll_seconds: 0.5", "poll_seconds: 2"))
        files.config.write_text(fixed)
        os.kill(os.getpid(), signal.SIGHUP)
        # Posts and the answer waiting out a 600 s backoff go now, through the corrected port.
        await until(lambda: len(sink.deliveries) == 4)
        assert len(sink.for_rcpt("one@example.net")) == 1, "the member's answer was not lost"
        text = log.read_text()
        assert "need a restart, their old values stay in use until then: imap.poll_seconds" in text
        check = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "masbot",
                                        "check-config", "-c", str(files.config)],
                                        capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        assert (f"{files.config}: imap.poll_seconds differs from what the running daemon uses: "
                "a reload (SIGHUP) does not change it, restart masbot") in check.stdout
    finally:
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0


def daemon_port(config_text: str) -> int:
    """The SMTP port written in a config from write_config."""
    return int(config_text.split("smtp:\n  host: 127.0.0.1\n  port: ")[1].split("\n")[0])
