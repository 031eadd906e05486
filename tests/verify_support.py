"""Small zanith projects for the shadow-verify tests: a declared schema and hand-written migration files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg
from support import project, write_source_migration

from zanith_core.config import Config, load_config

SCHEMA_SQL = """\
CREATE TABLE users (id bigint PRIMARY KEY, name text, email text NOT NULL);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    total numeric(10,2)
);
"""

USERS = (
    'CreateTable(table=Table(schema="public", name="users", columns=('
    'Column(name="id", type="bigint", nullable=False), Column(name="name", type="text")), '
    'primary_key=PrimaryKey(name="users_pkey", columns=("id",))))'
)
EMAIL = 'AddColumn(table="public.users", column=Column(name="email", type="text", nullable=False))'
EMAIL_INDEX = (
    'AddIndex(table="public.users", index=Index(name="users_email_idx", keys=("email",), columns=("email",)), '
    "concurrently=False)"
)
ORDERS = (
    'CreateTable(table=Table(schema="public", name="orders", columns=('
    'Column(name="id", type="bigint", nullable=False), Column(name="user_id", type="bigint", nullable=False), '
    'Column(name="total", type="numeric(10,2)")), primary_key=PrimaryKey(name="orders_pkey", columns=("id",)), '
    'foreign_keys=(ForeignKey(name="orders_user_id_fkey", columns=("user_id",), ref_table="public.users", '
    'ref_columns=("id",)),)))'
)

CLEAN_MIGRATIONS: dict[str, list[str]] = {
    "0001_users": [USERS],
    "0002_email": [EMAIL, EMAIL_INDEX],
    "0003_orders": [ORDERS],
}


def raw_source(text: str) -> str:
    """A hand-written SQL step as it appears in a migration file."""
    return f"RawSql(forward_sql={text!r})"


def make_project(
    folder: Path,
    *,
    migrations: dict[str, list[str]] | None = None,
    schema_sql: str = SCHEMA_SQL,
    extra_toml: str = "",
    **settings: Any,
) -> Path:
    """A project declaring ``schema_sql`` (+ settings) with ``migrations`` (stem: operation sources) on disk."""
    project(folder, schema_sql=schema_sql, extra_toml=extra_toml, **settings)
    for stem, ops in (CLEAN_MIGRATIONS if migrations is None else migrations).items():
        write_source_migration(folder / "migrations", stem, ops)
    return folder


def drifting_migrations() -> dict[str, list[str]]:
    """The clean migrations with 0002 edited by hand: email became varchar(100), its index was deleted."""
    return {**CLEAN_MIGRATIONS, "0002_email": [EMAIL.replace('type="text"', 'type="character varying(100)"')]}


def failing_migrations() -> dict[str, list[str]]:
    """The clean migrations plus 0004, whose step 2 of 3 fails."""
    return {
        **CLEAN_MIGRATIONS,
        "0004_broken": [
            raw_source("CREATE TABLE step_one (x int)"),
            raw_source("INSERT INTO no_such_table VALUES (1)"),
            raw_source("CREATE TABLE step_three (x int)"),
        ],
    }


USERS_INT = [
    'CreateTable(table=Table(schema="public", name="users", columns=(Column(name="id", type="integer", '
    'nullable=False),), primary_key=PrimaryKey(name="users_pkey", columns=("id",))))'
]


SET_UNLOGGED = "ALTER TABLE users SET UNLOGGED"


def unlogged_project(folder: Path, **settings: Any) -> Path:
    """A project whose hand-written ``ALTER TABLE users SET UNLOGGED`` rewrites the table under ACCESS
    EXCLUSIVE, as the catalog entry of ``set_persistence`` predicts (``settings``: plugins, extra_toml, ...)."""
    return make_project(
        folder,
        migrations={"0001_users": USERS_INT, "0002_unlogged": [raw_source(SET_UNLOGGED)]},
        schema_sql="CREATE UNLOGGED TABLE users (id integer PRIMARY KEY);\n",
        **settings,
    )


def harmless_rule(kind: str, rule: str) -> str:
    """A plugin module's source whose risk rule ``rule`` scores every ``kind`` step 0 with no reasons: wrong
    for a kind that locks or rewrites, so that observing the step finds a mismatch naming the rule. (Only
    for a kind zanith has no rule of its own for: a plugin cannot replace one, e.g. ``alter_column_type``'s.)"""
    return f"""
from zanith_core.hooks import hookimpl
from zanith_core.risk.subject import Rules


def {rule}(subject, ctx):
    return 0, ()


@hookimpl
def add_risk_rules():
    return Rules(subject={{{kind!r}: {rule}}})
"""


def project_config(folder: Path, **overrides: Any) -> Config:
    """The project's config, deaf to the ZANITH_* variables of the test run (explicit is safer here)."""
    return load_config(folder, overrides, environ={})


def shadow_databases(conn: psycopg.Connection, pid: int | None = None) -> list[str]:
    """Databases named like zanith's created shadows (of process ``pid``, default: this one)."""
    prefix = f"zanith_shadow_{pid or os.getpid()}_"
    rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)).fetchall()
    return [r[0] for r in rows]
