"""A fresh migrated database per test: a clone of zanith's migrated template vs pytest-postgresql's janitor.

Both sides give a test what ``zanith_migrated_db`` gives it — a new database holding a project's schema
and an open connection, dropped after the test — on the same server (embedded by default;
``ZANITH_BENCH_URL`` names another). The zanith side clones the template the project's migrations were
applied to once (:func:`pytest_zanith.templates.migrated_template`, built before timing starts and
reported as ``template_build_s``); the baseline is pytest-postgresql's ``DatabaseJanitor`` creating an
empty database and loading the same schema (a schema.sql the migrations reach) into it, as a
``postgresql_noproc`` fixture with ``load=`` does per test. Two projects: examples/shop (small), and
:data:`TABLES` synthetic tables (one raw-SQL migration). The sides alternate ``ROUNDS`` times; the median
of each counts. Goal: the clone at most the janitor's time, and at most 50 ms per test.

``zanith_migrated_db`` makes the next test's clone while the current test runs (:mod:`pytest_zanith.clones`),
so what a test pays depends on how long it runs: the zanith side is timed twice per round — tests back to
back (no body: each waits for its clone), and tests of ``BODY_S`` seconds (each finds its clone made) —
each time in a run of ``RUN`` tests, counting only the time spent in the fixture, not the test's own.
"""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from psycopg import sql

from pytest_zanith.clones import Clones
from pytest_zanith.fixtures import cloned_database, janitor
from pytest_zanith.templates import migrated_template
from zanith_core.config import load_config
from zanith_core.servers import Server, connect, resolve_server
from zanith_core.sql.script import schema_ddl

from .synthetic import synthetic_schema

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
TABLES = 100
ROUNDS = 9
BODY_S = 0.2
RUN = 4
"""A test's own work in the second row: what a test touching its database a few times takes."""
GOAL_MS = 50


def _clone(clones: Clones, body: float) -> float:
    """Seconds a test with ``body`` seconds of its own work spends in the fixture (set-up and tear-down)."""
    start = time.perf_counter()
    with cloned_database(clones):
        time.sleep(body)  # the test's own work; the next clone is made meanwhile
    return time.perf_counter() - start - body


def _tests(clones: Clones, body: float) -> float:
    """A run of ``RUN`` tests of ``body`` seconds each; the fixture's time per test, once the run is under way
    (the first test inherits whatever the run before it left in the background)."""
    return statistics.median([_clone(clones, body) for _ in range(RUN)][1:])


def _janitor(server: Server, schema: Path) -> float:
    start = time.perf_counter()
    name = f"zanith_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with janitor(server, name) as db:
        db.load(schema)
        connect(server.database_url(name)).close()
    return time.perf_counter() - start


def _drop_template(server: Server, name: str) -> None:
    with connect(server.url) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _synthetic_project(server: Server, folder: Path) -> Path:
    """A project of :data:`TABLES` synthetic tables: one raw-SQL migration, and the same DDL as schema.sql."""
    with connect(server.url) as conn:
        ddl = ";\n".join(statement.as_string(conn) for statement in schema_ddl(synthetic_schema(TABLES))) + ";\n"
    (folder / "migrations").mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\n')
    (folder / "schema.sql").write_text(ddl)
    (folder / "migrations" / "0001_synthetic.py").write_text(
        f"from zanith_core.migration_api import *\n\nid = '0001'\n\noperations = [RawSql(forward_sql={ddl!r})]\n"
    )
    return folder


def _rows(server: Server, project: Path, label: str) -> list[dict[str, Any]]:
    start = time.perf_counter()
    template = migrated_template(server, load_config(project, environ={}))
    build = time.perf_counter() - start
    schema = project / "schema.sql"
    clones = Clones(server, template, "zanith_bench", janitor)
    try:
        _janitor(server, schema)  # warm the server's caches so neither side pays for them
        # Alternate the sides so a noisy neighbour slows them alike.
        rounds = [(_tests(clones, 0), _tests(clones, BODY_S), _janitor(server, schema)) for _ in range(ROUNDS)]
    finally:
        clones.close()
        _drop_template(server, template)  # leave the server as found (a test run would keep it for reuse)
    loaded = statistics.median(r[2] for r in rounds)
    return [
        {
            "benchmark": f"fresh migrated database per test ({label}), template clone, {what}",
            "measured_s": round(clone, 4),
            "baseline": "pytest-postgresql DatabaseJanitor: create + load schema.sql",
            "baseline_s": round(loaded, 4),
            "ratio": round(clone / loaded, 2),
            "goal": f"<= 1x, <= {GOAL_MS} ms",
            "per_test_ms": round(clone * 1000, 1),
            "template_build_s": round(build, 3),
        }
        for clone, what in (
            (statistics.median(r[0] for r in rounds), "tests back to back (no time to clone ahead)"),
            (statistics.median(r[1] for r in rounds), f"tests of {BODY_S * 1000:g} ms (clone made ahead)"),
        )
    ]


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    with tempfile.TemporaryDirectory(prefix="zanith-bench-fixture-") as folder:
        synthetic = _synthetic_project(server, Path(folder))
        return [*_rows(server, SHOP, "examples/shop"), *_rows(server, synthetic, f"{TABLES} synthetic tables")]


if __name__ == "__main__":
    for row in run():
        print(row)
