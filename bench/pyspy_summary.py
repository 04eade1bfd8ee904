"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): where masbot's CPU went.

    python bench/pyspy_summary.py PROFILE.txt [--top N] [--rate 200]

bench/run.py --profile records without ``--idle``, so every sample is a thread on CPU (or
holding it in a blocking call such as fsync): samples / rate is roughly CPU seconds. Printed:
samples by kind of thread, the functions that were running (self), and the functions of
masbot, python-gnupg, aioimaplib, aiosmtplib, sqlite and the email package on the stack
(inclusive), each as a share of all samples.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_LINE = re.compile(r"^thread \((\d+)\): ([^;]*);?(.*) (\d+)$")
_FRAME = re.compile(r"^(.*) \(([^:()]*)(?::\d+)?\)$")
_INTERESTING = ("masbot/", "gnupg.py", "aioimaplib/", "aiosmtplib/", "email/", "subprocess.py",
                "logging/")


def _frame(raw: str) -> tuple[str, str]:
    m = _FRAME.match(raw)
    return (m.group(1), m.group(2)) if m else (raw, "")


def thread_kind(name: str) -> str:
    if name.startswith("MainThread"):
        return "main (event loop)"
    if name.startswith("asyncio_"):
        return "to_thread workers (python-gnupg calls)"
    if any(k in name for k in ("_read_response", "_read_data", "_copy_data")):
        return "python-gnupg pipe threads"
    return "other threads"


def summarise(path: str, top: int = 15, rate: int = 200) -> str:
    kinds: Counter[str] = Counter()
    selfs: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        m = _LINE.match(line.rstrip("\n"))
        if not m:
            continue
        name, stack, count = m.group(2), m.group(3), int(m.group(4))
        kinds[thread_kind(name)] += count
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        fn, file = frames[-1]
        selfs[f"{fn} ({file})"] += count
        seen = set()
        for fn, file in frames:
            if file.startswith(_INTERESTING) or "sqlite" in fn.lower() or "_Transaction" in fn:
                key = f"{fn} ({file})"
                if key not in seen:
                    seen.add(key)
                    incl[key] += count
    total = sum(kinds.values()) or 1
    out = [f"profile {path}: {total} samples = about {total / rate:.1f} CPU s at {rate} Hz",
           "by thread kind:"]
    for kind, n in kinds.most_common():
        out.append(f"  {100 * n / total:5.1f} %  {n / rate:6.2f} s  {kind}")
    out.append(f"running (self), top {top}:")
    for key, n in selfs.most_common(top):
        out.append(f"  {100 * n / total:5.1f} %  {key}")
    out.append(f"on the stack (inclusive), top {top}:")
    for key, n in incl.most_common(top):
        out.append(f"  {100 * n / total:5.1f} %  {key}")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("profile")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--rate", type=int, default=200)
    a = p.parse_args()
    print(summarise(a.profile, a.top, a.rate))


if __name__ == "__main__":
    main()
