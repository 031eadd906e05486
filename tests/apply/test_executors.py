"""Executors are registered explicitly, through the plugin hook zanith's own use (``add_executors``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from support import config, migration, raw

from zanith_core.apply.capture import CAPTURED, capture
from zanith_core.apply.executors import StepContext, executors, run_statements
from zanith_core.apply.runner import CoreExecutors, apply_migrations
from zanith_core.errors import ConfigError
from zanith_core.hooks import hookimpl, plugin_manager
from zanith_core.ops.base import Operation


class Marking:
    """A team's executor for raw SQL: runs it, then marks the step in a table of its own."""

    @hookimpl
    def add_executors(self) -> dict[str, Any]:
        def run(op: Operation, conn: psycopg.Connection, ctx: StepContext) -> None:
            run_statements(op, conn, ctx)
            conn.execute("INSERT INTO marks VALUES (%s, %s)", (ctx.migration_id, ctx.step_index))

        return {"raw_sql": run}


def test_nothing_is_registered_by_importing_a_module() -> None:
    assert executors(plugin_manager()) == {}


def test_the_core_executors_come_through_the_plugin_hook() -> None:
    pm = plugin_manager()
    pm.register(CoreExecutors())
    table = executors(pm)
    assert {k for k, v in table.items() if v is capture} == set(CAPTURED)
    assert set(table) == {"backfill", *CAPTURED}


def test_two_executors_for_one_kind_are_a_configuration_error() -> None:
    class Rival:
        @hookimpl
        def add_executors(self) -> dict[str, Any]:
            return {"backfill": run_statements}

    pm = plugin_manager()
    pm.register(CoreExecutors())
    pm.register(Rival())
    with pytest.raises(ConfigError, match="two plugins add an executor for op kind 'backfill'"):
        executors(pm)


def test_a_plugin_executor_runs_in_the_steps_transaction(zanith_db: Any, tmp_path: Path) -> None:
    zanith_db.conn.execute("CREATE TABLE marks (migration text, step int)")
    pm = plugin_manager()
    pm.register(Marking())
    ok = migration("0001_ok", "CREATE TABLE a (n int)")
    bad = migration("0002_bad", "CREATE TABLE b (n int)", "SELECT 1/0")
    result = apply_migrations(zanith_db.url, [ok, bad], config=config(tmp_path), pm=pm)
    assert result.failure is not None and result.failure.step_index == 2
    marks = zanith_db.conn.execute("SELECT migration, step FROM marks ORDER BY 1, 2").fetchall()
    assert marks == [("0001_ok", 1), ("0002_bad", 1)]  # the failed step's mark rolled back with it
    assert raw("SELECT 1").kind == "raw_sql"
