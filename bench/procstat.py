"""Where the two cores went: CPU seconds and memory of the processes in a benchmark run (/proc)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid: int, children: bool = True) -> float:
    """utime + stime of ``pid`` (plus its waited-for children's), in seconds; 0 when gone."""
    f = _stat(pid)
    if f is None:
        return 0.0
    # after the ")": state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / _TICK


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """utime + stime of one thread (``tid``, its native id) of process ``pid``; 0 when gone."""
    try:
        text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
    except OSError:
        return 0.0
    f = text[text.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / _TICK


def group_cpu_seconds(pgrp: int) -> float:
    """CPU seconds of every live process in process group ``pgrp`` (children included)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        f = _stat(int(entry))
        if f is not None and int(f[2]) == pgrp:
            total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / _TICK
    return total


def machine_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f[:8])
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


def find_pids(needle: str) -> list[int]:
    """Pids whose command line contains ``needle``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            found.append(int(entry))
    return found


def status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples VmRSS and VmHWM of one process every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.hwm_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = status_kb(self.pid, "VmRSS")
            hwm = status_kb(self.pid, "VmHWM")
            if rss is not None:
                self.samples.append((time.time(), rss))
            if hwm is not None:
                self.hwm_kb = max(self.hwm_kb, hwm)
            self._stop.wait(self.interval)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling; read VmHWM one last time (call while the process still runs)."""
        hwm = status_kb(self.pid, "VmHWM")
        if hwm is not None:
            self.hwm_kb = max(self.hwm_kb, hwm)
        self._stop.set()
        self._thread.join()


class CpuMeter:
    """CPU seconds spent between :meth:`start` and :meth:`stop` by the named parties."""

    def __init__(self, parties: dict[str, object]) -> None:
        # party -> zero-argument callable returning cumulative CPU seconds
        self.parties = parties
        self.before: dict[str, float] = {}
        self.wall = 0.0

    def start(self) -> "CpuMeter":
        self.wall = time.monotonic()
        self.before = {k: f() for k, f in self.parties.items()}  # type: ignore[operator]
        self.machine = machine_seconds()
        return self

    def stop(self) -> dict[str, float]:
        """CPU seconds per party, plus ``other processes`` (the machine's busy time that no
        party accounts for: other work on the host), ``steal`` (time the hypervisor gave
        to other guests) and ``wall``."""
        wall = time.monotonic() - self.wall
        out = {k: round(f() - self.before[k], 2) for k, f in self.parties.items()}  # type: ignore[operator]
        busy, steal = machine_seconds()
        out["other processes"] = round(max(0.0, busy - self.machine[0] - sum(out.values())), 2)
        out["steal"] = round(steal - self.machine[1], 2)
        out["wall"] = round(wall, 2)
        return out
