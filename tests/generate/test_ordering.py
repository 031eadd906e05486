"""Safe ordering: create before reference, drop references before targets, add before index/backfill,
soft drops last — as stage rules, and as migrations that apply cleanly on a real database."""

from __future__ import annotations

from support import graph_of, kinds, migrate_and_back

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.generate.ordering import slot, stage_of
from zanith_core.ops import (
    CATALOG,
    AddColumn,
    AddForeignKey,
    AddIndex,
    Backfill,
    CreateTable,
    DropForeignKey,
    DropTable,
    SoftDropColumn,
    Stage,
)
from zanith_core.ops.base import Operation
from zanith_core.schema.graph import Column, ForeignKey, Index, Table

T = "public.t"
COLUMN = Column("c", "integer")


def test_every_stage_holds_a_kind() -> None:
    assert {cls.stage for cls in CATALOG.values()} == set(Stage)


def test_stage_rules() -> None:
    before = stage_of
    assert before("create_enum") < before("create_table") < before("add_column") < before("drop_enum")
    assert before("rename_table") < before("drop_foreign_key") < before("drop_primary_key") < before("drop_table")
    assert before("add_column") < before("backfill") < before("add_index") < before("soft_drop_column")
    assert before("add_primary_key") < before("add_unique") < before("add_foreign_key") < before("validate_constraint")
    assert before("drop_not_null") < before("alter_column_type") < before("set_not_null")
    assert max(before("drop_column"), before("drop_table")) < before("soft_drop_column") < before("soft_drop_table")
    assert before("restore_column") == before("raw_sql")  # kinds generate never emits share a middle stage
    assert slot("soft_drop_column", ahead_of="add_column") < slot("add_column")


def _ordered(ops: tuple[Operation, ...]) -> tuple[Operation, ...]:
    return tuple(sorted(ops, key=lambda op: slot(op.kind)))


def test_slots_sort_across_stages_and_keep_the_order_within_one() -> None:
    table = Table("public", "t", (Column("id", "integer", False),))
    aside = SoftDropColumn(T, COLUMN, physical_name="_zanith_00000000_c", position=1)
    index = AddIndex(T, Index("t_c", ("c",), columns=("c",)))
    fk = AddForeignKey(T, ForeignKey("t_fk", ("c",), "public.u", ("id",)))
    fill = Backfill(T, "c", "1")
    ops = (aside, fk, index, fill, AddColumn(T, COLUMN), CreateTable(table), DropForeignKey(T, fk.foreign_key))
    assert [op.kind for op in _ordered(ops)] == [
        "drop_foreign_key",
        "create_table",
        "add_column",
        "backfill",
        "add_index",
        "add_foreign_key",
        "soft_drop_column",
    ]
    first, second = DropTable(table), DropTable(Table("public", "a"))
    assert _ordered((first, second)) == (first, second)


# -- the ordering cases, on a real database ---------------------------------------------------------


def _migrate_and_back(db: ZanithDatabase, before: str, after: str, **options: object) -> list[str]:
    db.conn.execute(before)  # type: ignore[arg-type]
    return kinds(migrate_and_back(db.url, graph_of(db.server, after), **options))  # type: ignore[arg-type]


def test_foreign_key_to_a_new_table_comes_after_the_table(zanith_db: ZanithDatabase) -> None:
    kinds = _migrate_and_back(
        zanith_db,
        "CREATE TABLE orders (id integer PRIMARY KEY);",
        "CREATE TABLE customers (id integer PRIMARY KEY);"
        "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customers);",
    )
    assert kinds == ["create_table", "add_column", "add_foreign_key", "validate_constraint"]


def test_new_tables_referencing_each_other_get_their_foreign_keys_after_both(zanith_db: ZanithDatabase) -> None:
    kinds = _migrate_and_back(
        zanith_db,
        "",
        "CREATE TABLE a (id integer PRIMARY KEY, b_id integer);"
        "CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a);"
        "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;",
    )
    assert kinds == ["create_table", "create_table", "add_foreign_key", "add_foreign_key"]


def test_index_on_a_new_column_comes_after_the_column(zanith_db: ZanithDatabase) -> None:
    kinds = _migrate_and_back(
        zanith_db,
        "CREATE TABLE users (id integer PRIMARY KEY);",
        "CREATE TABLE users (id integer PRIMARY KEY, email text UNIQUE);"
        "CREATE INDEX users_lower ON users (lower(email));",
    )
    assert kinds == ["add_column", "add_unique", "add_index"]


def test_drop_of_a_referenced_table_drops_the_references_first(zanith_db: ZanithDatabase) -> None:
    before = (
        "CREATE TABLE customers (id integer PRIMARY KEY);"
        "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customers);"
    )
    after = "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer);"
    assert _migrate_and_back(zanith_db, before, after) == ["drop_foreign_key", "soft_drop_table"]


def test_hard_drop_of_tables_referencing_each_other(zanith_db: ZanithDatabase) -> None:
    before = (
        "CREATE TABLE a (id integer PRIMARY KEY, b_id integer);"
        "CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a);"
        "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;"
        "CREATE TABLE keep (id integer);"
    )
    kinds = _migrate_and_back(zanith_db, before, "CREATE TABLE keep (id integer);", hard_drop=True)
    assert kinds == ["drop_foreign_key", "drop_foreign_key", "drop_table", "drop_table"]


def test_soft_drop_of_tables_referencing_each_other(zanith_db: ZanithDatabase) -> None:
    before = (
        "CREATE TABLE a (id integer PRIMARY KEY, b_id integer);"
        "CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a);"
        "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;"
        "CREATE TABLE keep (id integer);"
    )
    kinds = _migrate_and_back(zanith_db, before, "CREATE TABLE keep (id integer);")
    assert kinds == ["drop_foreign_key", "drop_foreign_key", "soft_drop_table", "soft_drop_table"]


def test_constraint_on_a_dropped_column_goes_before_the_column(zanith_db: ZanithDatabase) -> None:
    before = (
        "CREATE TABLE p (id integer PRIMARY KEY, code text UNIQUE, qty integer CHECK (qty > 0));"
        "CREATE TABLE c (id integer, code text REFERENCES p (code));"
    )
    after = "CREATE TABLE p (id integer PRIMARY KEY); CREATE TABLE c (id integer, code text);"
    kinds = _migrate_and_back(zanith_db, before, after)
    assert kinds == ["drop_foreign_key", "drop_unique", "drop_check", "soft_drop_column", "soft_drop_column"]
