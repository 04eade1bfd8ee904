"""The daemon's runtime directory, ``<data_dir>/run``: things that live only while it runs.

* ``run/k/``: the throwaway GnuPG homes of the partner keyrings
  (:class:`masbot.signing.keyring.Keyring`). Each is named after the process that made it,
  and a starting daemon removes those whose process is gone (a SIGKILL leaves them behind).
* ``run/state``: a small file the daemon rewrites in place every second with what
  ``masbot status`` cannot read from the store while the store cannot write (the store's
  health, deliveries accepted but not yet recorded). It is allocated once at start, so
  rewriting it needs no new disk space, also on a full disk.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)
_HOME = re.compile(r"^k(\d+)-")


def run_dir(data_dir: Path) -> Path:
    """The runtime directory of a society's data."""
    return Path(data_dir) / "run"


def keyrings_dir(data_dir: Path) -> Path:
    """Where the throwaway keyring homes go (short: the path is in gpg's socket paths)."""
    return run_dir(data_dir) / "k"


def keyring_prefix() -> str:
    """The name prefix of this process's keyring homes."""
    return f"k{os.getpid()}-"


def alive(pid: int) -> bool:
    """True when a process with this pid exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_keyrings(directory: Path) -> int:
    """Remove the keyring homes whose process is gone (or is this one: a restarted container
    has the same pid); return how many went. Homes of running processes (a ``masbot verify``
    next to the daemon) stay."""
    removed = 0
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return 0
    gpgconf = shutil.which("gpgconf")
    for entry in entries:
        m = _HOME.match(entry.name)
        if not m or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and alive(pid):
            continue
        if gpgconf and any(entry.glob("S.*")):  # an agent may still run for it
            subprocess.run([gpgconf, "--homedir", str(entry), "--kill", "all"],
                           capture_output=True, timeout=30, check=False)
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


class StateFile:
    """A preallocated file rewritten in place; writing it never needs new disk space."""

    SIZE = 16384

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < self.SIZE:
                os.pwrite(fd, b" " * self.SIZE, 0)  # real blocks, not a sparse file
            self.fd = fd
        except OSError as exc:
            log.warning("runtime state file %s not available: %s", self.path, exc)

    def write(self, state: dict[str, object]) -> None:
        """Replace the content with ``state`` (as JSON); silently skipped when impossible."""
        if self.fd is None:
            return
        data = json.dumps({**state, "at": int(time.time()), "pid": os.getpid()}).encode()
        if len(data) > self.SIZE:
            data = json.dumps({"at": int(time.time()), "pid": os.getpid(),
                               "error": "state too large"}).encode()
        try:
            os.pwrite(self.fd, data.ljust(self.SIZE), 0)
        except OSError:
            pass

    def close(self) -> None:
        """Close the file (it stays, for ``status`` to read)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def read(path: Path) -> dict[str, object] | None:
        """What the daemon last wrote, or None."""
        try:
            data = Path(path).read_bytes().strip()
            value = json.loads(data) if data else None
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None


def state_path(data_dir: Path) -> Path:
    """The runtime state file of a society's data."""
    return run_dir(data_dir) / "state"
