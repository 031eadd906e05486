"""Type changes PostgreSQL cannot do alone: a default it cannot cast, an enum on either side, no cast at all.

A convertible change is generated, applied, judged by ``pg_dump`` (and back, and from empty); a change
with no cast is refused at generate with what to write instead, never written as a migration that fails
at apply.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from convergence import converge, from_empty, generate_for
from support import kinds, project, zanith

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.generate import GenerateError
from zanith_core.read.casts import castable
from zanith_core.servers import connect

SHAPES = {
    # Postgres: "default for column v cannot be cast automatically to type integer"
    "text_default_to_integer": (
        "CREATE TABLE t (id integer, v text DEFAULT '7'); INSERT INTO t VALUES (1, '42');",
        "CREATE TABLE t (id integer, v integer DEFAULT 0);",
    ),
    "integer_default_to_boolean": (
        "CREATE TABLE t (id integer, v integer DEFAULT 0 NOT NULL); INSERT INTO t VALUES (1, 1), (2, 0);",
        "CREATE TABLE t (id integer, v boolean DEFAULT false NOT NULL);",
    ),
    "varchar_to_text_keeps_its_default": (
        "CREATE TABLE t (id integer, v varchar(10) DEFAULT 'a'); INSERT INTO t VALUES (1, 'x');",
        "CREATE TABLE t (id integer, v text DEFAULT 'a');",
    ),
    # category 9: a column moved from one enum type to another, through text
    "enum_to_other_enum": (
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TYPE feel AS ENUM ('a', 'b', 'c');"
        "CREATE TABLE t (id integer, v mood DEFAULT 'a', vs mood[]); INSERT INTO t VALUES (1, 'b', '{a,b}');",
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TYPE feel AS ENUM ('a', 'b', 'c');"
        "CREATE TABLE t (id integer, v feel DEFAULT 'c', vs feel[]);",
    ),
    "text_to_enum": (
        "CREATE TABLE t (id integer, v text DEFAULT 'b'); INSERT INTO t VALUES (1, 'a');",
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE t (id integer, v mood DEFAULT 'b');",
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_type_change_converges_and_back(zanith_db: ZanithDatabase, tmp_path: Path, shape: str) -> None:
    old, new = SHAPES[shape]
    ops = converge(zanith_db, old, new, tmp_path)
    assert "alter_column_type" in kinds(ops)
    assert "set_default" not in kinds(ops)  # the default is reset within the type change's own statement


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_the_declared_shape_generates_from_empty(zanith_db: ZanithDatabase, tmp_path: Path, shape: str) -> None:
    from_empty(zanith_db.server, SHAPES[shape][1], tmp_path)


def test_values_are_converted(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    converge(zanith_db, *SHAPES["integer_default_to_boolean"], tmp_path, reverse=False)
    assert zanith_db.conn.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, True), (2, False)]
    zanith_db.conn.execute("INSERT INTO t (id) VALUES (3)")
    assert zanith_db.conn.execute("SELECT v FROM t WHERE id = 3").fetchone() == (False,)


def test_an_enum_moves_to_another_enum_with_its_values(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    ops = converge(zanith_db, *SHAPES["enum_to_other_enum"], tmp_path, reverse=False)
    assert "::text::public.feel" in ops[0].sql() and "::text[]::public.feel[]" in ops[1].sql()
    assert zanith_db.conn.execute("SELECT v::text, vs::text FROM t").fetchone() == ("b", "{a,b}")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("v bigint", "v timestamp", "no cast from bigint to timestamp without time zone"),
        ("v integer DEFAULT 0", "v date DEFAULT CURRENT_DATE", "no cast from integer to date"),
        ("v boolean", "v inet", "no cast from boolean to inet"),
    ],
)
def test_a_change_without_a_cast_is_refused_at_generate_with_what_to_write(
    zanith_db: ZanithDatabase, tmp_path: Path, old: str, new: str, message: str
) -> None:
    zanith_db.conn.execute(f"CREATE TABLE t (id integer, {old})")  # type: ignore[arg-type]
    with pytest.raises(GenerateError, match=message) as refused:
        generate_for(zanith_db.server, zanith_db.url, f"CREATE TABLE t (id integer, {new});", tmp_path)
    assert "USING" in str(refused.value) and "zanith new --name NAME --sql" in str(refused.value)
    assert "--online-retype" in str(refused.value)


def test_castable_asks_the_server(zanith_db: ZanithDatabase) -> None:
    with connect(zanith_db.url) as conn:
        assert castable(conn, "text", "integer") is True  # an I/O conversion: the values decide
        assert castable(conn, "integer", "boolean") is True
        assert castable(conn, "bigint", "timestamp without time zone") is False
        assert castable(conn, "public.no_such_type", "integer") is None


def test_zanith_generate_refuses_it_in_one_line_and_writes_no_file(tmp_path: Path) -> None:
    """The command asks the server it loads the declared schema on (``zanith generate`` → scaffold)."""
    folder = project(tmp_path, schema_sql="CREATE TABLE t (id integer, v bigint);")
    assert zanith("generate", "--name", "init", project=folder).exit_code == 0
    (folder / "schema.sql").write_text("CREATE TABLE t (id integer, v timestamp);")
    result = zanith("generate", "--name", "retype", project=folder)
    assert result.exit_code == 1
    assert "no cast from bigint to timestamp without time zone" in result.output
    assert len(list((folder / "migrations").glob("*.py"))) == 1
