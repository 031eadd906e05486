"""Generate for columns: added, dropped (soft unless ``hard_drop``), retyped, replaced, defaults, NOT NULL.

A type or collation change is one ``alter_column_type`` built against the column as it then is. A column
whose generation expression changes is dropped and added again under its name (no ALTER op changes it;
an identity changes in place, :mod:`.identity`); :func:`zanith_core.generate.tables.table_steps`
rebuilds what involves it around that.
A generated column is added after the plain columns of its stage, which it may be computed from.
"""

from __future__ import annotations

from typing import Any

from ..diff import Difference
from ..ops import (
    AddColumn,
    AlterColumnType,
    DropColumn,
    DropDefault,
    DropNotNull,
    Operation,
    SetDefault,
    SetNotNull,
    SoftDropColumn,
)
from ..schema.expressions import quote_ident
from ..schema.graph import Column, SchemaGraph, Table, split_qualified
from ..schema.queries import column_of, identity_sequences, owned_sequences, relation_names, table_of
from .steps import Step, fixed

REPLACING = ("generated",)
"""Column attributes no ALTER op changes: the column is dropped and added again under its name."""


RETYPING = ("type", "collation")
"""Column attributes one ``alter_column_type`` changes together (a new type resets the collation)."""


def retype(table: str, column: str, declared: SchemaGraph) -> Step:
    """The type change (and collation change) of one column, from the schema as the steps before leave it.

    A column with a default loses it and gets the declared one back within the same statement
    (``reset_default``): Postgres refuses a type change whose default it cannot cast automatically."""
    wanted = column_of(table_of(declared, table), column)

    def build(graph: SchemaGraph) -> Operation:
        have = column_of(table_of(graph, table), column)
        if have.type == wanted.type:  # a collation change: the values stay as they are
            return AlterColumnType(
                table, column, wanted.type, have.type, None, None, wanted.collation, have.collation
            )
        using = conversion(column, have.type, wanted.type, graph, declared)
        reverse_using = conversion(column, wanted.type, have.type, declared, graph)
        reset = have.default is not None
        return AlterColumnType(
            table,
            column,
            wanted.type,
            have.type,
            using,
            reverse_using,
            wanted.collation,
            have.collation,
            reset,
            wanted.default if reset else None,
            have.default,
        )

    return Step("alter_column_type", build)


def conversion(column: str, old_type: str, new_type: str, old: SchemaGraph, new: SchemaGraph) -> str:
    """``USING`` converting a value of ``old_type`` (in ``old``) to ``new_type`` (in ``new``).

    Between an enum and another type (another enum, text, ...) there is no cast but through text:
    ``col::text::new_type``, for arrays ``col::text[]::new_type[]``."""
    ident = quote_ident(column)
    old_base, old_array = _element(old_type)
    new_base, new_array = _element(new_type)
    if old_array == new_array and (old.enum(old_base) is not None or new.enum(new_base) is not None):
        return f"{ident}::text{'[]' if old_array else ''}::{new_type}"
    return f"{ident}::{new_type}"


def enum_conversion(old_type: str, new_type: str, old: SchemaGraph, new: SchemaGraph) -> bool:
    """Whether :func:`conversion` goes through text (no cast check needed: every enum label is text)."""
    return conversion("c", old_type, new_type, old, new) != f"c::{new_type}"


def _element(type_: str) -> tuple[str, bool]:
    """``(element type, is an array)`` of a type text (``public.mood[]`` → ``("public.mood", True)``)."""
    return (type_[:-2], True) if type_.endswith("[]") else (type_, False)


def add_column(table: str, column: Column, declared: SchemaGraph) -> Step:
    """``add_column`` of the declared column; a generated column after the plain columns of its stage,
    which it may be computed from (it cannot be computed from another generated column)."""
    op = AddColumn(table, column, owned_sequences(declared, table, column.name))
    return fixed(op, last_in_stage=column.generated is not None)


def replace_column(table: str, column: str, declared: SchemaGraph, hard: bool) -> list[Step]:
    """Drop ``column`` just before the adds and add the declared one (what involves it is rebuilt)."""
    drop = DropColumn if hard else SoftDropColumn
    new = table_of(declared, table).column(column)
    assert new is not None
    return [
        Step(drop.kind, lambda g: drop.from_graph(g, table, column), ahead_of="add_column"),
        add_column(table, new, declared),
    ]


def column_steps(d: Difference, state: SchemaGraph, declared: SchemaGraph, hard: bool) -> list[Step]:
    table = d.table
    assert table is not None
    column = d.name
    if d.action == "added":
        return [add_column(table, d.after, declared)]
    if d.action == "removed":
        if hard:
            # a sequence name the declared schema gives another column must be free before that column is added
            ahead = "add_column" if reused_sequence_names(table, d.before, state, declared) else None
            return [Step("drop_column", lambda g: DropColumn.from_graph(g, table, column), ahead_of=ahead)]
        return [Step("soft_drop_column", lambda g: SoftDropColumn.from_graph(g, table, column))]
    if d.attribute == "nullable":
        return [fixed(DropNotNull(table, column) if d.after else SetNotNull(table, column))]
    if d.after is None:
        return [Step("drop_default", lambda g: DropDefault(table, column, default_of(g, table, column)))]
    default: str = d.after
    return [Step("set_default", lambda g: SetDefault(table, column, default, default_of(g, table, column)))]


def reused_sequence_names(table: str, old: Column, state: SchemaGraph, declared: SchemaGraph) -> frozenset[str]:
    """Names of ``old``'s sequences — its identity sequence, a serial's owned one — that the declared
    schema uses again (another column's): dropped with the column, they must be gone before it is added."""
    schema, name = split_qualified(table)
    held = {n for s, n in identity_sequences(Table(schema, name, (old,))) if s == schema}
    held |= {s.name for s in owned_sequences(state, table, old.name) if s.schema == schema}
    return frozenset(held) & relation_names(declared, schema)


def default_of(graph: SchemaGraph, table: str, column: str) -> Any:
    return column_of(table_of(graph, table), column).default
