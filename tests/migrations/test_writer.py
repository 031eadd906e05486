"""Migration files: readable, editable Python that loads back into the same migration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zanith_core.errors import MigrationFileError
from zanith_core.migrations import Migration, migration_id, render_migration, slugify, write_migration
from zanith_core.migrations.loader import load_migration_file
from zanith_core.ops import (
    AddColumn,
    AddForeignKey,
    AddIndex,
    AlterColumnType,
    Backfill,
    CreateTable,
    RawSql,
    SoftDropColumn,
    ValidateConstraint,
    operation_from_dict,
)
from zanith_core.schema.graph import Column, ForeignKey, Index, PrimaryKey, Table

USERS = Table(
    "public",
    "users",
    (Column("id", "bigint", False, identity="always"), Column("email", "text", False, "''::text")),
    PrimaryKey("users_pkey", ("id",)),
    indexes=(Index("users_email_idx", ("lower(email)",), unique=True, columns=("email",)),),
)

OPERATIONS = (
    CreateTable(USERS),
    AddColumn("public.orders", Column("user_id", "bigint")),
    AddForeignKey("public.orders", ForeignKey("orders_user_id_fkey", ("user_id",), "public.users", ("id",))),
    ValidateConstraint("public.orders", "orders_user_id_fkey"),
    AlterColumnType("public.orders", "total", "numeric(12,2)", "integer", "total::numeric(12,2)"),
    Backfill("public.orders", "user_id", "(SELECT id FROM users LIMIT 1)", reverse_expression="NULL"),
    AddIndex("public.orders", Index("orders_user_id_idx", ("user_id",), columns=("user_id",))),
    SoftDropColumn("public.orders", Column("legacy", "text"), physical_name="_zanith_0badc0de_legacy", position=2),
    RawSql("UPDATE orders\nSET note = 'it''s \"done\"'\nWHERE note IS NULL", reverse_sql=None, transactional=True),
    RawSql('SELECT \'\\d\'; -- a backslash and a """ triple quote\nSELECT 2'),
)


def test_rendered_file_loads_back_into_an_equal_migration(tmp_path: Path) -> None:
    migration = Migration("20261124_134500_orders", OPERATIONS, name="orders", phase="expand")
    path = write_migration(migration, tmp_path, summary=["table public.orders: + column user_id bigint"])
    loaded = load_migration_file(path)
    assert loaded == migration
    assert loaded.checksum == migration.checksum


def test_file_reads_like_a_reviewed_document(tmp_path: Path) -> None:
    migration = Migration("20261124_134500_users", OPERATIONS[:2], name="users")
    text = render_migration(migration, summary=["+ table public.users (2 columns)"])
    head = text.splitlines()
    assert head[0] == '"""users'
    assert "Changes:" in text and "  + table public.users (2 columns)" in text
    assert "from zanith_core.migration_api import *" in head
    assert 'id = "20261124_134500_users"' in head
    assert "phase" not in text
    # defaults are left out; a call that does not fit on one line gets one keyword per line
    assert 'AddColumn(table="public.orders", column=Column(name="user_id", type="bigint")),' in text
    assert "CreateTable(\n        table=Table(\n" in text
    assert "nullable=True" not in text
    assert all(len(line) <= 100 for line in head)


def test_multi_line_sql_is_triple_quoted_when_that_is_safe() -> None:
    text = render_migration(Migration("0001", OPERATIONS[-2:]))
    assert 'forward_sql="""UPDATE orders\nSET note = \'it\'\'s "done"\'\nWHERE note IS NULL"""' in text
    assert "forward_sql='SELECT \\'\\\\d\\'; -- a backslash" in text


def test_empty_migration_renders_an_empty_list() -> None:
    assert "operations = []\n" in render_migration(Migration("0001", ()))


def test_docstring_cannot_be_closed_by_a_summary_line(tmp_path: Path) -> None:
    migration = Migration("0001_x", (RawSql("SELECT 1"),))
    path = write_migration(migration, tmp_path, summary=['check (note <> \'"""\')', "back\\slash"])
    assert load_migration_file(path) == migration


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    migration = Migration("0001_x", (RawSql("SELECT 1"),))
    write_migration(migration, tmp_path)
    with pytest.raises(MigrationFileError, match="already exists"):
        write_migration(migration, tmp_path)


def test_ids_sort_by_time_and_carry_a_safe_name() -> None:
    moment = datetime(2026, 11, 24, 13, 45, 0, tzinfo=UTC)
    assert migration_id("Add e-mail to Users!", moment) == "20261124_134500_add_e_mail_to_users"
    assert migration_id("¿?", moment) == "20261124_134500"
    assert slugify("  Already_fine  ") == "already_fine"


def test_raw_sql_state_operations_round_trip_through_the_file_and_json(tmp_path: Path) -> None:
    table = Table("public", "t", columns=(Column("id", "integer"),))
    declared = RawSql("CREATE TABLE t (id integer)", "DROP TABLE t", state_operations=(CreateTable(table),))
    bare = RawSql("CREATE TABLE t (id integer)", "DROP TABLE t")
    migration = Migration("0001_raw", (declared,))
    loaded = load_migration_file(write_migration(migration, tmp_path))
    assert loaded == migration and loaded.operations[0].state_operations == (CreateTable(table),)
    assert operation_from_dict(declared.to_dict()) == declared
    assert declared.to_dict()["state_operations"][0]["kind"] == "create_table"
    assert Migration("0001_raw", (bare,)).checksum == migration.checksum  # the declaration is not run
