"""Database fixtures: a session server (embedded or URL) and a fresh database per test.

Per-test databases come from pytest-postgresql's ``DatabaseJanitor``, cloned from an empty template
database made once per session, so a test never sees another test's objects.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from zanith_core.servers import Server, connect, resolve_server


@dataclass
class ZanithDatabase:
    """A fresh database for one test: its URL, name and an autocommit connection."""

    url: str
    name: str
    conn: psycopg.Connection
    server: Server


def _janitor(server: Server, dbname: str, *, template: str | None = None, as_template: bool = False) -> Any:
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


def shadow_url_option(config: pytest.Config) -> str | None:
    return config.getoption("zanith_shadow_url") or os.environ.get("ZANITH_SHADOW_URL") or None


@pytest.fixture(scope="session")
def zanith_shadow(pytestconfig: pytest.Config) -> Server:
    """The PostgreSQL server tests use: ``--zanith-shadow-url`` / ``ZANITH_SHADOW_URL``, else embedded."""
    return resolve_server(shadow_url_option(pytestconfig))


@pytest.fixture(scope="session")
def zanith_template(zanith_shadow: Server) -> Iterator[str]:
    """Name of the empty template database every ``zanith_db`` is cloned from."""
    name = f"zanith_tpl_{os.getpid()}_{secrets.token_hex(3)}"
    with _janitor(zanith_shadow, name, as_template=True):
        yield name


@pytest.fixture
def zanith_db(zanith_shadow: Server, zanith_template: str) -> Iterator[ZanithDatabase]:
    """A fresh database (cloned from the session template) and an autocommit psycopg connection."""
    name = f"zanith_t_{os.getpid()}_{secrets.token_hex(4)}"
    with _janitor(zanith_shadow, name, template=zanith_template):
        url = zanith_shadow.database_url(name)
        conn = connect(url)
        try:
            yield ZanithDatabase(url=url, name=name, conn=conn, server=zanith_shadow)
        finally:
            conn.close()
