#!/usr/bin/env python3
"""masbot benchmark: the signing floor, throughput, latency at idle, and a junk flood.

    .venv/bin/python bench/run.py [--quick] [--json FILE] [--profile DIR] [--phases ...]

Starts its own Dovecot (tests/harness) and an aiosmtpd sink on loopback, runs masbot as a
subprocess (``python -m masbot run -c CONFIG``) once per phase with a fresh store, and checks
that every valid appeal reached every destination exactly once. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

from harness.dovecot import Dovecot  # noqa: E402
from harness.openpgp import extract_signed, sqop_verify  # noqa: E402
from harness.smtp_sink import SmtpSink  # noqa: E402
from support import LOCAL_LIST, PARTNERS, write_config  # noqa: E402

import mailgen  # noqa: E402
import procstat  # noqa: E402
from masbot.signing.signer import Signer, init_key  # noqa: E402

USER, PASSWORD = "society", "societypw"
DESTINATIONS = (LOCAL_LIST, *PARTNERS.values())
SIGNATURES_PER_APPEAL = 2  # Society._publish: clearsign(appeal) + detach_sign(post)
FULL = dict(signs=200, throughput=500, latency=50, junk=10_000, valid=20)
QUICK = dict(signs=20, throughput=10, latency=5, junk=200, valid=3)
TARGETS = dict(throughput_ratio=0.80, latency_p50_s=0.7, latency_p99_s=1.0, flood_junk_per_s=300,
               flood_peak_rss_mb=150, cpu_ratio_max=2.0, latency_p99_over_thin_s=0.050)
"""Issue 18: against the thin bot in the same run, backlog appeals/s at least 0.8 of its,
CPU per appeal of the bot's own process at most twice its, idle p99 within 50 ms of its."""
PHASES = ("throughput", "thin_throughput", "throughput_backlog", "thin_throughput_backlog",
          "latency", "thin_latency", "flood", "flood_backlog")
_TAG = re.compile(rb"Bail for neighbour ([A-Z]\d{5}):")


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- the machine -------------------------------------------------------------------------------
def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    rev = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "masbot"],
                           capture_output=True, text=True).stdout.strip()
    fs = _first_line(["findmnt", "-n", "-o", "FSTYPE", "-T", tempfile.gettempdir()])
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "gpg": _first_line(["gpg", "--version"]),
            "dovecot": _first_line(["/usr/sbin/dovecot", "--version"]),
            "kernel": platform.release(), "tmp_fs": fs,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "masbot_rev": rev + (" + uncommitted changes in masbot/" if dirty else "")}


# -- 1. the signing floor -----------------------------------------------------------------------
def masbot_sign_concurrency() -> tuple[int, str]:
    """How many signs masbot can have in flight at once, read from its code, and why."""
    import inspect

    from masbot.intake import inbox
    from masbot import society as service
    executor = min(32, (os.cpu_count() or 1) + 4)  # asyncio.to_thread's default executor
    workers = inspect.signature(service.Society.__init__).parameters.get("workers")
    if workers is None or workers.default is inspect.Parameter.empty:
        return 1, ("Society.handle holds one lock and _publish awaits clearsign then "
                   "detach_sign: one sign in flight")
    batch = getattr(inbox, "BATCH", 1)
    n = max(1, min(int(workers.default), int(batch), executor))
    return n, (f"Society(workers={workers.default}) handles that many messages at once "
               f"(IMAP batches of {batch}); each awaits clearsign then detach_sign through "
               f"asyncio.to_thread (default executor, {executor} threads): up to {n} signs "
               "in flight")


def signing_floor(gnupghome: Path, count: int) -> dict:
    """masbot's Signer: detached signs per second (Ed25519, ~2 KB) with 1, 2 and masbot's
    number of signs in flight (asyncio.to_thread on a default executor of that many threads).
    The Signer asks gpg-agent when it can (the daemon does so on its event loop, without the
    threads), so this is the agent's floor, not a gpg started per signature as the thin bot's
    python-gnupg does."""
    signer = Signer(gnupghome)
    payload = (("Appeal-ID: ANYTOWN-2026-0001\r\n" + "Sam cooks at our food share every week. "
                * 2 + "\r\n") * 20).encode()[:2048]
    for _ in range(3):  # warm the agent
        signer.detach_sign(payload)
    singles = []
    for _ in range(max(5, count // 4)):
        t = time.perf_counter()
        signer.detach_sign(payload)
        singles.append(time.perf_counter() - t)
    masbot_n, why = masbot_sign_concurrency()
    rates = {}
    for workers in sorted({1, 2, masbot_n}):
        async def run() -> float:
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(workers))
            t = time.perf_counter()
            await asyncio.gather(*(asyncio.to_thread(signer.detach_sign, payload)
                                   for _ in range(count)))
            return time.perf_counter() - t
        rates[str(workers)] = round(count / asyncio.run(run()), 1)
    # The pair an appeal costs, one after the other as in Society._publish: clearsign + detached.
    text = payload.decode().replace("\r\n", "\n").rstrip()
    pairs = max(5, count // 4)
    t = time.perf_counter()
    for _ in range(pairs):
        signer.clearsign(text)
        signer.detach_sign(payload)
    pair_rate = pairs / (time.perf_counter() - t)
    return {"payload_bytes": len(payload), "signs": count,
            "signs_per_s": rates, "masbot_workers": masbot_n, "masbot_workers_why": why,
            "sign_ms_median": round(statistics.median(singles) * 1000, 1),
            "sign_ms_p90": round(sorted(singles)[int(0.9 * (len(singles) - 1))] * 1000, 1),
            "appeal_pair_per_s_sequential": round(pair_rate, 1),
            "sign_bound_appeals_per_s": round(rates[str(masbot_n)] / SIGNATURES_PER_APPEAL, 1),
            "sign_bound_appeals_per_s_1_worker": round(rates["1"] / SIGNATURES_PER_APPEAL, 1),
            "sign_bound_appeals_per_s_2_workers": round(rates["2"] / SIGNATURES_PER_APPEAL, 1)}


# -- a society under test --------------------------------------------------------------------
class Tracker:
    """Reads the sink's messages incrementally: posts by request tag and destination, answers."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.seen = 0
        self.transactions = 0  # SMTP transactions the sink accepted (one per DATA)
        self.posts: dict[str, dict[str, list]] = {}  # tag -> destination -> [(time, bytes)]
        self.unknown_posts = 0
        self.answers: dict[str, list[float]] = {}  # sender -> [times]

    def update(self) -> None:
        with self.sink._cond:
            new = self.sink.messages[self.seen:]
        self.seen += len(new)
        for m in new:
            self.transactions += 1
            for rcpt in m.rcpt_tos:  # one transaction may carry several destinations
                if rcpt in DESTINATIONS:
                    match = _TAG.search(m.data)
                    if match is None:
                        self.unknown_posts += 1
                        continue
                    tag = match.group(1).decode()
                    self.posts.setdefault(tag, {}).setdefault(rcpt, []).append(
                        (m.received_at, m.data))
                else:
                    self.answers.setdefault(rcpt, []).append(m.received_at)

    def complete(self, tag: str) -> bool:
        got = self.posts.get(tag, {})
        return all(got.get(d) for d in DESTINATIONS)

    def delivered_at(self, tag: str) -> float:
        """When the post reached the last of the destinations (first copy at each)."""
        return max(self.posts[tag][d][0][0] for d in DESTINATIONS)


def _tag(req: mailgen.Request) -> str:
    return _TAG.search(req.raw).group(1).decode()


class Society:
    """A fresh masbot config, store and sink; masbot itself runs as a subprocess. With
    ``bot="thin"`` the subprocess is bench/thinbot.py instead, on the same key and sink."""

    def __init__(self, name: str, dovecot: Dovecot, gnupghome: Path, keep: bool,
                 bot: str = "masbot") -> None:
        self.name = name
        self.bot = bot
        self.dovecot_port = dovecot.port
        self.gnupghome = gnupghome
        self.dir = Path(tempfile.mkdtemp(prefix=f"mb-bench-{name}-", dir="/tmp"))
        self.keep = keep
        self.sink = SmtpSink().start()
        self.files = write_config(self.dir, gnupghome, smtp_port=self.sink.port,
                                  imap_port=dovecot.port, backoff_initial=0.5)
        self.log_path = self.dir / "masbot.log"
        self.proc: subprocess.Popen | None = None
        self.profiler: subprocess.Popen | None = None
        self.tracker = Tracker(self.sink)

    def start(self, timeout: float = 30, trace: Path | None = None) -> int:
        """Start masbot; with ``trace``, under bench/trace.py (stage timers) writing there,
        or under bench/cpuprofile.py (cProfile, every thread) when it ends in ``.pstats``."""
        out = open(self.dir / "masbot.out", "wb")
        here = Path(__file__).resolve().parent
        script = here / ("cpuprofile.py" if trace and trace.suffix == ".pstats" else "trace.py")
        runner = ["-m", "masbot", "run"] if trace is None else [str(script), str(trace)]
        args = [*runner, "-c", str(self.files.config)]
        if self.bot == "thin":
            args = [str(here / "thinbot.py"), "--imap-port", str(self.dovecot_port),
                    "--smtp-port", str(self.sink.port), "--gnupghome", str(self.gnupghome),
                    "--user", USER, "--password", PASSWORD, "--log", str(self.log_path)]
        self.proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=out, cwd=ROOT)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"masbot exited with {self.proc.returncode}: "
                                   f"{(self.dir / 'masbot.out').read_text()[-2000:]}")
            if self.log_path.exists() and "waiting with IDLE" in self.log_path.read_text():
                return self.proc.pid
            time.sleep(0.05)
        raise RuntimeError(f"masbot did not reach IDLE in {timeout} s; log: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-2000:]
        except OSError:
            return "(no log)"

    def profile(self, out: Path) -> None:
        """Sample masbot's CPU with py-spy (all threads, without pausing it); 200 samples a
        second, so a thread's samples / 200 is roughly its CPU seconds."""
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if spy is None:
            log("py-spy is not installed (.venv/bin/pip install py-spy): stage timers only; "
                "--cprofile gives CPU by function without it")
            return
        assert self.proc is not None
        self.profiler = subprocess.Popen(
            [spy, "record", "--pid", str(self.proc.pid), "--rate", "200",
             "--nonblocking", "--threads", "--format", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=open(str(out) + ".log", "wb"))
        time.sleep(1.0)  # py-spy attaches

    def stop_profile(self) -> None:
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)
            try:
                self.profiler.wait(30)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
            self.profiler = None

    def outcomes(self) -> dict[str, int]:
        """How masbot says it disposed of each message (its log, by kind)."""
        counts: dict[str, int] = {}
        if self.bot == "thin":
            return counts
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = re.search(r": message [0-9a-f]{12}: (already handled|[\w-]+) \(", line)
            if m:
                kind = "duplicate" if m.group(1) == "already handled" else m.group(1)
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def stop(self) -> None:
        self.stop_profile()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sink.stop()

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def inbox_count(dovecot: Dovecot) -> int:
    with mailgen.Appender(dovecot.host, dovecot.port, USER, PASSWORD) as app:
        return app.status()


def purge_inbox(dovecot: Dovecot) -> int:
    """Remove whatever a failed phase left in the INBOX; return how many mails there were."""
    import imaplib
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        conn.login(USER, PASSWORD)
        n = int(conn.select("INBOX")[1][0])
        if n:
            conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()
        conn.close()
        return n
    finally:
        conn.logout()


def wait_for(condition, progress, *, stall: float, limit: float, poll: float = 0.05) -> bool:
    """Wait until ``condition()``; give up after ``stall`` s without ``progress()`` changing or
    after ``limit`` s in all. True when the condition was met."""
    start = last_change = time.monotonic()
    last = progress()
    while not condition():
        now = time.monotonic()
        current = progress()
        if current != last:
            last, last_change = current, now
        if now - last_change > stall or now - start > limit:
            return False
        time.sleep(poll)
    return True


def verify(society: Society, reqs: list[mailgen.Request], dovecot: Dovecot, cert: bytes,
           fingerprint: str, sample: int, rng: random.Random) -> dict:
    """(The thin bot sends no answers: for it, no answer is what is expected.)"""
    """Every valid appeal exactly once at every destination, same signed bytes everywhere,
    one answer per sender, a sample of signatures checked with sqop, the INBOX emptied."""
    time.sleep(1.0)  # a copy sent twice would arrive now
    tr = society.tracker
    tr.update()
    missing, duplicates, differing = [], [], []
    for req in reqs:
        tag = _tag(req)
        got = tr.posts.get(tag, {})
        for dest in DESTINATIONS:
            n = len(got.get(dest, []))
            if n == 0:
                missing.append(f"{tag} -> {dest}")
            elif n > 1:
                duplicates.append(f"{tag} -> {dest} x{n}")
        if len({data for copies in got.values() for _, data in copies}) > 1:
            differing.append(tag)
    known = {_tag(r) for r in reqs}
    strays = sorted(set(tr.posts) - known)
    expected_answers = 0 if society.bot == "thin" else 1
    answers_wrong = [r.sender for r in reqs
                     if len(tr.answers.get(r.sender, [])) != expected_answers]
    checked, bad_sigs = 0, []
    complete = [t for t in known if tr.complete(t)]
    for tag in rng.sample(sorted(complete), min(sample, len(complete))):
        data = tr.posts[tag][rng.choice(DESTINATIONS)][0][1]
        signed, signature = extract_signed(data)
        result = sqop_verify(signature, signed, cert)
        checked += 1
        if not (result.ok and result.signed_by(fingerprint)):
            bad_sigs.append(tag)
    left = inbox_count(dovecot)
    ok = not (missing or duplicates or differing or strays or answers_wrong or bad_sigs
              or tr.unknown_posts)
    return {"ok": ok, "expected_appeals": len(reqs),
            "delivered_everywhere": sum(tr.complete(_tag(r)) for r in reqs),
            "missing": missing[:20], "missing_count": len(missing),
            "duplicates": duplicates[:20], "duplicate_count": len(duplicates),
            "differing_bytes": differing[:20], "stray_posts": strays[:20] + (
                [f"{tr.unknown_posts} posts without a known title"] if tr.unknown_posts else []),
            "senders_without_exactly_one_answer": len(answers_wrong),
            "smtp_transactions": tr.transactions,
            "signatures_checked_with_sqop": checked, "bad_signatures": bad_sigs,
            "inbox_left": left}


def cpu_parties(society: Society, dovecot: Dovecot, gnupghome: Path) -> procstat.CpuMeter:
    """The CPU meter of one phase. "masbot" is the bot's own process (the thin bot's in its
    phases), "gpg" its gpg children; the SMTP sink is the aiosmtpd thread in this process."""
    pid = society.proc.pid if society.proc else 0
    agents = procstat.find_pids(f"gpg-agent --homedir {gnupghome}")
    dpid = dovecot.proc.pid if dovecot.proc else 0
    me = os.getpid()
    controller = society.sink._controller
    sink_tid = controller._thread.native_id if controller and controller._thread else 0
    return procstat.CpuMeter({
        "masbot": lambda: procstat.cpu_seconds(pid, children=False),
        "gpg (masbot's children)": lambda: procstat.cpu_seconds(pid) - procstat.cpu_seconds(pid, False),
        "gpg-agent": lambda: sum(procstat.cpu_seconds(a) for a in agents),
        "dovecot": lambda: procstat.group_cpu_seconds(dpid),
        "smtp sink (aiosmtpd thread)": lambda: procstat.thread_cpu_seconds(me, sink_tid),
        "bench (appender, checks)": lambda: (procstat.cpu_seconds(me, children=False)
                                             - procstat.thread_cpu_seconds(me, sink_tid)),
    })


def bot_cpu_seconds(society: Society) -> float:
    """CPU seconds the bot's own process has used so far (its children not counted)."""
    assert society.proc is not None
    return procstat.cpu_seconds(society.proc.pid, children=False)


def whole_life_cpu(society: Society, started: float, quiet: float = 1.0,
                   limit: float = 30.0) -> dict[str, float]:
    """The bot's own CPU seconds from its exec, once it has gone quiet after the phase (no
    more than 10 ms in ``quiet`` seconds: the site's last passes written), with how long
    that took. A harness that reads a process's CPU when it ends counts all of this: its
    start and the work that follows the last delivery, which the phase's meter leaves out."""
    began = time.monotonic()
    last = bot_cpu_seconds(society)
    while time.monotonic() - began < limit:
        time.sleep(quiet)
        now = bot_cpu_seconds(society)
        if now - last < 0.010:
            break
        last = now
    return {"cpu_s": round(last, 2), "start_cpu_s": round(started, 2),
            "settled_after_s": round(time.monotonic() - began, 1)}


def per_appeal_ms(cpu: dict[str, float], appeals: int) -> dict[str, float]:
    """CPU milliseconds per appeal: the bot's process, gpg with its agent, the SMTP sink."""
    if not appeals:
        return {}
    gpg = cpu.get("gpg (masbot's children)", 0.0) + cpu.get("gpg-agent", 0.0)
    return {"bot_process": round(1000 * cpu.get("masbot", 0.0) / appeals, 2),
            "gpg_and_agent": round(1000 * gpg / appeals, 2),
            "smtp_sink": round(1000 * cpu.get("smtp sink (aiosmtpd thread)", 0.0) / appeals, 2)}


# -- waiting, stalls ------------------------------------------------------------------------------
STALL_S = 30.0  # no progress for this long: masbot has stopped although work is left
LIVE_MODE = ("APPENDed while masbot idles in IDLE (4 connections, pipelined LITERAL+); "
             "clock starts at the first APPEND")
BACKLOG_MODE = ("APPENDed (4 connections, pipelined LITERAL+) before masbot starts, so its "
                "first UID SEARCH finds them all; clock starts when its IMAP session is ready")


def _log_time(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def connected_at(soc: Society) -> float:
    """When masbot's IMAP session was ready (its log line), as a wall time."""
    for line in soc.log_path.read_text().splitlines():
        if "connected, waiting with IDLE" in line:
            return _log_time(line)
    raise RuntimeError("masbot never logged its IMAP connection")


def nudge(ctx: "Bench", soc: Society, done, progress) -> dict:
    """masbot stalled: if mail is left in the INBOX, APPEND one new (junk) mail and see whether
    masbot then takes up the rest. Evidence for what stopped it; not counted in any rate."""
    left = inbox_count(ctx.dovecot)
    info = {"stalled": True, "stalled_for_s": STALL_S, "inbox_left_at_stall": left}
    if left == 0:
        return info | {"nudged": False}
    raw = mailgen.not_a_request(ctx.rng, 999_999)
    with mailgen.Appender(ctx.dovecot.host, ctx.dovecot.port, USER, PASSWORD) as app:
        t = time.time()
        app.append_batch([raw])
    cleared = wait_for(done, progress, stall=STALL_S, limit=600)
    log(f"{soc.name}: masbot stalled with {left} mails in the INBOX; after one new mail it "
        f"{'took them all up' if cleared else 'still did not finish'}")
    return info | {"nudged": True, "cleared_after_nudge": cleared,
                   "cleared_after_nudge_s": round(time.time() - t, 2)}


# -- 2. throughput ------------------------------------------------------------------------------
def throughput(ctx: "Bench", count: int, backlog: bool, bot: str = "masbot") -> dict:
    name = ("thin_" if bot == "thin" else "") + ("throughput_backlog" if backlog else "throughput")
    soc = ctx.society(name, bot)
    try:
        reqs = mailgen.requests(("Q" if backlog else "U") if bot == "thin"
                                else ("P" if backlog else "T"), count, ctx.rng)
        raws = [r.raw for r in reqs]
        if backlog:
            log(f"{name}: appending {count} requests, then starting masbot")
            first, appended = mailgen.append_parallel(ctx.dovecot, USER, PASSWORD, raws,
                                                      connections=4, batch=25)
            soc.start(trace=ctx.trace_file(name))
            started_cpu = bot_cpu_seconds(soc)
            meter = cpu_parties(soc, ctx.dovecot, ctx.gnupghome).start()
            clock_from = connected_at(soc)
            if ctx.profile_dir:  # attaches about a second late
                soc.profile(ctx.profile_dir / f"{name}.txt")
        else:
            soc.start(trace=ctx.trace_file(name))
            started_cpu = bot_cpu_seconds(soc)
            if ctx.profile_dir:
                soc.profile(ctx.profile_dir / f"{name}.txt")
            meter = cpu_parties(soc, ctx.dovecot, ctx.gnupghome).start()
            log(f"{name}: appending {count} requests while masbot idles")
            first, appended = mailgen.append_parallel(ctx.dovecot, USER, PASSWORD, raws,
                                                      connections=4, batch=25)
            clock_from = first
        tags = [_tag(r) for r in reqs]
        tr = soc.tracker

        def done() -> bool:
            tr.update()
            return all(tr.complete(t) for t in tags)
        finished = wait_for(done, lambda: tr.seen, stall=STALL_S, limit=max(120, count * 2))
        cpu = meter.stop()
        life = whole_life_cpu(soc, started_cpu)
        soc.stop_profile()
        delivered = [t for t in tags if tr.complete(t)]
        last = max((tr.delivered_at(t) for t in delivered), default=time.time())
        elapsed = last - clock_from
        rate = len(delivered) / elapsed if elapsed > 0 else 0.0
        stall = {"stalled": False} if finished else nudge(ctx, soc, done, lambda: tr.seen)
        check = verify(soc, reqs, ctx.dovecot, ctx.cert, ctx.fingerprint, 10, ctx.rng)
        check["ok_without_help"] = check["ok"] and len(delivered) == count
        bound = ctx.results["signing"]["sign_bound_appeals_per_s"]
        busy = sum(v for k, v in cpu.items() if k not in ("wall", "steal", "other processes"))
        return {"requests": count, "destinations": len(DESTINATIONS),
                "append_mode": BACKLOG_MODE if backlog else LIVE_MODE,
                "append_s": round(appended - first, 2),
                "finished": finished, "delivered_before_stall": len(delivered),
                "elapsed_s": round(elapsed, 2),
                "appeals_per_s": round(rate, 2),
                "sign_bound_appeals_per_s": bound,
                "ratio_to_sign_bound": round(rate / bound, 3) if bound else None,
                "cpu_s": cpu, "cpu_cores_busy": round(busy / elapsed, 2) if elapsed > 0 else None,
                "cpu_ms_per_appeal": per_appeal_ms(cpu, len(delivered)),
                "bot_start_cpu_s": round(started_cpu, 2),
                "bot_whole_life": {**life, "cpu_ms_per_appeal": round(
                    1000 * life["cpu_s"] / len(delivered), 2) if delivered else None},
                "stall": stall, "outcomes": soc.outcomes(), "verification": check}
    finally:
        soc.stop()
        ctx.finish(soc)


# -- 3. latency at idle ---------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))]


def latency(ctx: "Bench", count: int, bot: str = "masbot") -> dict:
    soc = ctx.society("thin_latency" if bot == "thin" else "latency", bot)
    answered = bot != "thin"
    try:
        soc.start(trace=None if bot == "thin" else ctx.trace_file("latency"))
        reqs = mailgen.requests("M" if bot == "thin" else "L", count, ctx.rng)
        tr = soc.tracker
        samples, answer_samples, timeouts = [], [], 0
        log(f"{soc.name}: {count} requests, one at a time")
        with mailgen.Appender(ctx.dovecot.host, ctx.dovecot.port, USER, PASSWORD) as app:
            time.sleep(0.5)
            for req in reqs:
                tag = _tag(req)
                app.append_batch([req.raw])
                t0 = app.stamps[-1]

                def done() -> bool:
                    tr.update()
                    return tr.complete(tag) and (req.sender in tr.answers or not answered)
                if not wait_for(done, lambda: 0, stall=30, limit=30, poll=0.005):
                    timeouts += 1
                    continue
                samples.append(tr.delivered_at(tag) - t0)
                if answered:
                    answer_samples.append(tr.answers[req.sender][0] - t0)
                # back to IDLE: the original is removed, then a short random pause
                wait_for(lambda: app.status() == 0, lambda: 0, stall=10, limit=10, poll=0.02)
                time.sleep(ctx.rng.uniform(0.3, 0.6))
        check = verify(soc, reqs, ctx.dovecot, ctx.cert, ctx.fingerprint, 5, ctx.rng)
        check["ok_without_help"] = check["ok"] and timeouts == 0
        r = lambda x: round(x, 3)  # noqa: E731
        return {"requests": count, "measured": len(samples), "timeouts": timeouts,
                "p50_s": r(_pct(samples, 50)) if samples else None,
                "p99_s": r(_pct(samples, 99)) if samples else None,
                "min_s": r(min(samples)) if samples else None,
                "max_s": r(max(samples)) if samples else None,
                "mean_s": r(statistics.mean(samples)) if samples else None,
                "answer_p50_s": r(_pct(answer_samples, 50)) if answer_samples else None,
                "samples_s": [r(s) for s in samples], "verification": check}
    finally:
        soc.stop()
        ctx.finish(soc)


# -- 4. flood -------------------------------------------------------------------------------------
def flood(ctx: "Bench", junk: int, valid: int, backlog: bool) -> dict:
    name = "flood_backlog" if backlog else "flood"
    soc = ctx.society(name)
    try:
        reqs = mailgen.requests("G" if backlog else "F", valid, ctx.rng)
        mails, mix = mailgen.flood(junk, reqs, ctx.rng)
        total = len(mails)
        counts: list[tuple[float, int]] = []
        stop_monitor = threading.Event()

        def monitor() -> None:
            with mailgen.Appender(ctx.dovecot.host, ctx.dovecot.port, USER, PASSWORD) as app:
                while not stop_monitor.is_set():
                    counts.append((time.time(), app.status()))
                    stop_monitor.wait(0.1)
        watcher = threading.Thread(target=monitor, daemon=True)
        if backlog:
            log(f"{name}: appending {junk} junk + {valid} valid ({mix}), then starting masbot")
            first, appended = mailgen.append_parallel(ctx.dovecot, USER, PASSWORD, mails,
                                                      connections=4, batch=50)
            log(f"{name}: appended {total} in {appended - first:.1f} s; starting masbot")
            pid = soc.start(trace=ctx.trace_file(name))
            rss = procstat.RssSampler(pid).start()
            meter = cpu_parties(soc, ctx.dovecot, ctx.gnupghome).start()
            watcher.start()
            clock_from = connected_at(soc)
            if ctx.profile_dir:  # attaches about a second late
                soc.profile(ctx.profile_dir / f"{name}.txt")
        else:
            pid = soc.start(trace=ctx.trace_file(name))
            rss = procstat.RssSampler(pid).start()
            if ctx.profile_dir:
                soc.profile(ctx.profile_dir / f"{name}.txt")
            meter = cpu_parties(soc, ctx.dovecot, ctx.gnupghome).start()
            watcher.start()
            log(f"{name}: appending {junk} junk + {valid} valid ({mix}) while masbot idles")
            first, appended = mailgen.append_parallel(ctx.dovecot, USER, PASSWORD, mails,
                                                      connections=4, batch=50)
            log(f"{name}: appended {total} in {appended - first:.1f} s; waiting for masbot")
            clock_from = first
        tags = [_tag(r) for r in reqs]
        tr = soc.tracker

        def done() -> bool:
            tr.update()
            return (bool(counts) and counts[-1][0] > appended and counts[-1][1] == 0
                    and all(tr.complete(t) for t in tags))

        def progress() -> int:
            return counts[-1][1] if counts else -1
        finished = wait_for(done, progress, stall=STALL_S, limit=max(300, junk))
        cpu = meter.stop()
        soc.stop_profile()
        delivered = [t for t in tags if tr.complete(t)]
        last_valid = max((tr.delivered_at(t) for t in delivered), default=None)
        snapshot = list(counts)
        left = snapshot[-1][1] if snapshot else total
        # when the INBOX last changed: the end of masbot's work (whether or not it finished)
        changed = [t for (t, n), (_, prev) in zip(snapshot[1:], snapshot) if n != prev]
        active_end = changed[-1] if changed else time.time()
        active = active_end - clock_from
        disposed_junk = max(0, (total - left) - len(delivered))
        stall = {"stalled": False} if finished else nudge(ctx, soc, done, progress)
        rss.stop()
        stop_monitor.set()
        watcher.join()
        at_append_end = next((n for t, n in snapshot if t >= appended), None)
        check = verify(soc, reqs, ctx.dovecot, ctx.cert, ctx.fingerprint, valid, ctx.rng)
        # every valid appeal delivered before any stall (junk left behind is reported as a stall)
        check["ok_without_help"] = check["ok"] and len(delivered) == valid
        rss_mb = [kb / 1024 for _, kb in rss.samples]
        busy = sum(v for k, v in cpu.items() if k not in ("wall", "steal", "other processes"))
        return {"junk": junk, "valid": valid, "mix": mix,
                "append_mode": BACKLOG_MODE if backlog else LIVE_MODE,
                "append_s": round(appended - first, 2),
                "append_per_s": round(total / (appended - first), 1),
                "finished": finished, "active_s": round(active, 2),
                "inbox_empty_s": round(active, 2) if finished else None,
                "junk_per_s": round(junk / active, 1) if finished and active > 0 else None,
                "junk_per_s_until_stall": (round(disposed_junk / active, 1)
                                           if not finished and active > 0 else None),
                "left_at_append_end": at_append_end, "left_at_stall": None if finished else left,
                "valid_delivered_before_stall": len(delivered),
                "last_valid_delivered_s": round(last_valid - clock_from, 2) if last_valid else None,
                "peak_rss_mb": round(rss.hwm_kb / 1024, 1),
                "rss_mb_start_end": [round(rss_mb[0], 1), round(rss_mb[-1], 1)] if rss_mb else None,
                "cpu_s": cpu, "cpu_cores_busy": round(busy / active, 2) if active > 0 else None,
                "stall": stall, "outcomes": soc.outcomes(), "verification": check}
    finally:
        soc.stop()
        ctx.finish(soc)


# -- the run ------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.keep = args.keep
        self.profile_dir = Path(args.profile).resolve() if args.profile else None
        self.cprofile_dir = Path(args.cprofile).resolve() if args.cprofile else None
        self.results: dict = {}
        self.dovecot: Dovecot | None = None
        self.gnupghome = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))

    def society(self, name: str, bot: str = "masbot") -> Society:
        left = purge_inbox(self.dovecot)
        if left:
            log(f"{name}: removed {left} messages left in the INBOX by an earlier phase")
        return Society(name, self.dovecot, self.gnupghome, self.keep, bot)

    def trace_file(self, phase: str) -> Path | None:
        if self.cprofile_dir:
            return self.cprofile_dir / f"{phase}.pstats"
        return self.profile_dir / f"{phase}.trace.json" if self.profile_dir else None

    def finish(self, soc: Society) -> None:
        if self.keep:
            log(f"{soc.name}: kept {soc.dir}")
        soc.cleanup()

    def run(self, sizes: dict, phases: list[str]) -> dict:
        self.fingerprint = init_key(self.gnupghome, "Anytown Mutual Aid Society", mailgen.SOCIETY)
        self.cert = Signer(self.gnupghome).export_public().encode()
        self.results["machine"] = machine()
        self.results["sizes"] = sizes
        self.results["targets"] = TARGETS
        log("signing floor")
        self.results["signing"] = signing_floor(self.gnupghome, sizes["signs"])
        self.dovecot = Dovecot({USER: PASSWORD}, tls=False).start()
        for directory in (self.profile_dir, self.cprofile_dir):
            if directory:
                directory.mkdir(parents=True, exist_ok=True)
        runners = {
            "throughput": lambda: throughput(self, sizes["throughput"], backlog=False),
            "throughput_backlog": lambda: throughput(self, sizes["throughput"], backlog=True),
            "thin_throughput": lambda: throughput(self, sizes["throughput"], backlog=False,
                                                  bot="thin"),
            "thin_throughput_backlog": lambda: throughput(self, sizes["throughput"],
                                                          backlog=True, bot="thin"),
            "latency": lambda: latency(self, sizes["latency"]),
            "thin_latency": lambda: latency(self, sizes["latency"], bot="thin"),
            "flood": lambda: flood(self, sizes["junk"], sizes["valid"], backlog=False),
            "flood_backlog": lambda: flood(self, sizes["junk"], sizes["valid"], backlog=True),
        }
        rounds: list[dict] = []
        for number in range(self.args.rounds):
            if self.args.rounds > 1:
                log(f"round {number + 1} of {self.args.rounds}")
            done: dict = {}
            for phase in phases:
                try:
                    done[phase] = runners[phase]()
                except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others
                    log(f"{phase}: FAILED: {type(exc).__name__}: {exc}")
                    done[phase] = {"error": f"{type(exc).__name__}: {exc}"[:3000],
                                   "verification": {"ok": False, "ok_without_help": False}}
            done["versus_thin_bot"] = versus_thin(done)
            rounds.append(done)
        # Strict: every valid appeal of every phase of every round arrived exactly once at
        # every destination without the benchmark's help (no nudge after a stall).
        self.results["all_valid_delivered"] = all(
            r[p]["verification"].get("ok_without_help", r[p]["verification"]["ok"])
            for r in rounds for p in PHASES if p in r)
        for phase in phases:
            self.results[phase] = median_round([r[phase] for r in rounds])
        self.results["versus_thin_bot"] = versus_thin_rounds([r["versus_thin_bot"] for r in rounds])
        if len(rounds) > 1:
            self.results["rounds"] = rounds
        self.results["targets_met"] = targets_met(self.results)
        return self.results

    def close(self) -> None:
        if self.dovecot is not None:
            self.dovecot.close()
        subprocess.run(["gpgconf", "--homedir", str(self.gnupghome), "--kill", "gpg-agent"],
                       capture_output=True)
        shutil.rmtree(self.gnupghome, ignore_errors=True)


def _ok(res: dict, key: str) -> bool:
    return isinstance(res.get(key), dict) and "error" not in res[key]


def _life_ratio(mine: dict, thin: dict) -> float | None:
    a = mine.get("bot_whole_life", {}).get("cpu_ms_per_appeal")
    b = thin.get("bot_whole_life", {}).get("cpu_ms_per_appeal")
    return round(a / b, 2) if a and b else None


def versus_thin(res: dict) -> dict:
    """masbot beside the thin bot of the same run: the ratios issue 18 judges."""
    out: dict = {}
    for key in ("throughput", "throughput_backlog"):
        if _ok(res, key) and _ok(res, f"thin_{key}"):
            mine, thin = res[key], res[f"thin_{key}"]
            cpu_mine = mine["cpu_ms_per_appeal"].get("bot_process")
            cpu_thin = thin["cpu_ms_per_appeal"].get("bot_process")
            out[key] = {
                "appeals_per_s": [mine["appeals_per_s"], thin["appeals_per_s"]],
                "ratio": (round(mine["appeals_per_s"] / thin["appeals_per_s"], 3)
                          if thin["appeals_per_s"] else None),
                "cpu_ms_per_appeal_bot_process": [cpu_mine, cpu_thin],
                "cpu_ratio": round(cpu_mine / cpu_thin, 2) if cpu_mine and cpu_thin else None,
                "whole_life_cpu_ratio": _life_ratio(mine, thin),
                "cpu_ms_per_appeal": [mine["cpu_ms_per_appeal"], thin["cpu_ms_per_appeal"]],
                "smtp_transactions": [mine["verification"]["smtp_transactions"],
                                      thin["verification"]["smtp_transactions"]]}
    if _ok(res, "latency") and _ok(res, "thin_latency") and res["thin_latency"]["p99_s"]:
        mine, thin = res["latency"], res["thin_latency"]
        out["latency"] = {"p50_s": [mine["p50_s"], thin["p50_s"]],
                          "p99_s": [mine["p99_s"], thin["p99_s"]],
                          "p99_over_thin_s": (round(mine["p99_s"] - thin["p99_s"], 3)
                                              if mine["p99_s"] is not None else None)}
    return out


def _headline(result: dict) -> float:
    for key in ("appeals_per_s", "p99_s", "junk_per_s"):
        if isinstance(result.get(key), (int, float)):
            return float(result[key])
    return float("-inf")


def median_round(results: list[dict]) -> dict:
    """The round whose headline figure (appeals/s, p99, junk/s) is the median (the lower
    middle one for an even count); a failed round counts as the lowest."""
    ranked = sorted(results, key=lambda r: float("-inf") if "error" in r else _headline(r))
    return ranked[(len(ranked) - 1) // 2]


def versus_thin_rounds(per_round: list[dict]) -> dict:
    """The ratios of each round (masbot and the thin bot ran one after the other, so they
    saw the same machine) and their medians, which the targets are judged on."""
    if len(per_round) == 1:
        return per_round[0]
    out: dict = {"per_round": per_round}
    for key in ("throughput", "throughput_backlog"):
        ratios = [r[key]["ratio"] for r in per_round if key in r and r[key]["ratio"] is not None]
        cpu = [r[key]["cpu_ratio"] for r in per_round if key in r and r[key]["cpu_ratio"]]
        life = [r[key]["whole_life_cpu_ratio"] for r in per_round
                if key in r and r[key].get("whole_life_cpu_ratio")]
        if ratios:
            out[key] = {"ratio": round(statistics.median(ratios), 3),
                        "cpu_ratio": round(statistics.median(cpu), 2) if cpu else None,
                        "whole_life_cpu_ratio": (round(statistics.median(life), 2) if life
                                                 else None),
                        "ratios": ratios, "cpu_ratios": cpu, "whole_life_cpu_ratios": life}
    over = [r["latency"]["p99_over_thin_s"] for r in per_round
            if "latency" in r and r["latency"]["p99_over_thin_s"] is not None]
    if over:
        out["latency"] = {"p99_over_thin_s": round(statistics.median(over), 3),
                          "per_round": over}
    return out


def targets_met(res: dict) -> dict:
    met = {}
    versus = res.get("versus_thin_bot", {})
    for key in ("throughput", "throughput_backlog"):
        if key in versus and versus[key]["ratio"] is not None:
            met[f"{key}_vs_thin"] = versus[key]["ratio"] >= TARGETS["throughput_ratio"]
            if versus[key]["cpu_ratio"] is not None:
                met[f"{key}_cpu_vs_thin"] = versus[key]["cpu_ratio"] <= TARGETS["cpu_ratio_max"]
    if "latency" in versus and versus["latency"]["p99_over_thin_s"] is not None:
        met["latency_p99_vs_thin"] = (versus["latency"]["p99_over_thin_s"]
                                      <= TARGETS["latency_p99_over_thin_s"])
    res = {k: v for k, v in res.items() if not (isinstance(v, dict) and "error" in v)}
    if "latency" in res and res["latency"]["p50_s"] is not None:
        met["latency_p50"] = res["latency"]["p50_s"] <= TARGETS["latency_p50_s"]
        met["latency_p99"] = res["latency"]["p99_s"] <= TARGETS["latency_p99_s"]
    for key in ("flood", "flood_backlog"):
        if key in res:
            f = res[key]
            met[f"{key}_junk_per_s"] = (f["junk_per_s"] or 0) >= TARGETS["flood_junk_per_s"]
            met[f"{key}_all_valid_delivered"] = f["verification"]["ok_without_help"]
            met[f"{key}_peak_rss"] = f["peak_rss_mb"] <= TARGETS["flood_peak_rss_mb"]
    return met


def table(res: dict) -> str:
    rows: list[tuple[str, str, str]] = []
    s = res["signing"]
    for n, rate in s["signs_per_s"].items():
        rows.append((f"signing: detached signs/s, {n} in flight"
                     + (" (masbot)" if int(n) == s["masbot_workers"] else ""), f"{rate}", ""))
    rows.append(("signing: one sign alone, median / p90 ms",
                 f"{s['sign_ms_median']} / {s['sign_ms_p90']}", ""))
    rows.append((f"signing: sign-bound appeals/s ({s['masbot_workers']} in flight / 2)",
                 f"{s['sign_bound_appeals_per_s']}", ""))
    met = res.get("targets_met", {})
    for key in PHASES:
        if isinstance(res.get(key), dict) and "error" in res[key]:
            rows.append((f"{key}: FAILED", "", res[key]["error"].splitlines()[-1][:100]))
    res = {k: v for k, v in res.items() if not (isinstance(v, dict) and "error" in v)}

    def mark(key: str) -> str:
        return "" if key not in met else ("met" if met[key] else "MISSED")

    def stalled(d: dict) -> str:
        st = d.get("stall", {})
        if not st.get("stalled"):
            return ""
        return (f"STALLED with {st['inbox_left_at_stall']} in INBOX"
                + ("; one new mail cleared it" if st.get("cleared_after_nudge") else ""))
    versus = res.get("versus_thin_bot", {})
    for key, label in (("throughput", "throughput (burst)"), ("throughput_backlog", "throughput (backlog)"),
                       ("thin_throughput", "THIN BOT throughput (burst)"),
                       ("thin_throughput_backlog", "THIN BOT throughput (backlog)")):
        if key in res:
            t = res[key]
            ms = t["cpu_ms_per_appeal"]
            rows.append((f"{label}: {t['requests']} requests, appeals/s", f"{t['appeals_per_s']}",
                         stalled(t)))
            rows.append((f"{label}: CPU ms/appeal: bot / gpg+agent / sink",
                         f"{ms.get('bot_process')} / {ms.get('gpg_and_agent')} / "
                         f"{ms.get('smtp_sink')}", ""))
            life = t.get("bot_whole_life", {})
            rows.append((f"{label}: bot CPU ms/appeal over its whole life (start: s)",
                         f"{life.get('cpu_ms_per_appeal')} ({life.get('start_cpu_s')})", ""))
            rows.append((f"{label}: SMTP transactions", f"{t['verification']['smtp_transactions']}", ""))
            rows.append((f"{label}: s to last delivery", f"{t['elapsed_s']}", ""))
            rows.append((f"{label}: all delivered exactly once", str(t["verification"]["ok_without_help"]), ""))
        if key in versus:
            v = versus[key]
            rows.append((f"{label}: appeals/s ratio to the thin bot (>= 0.80)", f"{v['ratio']}",
                         mark(f"{key}_vs_thin")))
            rows.append((f"{label}: bot CPU/appeal ratio to the thin bot (<= 2)",
                         f"{v['cpu_ratio']}", mark(f"{key}_cpu_vs_thin")))
            rows.append((f"{label}: the same over each bot's whole life",
                         f"{v.get('whole_life_cpu_ratio')}", ""))
    for key, label in (("latency", "latency"), ("thin_latency", "THIN BOT latency")):
        if key in res:
            lat = res[key]
            rows.append((f"{label}: p50 s over {lat['measured']} (<= 0.7)", f"{lat['p50_s']}",
                         mark("latency_p50") if key == "latency" else ""))
            rows.append((f"{label}: p99 s (<= 1.0)", f"{lat['p99_s']}",
                         mark("latency_p99") if key == "latency" else ""))
            rows.append((f"{label}: min / max s", f"{lat['min_s']} / {lat['max_s']}", ""))
            rows.append((f"{label}: all delivered exactly once", str(lat["verification"]["ok_without_help"]), ""))
    if "latency" in versus:
        rows.append(("latency: p99 minus the thin bot's, s (<= 0.050)",
                     f"{versus['latency']['p99_over_thin_s']}", mark("latency_p99_vs_thin")))
    for key, label in (("flood", "flood (live)"), ("flood_backlog", "flood (backlog)")):
        if key in res:
            f = res[key]
            rows.append((f"{label}: APPEND {f['junk'] + f['valid']} mails, s", f"{f['append_s']}", ""))
            rate = f["junk_per_s"] if f["finished"] else f"({f['junk_per_s_until_stall']})"
            rows.append((f"{label}: junk disposed/s (>= 300)", f"{rate}",
                         mark(f"{key}_junk_per_s") + (" " + stalled(f) if stalled(f) else "")))
            rows.append((f"{label}: INBOX empty after s", f"{f['inbox_empty_s']}", ""))
            rows.append((f"{label}: last valid delivered after s", f"{f['last_valid_delivered_s']}", ""))
            rows.append((f"{label}: all {f['valid']} valid delivered exactly once",
                         str(f["verification"]["ok_without_help"]), mark(f"{key}_all_valid_delivered")))
            rows.append((f"{label}: peak RSS MB (<= 150)", f"{f['peak_rss_mb']}", mark(f"{key}_peak_rss")))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure'.ljust(width)}  {'value':>14}  target / note", "-" * (width + 40)]
    lines += [f"{a.ljust(width)}  {b:>14}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a tiny run (smoke test), well under a minute")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--profile", metavar="DIR", help="profile masbot in the throughput and flood "
                   "phases: py-spy raw stacks (PHASE.txt) and stage timers (PHASE.trace.json, "
                   "bench/trace.py) in DIR. Slows masbot a little: keep these figures apart")
    p.add_argument("--cprofile", metavar="DIR", help="run masbot under bench/cpuprofile.py "
                   "(cProfile, every thread; PHASE.pstats and PHASE.pstats.txt in DIR). About "
                   "half as fast: for where the time goes, never for the figures")
    p.add_argument("--phases", default=",".join(PHASES),
                   help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--rounds", type=int, default=1, help="run the phases this many times, "
                   "one after the other; each phase reports its median round, and the ratios "
                   "to the thin bot are the medians of each round's ratios")
    p.add_argument("--keep", action="store_true", help="keep each phase's directory (logs, store)")
    for key in FULL:
        p.add_argument(f"--{key}", type=int, help=f"override the size (full run: {FULL[key]})")
    args = p.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in FULL:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    bench = Bench(args)
    started = time.monotonic()
    try:
        results = bench.run(sizes, phases)
    finally:
        bench.close()
    try:
        python = str(Path(sys.executable).relative_to(ROOT))
    except ValueError:
        python = sys.executable
    results["command"] = " ".join([python, "bench/run.py", *sys.argv[1:]])
    results["bench_wall_s"] = round(time.monotonic() - started, 1)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if not results["all_valid_delivered"]:
        print("\nNOT every valid appeal arrived exactly once at every destination: see the JSON "
              "'verification' sections.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
