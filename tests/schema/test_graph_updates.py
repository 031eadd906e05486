"""A graph changed one table at a time (what every op's ``apply_to`` builds on) is exactly the graph
built afresh with that change: the same fields in the same canonical order, and lookups and relation
names that see the change, although the update carries the table index and each unchanged table's
cached names over instead of recomputing them."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import examples

from pytest_zanith.strategies import schema_graphs
from zanith_core.schema.graph import Column, IdentityOptions, Index, PrimaryKey, SchemaGraph, Table
from zanith_core.schema.queries import NotApplicable, relation_names, require_free_relation_name


def _fields(graph: SchemaGraph) -> list[Any]:
    """Every field, those left out of equality (dependencies, parked) included, in its stored order."""
    return [getattr(graph, f.name) for f in fields(SchemaGraph)]


def _fresh(graph: SchemaGraph, tables: tuple[Table, ...]) -> SchemaGraph:
    return SchemaGraph(**{**{f.name: getattr(graph, f.name) for f in fields(SchemaGraph)}, "tables": tables})


@settings(max_examples=examples(100), deadline=None)
@given(graph=schema_graphs(), data=st.data())
def test_with_table_and_without_table_give_the_fresh_graph(graph: SchemaGraph, data: st.DataObject) -> None:
    graph.table("public.anything")  # fill the table index, which the update carries over
    if graph.tables and data.draw(st.booleans(), label="replace an existing table"):
        table = replace(data.draw(st.sampled_from(graph.tables)), unlogged=True, columns=(Column("x", "text"),))
    else:
        schema = data.draw(st.sampled_from(graph.schemas or ("public",)), label="schema")
        table = Table(schema, data.draw(st.from_regex(r"[a-z]{1,6}", fullmatch=True), label="name"), ())
    target = table.qualified_name

    updated = graph.with_table(table)
    expected = _fresh(graph, (*(t for t in graph.tables if t.qualified_name != target), table))
    assert _fields(updated) == _fields(expected)
    assert updated.table(target) is table
    assert all(updated.table(t.qualified_name) == t for t in expected.tables)

    removed = updated.without_table(target)
    assert _fields(removed) == _fields(_fresh(graph, tuple(t for t in graph.tables if t.qualified_name != target)))
    assert removed.table(target) is None


def test_relation_names_see_every_update() -> None:
    users = Table(
        "public",
        "users",
        (Column("id", "bigint", False, identity="always"), Column("n", "integer", False, identity="by default")),
        primary_key=PrimaryKey("users_pkey", ("id",)),
    )
    graph = SchemaGraph(tables=(users,))
    assert relation_names(graph, "public") == {"users", "users_pkey", "users_id_seq", "users_n_seq"}

    indexed = graph.with_table(replace(users, indexes=(Index("users_n_idx", ("n",), columns=("n",)),)))
    assert relation_names(indexed, "public") == {"users", "users_pkey", "users_id_seq", "users_n_seq", "users_n_idx"}
    assert "users_n_idx" not in relation_names(graph, "public")  # the graph it came from is unchanged
    with pytest.raises(NotApplicable, match=r"relation public\.users_n_idx already exists"):
        require_free_relation_name(indexed, "public", "users_n_idx")

    # the table replaced again (no index, one column whose sequence is named in another schema)
    elsewhere = IdentityOptions("app.ids", 1, 1, 1, 9223372036854775807)
    moved = indexed.with_table(replace(users, columns=(replace(users.columns[0], identity_options=elsewhere),)))
    assert relation_names(moved, "public") == {"users", "users_pkey"}
    require_free_relation_name(moved, "public", "users_n_idx")


def test_with_table_replaces_by_qualified_name_even_with_dotted_names() -> None:
    """``a`` . ``b.c`` and ``a.b`` . ``c`` print the same qualified name, so one replaces the other."""
    tables = (Table("a", "b.c", ()), Table("a.b", "c", ()), Table("a", "z", ()))
    graph = SchemaGraph(schemas=("a", "a.b"), tables=tables)
    graph.table("a.z")
    for table in (Table("a", "b.c", (Column("x", "text"),)), Table("a.b", "c", (Column("y", "text"),))):
        updated = graph.with_table(table)
        assert _fields(updated) == _fields(_fresh(graph, (Table("a", "z", ()), table)))
        assert updated.table("a.b.c") is table
