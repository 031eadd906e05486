"""Schemas and extensions of real schemas: an extension placed in a schema the same migration creates,
an extension's version (``ALTER EXTENSION ... UPDATE``), and a schema no longer declared (dropped with
``--hard-drop``, refused with what to do otherwise). Judged by ``pg_dump`` (tests/judge.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from convergence import judged
from support import kinds, targets

from zanith_core.generate import GenerateError
from zanith_core.servers import Server

IN_NEW_SCHEMA = """
CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE TABLE users (id bigint PRIMARY KEY, email ext.citext NOT NULL UNIQUE);
"""

PINNED = """
CREATE EXTENSION citext VERSION '1.4';
CREATE TABLE users (id bigint PRIMARY KEY, email citext);
"""

LEGACY = """
CREATE SCHEMA legacy;
CREATE TABLE legacy.old_orders (id bigint PRIMARY KEY);
CREATE TABLE users (id bigint PRIMARY KEY);
"""


def test_an_extension_goes_into_a_schema_the_migration_creates(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", IN_NEW_SCHEMA, schemas=("public", "ext"))
    assert kinds(ops)[:2] == ["create_schema", "create_extension"]
    old = "CREATE EXTENSION citext; CREATE TABLE users (id bigint PRIMARY KEY);"
    with pytest.raises(GenerateError, match="extension citext changes its schema"):
        judged(zanith_shadow, tmp_path, old, IN_NEW_SCHEMA, schemas=("public", "ext"))


def test_an_extension_is_updated_to_the_declared_version(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, PINNED, PINNED.replace(" VERSION '1.4'", ""))
    assert targets(ops) == [("update_extension", "citext")]
    assert ops[0].sql() == 'ALTER EXTENSION "citext" UPDATE;'
    ops = judged(zanith_shadow, tmp_path, PINNED, PINNED.replace("1.4", "1.5"))
    assert ops[0].sql() == "ALTER EXTENSION \"citext\" UPDATE TO '1.5';"
    assert not ops[0].reversible  # extensions ship no downgrade scripts


def test_a_version_the_server_cannot_reach_is_refused(zanith_shadow: Server, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match=r"extension citext cannot be updated from version default to 1\.4"):
        judged(zanith_shadow, tmp_path, PINNED.replace(" VERSION '1.4'", ""), PINNED)


def test_a_pinned_version_is_created_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", PINNED)
    assert "VERSION '1.4'" in ops[0].sql()


def test_a_schema_no_longer_declared_is_dropped_with_hard_drop(zanith_shadow: Server, tmp_path: Path) -> None:
    new = "CREATE TABLE users (id bigint PRIMARY KEY);"
    ops = judged(zanith_shadow, tmp_path, LEGACY, new, schemas=("public", "legacy"))
    assert targets(ops) == [("drop_table", "legacy.old_orders"), ("drop_schema", "legacy")]


def test_a_schema_no_longer_declared_is_refused_without_hard_drop(zanith_shadow: Server, tmp_path: Path) -> None:
    new = "CREATE TABLE users (id bigint PRIMARY KEY);"
    with pytest.raises(GenerateError, match=r"schema legacy is no longer declared but holds table legacy\.old_orders: "
                       "pass --hard-drop"):  # fmt: skip
        judged(zanith_shadow, tmp_path, LEGACY, new, schemas=("public", "legacy"), hard_drop=False)
    empty = "CREATE SCHEMA legacy; CREATE TABLE users (id bigint PRIMARY KEY);"
    ops = judged(zanith_shadow, tmp_path, empty, new, schemas=("public", "legacy"), hard_drop=False)
    assert targets(ops) == [("drop_schema", "legacy")]  # nothing in it: nothing to keep


def test_an_extension_in_a_schema_the_project_does_not_manage(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", IN_NEW_SCHEMA, schemas=("public",))  # pg_dump's "extensions"
    assert ops[0].sql().startswith('CREATE SCHEMA IF NOT EXISTS "ext";')
