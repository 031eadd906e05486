"""Batched backfill vs one plain UPDATE: 1M rows, default batch size (500), same server, same run.

Both sides update the same column of an identical, freshly loaded and vacuumed table on the same
server (embedded by default; ``ZANITH_BENCH_URL`` names another). The backfill side is what a
``backfill`` step does: keyset-paginated batches, each one transaction that also advances its
checkpoint row. The sides alternate ``ROUNDS`` times and the best run of each counts, so a noisy
neighbour slows both alike. Goal: ratio <= 1.3. A second row shows a larger batch for context.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psycopg

from zanith_core.apply.backfill import run_backfill
from zanith_core.apply.executors import StepContext
from zanith_core.ledger import ensure_ledger
from zanith_core.ops import Backfill
from zanith_core.servers import connect, resolve_server

ROWS = int(os.environ.get("ZANITH_BENCH_BACKFILL_ROWS", "1000000"))
ROUNDS = 5
GOAL = 1.3


def _load(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS bench_t")
    conn.execute("CREATE TABLE bench_t (id bigint PRIMARY KEY, v int NOT NULL, w int)")
    conn.execute("INSERT INTO bench_t SELECT i, i %% 1000, NULL FROM generate_series(1, %s) i", (ROWS,))
    conn.execute("VACUUM ANALYZE bench_t")
    conn.execute("DELETE FROM zanith._zanith_migration_checkpoints")
    conn.execute("CHECKPOINT")


def _plain(conn: psycopg.Connection) -> float:
    _load(conn)
    start = time.perf_counter()
    conn.execute("UPDATE bench_t SET w = v")
    return time.perf_counter() - start


def _batched(conn: psycopg.Connection, batch_size: int) -> float:
    _load(conn)
    op = Backfill("public.bench_t", "w", "v", batch_size=batch_size)
    start = time.perf_counter()
    final = run_backfill(conn, op, StepContext("bench", 1))
    elapsed = time.perf_counter() - start
    if final.processed_rows != ROWS:
        raise RuntimeError(f"backfill wrote {final.processed_rows} rows, expected {ROWS}")
    return elapsed


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    with server.scratch_database("zanith_bench") as url, connect(url) as conn:
        ensure_ledger(conn, StepContext.ledger_schema)
        rounds = [(_plain(conn), _batched(conn, 500), _batched(conn, 5000)) for _ in range(ROUNDS)]
    plain = min(r[0] for r in rounds)
    rows = []
    for index, batch in ((1, 500), (2, 5000)):
        measured = min(r[index] for r in rounds)
        rows.append(
            {
                "benchmark": f"backfill {ROWS:,} rows, batch {batch}" + (" (default)" if batch == 500 else ""),
                "measured_s": round(measured, 3),
                "baseline": "one plain UPDATE of the same rows",
                "baseline_s": round(plain, 3),
                "ratio": round(measured / plain, 2),
                "goal": f"<= {GOAL}x" if batch == 500 else "context",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
