"""Run ``masbot run -c CONFIG`` with wall-clock timers around its stages (an async-aware profile).

    python bench/trace.py OUT.json -c CONFIG

py-spy sees the event loop sitting in ``epoll`` but cannot say which coroutine is waiting, or
for what. This runner wraps the stages of one message (IMAP fetch and remove, intake, pipeline,
signing, the store, the answer, SMTP deliveries) with timers, leaves masbot's code untouched,
and writes per-stage counts and totals to OUT.json when masbot exits (after SIGTERM).
It also counts ``EXISTS`` announcements that arrive inside command responses while masbot
drains, and how each IDLE ended, which shows whether new mail was announced and then missed.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import re
import sys
import threading
import time
from pathlib import Path

# This checkout's masbot, not whichever one the venv installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATS: dict[str, list[float]] = {}
COUNTS: dict[str, int] = {}
SEARCHES: list[int] = []  # how many messages each UID SEARCH ALL found
_LOCK = threading.Lock()
_EXISTS = re.compile(rb"^(?:\* )?(\d+) EXISTS")


def _add(name: str, seconds: float) -> None:
    with _LOCK:
        STATS.setdefault(name, []).append(seconds)


def _count(name: str, n: int = 1) -> None:
    with _LOCK:
        COUNTS[name] = COUNTS.get(name, 0) + n


def timed(owner: object, attr: str, name: str | None = None) -> None:
    """Replace ``owner.attr`` (a function or coroutine function) by a timed wrapper."""
    fn = getattr(owner, attr)
    label = name or f"{getattr(owner, '__name__', owner)}.{attr}"
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                _add(label, time.perf_counter() - t)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                _add(label, time.perf_counter() - t)
    setattr(owner, attr, wrapper)


def _summary() -> dict:
    out = {}
    for name, values in sorted(STATS.items()):
        s = sorted(values)
        out[name] = {"count": len(s), "total_s": round(sum(s), 3),
                     "mean_ms": round(1000 * sum(s) / len(s), 2),
                     "p50_ms": round(1000 * s[len(s) // 2], 2),
                     "p90_ms": round(1000 * s[int(0.9 * (len(s) - 1))], 2),
                     "max_ms": round(1000 * s[-1], 2)}
    return {"stages": out, "counts": dict(sorted(COUNTS.items())),
            "uid_search_found": SEARCHES}


def _time_gc() -> None:
    """The garbage collector's passes, by generation (they stop every thread)."""
    import gc
    started: dict[int, float] = {}

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[info["generation"]] = time.perf_counter()
        elif info["generation"] in started:
            _add(f"gc generation {info['generation']}",
                 time.perf_counter() - started.pop(info["generation"]))
    gc.callbacks.append(callback)


def install() -> None:
    import aioimaplib

    _time_gc()

    from masbot.intake import inbox
    from masbot.intake import message as intake
    from masbot.intake import classify as pipeline
    from masbot import flow, gather
    from masbot import society as service
    from masbot.relay import delivery, smtp
    from masbot.signing.signer import Signer
    from masbot.store import Store

    for owner, attrs in ((inbox.ImapInbox, ("_drain", "_fetch", "_remove", "_wait")),
                         (service.Society, ("_handle", "_route", "_issue", "_relay",
                                            "_sign_post", "_deliver_answer")),
                         (gather.Gatherer, ("facts",)),
                         (Signer, ("clearsign", "detach_sign")),
                         (Store, ("handled", "record", "next_number", "settle", "due",
                                  "next_due", "post_data", "set_state", "run_batch")),
                         (delivery.Deliverer, ("_deliver",)),
                         (smtp.SmtpTransport, ("send",))):
        for attr in attrs:
            timed(owner, attr)
    timed(intake, "read", "intake.read")
    timed(pipeline, "run", "pipeline.run")
    timed(flow, "route", "flow.route")
    timed(aioimaplib.IMAP4, "uid_search", "IMAP UID SEARCH")
    timed_search = aioimaplib.IMAP4.uid_search

    async def uid_search(self, *args, **kwargs):
        response = await timed_search(self, *args, **kwargs)
        found = len([u for u in bytes(response.lines[0]).split() if u.isdigit()]) if response.lines else 0
        with _LOCK:
            SEARCHES.append(found)
        return response

    aioimaplib.IMAP4.uid_search = uid_search

    original_uid = aioimaplib.IMAP4.uid

    async def uid(self, command, *args, **kwargs):
        t = time.perf_counter()
        try:
            return await original_uid(self, command, *args, **kwargs)
        finally:
            _add(f"IMAP UID {command.upper()}", time.perf_counter() - t)

    aioimaplib.IMAP4.uid = uid

    # An untagged "N EXISTS" that arrives while an async command (UID FETCH, STORE, EXPUNGE,
    # SEARCH) is pending matches no pending command, and aioimaplib drops it ("ignored
    # untagged response"). Dovecot will not announce those messages again at the next IDLE.
    protocol = aioimaplib.IMAP4ClientProtocol
    original_untagged = protocol._untagged_response

    def untagged(self, line):
        command = original_untagged(self, line)
        if command is None and _EXISTS.match(bytes(line).replace(b"* ", b"", 1)):
            _count("EXISTS announcements dropped by aioimaplib (outside IDLE)")
        return command

    protocol._untagged_response = untagged

    original_wait = aioimaplib.IMAP4.wait_server_push

    async def wait_server_push(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            result = await original_wait(self, *args, **kwargs)
        except BaseException:
            _count("IDLE ended without a push (cancelled or timed out)")
            raise
        _add("IDLE wait for a push", time.perf_counter() - t)
        return result

    aioimaplib.IMAP4.wait_server_push = wait_server_push


def main() -> int:
    out = sys.argv[1]
    args = sys.argv[2:]

    def dump() -> None:
        with open(out, "w") as f:
            json.dump(_summary(), f, indent=1)

    atexit.register(dump)
    install()
    from masbot.cli import main as masbot_main
    return masbot_main(["run", *args])


if __name__ == "__main__":
    sys.exit(main())
