"""Generate for enum types: created, dropped, values added where the declared order puts them, and
replaced when values are removed or reordered.

PostgreSQL can only add values. A removal or a new order takes ``replace_enum``: a new type under the
old name and every column converted through text, each table rewritten (scored in the risk catalog).
Views, functions and triggers over the old type are dropped before it and created again after (see
:func:`replaced_holders`); it is refused (:func:`replacement_blockers`) when a composite type, or a
check or index expression naming a value, holds the old type, since those would keep pointing at it.
A declared drop of an enum that a soft-dropped column would still use is refused too, before anything
is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..diff import Difference
from ..ops import AddEnumValue, CreateEnum, DropEnum, Operation, ReplaceEnum
from ..ops.enums import enum_domains, enum_users
from ..schema.expressions import quote_qualified
from ..schema.graph import CompositeType, Enum, SchemaGraph, Table, split_qualified
from ..schema.queries import type_users
from .steps import Step, fixed


def is_replacement(d: Difference) -> bool:
    """Whether an enum change removes or reorders values (``ADD VALUE`` cannot express it)."""
    before, after = d.before, d.after
    return d.object_type == "enum" and d.action == "changed" and [v for v in after if v in before] != list(before)


def converted(users: tuple[Table, ...], declared: SchemaGraph) -> tuple[Table, ...]:
    """The columns of ``users`` with the default the declared schema gives them (none when it drops the
    column: its old default may name a removed value)."""

    def default(table: Table, name: str) -> str | None:
        wanted = declared.table(table.qualified_name)
        column = wanted.column(name) if wanted is not None else None
        return column.default if column is not None else None

    return tuple(replace(t, columns=tuple(replace(c, default=default(t, c.name)) for c in t.columns)) for t in users)


def replaced_columns(differences: Sequence[Difference], state: SchemaGraph) -> set[tuple[str, str]]:
    """``(table, column)`` of every column a ``replace_enum`` converts (it sets their declared default)."""
    found = set()
    for d in differences:
        enum = state.enum(d.name) if is_replacement(d) else None
        if enum is not None:
            found |= {(t.qualified_name, c.name) for t in enum_users(state, enum) for c in t.columns}
    return found


def enum_steps(d: Difference, declared: SchemaGraph) -> list[Step]:
    if d.action == "added":
        return [fixed(CreateEnum(d.after))]
    if d.action == "removed":
        old: Enum = d.before
        return [fixed(DropEnum(old))]
    before: tuple[str, ...] = d.before
    after: tuple[str, ...] = d.after
    if is_replacement(d):
        new = Enum(*split_qualified(d.name), after)

        def build(graph: SchemaGraph) -> Operation:
            old = graph.enum(d.name)
            assert old is not None
            users = enum_users(graph, old)
            return ReplaceEnum(new, old, users, converted(users, declared), enum_domains(graph, old))

        return [Step(ReplaceEnum.kind, build)]
    steps: list[Step] = []
    for i, value in enumerate(after):
        if value in before:
            continue
        if i:
            steps.append(fixed(AddEnumValue(d.name, value, after=after[i - 1])))
        else:
            steps.append(fixed(AddEnumValue(d.name, value, before=before[0] if before else None)))
    return steps


def enums_kept_alive(differences: Sequence[Difference], state: SchemaGraph) -> list[str]:
    """Enums the declared schema drops while a soft-dropped column would still use them."""
    dropped_tables = {d.name for d in differences if d.object_type == "table" and d.action == "removed"}
    aside = [(d.table, d.name) for d in differences if d.object_type == "column" and d.action == "removed"]
    aside += [(t.qualified_name, c.name) for t in state.tables if t.qualified_name in dropped_tables for c in t.columns]
    kept_aside = {f"column {table}.{column}" for table, column in aside}
    problems = []
    for d in differences:
        if d.object_type != "enum" or d.action != "removed":
            continue
        users = [u[len("column ") :] for u in type_users(state, d.before.schema, d.before.name) if u in kept_aside]
        if users:
            problems.append(
                f"enum {d.name} cannot be dropped: soft-dropped {', '.join(users)} would still use it "
                "(pass --hard-drop to drop the column data too, or keep the enum in the declared schema)"
            )
    return problems


def replaced_holders(differences: Sequence[Difference], state: SchemaGraph) -> set[str]:
    """Object keys of what holds the old type of each replaced enum: the enum, the domains over it, the
    columns of either. What depends on them (views, functions, triggers) is dropped before the
    replacement and created again after it (:mod:`zanith_core.generate.definitions`)."""
    keys: set[str] = set()
    for d in differences:
        enum = state.enum(d.name) if is_replacement(d) else None
        if enum is None:
            continue
        keys |= {f"enum {d.name}"} | {f"domain {x.qualified_name}" for x in enum_domains(state, enum)}
        keys |= {f"column {t.qualified_name}.{c.name}" for t in enum_users(state, enum) for c in t.columns}
    return keys


def replacement_blockers(differences: Sequence[Difference], state: SchemaGraph) -> list[str]:
    """Enums to replace while a composite type, or a check or index expression naming the type, holds
    the old one (views, functions and triggers are recreated around the replacement)."""
    problems = []
    for d in differences:
        enum = state.enum(d.name) if is_replacement(d) else None
        if enum is None:
            continue
        blocking = {f"type {c.qualified_name}" for c in state.composite_types if _holds(c, enum)}
        text = quote_qualified(enum.schema, enum.name)
        for table in enum_users(state, enum):
            full = state.table(table.qualified_name)
            assert full is not None
            expressions = [(f"check {c.name}", c.expression) for c in full.checks]
            expressions += [(f"index {i.name}", " ".join((*i.keys, i.predicate or ""))) for i in full.indexes]
            blocking |= {f"{what} on {table.qualified_name}" for what, text_ in expressions if text in text_}
        if blocking:
            problems.append(
                f"enum {d.name} loses or reorders values, which takes a new type, but {', '.join(sorted(blocking))} "
                "would keep the old one (change or drop them in the same hand-written migration: "
                "`zanith new --name NAME --sql SQL`)"
            )
    return problems


def _holds(composite: CompositeType, enum: Enum) -> bool:
    text = quote_qualified(enum.schema, enum.name)
    return any(a.type.removesuffix("[]") == text for a in composite.attributes)
