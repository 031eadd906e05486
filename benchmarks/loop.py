"""The edit → generate → plan → verify loop on examples/shop, as a user runs it, against the same SQL bare.

A copy of examples/shop; each round adds a column to ``schema.sql`` and runs ``zanith generate --yes``,
``zanith plan`` and ``zanith verify`` as fresh processes (what a user types), with the warm server on:
the first round starts the project's server and its resident (which runs the later commands in forks of
itself, zanith already imported) and is not counted; the best of the next ``ROUNDS`` is.
The baseline, in the same run on the same warm server, is the SQL those commands cannot avoid running,
run bare with psycopg: the declared schema loaded twice (generate and verify each load it) and every
migration's statements replayed once on a fresh database. The ratio is what the loop costs beyond that:
process start-up, introspection, diffing, planning, the ledger. Goal: ≤ 2x. A second row runs the same
loop with ``warm_server = false`` (every command starts and removes its own server), against the warm one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from zanith_core.config import load_config
from zanith_core.migrations.loader import load_migrations
from zanith_core.servers import connect
from zanith_core.warm import WarmServer, stop

SHOP = Path(__file__).parents[1] / "examples" / "shop"
ROUNDS = 3
GOAL = 2.0


def _zanith(project: Path, *args: str, warm: bool = True) -> None:
    env = {**os.environ, "ZANITH_WARM_SERVER": "1" if warm else "0"}
    subprocess.run([sys.executable, "-m", "zanith_core.cli", "-C", str(project), *args], env=env, check=True,
                   capture_output=True)  # fmt: skip


def _loop(project: Path, round_: int, *, warm: bool = True) -> float:
    schema = project / "schema.sql"
    schema.write_text(schema.read_text() + f"\nALTER TABLE customers ADD COLUMN loop_{round_} text;\n")
    start = time.perf_counter()
    _zanith(project, "generate", "--name", f"loop_{round_}", "--yes", warm=warm)
    _zanith(project, "plan", warm=warm)
    _zanith(project, "verify", warm=warm)
    return time.perf_counter() - start


def _bare(project: Path, url: str) -> float:
    """The declared schema loaded twice and the migrations replayed once, each on a fresh database."""
    config = load_config(project)
    declared = (project / "schema.sql").read_text()
    statements = [op.sql() for m in load_migrations(config.migrations_dir) for op in m.operations]
    start = time.perf_counter()
    for index, script in enumerate((declared, declared, ";\n".join(statements))):
        name = f"zanith_bench_loop_{os.getpid()}_{index}"
        with connect(url) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            with connect(url.replace("/postgres?", f"/{name}?")) as conn:
                conn.execute(script)  # type: ignore[arg-type]
        finally:
            with connect(url) as conn:
                conn.execute(f"DROP DATABASE {name}")
    return time.perf_counter() - start


def run() -> list[dict[str, Any]]:
    project = Path(tempfile.mkdtemp(prefix="zanith_bench_loop_")) / "shop"
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns(".zanith", "__pycache__"))
    try:
        _loop(project, 0)  # starts the warm server: the first command of a day pays that once
        url = WarmServer(project).cluster.url
        loops, bares, colds = [], [], []
        for round_ in range(1, ROUNDS + 1):
            loops.append(_loop(project, round_))
            bares.append(_bare(project, url))
            colds.append(_loop(project, ROUNDS + round_, warm=False))
    finally:
        stop(project)
        shutil.rmtree(WarmServer(project).cluster.root, ignore_errors=True)
        shutil.rmtree(project.parent, ignore_errors=True)
    loop, bare, cold = min(loops), min(bares), min(colds)
    return [
        {
            "benchmark": "edit → generate → plan → verify on examples/shop, warm server",
            "ratio": round(loop / bare, 2),
            "goal": f"<= {GOAL:g}x",
            "measured_s": round(loop, 3),
            "baseline_s": round(bare, 3),
            "baseline": "declared schema loaded twice + migrations replayed, bare psycopg, same server",
        },
        {
            "benchmark": "the same loop, each command starting its own server (warm_server = false)",
            "ratio": round(cold / loop, 2),
            "goal": "report",
            "measured_s": round(cold, 3),
            "baseline_s": round(loop, 3),
            "baseline": "the loop with the warm server",
        },
    ]
