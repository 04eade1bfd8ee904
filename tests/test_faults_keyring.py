"""The partner keyring's throwaway GnuPG home lives under <data_dir>/run/k, and a restart
removes what a SIGKILLed daemon left there."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from masbot.signing.keyring import Keyring
from masbot.runtime import remove_stale_keyrings
from masbot.signing.signer import init_key
from support import SOCIETY_ADDRESS, write_config, wait_until



def test_a_killed_daemon_s_keyring_is_removed_at_the_next_start(tmp_path, gpg_home, smtp_sink,
                                                                dovecot):
    home = gpg_home()
    init_key(Path(home.path), "Anytown Mutual Aid Society", SOCIETY_ADDRESS)
    sink = smtp_sink()
    files = write_config(tmp_path, Path(home.path), smtp_port=sink.port, imap_port=dovecot.port)
    homes = files.data_dir / "run" / "k"
    log = tmp_path / "masbot.log"

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "masbot", "run", "-c", str(files.config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = start()
    try:
        assert wait_until(lambda: log.exists() and "masbot running" in log.read_text(), 30)
        left = sorted(p.name for p in homes.iterdir())
        assert len(left) == 1 and left[0].startswith(f"k{first.pid}-"), left
        assert (homes / left[0] / "pubring.kbx").exists()  # the society's own key is in it
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert sorted(p.name for p in homes.iterdir()) == left  # SIGKILL: nothing cleaned up
    second = start()
    try:
        assert wait_until(lambda: log.read_text().count("masbot running") == 2, 30)
        now = sorted(p.name for p in homes.iterdir())
        assert left[0] not in now and len(now) == 1 and now[0].startswith(f"k{second.pid}-"), now
        assert "removed 1 keyring home(s) left by a previous run" in log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert list(homes.iterdir()) == []  # a clean stop removes its own


def test_homes_of_running_processes_stay_and_a_long_parent_works(tmp_path, gpg_home):
    """Only the homes of processes that are gone are removed; gpg needs no agent socket for
    public keys, so a deep data_dir is fine."""
    deep = tmp_path / ("d" * 60) / "run" / "k"
    other = gpg_home()
    fpr = other.gen_key("Riverside <r@example.org>")
    with Keyring(deep) as ring:
        ring.add(other.export(fpr), expect=fpr)
        assert list(ring.keys()) == [fpr]
        (deep / "k999999999-abc").mkdir()  # no such process
        assert remove_stale_keyrings(deep) == 2  # the dead one, and this pid's own at a start
    assert list(deep.iterdir()) == []
