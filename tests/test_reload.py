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
