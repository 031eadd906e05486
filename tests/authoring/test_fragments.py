"""`--online-retype` types and `--using` expressions are exactly one type and one expression, and work on the
current schema (zanith_core.authoring.fragments): an injection or a type the server lacks is refused at
generate with exit code 2 and one line, and no migration file is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import project, zanith

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.authoring.fragments import FragmentRefused, one_expression, one_type
from zanith_core.servers import Server, connect

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, note text, flag boolean, feeling text);
CREATE TABLE orders (id int PRIMARY KEY);
CREATE TABLE payments (id int PRIMARY KEY);
INSERT INTO customers VALUES (1, 'a@example.com', '42', true, 'ok');
"""


@pytest.fixture
def db(zanith_db: ZanithDatabase) -> ZanithDatabase:
    zanith_db.conn.execute(SCHEMA)
    return zanith_db


def generate(db: ZanithDatabase, folder: Path, *args: str) -> tuple[int, str, list[str]]:
    """Run ``zanith generate --online-retype ...`` from ``db``: exit code, stderr, files written."""
    result = zanith("generate", "--name", "retype", "--from", db.url, *args, project=folder)
    return result.exit_code, result.stderr.strip(), sorted(p.name for p in (folder / "migrations").glob("*.py"))


def retype_databases(server: Server) -> list[str]:
    with connect(server.url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"zanith_retype_{os.getpid()}_%",)
        )
        return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--online-retype", "customers.email=int; DROP TABLE orders"],
            "error: --online-retype TYPE: 'int; DROP TABLE orders' is not a type name",
        ),
        (
            ["--online-retype", "customers.note=int", "--using", "note::int); DROP TABLE payments; --"],
            "error: --using: 'note::int); DROP TABLE payments; --' is not one SQL expression: it is not one expression",
        ),
        (
            ["--online-retype", "customers.note=int", "--using", "note::int -- the rest is gone"],
            "error: --using: 'note::int -- the rest is gone' is not one SQL expression: syntax error at end of input",
        ),
        (
            ["--online-retype", "customers.note=int", "--using", "(SELECT count(*) FROM payments)::int"],
            "error: --using: '(SELECT count(*) FROM payments)::int' is not one SQL expression: it holds a subquery "
            "(put a lookup in a function)",
        ),
        (
            ["--online-retype", "customers.note=int", "--using", "note::int, 1"],
            "error: --online-retype public.customers.note=int: --using does not convert the old values: column "
            '"note_new" is of type integer but expression is of type record',  # one expression: a row
        ),
        (
            ["--online-retype", "customers.note=nosuchtype"],
            'error: --online-retype public.customers.note=nosuchtype: type "nosuchtype" does not exist '
            "(on the shadow server, with the current schema)",
        ),
        (
            ["--online-retype", "customers.note=int", "--using", "nte::int"],
            'error: --online-retype public.customers.note=int: --using does not convert the old values: column "nte" '
            "does not exist",
        ),
        (
            ["--online-retype", "customers.flag=date"],
            "error: --online-retype public.customers.flag=date: the old values cannot be converted: cannot cast type "
            "boolean to date (give --using with an expression that converts them)",
        ),
        (
            ["--online-retype", "customers.feeling=mood", "--using", "feeling::mood"],
            "",  # works: the type exists only in the current schema
        ),
    ],
    ids=["type-injection", "using-injection", "using-comment", "using-subquery", "using-two", "unknown-type",
         "unknown-column", "no-cast", "user-type"],
)  # fmt: skip
def test_a_type_or_expression_is_checked_before_any_file_is_written(
    db: ZanithDatabase, tmp_path: Path, zanith_shadow: Server, args: list[str], message: str
) -> None:
    code, stderr, written = generate(db, project(tmp_path / "proj"), *args)
    if message:
        assert (code, stderr, written) == (2, message, [])
    else:
        assert code == 0, stderr
        assert [name.rpartition("_")[2] for name in written] == ["expand.py", "contract.py"]
    tables = db.conn.execute("SELECT count(*) FROM pg_tables WHERE tablename IN ('orders', 'payments')").fetchone()
    assert tables == (2,)
    assert retype_databases(zanith_shadow) == []


def test_a_valid_type_and_expression_are_written_as_given(db: ZanithDatabase, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj")
    code, stderr, written = generate(db, folder, "--online-retype", "customers.note=numeric(12, 2)", "--using",
                                     " NULLIF(note, '')::numeric ")  # fmt: skip
    assert code == 0, stderr
    expand = (folder / "migrations" / written[0]).read_text()
    assert "NULLIF(note, '')::numeric" in expand and "numeric(12, 2)" in expand
    applied = zanith("apply", "--database-url", db.url, "--contract", project=folder)
    assert applied.exit_code == 0, applied.output
    assert db.conn.execute("SELECT note, pg_typeof(note)::text FROM customers").fetchone() == (42, "numeric")


@pytest.mark.parametrize("text", ["int", "numeric(12,2)", "timestamp with time zone", "app.mood[]", ' "My Type" '])
def test_one_type_accepts_one_type_name(text: str) -> None:
    assert one_type(text, "type") == text.strip()


@pytest.mark.parametrize("text", ["", "int, text", "int) FROM x WHERE (true", "NULL::int", 'int COLLATE "C"', "1"])
def test_one_type_refuses_anything_else(text: str) -> None:
    with pytest.raises(FragmentRefused) as info:
        one_type(text, "type")
    assert info.value.exit_code == 2 and str(info.value).startswith("type: ")


@pytest.mark.parametrize("text", ["price * 100", "CASE WHEN a THEN 1 ELSE 2 END", "coalesce(x, '') || 'y'"])
def test_one_expression_accepts_one_expression(text: str) -> None:
    assert one_expression(text, "--using") == text


@pytest.mark.parametrize(
    "text", ["", "1) FROM t WHERE (true", "a; DROP TABLE t", "EXISTS (SELECT 1)", "a /* ) */ ) x ("]
)
def test_one_expression_refuses_anything_else(text: str) -> None:
    with pytest.raises(FragmentRefused):
        one_expression(text, "--using")
