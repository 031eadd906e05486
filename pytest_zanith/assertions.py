"""Assertions for users' test suites; each is a thin wrapper over a zanith_core function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from zanith_core.config import Config, load_config
from zanith_core.diff import render
from zanith_core.sources.drift import drift

if TYPE_CHECKING:
    from zanith_core.migrations import Migration
    from zanith_core.plan import Plan
    from zanith_core.servers import Server


def assert_no_drift(
    schema: Any, database: Any = None, *, config: Config | None = None, server: Server | None = None
) -> None:
    """Fail with the rendered diff unless ``database`` holds exactly the declared ``schema``.

    ``schema`` is any declared source (``.sql`` path, ``module:attr``, DSL ``Schema``, SQLAlchemy
    ``MetaData``, ``SchemaGraph``). ``database`` is a URL, a psycopg connection or a ``zanith_db``
    fixture value. Without ``database``, the project's migrations are replayed on a fresh database of
    ``server`` (pass ``zanith_shadow`` to follow an override of that fixture), by default the session's
    shadow server, and the result is compared with ``schema``.
    """
    cfg = config or load_config()
    if database is None:
        _assert_migrations_reach(schema, cfg, server)
        return
    target = _connection_or_url(database)
    differences = drift(schema, target, cfg)
    if differences:
        raise AssertionError(f"schema drift ({len(differences)} differences):\n{render(differences)}")


def assert_within_budget(migration_or_plan: Migration | Plan, budget: int) -> None:
    """Fail with the plan table unless every step of the migration (or plan) scores at most ``budget``."""
    from zanith_core.plan import check_budget

    message = check_budget(migration_or_plan, budget)
    if message is not None:
        raise AssertionError(message)


def _assert_migrations_reach(schema: Any, config: Config, server: Server | None) -> None:
    from zanith_core.verify import verify_on_shadow

    from .options import session_server

    verdict = verify_on_shadow(config, declared=schema, server=server if server is not None else session_server())
    if not verdict.ok:
        raise AssertionError(f"the migrations do not reach the declared schema:\n{verdict.render()}")


def _connection_or_url(database: Any) -> str | psycopg.Connection:
    if isinstance(database, str | psycopg.Connection):
        return database
    conn = getattr(database, "conn", None)
    if isinstance(conn, psycopg.Connection):
        return conn
    raise TypeError(f"database must be a URL, a psycopg connection or zanith_db, not {type(database).__name__}")
