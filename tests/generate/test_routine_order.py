"""Routines in dependency order: a function is created after the functions its body calls — a
``LANGUAGE sql`` body (checked at ``CREATE FUNCTION``) and a ``plpgsql`` one (whose calls Postgres never
records) — and after them come the indexes, checks and views that run it. From empty and in upgrades,
judged by ``pg_dump`` (tests/judge.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from convergence import judged
from support import graph_of

from zanith_core.ops.definitions import CreateFunction
from zanith_core.schema.graph import Function
from zanith_core.schema.routines import called_functions, sql_calls
from zanith_core.servers import Server
from zanith_core.sql.order import requirements

# Every caller sorts before its callee by name, so creating by name (or by catalog order) fails.
CALLS = """
SET check_function_bodies = false;
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric);
CREATE FUNCTION a_slug(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT replace(public.b_norm(t), ' ', '-') $$;
CREATE FUNCTION b_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(trim(t)) $$;
CREATE FUNCTION c_total() RETURNS numeric LANGUAGE plpgsql STABLE AS $$
DECLARE r numeric := d_helper();
BEGIN
    r := r + d_helper();
    PERFORM e_log(r);
    RETURN r;
END $$;
CREATE FUNCTION d_helper() RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT coalesce(sum(price), 0) FROM items $$;
CREATE FUNCTION e_log(v numeric) RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', v; END $$;
CREATE FUNCTION f_std(t text) RETURNS text LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT a_slug(t); END;
CREATE INDEX items_slug ON items (a_slug(name));
ALTER TABLE items ADD CONSTRAINT items_slug_check CHECK (a_slug(name) <> '');
CREATE VIEW totals AS SELECT c_total() AS total, f_std('A b') AS sample;
"""

# Mutual recursion: no order has every body name only what exists.
MUTUAL = """
SET check_function_bodies = false;
CREATE FUNCTION is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN n = 0 THEN true ELSE is_odd(n - 1) END $$;
CREATE FUNCTION is_odd(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN n = 0 THEN false ELSE is_even(n - 1) END $$;
CREATE FUNCTION ping(n integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN IF n <= 0 THEN RETURN 0; END IF; RETURN pong(n - 1); END $$;
CREATE FUNCTION pong(n integer) RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN ping(n - 1); END $$;
"""

# pg_dump order: the function a CHECK calls comes first, its body reads a table created after it.
CHECKED = """
SET check_function_bodies = false;
CREATE FUNCTION category_ok(c integer) RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT EXISTS (SELECT 1 FROM public.categories WHERE id = c) $$;
CREATE TABLE categories (id integer PRIMARY KEY);
CREATE TABLE items (id integer PRIMARY KEY, category integer CHECK (category_ok(category)));
"""

OLD = """
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric);
CREATE FUNCTION a_slug(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION c_total() RETURNS numeric LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 0; END $$;
CREATE VIEW totals AS SELECT c_total() AS total;
"""


def test_a_function_comes_after_what_its_body_calls_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", CALLS)
    order = [op.target for op in ops]
    assert order.index("public.b_norm(text)") < order.index("public.a_slug(text)") < order.index("public.items")
    assert order.index("public.d_helper()") < order.index("public.c_total()")
    assert order.index("public.e_log(numeric)") < order.index("public.c_total()")


def test_a_function_comes_after_what_its_body_calls_in_an_upgrade(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, OLD, CALLS)
    order = [(op.kind, op.target) for op in ops]
    assert order.index(("create_function", "public.b_norm(text)")) < order.index(
        ("replace_function", "public.a_slug(text)")
    )
    assert order.index(("replace_function", "public.a_slug(text)")) < order.index(
        ("add_index", "public.items.items_slug")
    )
    assert order.index(("create_function", "public.d_helper()")) < order.index(("replace_function", "public.c_total()"))


def test_mutual_recursion_is_created_without_checking_the_bodies(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", MUTUAL)
    unchecked = {op.target for op in ops if isinstance(op, CreateFunction) and not op.check_body}
    assert unchecked == {"public.is_even(integer)", "public.is_odd(integer)"}  # plpgsql bodies are never checked
    judged(zanith_shadow, tmp_path, MUTUAL, CALLS)  # and dropped again without a cycle getting in the way


def test_a_check_function_reading_a_table_of_the_same_migration(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", CHECKED)
    first = ops[0]
    assert isinstance(first, CreateFunction) and not first.check_body
    created = [op for op in judged(zanith_shadow, tmp_path, "", CALLS) if isinstance(op, CreateFunction)]
    assert all(op.check_body for op in created)  # d_helper reads items, but is created after the tables


def test_the_whole_schema_script_orders_by_body_calls(zanith_shadow: Server) -> None:
    graph = graph_of(zanith_shadow, CALLS)
    needs = requirements(graph)
    assert "function public.b_norm(text)" in needs["function public.a_slug(text)"]
    assert {"function public.d_helper()", "function public.e_log(numeric)"} <= needs["function public.c_total()"]


@pytest.mark.parametrize(
    ("language", "body", "called"),
    [
        ("sql", "SELECT app.norm(t) || helper(t)", {("app", "norm"), (None, "helper")}),
        ("sql", "SELECT 1 +", set()),  # unparsable: every name( found, none here
        (
            "plpgsql",
            "DECLARE x int; BEGIN x := other.f(1); EXECUTE 'select hidden()'; RETURN g(); END",
            {("other", "f"), (None, "g")},
        ),
    ],
)
def test_body_calls_are_read_with_the_postgres_parser(
    language: str, body: str, called: set[tuple[str | None, str]]
) -> None:
    definition = f"CREATE FUNCTION f(t text) RETURNS text LANGUAGE {language} AS $$ {body} $$"
    function = Function("public", "f", "text", language=language, body=body, definition=definition)
    assert called_functions(function) == called


def test_a_view_needs_the_functions_it_calls_without_recorded_dependencies() -> None:
    assert sql_calls(" SELECT public.c_total() AS total") == {("public", "c_total")}
