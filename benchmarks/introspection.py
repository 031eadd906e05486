"""Introspection and structural diff on a 1000-table schema.

Introspection is timed against its own catalog queries run bare (``fetch_catalog``: the same queries,
the rows fetched, no graph built), on the same database in the same run: the ratio is what assembling
the SchemaGraph costs on top of reading the catalogs. Goal: ≤ 2x. The structural diff of the synthetic
schema and its evolution (``synthetic.evolve``) is timed against the 100 ms budget the design sets.
Each figure is the best of ``ROUNDS`` runs. ``ZANITH_BENCH_URL`` selects a server (default: embedded).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks.synthetic import TABLES, create, evolve, synthetic_schema
from zanith_core.diff import diff
from zanith_core.read import fetch_catalog, introspect
from zanith_core.servers import connect, resolve_server

ROUNDS = 5
INTROSPECT_GOAL = 2.0
DIFF_BUDGET_S = 0.100


def best(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    graph = synthetic_schema()
    with server.scratch_database("zanith_bench") as url, connect(url) as conn:
        create(conn, graph)
        live = introspect(conn)
        if live != graph:
            raise RuntimeError("the synthetic schema did not come back from the database unchanged")
        # alternate so that a noisy neighbour slows both sides alike
        rounds = [(best(lambda: fetch_catalog(conn), 1), best(lambda: introspect(conn), 1)) for _ in range(ROUNDS)]
    bare, full = min(r[0] for r in rounds), min(r[1] for r in rounds)
    evolved = evolve(graph)
    differences = diff(graph, evolved)
    diff_s = best(lambda: diff(graph, evolved))
    columns = sum(len(t.columns) for t in graph.tables)
    return [
        {
            "benchmark": f"introspect {TABLES} tables / {columns} columns",
            "measured_s": round(full, 4),
            "baseline": "the same catalog queries, rows fetched, no graph built",
            "baseline_s": round(bare, 4),
            "ratio": round(full / bare, 2),
            "goal": f"<= {INTROSPECT_GOAL}x",
        },
        {
            "benchmark": f"diff {TABLES}-table graphs ({len(differences)} differences)",
            "measured_s": round(diff_s, 4),
            "baseline": "the design's 100 ms budget",
            "baseline_s": DIFF_BUDGET_S,
            "ratio": round(diff_s / DIFF_BUDGET_S, 3),
            "goal": "well under 1x",
        },
    ]
