"""``python -m benchmarks``: one table of ratios over every benchmark module, errors reported as rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.__main__ import machine, modules, table

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_every_module_with_a_run_function_is_a_benchmark() -> None:
    found = modules([])
    for path in BENCHMARKS.glob("*.py"):
        defines_run = "\ndef run(" in path.read_text()
        assert (path.stem in found) == (defines_run and not path.stem.startswith("_")), path.name
    assert "apply" in found and "synthetic" not in found  # synthetic.py is a helper, not a benchmark
    assert modules(["apply"]) == ["apply"]


def test_the_table_shows_each_ratio_with_its_goal_and_baseline() -> None:
    rows: list[dict[str, Any]] = [
        {"module": "apply", "benchmark": "apply 100 steps", "measured_s": 0.3, "baseline": "bare SQL",
         "baseline_s": 0.2, "ratio": 1.5, "goal": "<= 1.5x"},
        {"module": "broken", "benchmark": "broken", "error": "RuntimeError: no server"},
    ]
    header, good, bad = table(rows).splitlines()
    assert header.split() == ["module", "benchmark", "ratio", "goal", "measured_s", "baseline_s", "baseline"]
    assert "1.5x" in good and "<= 1.5x" in good and good.rstrip().endswith("bare SQL")
    assert "ERROR" in bad and bad.rstrip().endswith("RuntimeError: no server")


def test_the_machine_is_described() -> None:
    described = machine()
    assert described["cpus"] and described["python"] and described["platform"]
