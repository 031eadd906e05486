"""Shared pieces of the apply tests: building migrations from SQL, reading the ledger, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from zanith_core.config import Config
from zanith_core.migrations import Migration
from zanith_core.ops.base import Operation
from zanith_core.ops.data import RawSql


def raw(text: str, *, transactional: bool = True) -> Operation:
    """A hand-written SQL step, exactly as a user writes one in a migration file."""
    return RawSql(forward_sql=text, transactional=transactional)


def migration(mid: str, *statements: str | Operation, phase: str | None = None, path: Path | None = None) -> Migration:
    ops = tuple(raw(s) if isinstance(s, str) else s for s in statements)
    return Migration(id=mid, operations=ops, path=path, phase=phase)


def config(tmp_path: Path, **overrides: Any) -> Config:
    values: dict[str, Any] = {"lock_timeout": 2.0, "lock_retries": 1, **overrides}
    return Config(project_dir=tmp_path, **values)


def step_rows(conn: psycopg.Connection, migration_id: str | None = None) -> list[tuple[Any, ...]]:
    """(migration_id, step_index, status, error) of every step row, in step order ([] without a ledger)."""
    if conn.execute("SELECT to_regclass('_zanith_migration_steps')").fetchone() == (None,):
        return []
    where = "WHERE migration_id = %s" if migration_id else ""
    return conn.execute(
        f"SELECT migration_id, step_index, status, error FROM _zanith_migration_steps {where}"
        " ORDER BY migration_id, step_index",
        (migration_id,) if migration_id else (),
    ).fetchall()


def applied_ids(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM _zanith_migrations ORDER BY id").fetchall()]


def write_migration(folder: Path, mid: str, *steps: tuple[str, bool] | str, phase: str | None = None) -> Path:
    """A migration file on disk, in the shape the loader reads (ops as dicts: no import needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    ops = [
        {"kind": "raw_sql", "forward_sql": s, "transactional": True}
        if isinstance(s, str)
        else {"kind": "raw_sql", "forward_sql": s[0], "transactional": s[1]}
        for s in steps
    ]
    lines = [f"id = {mid!r}", f"phase = {phase!r}", f"operations = {ops!r}"]
    path = folder / f"{mid}.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def project(tmp_path: Path, **settings: Any) -> Path:
    """A project folder with ``[tool.zanith]`` settings and an empty migrations folder."""
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(f"[tool.zanith]\n{body}\n")
    (tmp_path / "migrations").mkdir(exist_ok=True)
    return tmp_path


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZANITH_")}
    return {**env, **extra}


def zanith(args: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process (``python -m zanith_core.cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "zanith_core.cli", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zanith_core.cli", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; fail the test (not hang it) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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
