"""The plugin's fixtures: the project, its plan, a session server and a fresh database per test.

Each is a small session (or function) fixture a user can override in the conftest.py next to the
rootdir's pyproject.toml, as pytest-django's are; the built-in checks take the same fixtures, so an
override reaches them too. psycopg and zanith_core are imported inside the fixtures: loading the plugin
costs nothing until a test asks for one. Per-test databases come from pytest-postgresql's
``DatabaseJanitor``, cloned from an empty template database made once per session (``zanith_db``) or from
the project's migrated template (``zanith_migrated_db``, :mod:`.templates`), so a test never sees another
test's objects; the next test's clone is made while the current test runs (:mod:`.clones`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from .options import budget_option, shadow_url_option

if TYPE_CHECKING:
    import psycopg

    from zanith_core.config import Config
    from zanith_core.plan import Plan
    from zanith_core.servers import Server

    from .clones import Clones


@dataclass
class ZanithDatabase:
    """A fresh database for one test: its URL, name and an autocommit connection."""

    url: str
    name: str
    conn: psycopg.Connection
    server: Server


def janitor(server: Server, dbname: str, *, template: str | None = None, as_template: bool = False) -> Any:
    """pytest-postgresql's ``DatabaseJanitor`` for ``dbname`` on ``server`` (a context manager: create, drop)."""
    from psycopg.conninfo import conninfo_to_dict
    from pytest_postgresql.janitor import DatabaseJanitor

    info = conninfo_to_dict(server.url)
    return DatabaseJanitor(
        user=str(info.get("user") or "postgres"),
        host=str(info.get("host") or "localhost"),
        port=str(info.get("port") or 5432),
        password=str(info["password"]) if info.get("password") else None,
        dbname=dbname,
        template_dbname=template,
        as_template=as_template,
    )


@pytest.fixture(scope="session")
def zanith_config(pytestconfig: pytest.Config) -> Config:
    """The project the checks judge: ``[tool.zanith]`` of the rootdir's pyproject.toml (and ``ZANITH_*``)."""
    from zanith_core.config import load_config

    return load_config(pytestconfig.rootpath)


@pytest.fixture(scope="session")
def zanith_plan(zanith_config: Config, pytestconfig: pytest.Config) -> Plan:
    """The project's pending migrations, planned once per session against the budget (option or ini)."""
    from zanith_core.plan import plan_project

    return plan_project(zanith_config, budget=budget_option(pytestconfig))


@pytest.fixture(scope="session")
def zanith_shadow(pytestconfig: pytest.Config) -> Server:
    """The PostgreSQL server tests use: ``--zanith-shadow-url`` / ``ZANITH_SHADOW_URL``, else embedded. One
    that cannot be had (unreachable, or the embedded extra not installed) fails its tests with zanith's
    one-line message, not a traceback through the plugin."""
    from zanith_core.errors import ZanithError
    from zanith_core.servers import resolve_server

    try:
        return resolve_server(shadow_url_option(pytestconfig))
    except ZanithError as exc:
        raise pytest.fail.Exception(f"zanith_shadow: {exc}", pytrace=False) from None  # the message once


@pytest.fixture(scope="session")
def zanith_template(zanith_shadow: Server) -> Iterator[str]:
    """Name of the empty template database every ``zanith_db`` is cloned from."""
    name = f"zanith_tpl_{os.getpid()}_{secrets.token_hex(3)}"
    with janitor(zanith_shadow, name, as_template=True):
        yield name


@pytest.fixture(scope="session")
def _zanith_template_clones(zanith_shadow: Server, zanith_template: str) -> Iterator[Clones]:
    from .clones import Clones

    clones = Clones(zanith_shadow, zanith_template, "zanith_t", janitor)
    yield clones
    clones.close()


@pytest.fixture
def zanith_db(_zanith_template_clones: Clones) -> Iterator[ZanithDatabase]:
    """A fresh database (cloned from the session template) and an autocommit psycopg connection."""
    with cloned_database(_zanith_template_clones) as db:
        yield db


@pytest.fixture(scope="session")
def zanith_migrated_template(zanith_shadow: Server, zanith_config: Config) -> str:
    """Name of the template holding the project's migrations applied, built once per server and content of
    the migrations folder (see :mod:`pytest_zanith.templates`)."""
    from .templates import migrated_template

    return migrated_template(zanith_shadow, zanith_config)


@pytest.fixture(scope="session")
def _zanith_migrated_clones(zanith_shadow: Server, zanith_migrated_template: str) -> Iterator[Clones]:
    from .clones import Clones

    clones = Clones(zanith_shadow, zanith_migrated_template, "zanith_m", janitor)
    yield clones
    clones.close()


@pytest.fixture
def zanith_migrated_db(_zanith_migrated_clones: Clones) -> Iterator[ZanithDatabase]:
    """A fresh database holding the project's migrations applied, cloned from the migrated template."""
    with cloned_database(_zanith_migrated_clones) as db:
        yield db


@contextlib.contextmanager
def cloned_database(clones: Clones) -> Iterator[ZanithDatabase]:
    """A clone (made ahead, :mod:`.clones`) with an open connection, dropped after:
    what ``zanith_db`` and ``zanith_migrated_db`` give each test (and ``python -m benchmarks fixture`` times)."""
    from zanith_core.servers import connect

    name = clones.take()
    try:
        url = clones.server.database_url(name)
        conn = connect(url)
        try:
            yield ZanithDatabase(url=url, name=name, conn=conn, server=clones.server)
        finally:
            conn.close()
    finally:
        clones.give_back(name)
