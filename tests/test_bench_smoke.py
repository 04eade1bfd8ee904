"""The benchmark harness keeps working: ``bench/run.py --quick`` completes and reports.

Only the shape of the result and the delivery check are asserted, never a speed: benchmark
figures are written down in docs/benchmarks.md, not tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("throughput", "throughput_backlog", "latency", "flood", "flood_backlog")


def test_quick_benchmark_runs_and_every_valid_appeal_arrives(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick",
                           "--json", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "measure" in proc.stdout  # the readable table
    result = json.loads(out.read_text())

    for key in ("machine", "sizes", "targets", "signing", *PHASES, "all_valid_delivered",
                "targets_met", "command"):
        assert key in result, key
    signing = result["signing"]
    for key in ("signs_per_s", "masbot_workers", "sign_bound_appeals_per_s"):
        assert key in signing, key
    for phase in ("throughput", "throughput_backlog"):
        for key in ("appeals_per_s", "ratio_to_sign_bound", "elapsed_s", "verification"):
            assert key in result[phase], (phase, key)
    for key in ("p50_s", "p99_s", "samples_s", "verification"):
        assert key in result["latency"], key
    for phase in ("flood", "flood_backlog"):
        for key in ("junk_per_s", "last_valid_delivered_s", "peak_rss_mb", "append_s",
                    "verification"):
            assert key in result[phase], (phase, key)

    # Every valid appeal reached every destination exactly once, in every phase.
    for phase in PHASES:
        check = result[phase]["verification"]
        assert check["ok_without_help"], (phase, check)
        assert check["delivered_everywhere"] == check["expected_appeals"], (phase, check)
    assert result["all_valid_delivered"] is True
