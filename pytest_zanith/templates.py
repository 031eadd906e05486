"""Migrated templates: the project's migrations applied once per server, cloned into a database per test.

A template is named for what it holds: ``zanith_mtpl_<project>_<content>``, where ``<project>`` hashes the
migrations folder's path and ``<content>`` the zanith version, the ledger schema and every migration file
(name and bytes). Editing, adding or removing a migration file therefore names a new template; the build
of a new one drops the project's older ones. A template is kept after the session, so the next run with
the same migrations on the same server clones it at once (the embedded server vanishes with its
session, and its templates with it).

Several processes (pytest-xdist workers, two runs) may ask for the same template at once: the check and
the build run under a PostgreSQL advisory lock derived from the name, so one builds and the others wait,
then clone. The build happens under a temporary name, renamed when complete, so a run killed mid-build
never leaves a half-migrated database under the template's name. A finished template refuses
connections (``ALLOW_CONNECTIONS false``): ``CREATE DATABASE … TEMPLATE`` fails while anyone is
connected to its template.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

    from zanith_core.config import Config
    from zanith_core.servers import Server

PREFIX = "zanith_mtpl"
BUILDING = "_building"


def project_prefix(config: Config) -> str:
    """The part of the template name shared by every template of this project: ``zanith_mtpl_<key>_``."""
    return f"{PREFIX}_{hashlib.sha256(str(config.migrations_dir).encode()).hexdigest()[:8]}_"


def template_name(config: Config) -> str:
    """The template's name: the project's prefix and a hash of what the migrated database depends on."""
    from zanith_core import __version__
    from zanith_core.migrations import migration_files

    digest = hashlib.sha256(f"{__version__}\0{config.ledger_schema}".encode())
    for path in migration_files(config.migrations_dir):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return project_prefix(config) + digest.hexdigest()[:16]


def migrated_template(server: Server, config: Config) -> str:
    """The name of the project's migrated template on ``server``, built first if it is not there."""
    from zanith_core.errors import ZanithError

    try:
        return _migrated_template(server, config)
    except ZanithError as exc:  # a broken migration file, an unreachable server: one line, no traceback
        pytest.fail(f"zanith_migrated_db: {exc}", pytrace=False)


def _migrated_template(server: Server, config: Config) -> str:
    from zanith_core.servers import connect

    name = template_name(config)
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connect(server.url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                _build(server, conn, name, config)
                _drop_stale(conn, config, keep=name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return name


def _build(server: Server, conn: psycopg.Connection[Any], name: str, config: Config) -> None:
    """Apply every migration to a fresh database, then rename it ``name`` and make it a closed template."""
    from psycopg import sql

    from zanith_core.apply import apply_migrations
    from zanith_core.migrations import load_migrations

    migrations = load_migrations(config.migrations_dir)
    building = name + BUILDING
    server.drop_database(building)  # what a run killed mid-build left
    url = server.create_database(building)
    try:
        result = apply_migrations(url, migrations, config=config, contract=True, snapshots=False)
    except BaseException:
        server.drop_database(building)
        raise
    failure = result.failure
    if failure is not None:  # the template is thrown away, so not StepFailure.message's "the next apply resumes"
        server.drop_database(building)
        error = failure.error.strip().splitlines()[0] if failure.error.strip() else "unknown error"
        step = f"step {failure.step_index}/{failure.steps} ({failure.kind} {failure.target})"
        pytest.fail(f"zanith_migrated_db: migration {failure.migration_id} {step} failed: {error}", pytrace=False)
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (building,))
    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name)))
    conn.execute(
        sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(sql.Identifier(name))
    )


def _drop_stale(conn: psycopg.Connection[Any], config: Config, *, keep: str) -> None:
    """Drop the project's other templates (made for migration files that have changed since) and what a
    killed build of one left; one in use (being cloned, or built by another run) stays for the next build."""
    from psycopg import errors, sql

    rows = conn.execute(
        "SELECT datname, datistemplate FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s",
        (project_prefix(config), keep),
    ).fetchall()
    for stale, is_template in rows:
        name = sql.Identifier(stale)
        if is_template:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(name))
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        except errors.ObjectInUse:
            if is_template:
                conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true").format(name))
