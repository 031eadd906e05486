"""The suite's generic helpers, each written once: project folders, the command line, the production
runner, live graphs and the schema assertion.

Every test that runs ``zanith``, applies operations, reads a database's graph or compares two schemas
does it through this module, so a change to how that is done (a flag, the runner's signature, the diff)
is made in one place, and every helper takes its arguments in one order: the thing acted on first (the
folder, URL or connection), then what to do to it. Fixture data of one area lives beside it:
``backfill_support`` (the audit trigger) and ``verify_support`` (the shadow-verify projects).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import count
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
from click.testing import CliRunner, Result
from judge import assert_converges
from psycopg import sql

from zanith_core.apply.results import ApplyResult
from zanith_core.apply.runner import apply_migrations
from zanith_core.cli import main
from zanith_core.config import Config
from zanith_core.diff import diff, render
from zanith_core.generate import generate_operations, reversal
from zanith_core.migrations import Migration, write_migration
from zanith_core.migrations.replay import run_statements
from zanith_core.ops.base import Operation
from zanith_core.ops.data import RawSql
from zanith_core.read import introspect
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect, server_from_url
from zanith_core.sources import load_schema
from zanith_core.sql.script import schema_ddl

LEDGER = Config.ledger_schema
"""The schema the ledger lives in by default: tests that read it name it."""

READER = f"zanith_reader_{os.getpid()}"
WRITER = f"zanith_writer_{os.getpid()}"
"""Grantee role names of this process (see the ``grantee_roles`` fixture in conftest.py)."""

FIXTURES = Path(__file__).parent / "fixtures"
REALWORLD = FIXTURES / "realworld_schema.sql"
REALWORLD_SCHEMAS = ("app", "audit")

#: The environment variable naming this session's server (tests/../conftest.py sets it from
#: ZANITH_TEST_DATABASE_URL; the pytest plugin reads it). The one ZANITH_* variable commands keep.
SESSION_SERVER = "ZANITH_SHADOW_URL"

_ids = count(1)


# -- Hypothesis ------------------------------------------------------------------------------------


def examples(ci: int) -> int:
    """``max_examples`` for a test that runs ``ci`` examples under the ``ci`` profile, scaled by the loaded
    profile's count (tests/conftest.py: ``ci`` 100, ``dev`` 20, so a fifth of them under ``dev``)."""
    profile: int = hypothesis.settings().max_examples
    return max(1, ci * profile // 100)


# -- projects and migration files ------------------------------------------------------------------


def project(
    folder: Path, *migrations: Migration, schema_sql: str | None = None, extra_toml: str = "", **settings: Any
) -> Path:
    """A project folder: ``[tool.zanith]`` holding ``settings`` (JSON-spelled TOML values), its migrations
    folder holding ``migrations`` as zanith writes them, and with ``schema_sql`` a declared schema.sql
    (and ``schema = "schema.sql"``). ``extra_toml`` is appended verbatim (other tables, e.g. pytest's)."""
    folder.mkdir(parents=True, exist_ok=True)
    if schema_sql is not None:
        settings = {"schema": "schema.sql", **settings}
        (folder / "schema.sql").write_text(schema_sql)
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    (folder / "pyproject.toml").write_text(f"[tool.zanith]\n{table}\n{extra_toml}")
    migrations_dir = folder / settings.get("migrations", "migrations")
    migrations_dir.mkdir(parents=True, exist_ok=True)
    for migration in migrations:
        write_migration(migration, migrations_dir)
    return folder


def write_sql_migration(folder: Path, mid: str, *steps: str | tuple[str, bool], phase: str | None = None) -> Path:
    """A hand-written migration file ``<mid>.py`` of SQL steps (``(sql, transactional)`` for a step that
    must run outside a transaction), its operations spelled as dicts: the loader's plainest form."""
    folder.mkdir(parents=True, exist_ok=True)
    ops = [
        {"kind": "raw_sql", "forward_sql": s, "transactional": True}
        if isinstance(s, str)
        else {"kind": "raw_sql", "forward_sql": s[0], "transactional": s[1]}
        for s in steps
    ]
    path = folder / f"{mid}.py"
    path.write_text(f"id = {mid!r}\nphase = {phase!r}\noperations = {ops!r}\n")
    return path


def write_source_migration(folder: Path, stem: str, operations: Sequence[str]) -> Path:
    """A migration file ``<stem>.py`` shaped like the ones ``zanith generate`` writes (and people edit):
    ``operations`` are constructor calls as source text; the id is the stem's part before ``_``."""
    folder.mkdir(parents=True, exist_ok=True)
    mid = stem.split("_", 1)[0]
    body = ",\n    ".join(operations)
    path = folder / f"{stem}.py"
    path.write_text(f'from zanith_core.migration_api import *\n\nid = "{mid}"\n\noperations = [\n    {body},\n]\n')
    return path


def copy_project(source: Path, target: Path) -> Path:
    """A copy of the project folder ``source`` at ``target``, without caches a run of it left behind."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis"))
    return target


def write_module(folder: Path, body: str) -> str:
    """A uniquely named module in ``folder`` (fresh each time, so the import cache never interferes)."""
    name = f"zanith_test_{secrets.token_hex(4)}"
    (folder / f"{name}.py").write_text(textwrap.dedent(body))
    return name


# -- the command line ------------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """The test run's environment without the developer's ZANITH_* settings (a command under test must
    not reach a database of theirs), keeping only this session's server and the warm server's switch
    (off for the suite: conftest.py); then ``extra``."""
    keep = (SESSION_SERVER, "ZANITH_WARM_SERVER", "ZANITH_CACHE")
    kept = {k: v for k, v in os.environ.items() if not k.startswith("ZANITH_") or k in keep}
    return {**kept, **extra}


def zanith(
    *args: str,
    project: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
    color: bool = False,
) -> Result:
    """Run ``zanith *args`` in this process (on ``project`` with ``-C``), in :func:`cli_env`'s
    environment plus ``env`` (None unsets a variable); ``color`` keeps the styles a terminal would get.
    An unexpected exception propagates, traceback and all; the result's ``stdout`` and ``stderr`` are
    apart, ``output`` holds both."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k not in cli_env()}
    where = ["-C", str(project)] if project is not None else []
    return CliRunner().invoke(
        main, [*where, *args], input=stdin, env={**unset, **(env or {})}, catch_exceptions=False, color=color
    )


def _command(args: Sequence[str], project: Path | None) -> list[str]:
    where = ["-C", str(project)] if project is not None else []
    return [sys.executable, "-m", "zanith_core.cli", *where, *args]


def zanith_process(
    *args: str, project: Path | None = None, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process (``python -m zanith_core.cli``, working in ``project``)
    and wait for it, two minutes at most; its environment is :func:`cli_env`'s plus ``env`` (None unsets
    a variable). For what only a process shows: the real entry point's exit status and output (no
    traceback), the work a killed or racing apply left behind, and what an install without an extra does."""
    environ = {k: v for k, v in {**cli_env(), **(env or {})}.items() if v is not None}
    return subprocess.run(
        _command(args, project), cwd=project, env=environ, capture_output=True, text=True, timeout=120
    )


def zanith_spawn(*args: str, project: Path | None = None) -> subprocess.Popen[str]:
    """:func:`zanith_process` without the wait: for the tests that race two applies or kill one (stdout
    and stderr are pipes; read them with ``communicate``)."""
    return subprocess.Popen(
        _command(args, project), cwd=project, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


# -- migrations through the production runner ------------------------------------------------------


def raw(text: str, *, transactional: bool = True) -> Operation:
    """A hand-written SQL step, exactly as a user writes one in a migration file."""
    return RawSql(forward_sql=text, transactional=transactional)


def migration(mid: str, *steps: str | Operation, phase: str | None = None, path: Path | None = None) -> Migration:
    """A migration of ``steps``: operations, or SQL text (one :func:`raw` step each)."""
    ops = tuple(raw(s) if isinstance(s, str) else s for s in steps)
    return Migration(id=mid, operations=ops, path=path, phase=phase)


def config(project_dir: Path | None = None, **overrides: Any) -> Config:
    """The project settings tests apply with: a lock wait of 2 s and one retry, so a test that meets a
    held lock fails in seconds; ``overrides`` are any other :class:`Config` fields."""
    values: dict[str, Any] = {"lock_timeout": 2.0, "lock_retries": 1, **overrides}
    return Config(project_dir=project_dir or Path.cwd(), **values)


def apply(
    url: str,
    *migrations: Migration,
    project_dir: Path | None = None,
    contract: bool = False,
    snapshots: bool = True,
    **settings: Any,
) -> ApplyResult:
    """Apply ``migrations`` to the database at ``url`` with the production runner, under :func:`config`
    (``settings`` override it), and fail the test with the runner's message if a step fails. The tests
    of the runner itself, which look at failures, call :func:`apply_migrations` directly."""
    cfg = config(project_dir, **settings)
    result = apply_migrations(url, migrations, config=cfg, contract=contract, snapshots=snapshots)
    assert result.failure is None, result.failure.message
    return result


def apply_ops(url: str, operations: Sequence[Operation], **options: Any) -> ApplyResult:
    """:func:`apply` ``operations`` as one migration, under a fresh id (ids only grow within a run)."""
    return apply(url, Migration(f"{next(_ids):06d}_ops", tuple(operations)), **options)


def execute(conn: psycopg.Connection, *operations: Operation) -> None:
    """Run each op's statements without the runner (and its ledger) on the autocommit ``conn``, as the
    runner does: a transactional op in a transaction of its own, any other statement by statement."""
    for op in operations:
        run_statements(conn, op)


# -- graphs ----------------------------------------------------------------------------------------


def live(url: str, schemas: Sequence[str] = ("public",), **options: Any) -> SchemaGraph:
    """The graph of the database at ``url`` (``options`` go to :func:`introspect`: privileges, ignore)."""
    with connect(url) as conn:
        return introspect(conn, tuple(schemas), **options)


def graph_of(server: Server, *statements: str | sql.Composable, schemas: Sequence[str] = ("public",)) -> SchemaGraph:
    """The graph PostgreSQL makes of ``statements``, run in order on a scratch database of ``server``."""
    with server.scratch_database(prefix="zanith_graph") as url:
        with connect(url) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
        return live(url, schemas)


def load(url: str, graph: SchemaGraph) -> None:
    """Create ``graph`` on the (empty) database at ``url`` with ``schema_ddl`` (quicker than migrating)."""
    with connect(url) as conn:
        for statement in schema_ddl(graph):
            conn.execute(statement)


def declared_from_sql(server: Server, text: str, folder: Path, schemas: Sequence[str] = ("public",)) -> SchemaGraph:
    """The graph a declared ``schema.sql`` holding ``text`` loads as (the file is written in ``folder``)."""
    path = folder / f"declared_{next(_ids)}.sql"
    path.write_text(text)
    return load_schema(str(path), server=server, schemas=tuple(schemas))


def assert_schema(actual: SchemaGraph, expected: SchemaGraph, *, exact: bool = False) -> None:
    """``actual`` is ``expected`` as zanith judges schemas: no difference in :func:`diff`, whose rendering
    is the failure message. With ``exact`` the two are also equal as values, down to what the diff leaves
    out by design (column order, derived attributes): for round trips, where PostgreSQL must give back
    exactly what went in."""
    differences = diff(actual, expected)
    assert not differences, "the schema differs from the expected one:\n" + render(differences)
    if exact and actual != expected:
        unequal = [f.name for f in dataclasses.fields(actual) if getattr(actual, f.name) != getattr(expected, f.name)]
        tables = [t.qualified_name for t in actual.tables if t != expected.table(t.qualified_name)]
        raise AssertionError(f"the diff sees no difference, yet {unequal} differ (tables {tables}): column order?")


def migrate_and_back(
    url: str,
    declared: SchemaGraph,
    schemas: Sequence[str] = ("public",),
    *,
    runner: bool = True,
    exact: bool = True,
    declared_sql: str | None = None,
    **generate_options: Any,
) -> tuple[Operation, ...]:
    """Generate from the database at ``url`` to ``declared``, apply, check; apply the reversal, check
    (:func:`assert_schema`, ``exact`` by default). With ``declared_sql`` (the text ``declared`` was loaded
    from) the forward step is also judged independently, by pg_dump (tests/judge.py). Applies with the
    production runner unless ``runner`` is False (then :func:`execute`); returns the generated operations."""
    before = live(url, schemas)
    ops = generate_operations(before, declared, **generate_options)
    assert ops, "nothing was generated"
    for step, expected in ((ops, declared), (reversal(ops), before)):
        if runner:
            apply_ops(url, step, schemas=tuple(schemas), snapshots=False)
        else:
            with connect(url) as conn:
                execute(conn, *step)
        assert_schema(live(url, schemas), expected, exact=exact)
        if declared_sql is not None and expected is declared:
            assert_converges(server_from_url(url), url, declared_sql)
    return ops


def kinds(ops: Sequence[Operation]) -> list[str]:
    return [op.kind for op in ops]


def targets(ops: Sequence[Operation]) -> list[tuple[str, str]]:
    return [(op.kind, op.target) for op in ops]


# -- the ledger, and waiting on other sessions -----------------------------------------------------


def step_rows(conn: psycopg.Connection, migration_id: str | None = None) -> list[tuple[Any, ...]]:
    """(migration_id, step_index, status, error) of every step row, in step order ([] without a ledger)."""
    if conn.execute("SELECT to_regclass('zanith._zanith_migration_steps')").fetchone() == (None,):
        return []
    where = "WHERE migration_id = %s" if migration_id else ""
    return conn.execute(
        f"SELECT migration_id, step_index, status, error FROM zanith._zanith_migration_steps {where}"
        " ORDER BY migration_id, step_index",
        (migration_id,) if migration_id else (),
    ).fetchall()


def applied_ids(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM zanith._zanith_migrations ORDER BY id").fetchall()]


def apply_backends(conn: psycopg.Connection, like: str | None = None) -> list[tuple[Any, ...]]:
    """(pid, wait_event_type, query) of `zanith apply` sessions on this database.

    With ``like``, only those actively running a statement that matches it.
    """
    return conn.execute(
        "SELECT pid, wait_event_type, query FROM pg_stat_activity"
        " WHERE application_name = 'zanith apply' AND datname = current_database()"
        " AND (%(like)s::text IS NULL OR (state = 'active' AND query ILIKE %(like)s))",
        {"like": like},
    ).fetchall()


def wait_until(condition: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; fail the test (not hang it) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scratch_databases(server: Server) -> set[str]:
    """The scratch databases this process has on ``server`` now (a test checks none was left, or made)."""
    with connect(server.url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"zanith_scratch_{os.getpid()}_%",)
        ).fetchall()
    return {r[0] for r in rows}
