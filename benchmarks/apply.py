"""Audited apply vs bare SQL: 100 trivial steps, each run through the runner, against the same SQL run bare.

Both sides run on fresh databases of the same server (embedded by default; ``ZANITH_BENCH_URL`` names
another). The audited side starts from an existing ledger, as a production database has one, and
includes everything one ``zanith apply`` does: connect, apply lock, checksum check, plan (live
statistics and one introspection), a transaction per step with its ledger row and timeouts, and the
final migration row with its snapshot. The bare side connects and runs each statement in autocommit.
The sides alternate ``ROUNDS`` times; the best run of each counts. Goal: ratio ≤ 1.5.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from zanith_core import ledger
from zanith_core.apply.runner import apply_migrations
from zanith_core.config import Config
from zanith_core.migrations import Migration
from zanith_core.ops.data import RawSql
from zanith_core.servers import Server, connect, resolve_server

STEPS = 100
ROUNDS = 5
GOAL = 1.5


def statements() -> list[str]:
    return [f"CREATE TABLE bench_{i} (id bigint PRIMARY KEY, note text)" for i in range(STEPS)]


def _bare(url: str) -> float:
    start = time.perf_counter()
    with connect(url) as conn:
        for text in statements():
            conn.execute(text)
    return time.perf_counter() - start


def _audited(url: str) -> float:
    with connect(url) as conn:
        ledger.ensure_ledger(conn, Config.ledger_schema)
    migration = Migration(id="0001_bench", operations=tuple(RawSql(forward_sql=s) for s in statements()))
    start = time.perf_counter()
    result = apply_migrations(url, [migration], config=Config(project_dir=Path.cwd()))
    elapsed = time.perf_counter() - start
    if not result.ok:
        raise RuntimeError(f"benchmark apply failed: {result.failure}")
    return elapsed


def _timed(server: Server, measure: Any) -> float:
    with server.scratch_database("zanith_bench") as url:
        return float(measure(url))


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    _timed(server, _bare)  # warm the server's caches so neither side pays for them
    # Alternate the two sides so a noisy neighbour slows both alike; the best of each counts.
    rounds = [(_timed(server, _bare), _timed(server, _audited)) for _ in range(ROUNDS)]
    bare = min(r[0] for r in rounds)
    audited = min(r[1] for r in rounds)
    return [
        {
            "benchmark": f"apply {STEPS} trivial steps (audited)",
            "measured_s": round(audited, 4),
            "baseline": "the same SQL run bare, autocommit",
            "baseline_s": round(bare, 4),
            "ratio": round(audited / bare, 2),
            "goal": f"<= {GOAL}x",
            "per_step_overhead_ms": round((audited - bare) / STEPS * 1000, 3),
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
