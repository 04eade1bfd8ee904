"""Small promises to operators: rotated logs, help text, send-only partners, after: move."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from harness import mailbox
from masbot import logs
from masbot.config.settings import load_config
from masbot.signing.keyring import from_config
from masbot.signing.signer import init_key
from support import SOCIETY_ADDRESS, bail_request, write_config


def masbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masbot", *args], capture_output=True,
                          text=True, timeout=60)


def test_a_rotated_log_file_is_opened_again(tmp_path):
    path = tmp_path / "masbot.log"
    logs.setup("info", "text", path)
    try:
        logging.getLogger("masbot.test").info("before the rotation")
        path.rename(tmp_path / "masbot.log.1")  # what logrotate does (no copytruncate)
        logging.getLogger("masbot.test").info("after the rotation")
        assert "after the rotation" in path.read_text()
        assert "after" not in (tmp_path / "masbot.log.1").read_text()
    finally:
        logs.setup("info", "text", None)


def test_help_speaks_plainly():
    for args in ((), ("keys",), ("status",), ("check-config",), ("retry",)):
        text = masbot(*args, "--help").stdout
        assert "``" not in text and "DESIGN" not in text and "§" not in text, text
    assert "retry" in masbot("--help").stdout and "--connect" in masbot(
        "check-config", "--help").stdout


def test_a_missing_config_file_is_reported_at_line_0(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    for command in ("check-config", "status", "run"):
        result = masbot(command, "-c", str(missing))
        assert result.returncode == 2
        assert result.stderr.strip() == (f"{missing}:0: cannot read the configuration file: "
                                         "No such file or directory")


def test_send_only_partners_need_no_key(tmp_path, gpg_home):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    files = write_config(tmp_path, Path(home.path), smtp_port=2525, imap_port=1143)
    text = files.config.read_text().replace(f"fingerprint: {'B' * 40}\n",
                                            f"fingerprint: {'B' * 40}\n    direction: send\n")
    files.config.write_text(text)
    with from_config(load_config(files.config)) as keyring:
        warnings = keyring.warnings
    assert any("partner riverside: key not loaded" in w for w in warnings)
    assert not any("valle" in w for w in warnings), "valle's key is never used"


def test_audit_counts_the_originals_kept_by_after_move(tmp_path, gpg_home, dovecot):
    home = gpg_home()
    files = write_config(tmp_path, Path(home.path), smtp_port=2525, imap_port=dovecot.port,
                         after="move")
    mailbox.create_mailbox(dovecot, "society", "societypw", "Processed")
    mailbox.append(dovecot, "society", "societypw", bail_request("kept@example.net"),
                   mailbox="Processed")
    result = masbot("audit", "-c", str(files.config))
    assert ("audit: imap.after is move: 1 message(s) kept whole, with their senders' addresses, "
            "in the folder 'Processed' on 127.0.0.1") in result.stdout, result.stdout


def test_demo_output_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = masbot("demo", "--out", str(tmp_path / "a-file" / "demo"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"masbot demo: cannot write in {tmp_path}/a-file/demo: "
                                     "Not a directory")
