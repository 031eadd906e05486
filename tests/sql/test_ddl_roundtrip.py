"""DDL is introspection's inverse: executing ``schema_ddl(g)`` on an empty database gives back ``g``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from judge import assert_same_schema
from support import FIXTURES, assert_schema, examples, graph_of, load

from pytest_zanith import schema_builder
from pytest_zanith.strategies import schema_diffs, schema_graphs
from zanith_core.read import introspect
from zanith_core.schema.graph import CheckConstraint, ForeignKey, Index, SchemaGraph
from zanith_core.servers import Server
from zanith_core.sql.indexes import create_index
from zanith_core.sql.script import schema_ddl
from zanith_core.sql.sequences import set_sequence_owner
from zanith_core.sql.tables import add_check, add_foreign_key, create_table

RICH_SCHEMA = FIXTURES / "rich_schema.sql"
SCHEMAS = ("public", "app")


def test_rich_schema_round_trips_through_ddl(zanith_db: Any) -> None:
    zanith_db.conn.execute(RICH_SCHEMA.read_text())
    original = introspect(zanith_db.conn, SCHEMAS)
    assert_schema(graph_of(zanith_db.server, *schema_ddl(original), schemas=SCHEMAS), original, exact=True)
    with zanith_db.server.scratch_database(prefix="zanith_ddl") as url:
        load(url, original)
        assert_same_schema(url, zanith_db.url)  # and pg_dump agrees, whatever the graph leaves out


def test_create_table_alone_recreates_a_table_with_its_constraints_and_indexes(zanith_db: Any) -> None:
    zanith_db.conn.execute(RICH_SCHEMA.read_text())
    original = introspect(zanith_db.conn, SCHEMAS)
    users = original.table("public.users")
    assert users is not None
    sequence = original.sequence("public.users_id_seq")
    assert sequence is not None
    others = replace(
        original,
        tables=tuple(t for t in original.tables if t.schema == "public" and t != users),
        views=(),
        sequences=tuple(replace(s, owned_by=None) for s in original.sequences),  # users does not exist yet
    )
    statements = (*schema_ddl(others), *create_table(users), set_sequence_owner(sequence))
    rebuilt = graph_of(zanith_db.server, *statements, schemas=SCHEMAS).table("public.users")
    assert rebuilt is not None
    assert_schema(SchemaGraph(tables=(rebuilt,)), SchemaGraph(tables=(users,)), exact=True)


def test_not_valid_constraints_are_added_not_valid(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, p int); INSERT INTO c VALUES (-1, 7)")
    fk = ForeignKey("c_p_fkey", ("p",), "public.p", ("id",), validated=False)
    check = CheckConstraint("c_id_check", "(id > 0)", validated=False, columns=("id",))
    conn.execute(add_foreign_key("public.c", fk, not_valid=True))  # the existing row would fail validation
    conn.execute(add_check("public.c", check, not_valid=True))
    c = introspect(conn).table("c")
    assert c is not None and c.foreign_keys == (fk,) and c.checks == (check,)


def test_create_index_concurrently(zanith_db: Any) -> None:
    conn = zanith_db.conn
    conn.execute('CREATE TABLE "Mixed Case" ("Email" text)')
    index = Index("mixed_email_idx", ('lower("Email")',), unique=True, columns=("Email",))
    statement = create_index("public.Mixed Case", index, concurrently=True)
    assert "CONCURRENTLY" in statement.as_string(conn)
    conn.execute(statement)  # autocommit: CONCURRENTLY refuses to run in a transaction block
    table = introspect(conn).table("public.Mixed Case")
    assert table is not None and table.indexes == (index,)


@settings(max_examples=examples(20), deadline=None)
@given(graph=schema_graphs())
def test_generated_graphs_round_trip_through_ddl(zanith_shadow: Server, graph: SchemaGraph) -> None:
    assert_schema(graph_of(zanith_shadow, *schema_ddl(graph)), graph, exact=True)


@settings(max_examples=examples(10), deadline=None)
@given(pair=schema_diffs())
def test_evolved_graphs_are_canonical_too(zanith_shadow: Server, pair: tuple[SchemaGraph, SchemaGraph]) -> None:
    _, evolved = pair
    assert_schema(graph_of(zanith_shadow, *schema_ddl(evolved)), evolved, exact=True)


def test_strategy_vocabulary_holds_no_keyword(zanith_db: Any) -> None:
    """Generated names must read as names wherever they appear in expression text."""
    words = {*schema_builder.TABLE_WORDS, *schema_builder.COLUMN_WORDS, *schema_builder.ENUM_WORDS}
    words |= {*schema_builder.LABEL_WORDS, *schema_builder.SEQUENCE_WORDS}
    rows = zanith_db.conn.execute("SELECT word FROM pg_get_keywords() WHERE word = ANY(%s)", (sorted(words),))
    assert rows.fetchall() == []


def test_a_foreign_key_to_the_tables_own_unique_constraint_is_added_after_it(zanith_db: Any) -> None:
    """Found by the generate property (a dropped table's reversal): the referenced key is a unique
    constraint, which ``create_table`` adds after ``CREATE TABLE``, so the self-reference must follow it."""
    zanith_db.conn.execute(
        "CREATE TABLE node (id int PRIMARY KEY, v int, parent int, parent_v int, UNIQUE (id, v),"
        " FOREIGN KEY (parent, parent_v) REFERENCES node (id, v))"
    )
    original = introspect(zanith_db.conn)
    node = original.table("public.node")
    assert node is not None
    assert_schema(graph_of(zanith_db.server, *create_table(node)), original, exact=True)  # FKs included
