"""Generate on a 1000-table pair of live databases, vs migra on the same pair, in the same run.

Both sides start from two database URLs and end with the migration text: zanith introspects both
databases (at once, as ``zanith diff`` and ``zanith generate`` load their two sides), generates the
ordered operations and renders their SQL; migra (``--unsafe``, through its Python API so that neither
side pays for an interpreter start) inspects both with schemainspect and renders its statements. The
pair is the synthetic schema and its evolution (``synthetic.evolve``).
Each figure is the best of ``ROUNDS`` alternating runs. Goal: zanith at least 5x faster, i.e. a ratio
(zanith / migra) of at most 0.2. migra needs ``psycopg2`` (the ``bench`` extra installs both).

A second row times what ``zanith generate`` does in a project whose declared ``schema.sql`` (the evolved
side) did not change since the last command: the live database introspected, the declared graph read
from the cache (:mod:`zanith_core.sources.cache`), generate. Its baseline is the same migra run, which
needs both sides live: loading ``schema.sql`` into a database for migra is not counted.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from psycopg.conninfo import conninfo_to_dict

from benchmarks.synthetic import TABLES, create, evolve, synthetic_schema
from zanith_core.config import Config, load_config
from zanith_core.generate import generate_operations
from zanith_core.parallel import both
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect, resolve_server
from zanith_core.sources import load_declared
from zanith_core.sources.drift import load_pair
from zanith_core.sql.script import schema_ddl

ROUNDS = 3
GOAL = 0.2


def zanith(url_from: str, url_to: str) -> int:
    """Statements zanith generates from the two live databases (loaded as ``zanith diff`` loads them)."""
    current, declared = load_pair(url_from, url_to, Config(project_dir=Path.cwd()))
    operations = generate_operations(current, declared, accept_detected=True, hard_drop=True)
    return sum(len(op.statements()) for op in operations)


def migra(url_from: str, url_to: str) -> int:
    """Statements ``migra --unsafe`` generates from the same pair."""
    from migra import Migration
    from sqlbag import S

    with S(_sqlalchemy_url(url_from)) as a, S(_sqlalchemy_url(url_to)) as b:
        migration = Migration(a, b)
        migration.set_safety(False)
        migration.add_all_changes()
        return len(migration.statements)


def _sqlalchemy_url(url: str) -> str:
    """The URL in SQLAlchemy's spelling; its query parameters go to libpq as they are (the embedded
    server's URL is a key=value string with a socket folder for host)."""
    return f"postgresql+psycopg2:///?{urlencode(conninfo_to_dict(url))}"


def _timed(fn: Any, *args: str) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn(*args)
    return time.perf_counter() - start, count


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    graph = synthetic_schema()
    evolved = evolve(graph)
    with (
        server.scratch_database("zanith_bench_from") as url_from,
        server.scratch_database("zanith_bench_to") as url_to,
        tempfile.TemporaryDirectory() as folder,
    ):
        with connect(url_from) as conn:
            create(conn, graph)
        with connect(url_to) as conn:
            create(conn, evolved)
        project = _project(Path(folder), evolved)
        zanith_declared(url_from, project, server)  # fills the declared-graph cache, as the last command did
        runs = [
            (
                _timed(zanith, url_from, url_to),
                _timed(migra, url_from, url_to),
                _timed(zanith_declared, url_from, project, server),
            )
            for _ in range(ROUNDS)
        ]
    ours, theirs, cached = (min(r[i][0] for r in runs) for i in range(3))
    statements = runs[0][0][1], runs[0][1][1]
    return [
        {
            "benchmark": f"generate {TABLES}-table pair, both live ({statements[0]} statements; migra {statements[1]})",
            "measured_s": round(ours, 3),
            "baseline": "migra --unsafe on the same pair (Python API, same run)",
            "baseline_s": round(theirs, 3),
            "ratio": round(ours / theirs, 3),
            "goal": f"<= {GOAL}x (>= 5x faster)",
        },
        {
            "benchmark": (
                f"generate, declared schema.sql of the same {TABLES} tables (graph from the cache) -> live database "
                f"({runs[0][2][1]} statements)"
            ),
            "measured_s": round(cached, 3),
            "baseline": "migra --unsafe on the live pair, not counting loading schema.sql into a database for it",
            "baseline_s": round(theirs, 3),
            "ratio": round(cached / theirs, 3),
            "goal": f"<= {GOAL}x (>= 5x faster)",
        },
    ]


def zanith_declared(url_from: str, project: Path, server: Server) -> int:
    """Statements zanith generates from the live database to the project's declared ``schema.sql``, the
    way ``zanith generate`` loads them: the declared side from the cache when its SQL did not change."""
    config = load_config(project, environ={})
    current, declared = both(
        lambda: load_declared(url_from, config), lambda: load_declared(config.schema, config, server=server)
    )
    operations = generate_operations(current, declared, accept_detected=True, hard_drop=True)
    return sum(len(op.statements()) for op in operations)


def _project(folder: Path, declared: SchemaGraph) -> Path:
    (folder / "schema.sql").write_text(";\n".join(s.as_string(None) for s in schema_ddl(declared)) + ";\n")
    (folder / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\n')
    return folder
