"""Shadow verify at a production schema's scale, vs loading the same DDL twice with plain psycopg.

The declared schema is ``TABLES`` synthetic tables (:mod:`benchmarks.synthetic`: identity keys,
foreign keys, checks, uniques, two or three indexes each) plus ``FUNCTIONS`` PL/pgSQL and SQL functions
(some calling others) and ``TRIGGERS`` triggers — the shape of the 516-table schema of issue 17. Its
history is the migration ``zanith generate`` writes for it against an empty database, cut into
``MIGRATIONS`` migrations in order (a team's first weeks).

Each round times ``verify_on_shadow`` (every stage: reset, replay with the ledger, introspection,
normalising the declared side, diff) on a server already started — once with the declared-graph cache
off, once with it filled (the usual case: the schema did not change since the last command). The
baseline is what verify cannot
avoid doing: the declared DDL run twice, each time on a fresh database with plain psycopg, one script
per round trip and transaction as :func:`benchmarks.synthetic.create` does (``synchronous_commit``
off, as on a shadow). Rounds alternate the two sides; the best of each counts. Goal: ≤ 3x.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.synthetic import synthetic_schema
from zanith_core.config import Config
from zanith_core.generate import generate_operations
from zanith_core.migrations import Migration
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect, resolve_server
from zanith_core.sources import load_schema
from zanith_core.sql.script import schema_ddl
from zanith_core.verify import STAGES, Verdict, verify_on_shadow
from zanith_core.verify.shadow import disposable

TABLES = 500
FUNCTIONS = 135
TRIGGERS = 452
MIGRATIONS = 20
ROUNDS = 3
GOAL = 3.0
CHUNK = 200


def declared_sql() -> str:
    """The declared schema as one SQL script: tables, then functions, then triggers."""
    tables = [s.as_string(None) for s in schema_ddl(synthetic_schema(TABLES))]
    return ";\n".join([*tables, *_functions(), *_triggers()]) + ";\n"


def _functions() -> list[str]:
    """Half trigger functions, half SQL helpers; every helper after the first calls the one before."""
    out = []
    for n in range(FUNCTIONS):
        if n % 2 == 0:
            out.append(
                f"CREATE FUNCTION public.touch_{n:03d}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n  IF NEW.id IS NULL OR NEW.id < {n} THEN\n    NEW.id := NEW.id;\n  END IF;\n"
                "  RETURN NEW;\nEND\n$$"
            )
        else:
            body = f"public.helper_{n - 2:03d}(x) + 1" if n > 1 else "x * 2"
            out.append(
                f"CREATE FUNCTION public.helper_{n:03d}(x bigint) RETURNS bigint LANGUAGE sql IMMUTABLE RETURN {body}"
            )
    return out


def _triggers() -> list[str]:
    functions = [n for n in range(FUNCTIONS) if n % 2 == 0]
    return [
        f"CREATE TRIGGER t{n:04d}_touch BEFORE INSERT OR UPDATE ON public.t{n:04d} "
        f"FOR EACH ROW EXECUTE FUNCTION public.touch_{functions[n % len(functions)]:03d}()"
        for n in range(TRIGGERS)
    ]


def history(declared: SchemaGraph) -> tuple[Migration, ...]:
    """What ``zanith generate`` writes against an empty database, cut into ``MIGRATIONS`` in order."""
    ops = generate_operations(SchemaGraph(), declared)
    size = -(-len(ops) // MIGRATIONS)
    return tuple(
        Migration(id=f"{n:04d}", operations=tuple(ops[start : start + size]))
        for n, start in enumerate(range(0, len(ops), size), 1)
    )


def _bare(server: Server, script: list[str]) -> float:
    """The declared DDL run twice on fresh databases, ``CHUNK`` statements per round trip."""
    seconds = 0.0
    for _ in range(2):
        with server.scratch_database("zanith_bench") as url:
            start = time.perf_counter()
            with connect(disposable(url)) as conn:
                for first in range(0, len(script), CHUNK):
                    conn.execute(";\n".join(script[first : first + CHUNK]).encode())
                    conn.commit()
            seconds += time.perf_counter() - start
    return seconds


def run() -> list[dict[str, Any]]:
    server = resolve_server(os.environ.get("ZANITH_BENCH_URL") or None)
    text = declared_sql()
    statements = [s for s in text.split(";\n") if s.strip()]
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "schema.sql").write_text(text)
        cold = Config(project_dir=project, cache=False)
        cached = Config(project_dir=project)
        (project / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\n')  # a project: cached
        migrations = history(load_schema(str(project / "schema.sql"), server=server))
        _bare(server, statements)  # warm the server's caches so neither side pays for them
        _verify(server, cached, migrations)  # fills the declared-graph cache
        rounds = [(_bare(server, statements), _verify(server, cold, migrations), _verify(server, cached, migrations))]
        rounds += [
            (_bare(server, statements), _verify(server, cold, migrations), _verify(server, cached, migrations))
            for _ in range(ROUNDS - 1)
        ]
    bare = min(r[0] for r in rounds)
    steps = sum(len(m.operations) for m in migrations)
    shape = f"{TABLES} tables, {FUNCTIONS} functions, {TRIGGERS} triggers ({len(migrations)} migrations, {steps} steps)"
    return [
        _row(f"shadow verify, {shape}", min((r[1] for r in rounds), key=lambda v: v.seconds), bare, len(statements)),
        _row(
            "the same, declared graph from the cache (schema unchanged since the last command)",
            min((r[2] for r in rounds), key=lambda v: v.seconds),
            bare,
            len(statements),
        ),
    ]


def _verify(server: Server, config: Config, migrations: tuple[Migration, ...]) -> Verdict:
    verdict = verify_on_shadow(config, declared="schema.sql", migrations=migrations, server=server)
    if not verdict.ok:
        raise RuntimeError(f"benchmark verify did not pass:\n{verdict.render()[:4000]}")
    return verdict


def _row(what: str, best: Verdict, bare: float, statements: int) -> dict[str, Any]:
    return {
        "benchmark": what,
        "measured_s": round(best.seconds, 3),
        "baseline": f"the declared DDL run twice with plain psycopg ({statements} statements, {CHUNK} a trip)",
        "baseline_s": round(bare, 3),
        "ratio": round(best.seconds / bare, 2),
        "goal": f"<= {GOAL:g}x",
        "stages_s": {s.name: round(s.seconds, 3) for s in best.stages if s.name in STAGES},
    }


if __name__ == "__main__":
    for row in run():
        print(row)
