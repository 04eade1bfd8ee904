"""Run ``masbot run -c CONFIG`` under cProfile, every thread, and write the merged profile.

    python bench/cpuprofile.py OUT.pstats -c CONFIG

The stdlib's answer where py-spy is not installed. The event loop's thread and every thread
started later (asyncio.to_thread workers, python-gnupg's pipe readers, the store's writer)
get a profiler of their own; at exit (after SIGTERM) they are merged into OUT.pstats, and
OUT.pstats.txt holds the top functions by own time and by cumulative time, plus the CPU
seconds of each thread as the kernel counted them. Times are each thread's CPU time
(``time.thread_time``), not wall time, so waiting costs nothing in it. cProfile slows masbot down by about half:
read where the time goes from it, never the figures.

    python -c "import pstats; pstats.Stats('OUT.pstats').sort_stats('tottime').print_stats(40)"
"""

from __future__ import annotations

import atexit
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from pathlib import Path

# This checkout's masbot, not whichever one the venv installed (the script's own directory,
# bench/, is what Python put first on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_PROFILES: list[tuple[str, cProfile.Profile]] = []
_LOCK = threading.Lock()
_TICK = os.sysconf("SC_CLK_TCK")


def _start_in_thread(frame, event, arg):  # noqa: ANN001 - the sys.setprofile signature
    """Installed with threading.setprofile: the first event of a new thread replaces this
    hook with a profiler of the thread's own."""
    profile = cProfile.Profile(time.thread_time)
    with _LOCK:
        _PROFILES.append((threading.current_thread().name, profile))
    profile.enable()


def _threads_cpu() -> list[tuple[str, float]]:
    out = []
    for task in sorted(Path("/proc/self/task").iterdir()):
        try:
            name = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out.append((f"{task.name} {name}", (int(fields[11]) + int(fields[12])) / _TICK))
    return out


def _dump(out: Path) -> None:
    threads = _threads_cpu()
    with _LOCK:
        profiles = list(_PROFILES)
    stats: pstats.Stats | None = None
    for _, profile in profiles:
        try:
            profile.snapshot_stats()  # without disable(): that would act on this thread
        except Exception:  # noqa: BLE001 - a profile that recorded nothing
            continue
        if not getattr(profile, "stats", None):
            continue
        if stats is None:
            stats = pstats.Stats(profile)
        else:
            stats.add(profile)
    if stats is None:
        return
    stats.dump_stats(str(out))
    text = io.StringIO()
    text.write("CPU seconds per thread (kernel):\n")
    for name, seconds in threads:
        text.write(f"  {seconds:7.2f}  {name}\n")
    text.write(f"  {sum(s for _, s in threads):7.2f}  all\n\n")
    stats.stream = text  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(60)
    stats.sort_stats("cumulative").print_stats(80)
    Path(str(out) + ".txt").write_text(text.getvalue())


def main() -> int:
    out = Path(sys.argv[1])
    args = sys.argv[2:]
    main_profile = cProfile.Profile(time.thread_time)
    _PROFILES.append(("main", main_profile))
    atexit.register(_dump, out)
    threading.setprofile(_start_in_thread)
    from masbot.cli import main as masbot_main
    main_profile.enable()
    try:
        return masbot_main(["run", *args])
    finally:
        main_profile.disable()


if __name__ == "__main__":
    sys.exit(main())
