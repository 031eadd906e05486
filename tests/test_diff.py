"""Structural diff: every object kind and attribute is reported, once, with a readable line."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

import pytest

from zanith_core.diff import diff, render
from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
    View,
)

USERS = Table(
    "public",
    "users",
    columns=(
        Column("id", "bigint", nullable=False, identity="always"),
        Column("email", "character varying(100)", nullable=False),
        Column("team_id", "bigint"),
        Column("score", "integer", default="0"),
    ),
    primary_key=PrimaryKey("users_pkey", ("id",)),
    indexes=(Index("users_score_idx", ("score",), columns=("score",)),),
    foreign_keys=(ForeignKey("users_team_id_fkey", ("team_id",), "public.teams", ("id",)),),
    uniques=(UniqueConstraint("users_email_key", ("email",)),),
    checks=(CheckConstraint("users_score_check", "(score >= 0)", columns=("score",)),),
    exclusions=(ExclusionConstraint("users_excl", "EXCLUDE USING btree (email WITH =)", ("email",)),),
)
TEAMS = Table("public", "teams", (Column("id", "bigint", nullable=False),), PrimaryKey("teams_pkey", ("id",)))
BASE = SchemaGraph(
    schemas=("public",),
    extensions=(Extension("citext"),),
    enums=(Enum("public", "mood", ("happy", "sad")),),
    sequences=(Sequence("public", "counter"),),
    tables=(USERS, TEAMS),
    views=(View("public", "v", " SELECT 1;"),),
)

def mutated(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, tuple):
        return (*value, "extra")
    return "something"


def table_level_cases() -> list[tuple[str, str, Any]]:
    """(object_type, attribute, mutate-the-base-graph function) for every comparable attribute."""
    cases: list[tuple[str, str, Any]] = []
    members = [
        ("column", "columns", USERS.columns[3]),
        ("primary_key", "primary_key", USERS.primary_key),
        ("index", "indexes", USERS.indexes[0]),
        ("foreign_key", "foreign_keys", USERS.foreign_keys[0]),
        ("unique", "uniques", USERS.uniques[0]),
        ("check", "checks", USERS.checks[0]),
        ("exclusion", "exclusions", USERS.exclusions[0]),
    ]
    derived = {"index": {"columns"}, "check": {"columns"}, "exclusion": {"columns"}}
    for object_type, slot, obj in members:
        for f in dataclasses.fields(obj):
            if f.name == "name" or f.name in derived.get(object_type, set()):
                continue
            new_obj = replace(obj, **{f.name: mutated(getattr(obj, f.name))})

            def change(g: SchemaGraph, slot: str = slot, old: Any = obj, new: Any = new_obj) -> SchemaGraph:
                t = g.table("public.users")
                assert t is not None
                current = getattr(t, slot)
                value = new if not isinstance(current, tuple) else tuple(new if o == old else o for o in current)
                return g.with_table(replace(t, **{slot: value}))

            cases.append((object_type, f.name, change))
    for attr, value in [("unlogged", True), ("partition_by", "RANGE (id)")]:
        cases.append(("table", attr, lambda g, a=attr, v=value: g.with_table(replace(USERS, **{a: v}))))
    return cases


def top_level_cases() -> list[tuple[str, str, Any]]:
    cases: list[tuple[str, str, Any]] = []
    for object_type, slot in [("enum", "enums"), ("sequence", "sequences"), ("view", "views")]:
        obj = getattr(BASE, slot)[0]
        for f in dataclasses.fields(obj):
            if f.name in ("name", "schema"):
                continue
            new = replace(obj, **{f.name: mutated(getattr(obj, f.name))})
            cases.append((object_type, f.name, lambda g, s=slot, n=new: replace(g, **{s: (n,)})))
    return cases


CASES = table_level_cases() + top_level_cases()


@pytest.mark.parametrize(("object_type", "attribute", "change"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_each_attribute_change_is_reported_once(object_type: str, attribute: str, change: Any) -> None:
    after = change(BASE)
    differences = diff(BASE, after)
    assert [(d.action, d.object_type, d.attribute) for d in differences] == [("changed", object_type, attribute)]
    line = render(differences)
    assert attribute in line and "→" in line


@pytest.mark.parametrize(
    ("object_type", "change", "expected"),
    [
        ("schema", lambda g: replace(g, schemas=("public", "billing")), "+ schema billing"),
        ("extension", lambda g: replace(g, extensions=()), "- extension citext"),
        ("enum", lambda g: replace(g, enums=(*g.enums, Enum("public", "e2", ("a",)))), "+ enum public.e2 (a)"),
        ("sequence", lambda g: replace(g, sequences=()), "- sequence public.counter"),
        ("table", lambda g: g.without_table("public.teams"), "- table public.teams (1 column)"),
        ("view", lambda g: replace(g, views=()), "- view public.v"),
        (
            "column",
            lambda g: g.with_table(replace(USERS, columns=(*USERS.columns, Column("bio", "text", False)))),
            "table public.users: + column bio text NOT NULL",
        ),
        (
            "index",
            lambda g: g.with_table(replace(USERS, indexes=())),
            "table public.users: - index users_score_idx (score)",
        ),
        (
            "primary_key",
            lambda g: g.with_table(replace(USERS, primary_key=None)),
            "table public.users: - primary key users_pkey (id)",
        ),
    ],
)
def test_added_and_removed_objects(object_type: str, change: Any, expected: str) -> None:
    differences = diff(BASE, change(BASE))
    assert [d.object_type for d in differences] == [object_type]
    assert render(differences) == expected


def test_identical_graphs_have_no_difference() -> None:
    assert diff(BASE, SchemaGraph.from_json(BASE.to_json())) == ()
    assert render(()) == ""


def test_column_order_is_a_difference_of_its_own() -> None:
    shuffled = replace(USERS, columns=tuple(reversed(USERS.columns)))
    (d,) = diff(BASE, BASE.with_table(shuffled))
    assert (d.object_type, d.table, d.attribute) == ("column_order", "public.users", "order")
    assert render((d,)) == (
        "table public.users: column order (id, email, team_id, score) → (score, team_id, email, id)"
    )
    assert d.to_dict()["dependents"] == []


def test_columns_appended_at_the_end_are_no_order_difference() -> None:
    extra = replace(USERS, columns=(*USERS.columns, replace(USERS.columns[-1], name="zzz")))
    assert [d.object_type for d in diff(BASE, BASE.with_table(extra))] == ["column"]
    middle = replace(USERS, columns=(USERS.columns[0], replace(USERS.columns[-1], name="aaa"), *USERS.columns[1:]))
    assert [d.object_type for d in diff(BASE, BASE.with_table(middle))] == ["column", "column_order"]


def test_type_change_renders_like_a_reviewer_reads_it() -> None:
    wider = replace(USERS, columns=(USERS.columns[0], replace(USERS.columns[1], type="text"), *USERS.columns[2:]))
    assert render(diff(BASE, BASE.with_table(wider))) == (
        "table public.users: column email: type character varying(100) → text"
    )


def test_differences_serialise_to_json() -> None:
    (d,) = diff(BASE, BASE.without_table("public.teams"))
    data = d.to_dict()
    assert data["action"] == "removed" and data["before"]["name"] == "teams"
    assert data["text"] == "- table public.teams (1 column)"
