"""Enum values removed or reordered: ``replace_enum`` converts every column, domain and array through
text, views, functions and triggers over the type are recreated around it, judged by ``pg_dump`` (and
back, and from empty); what would keep the old type is refused."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from convergence import converge, from_empty, generate_for
from judge import assert_converges
from support import apply_ops, kinds

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.generate import GenerateError
from zanith_core.risk.catalog import OP_KINDS

TABLE = """
CREATE DOMAIN not_b AS mood CHECK (VALUE <> 'b'::mood);
CREATE TABLE t (
    id integer PRIMARY KEY,
    m mood DEFAULT 'a' NOT NULL,
    d not_b,
    ms mood[] DEFAULT '{a}'
);
CREATE INDEX t_m_idx ON t (m);
CREATE TABLE p (id integer, m mood) PARTITION BY LIST (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
"""
ROWS = "INSERT INTO t VALUES (1, 'a', 'c', '{a,c}'), (2, 'c', NULL, NULL); INSERT INTO p VALUES (1, 'c');"

READERS = """
CREATE TABLE t (id integer, m mood);
CREATE VIEW v AS SELECT m FROM t;
CREATE VIEW v2 AS SELECT * FROM v;
CREATE FUNCTION f(x mood) RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER tg BEFORE INSERT ON t FOR EACH ROW WHEN (NEW.m = 'a') EXECUTE FUNCTION g();
"""

SHAPES = {
    "reordered_and_appended": (
        "CREATE TYPE mood AS ENUM ('a', 'b', 'c');" + TABLE + ROWS,
        "CREATE TYPE mood AS ENUM ('c', 'a', 'b', 'z');" + TABLE,
    ),
    "value_removed_with_the_default_naming_it": (
        "CREATE TYPE mood AS ENUM ('a', 'b', 'c'); CREATE TABLE t (id integer, m mood DEFAULT 'b');"
        "INSERT INTO t VALUES (1, 'a'), (2, 'c');",
        "CREATE TYPE mood AS ENUM ('a', 'c'); CREATE TABLE t (id integer, m mood DEFAULT 'c');",
    ),
    "views_functions_and_triggers_over_it": (
        "CREATE TYPE mood AS ENUM ('a', 'b', 'c');" + READERS + "INSERT INTO t VALUES (1, 'c');",
        "CREATE TYPE mood AS ENUM ('c', 'a');" + READERS,
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_an_enum_replacement_converges_and_back(zanith_db: ZanithDatabase, tmp_path: Path, shape: str) -> None:
    old, new = SHAPES[shape]
    ops = converge(zanith_db, old, new, tmp_path, reverse=shape != "value_removed_with_the_default_naming_it")
    assert [k for k in kinds(ops) if k.startswith(("replace_", "alter_"))] == ["replace_enum"]


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_the_declared_shape_generates_from_empty(zanith_db: ZanithDatabase, tmp_path: Path, shape: str) -> None:
    from_empty(zanith_db.server, SHAPES[shape][1], tmp_path)


def test_values_keep_their_labels_and_take_the_new_order(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    converge(zanith_db, *SHAPES["reordered_and_appended"], tmp_path, reverse=False)
    conn = zanith_db.conn
    assert conn.execute("SELECT m::text, d::text, ms::text FROM t ORDER BY t.m").fetchall() == [
        ("c", None, None),  # 'c' now sorts first
        ("a", "c", "{a,c}"),
    ]
    assert conn.execute("SELECT m::text FROM p").fetchall() == [("c",)]
    conn.execute("INSERT INTO t (id) VALUES (3)")
    assert conn.execute("SELECT m::text, ms::text FROM t WHERE id = 3").fetchone() == ("a", "{a}")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO t (id, d) VALUES (4, 'b')")  # the domain kept its check


def test_a_row_holding_a_removed_value_fails_the_step_and_changes_nothing(
    zanith_db: ZanithDatabase, tmp_path: Path
) -> None:
    old, new = SHAPES["value_removed_with_the_default_naming_it"]
    zanith_db.conn.execute(old)  # type: ignore[arg-type]
    zanith_db.conn.execute("INSERT INTO t VALUES (3, 'b')")
    ops = generate_for(zanith_db.server, zanith_db.url, new, tmp_path)
    with pytest.raises(AssertionError, match="invalid input value for enum"):
        apply_ops(zanith_db.url, ops, snapshots=False)
    labels = "SELECT array_agg(enumlabel ORDER BY enumsortorder)::text FROM pg_enum WHERE enumtypid = 'mood'::regtype"
    assert zanith_db.conn.execute(labels).fetchone() == ("{a,b,c}",)


def test_views_functions_and_triggers_are_dropped_before_and_created_after(
    zanith_db: ZanithDatabase, tmp_path: Path
) -> None:
    ops = converge(zanith_db, *SHAPES["views_functions_and_triggers_over_it"], tmp_path, reverse=False)
    order = kinds(ops)
    replaced = order.index("replace_enum")
    assert {"drop_view", "drop_function", "drop_trigger"} == {k for k in order[:replaced] if k.startswith("drop_")}
    assert {"create_view", "create_function", "create_trigger"} == set(order[replaced + 1 :])


@pytest.mark.parametrize(
    ("holder", "named"),
    [
        ("CREATE TYPE pair AS (left_m mood, right_m mood);", "type public.pair"),
        ("ALTER TABLE t ADD CONSTRAINT not_c CHECK (m <> 'c');", "check not_c on public.t"),
        ("CREATE INDEX t_a_idx ON t (id) WHERE m = 'a';", "index t_a_idx on public.t"),
    ],
)
def test_what_would_keep_the_old_type_is_refused_by_name(
    zanith_db: ZanithDatabase, tmp_path: Path, holder: str, named: str
) -> None:
    shape = "CREATE TABLE t (id integer, m mood);" + holder
    zanith_db.conn.execute("CREATE TYPE mood AS ENUM ('a', 'b', 'c');" + shape)  # type: ignore[arg-type]
    expected = f"enum public.mood loses or reorders values.*{re.escape(named)}.*zanith new"
    with pytest.raises(GenerateError, match=expected):
        generate_for(zanith_db.server, zanith_db.url, "CREATE TYPE mood AS ENUM ('c', 'b', 'a');" + shape, tmp_path)


def test_the_replacement_is_scored_as_a_rewrite_of_each_table() -> None:
    entry = OP_KINDS["replace_enum"]
    assert entry.score >= 60 and "table_rewrite" in entry.reasons


def test_a_soft_dropped_column_keeps_the_old_type_set_aside(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    """The aside column (hidden from the graph) still holds old values: the old type stays, hidden, with it."""
    conn = zanith_db.conn
    conn.execute("CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE t (id integer, m mood, gone mood);")
    conn.execute("INSERT INTO t VALUES (1, 'a', 'b')")
    kept = "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE t (id integer, m mood);"
    apply_ops(zanith_db.url, generate_for(zanith_db.server, zanith_db.url, kept, tmp_path, hard_drop=False))
    new = "CREATE TYPE mood AS ENUM ('b', 'a'); CREATE TABLE t (id integer, m mood);"
    ops = generate_for(zanith_db.server, zanith_db.url, new, tmp_path)
    assert kinds(ops) == ["replace_enum"]
    apply_ops(zanith_db.url, ops, snapshots=False)
    assert_converges(zanith_db.server, zanith_db.url, new)
    aside = conn.execute("SELECT a.atttypid::regtype::text FROM pg_attribute a WHERE a.attname LIKE '%gone'").fetchone()
    assert aside is not None and aside[0].startswith("_zanith_")
