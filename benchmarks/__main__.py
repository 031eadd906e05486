"""Run every benchmark module (or those named), print one table of ratios, save the rows as JSON.

``python -m benchmarks [NAME ...] [--json PATH]`` (also ``nox -s bench``). Every ``benchmarks/<name>.py``
defining ``run()`` is a module; each of its rows reports a ratio against a baseline measured in the same
run. The table shows, per row, the ratio and its goal, both times and what the baseline is. The JSON
document (default ``benchmarks/results/latest.json``) holds the rows plus the machine and the
PostgreSQL server they came from — what docs/performance.md records. A module that raises becomes an
``error`` row and the exit code is 1; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "latest.json"
COLUMNS = ("module", "benchmark", "ratio", "goal", "measured_s", "baseline_s", "baseline")


def modules(names: list[str]) -> list[str]:
    """Benchmark modules: those named, else every module in this folder that defines ``run()``."""
    if names:
        return names
    return [
        path.stem
        for path in sorted(HERE.glob("*.py"))
        if not path.stem.startswith("_") and "\ndef run(" in path.read_text()
    ]


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[_cell(row, c) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(row: dict[str, Any], column: str) -> str:
    if column == "ratio" and "error" in row:
        return "ERROR"
    if column == "baseline" and "error" in row:
        return str(row["error"])
    value = row.get(column, "")
    return f"{value}x" if column == "ratio" and isinstance(value, int | float) else str(value)


def machine() -> dict[str, Any]:
    """Where the figures came from: enough to tell whether two reports are comparable."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )
    memory_kb = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1) if memory_kb else None,
        "python": platform.python_version(),
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def server() -> dict[str, Any]:
    """The PostgreSQL server the benchmarks ran on (``ZANITH_BENCH_URL``, else the embedded one)."""
    from zanith_core.servers import connect, resolve_server

    chosen = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    with connect(chosen.url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {"kind": chosen.kind, "version": row[0] if row else None}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the rows (default {RESULTS})")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in modules(args.names):
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend({"module": name, **row} for row in module.run())
        except Exception as exc:
            traceback.print_exc()
            rows.append({"module": name, "benchmark": name, "error": f"{type(exc).__name__}: {exc}"})
        print(f"{name}: done in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    print(table(rows))
    document = {
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "server": server(),
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"rows, machine and server written to {args.json}", file=sys.stderr)
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
