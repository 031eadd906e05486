"""Start-up: what a command costs before it does anything, against Python's own start in the same run.

- ``zanith --version`` and ``zanith --help`` against ``python -c pass`` (goal ≤ 3x): the CLI is a lazy
  click group, so psycopg, pglast and the core are imported by the command that uses them, not by every
  command;
- ``pytest --collect-only`` of a project that does not use zanith, with the plugin loaded against
  ``-p no:zanith`` (goal: ≤ 50 ms more): the plugin's import must cost pytest almost nothing until a
  zanith fixture or check is used.

Each is the median of ``RUNS`` fresh processes; the machine is noisy, so only ratios and differences
measured here, in one run, mean anything.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 9


def _medians(*commands: list[str], cwd: Path | None = None) -> list[float]:
    """The median wall time of each command over ``RUNS`` rounds, the commands interleaved in each round
    so that a burst of load on the machine falls on all of them alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for command, spent in zip(commands, times, strict=True):
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, capture_output=True)
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def _row(name: str, measured: float, baseline: float, what: str, goal: str) -> dict[str, Any]:
    return {
        "benchmark": name,
        "ratio": round(measured / baseline, 2),
        "goal": goal,
        "measured_s": round(measured, 3),
        "baseline_s": round(baseline, 3),
        "baseline": what,
    }


def run() -> list[dict[str, Any]]:
    zanith = [sys.executable, "-m", "zanith_core.cli"]
    python, version, help_ = _medians([sys.executable, "-c", "pass"], [*zanith, "--version"], [*zanith, "--help"])
    rows = [
        _row("zanith --version", version, python, "python -c pass", "<= 3x"),
        _row("zanith --help", help_, python, "python -c pass", "<= 3x"),
    ]
    folder = Path(tempfile.mkdtemp(prefix="zanith_bench_startup_"))
    try:
        (folder / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        pytest = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
        without, loaded = _medians([*pytest, "-p", "no:zanith"], pytest, cwd=folder)
    finally:
        shutil.rmtree(folder)
    row = _row("pytest --collect-only, plugin loaded", loaded, without, "the same with -p no:zanith", "+<= 50 ms")
    row["added_ms"] = round((loaded - without) * 1000)
    rows.append(row)
    return rows
