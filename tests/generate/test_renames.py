"""Rename detection: candidates, hints, --yes, prompts, and the error when nothing decides."""

from __future__ import annotations

import pytest

from zanith_core.generate.renames import (
    InvalidRenameHint,
    RenameCandidate,
    RenameHint,
    RenameHints,
    RenameUndecided,
    resolve_column_renames,
    resolve_table_renames,
)
from zanith_core.schema.graph import Column, SchemaGraph, Table


def graph(*tables: Table) -> SchemaGraph:
    return SchemaGraph(tables=tables)


def users(*columns: Column) -> Table:
    return Table("public", "users", (Column("id", "integer", False), *columns))


TEXT = "text"


def columns(current: SchemaGraph, declared: SchemaGraph, *hints: str, **kwargs: object) -> tuple[RenameCandidate, ...]:
    _, column_hints = RenameHints.parse(hints).split(current)
    return resolve_column_renames(current, declared, column_hints, **kwargs)  # type: ignore[arg-type]


def tables(current: SchemaGraph, declared: SchemaGraph, *hints: str, **kwargs: object) -> tuple[RenameCandidate, ...]:
    table_hints, _ = RenameHints.parse(hints).split(current)
    return resolve_table_renames(current, declared, table_hints, **kwargs)  # type: ignore[arg-type]


# -- hints -----------------------------------------------------------------------------------------


def test_hint_parse_rejects_missing_sides() -> None:
    for bad in ("users.name", "=x", "users.name="):
        with pytest.raises(InvalidRenameHint, match=r"expected TABLE\.COLUMN=NEW_COLUMN"):
            RenameHint.parse(bad)


def test_hints_split_into_tables_and_columns_by_what_current_holds() -> None:
    current = graph(users(), Table("app", "orders"))
    hints = RenameHints.parse(["users=people", "users.name=full_name", "app.orders=purchases", "app.t.c=d"])
    table_hints, column_hints = hints.split(current)
    assert [str(h) for h in table_hints] == ["users=people", "app.orders=purchases"]
    assert [str(h) for h in column_hints] == ["users.name=full_name", "app.t.c=d"]


# -- column candidates -----------------------------------------------------------------------------


def test_unambiguous_column_rename_needs_a_decision_without_yes() -> None:
    a, b = graph(users(Column("name", TEXT))), graph(users(Column("full_name", TEXT)))
    with pytest.raises(RenameUndecided) as err:
        columns(a, b)
    message = str(err.value)
    assert "column public.users.name → full_name" in message
    assert "--rename users.name=full_name" in message
    assert "--yes" in message


def test_yes_accepts_an_unambiguous_column_rename() -> None:
    a, b = graph(users(Column("name", TEXT))), graph(users(Column("full_name", TEXT, nullable=False)))
    (found,) = columns(a, b, accept_detected=True)
    assert found == RenameCandidate("column", "public.users", "name", "full_name")
    assert found.hint == "users.name=full_name"


def test_different_type_is_not_a_candidate() -> None:
    a, b = graph(users(Column("name", TEXT))), graph(users(Column("age", "integer")))
    assert columns(a, b) == ()


def test_ambiguous_columns_are_an_error_even_with_yes_naming_every_candidate() -> None:
    a = graph(users(Column("first", TEXT), Column("last", TEXT)))
    b = graph(users(Column("given", TEXT), Column("family", TEXT)))
    with pytest.raises(RenameUndecided) as err:
        columns(a, b, accept_detected=True)
    message = str(err.value)
    for hint in ("users.first=family", "users.first=given", "users.last=family", "users.last=given"):
        assert f"--rename {hint}" in message
    assert "(ambiguous)" in message
    assert "--yes" not in message


def test_a_hint_settles_an_ambiguity_and_yes_takes_what_is_left() -> None:
    a = graph(users(Column("first", TEXT), Column("last", TEXT)))
    b = graph(users(Column("given", TEXT), Column("family", TEXT)))
    found = columns(a, b, "users.first=given", accept_detected=True)
    assert [(c.old, c.new) for c in found] == [("first", "given"), ("last", "family")]


def test_confirm_is_asked_and_a_yes_excludes_the_conflicting_candidates() -> None:
    a = graph(users(Column("first", TEXT), Column("last", TEXT)))
    b = graph(users(Column("given", TEXT), Column("family", TEXT)))
    asked: list[str] = []

    def confirm(c: RenameCandidate) -> bool:
        asked.append(f"{c.old}>{c.new}")
        return (c.old, c.new) in {("first", "given"), ("last", "family")}

    found = columns(a, b, confirm=confirm)
    assert [(c.old, c.new) for c in found] == [("first", "given"), ("last", "family")]
    # candidates come in column order; once first>given is accepted, first>family and last>given are moot
    assert asked == ["first>given", "last>family"]


def test_confirm_no_means_drop_and_add() -> None:
    a, b = graph(users(Column("name", TEXT))), graph(users(Column("full_name", TEXT)))
    assert columns(a, b, confirm=lambda c: False) == ()


def test_hint_across_types_is_kept_and_marked_incompatible() -> None:
    a = graph(users(Column("name", "character varying(100)")))
    b = graph(users(Column("full_name", TEXT)))
    (found,) = columns(a, b, "users.name=full_name")
    assert found.compatible is False


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ("users.nme=full_name", r"column public.users.nme is not removed .*removed columns: name"),
        ("users.name=fullname", r"column public.users.fullname is not added .*added columns: full_name"),
        ("users.name=public.full_name", "the new column name must be bare"),
        ("ghosts.name=x", "no table public.ghosts on both sides"),
    ],
)
def test_bad_column_hints_say_what_is_wrong(hint: str, message: str) -> None:
    a, b = graph(users(Column("name", TEXT))), graph(users(Column("full_name", TEXT)))
    with pytest.raises(InvalidRenameHint, match=message):
        columns(a, b, hint)


def test_column_hint_may_name_a_renamed_table_by_its_old_name() -> None:
    a = graph(users(Column("name", TEXT)))
    b = graph(Table("public", "people", (Column("id", "integer", False), Column("full_name", TEXT))))
    renamed = (RenameCandidate("table", None, "public.users", "public.people"),)
    moved = graph(Table("public", "people", users(Column("name", TEXT)).columns))
    _, column_hints = RenameHints.parse(["users.name=full_name"]).split(a)
    (found,) = resolve_column_renames(moved, b, column_hints, table_renames=renamed)
    assert (found.table, found.old, found.new) == ("public.people", "name", "full_name")


# -- table candidates ------------------------------------------------------------------------------


def test_table_with_the_same_columns_is_a_candidate() -> None:
    a = graph(users(Column("email", TEXT)))
    b = graph(Table("public", "accounts", users(Column("email", TEXT)).columns))
    with pytest.raises(RenameUndecided, match=r"table public.users → public.accounts \[--rename users=accounts\]"):
        tables(a, b)
    (found,) = tables(a, b, accept_detected=True)
    assert (found.old, found.new, found.compatible) == ("public.users", "public.accounts", True)


def test_tables_in_different_schemas_or_shapes_are_not_candidates() -> None:
    a = graph(users(Column("email", TEXT)))
    b = graph(
        Table("app", "users", users(Column("email", TEXT)).columns),
        Table("public", "accounts", users(Column("mail", TEXT)).columns),
    )
    assert tables(a, b) == ()


def test_table_hint_renames_even_a_different_shape() -> None:
    a = graph(users(Column("email", TEXT)))
    b = graph(Table("public", "accounts", users(Column("mail", TEXT)).columns))
    (found,) = tables(a, b, "users=accounts")
    assert (found.old, found.new, found.compatible) == ("public.users", "public.accounts", False)


def test_table_hint_to_a_table_not_added_lists_the_added_ones() -> None:
    a = graph(users())
    b = graph(Table("public", "accounts", users().columns))
    with pytest.raises(InvalidRenameHint, match=r"table public.acounts is not added .*added tables: public.accounts"):
        tables(a, b, "users=acounts")
    with pytest.raises(InvalidRenameHint, match=r"table public\.nobody is not removed"):
        tables(a, b, "nobody=accounts")
