"""Evolutions for :func:`pytest_zanith.strategies.schema_diffs`: the changes a release makes to a schema.

Each change edits a :class:`~pytest_zanith.schema_builder.Builder` the way PostgreSQL would apply it:
dropping a column drops the indexes and constraints on it and the sequence it owns, renaming one
renames it in every expression, key and reference. Not public API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from zanith_core.ops.effects import rename_column
from zanith_core.schema.expressions import mentions_column
from zanith_core.schema.graph import Column, SchemaGraph, Table

from .schema_builder import (
    LABELS,
    TABLE_NAMES,
    WIDENINGS,
    Builder,
    add_check,
    add_foreign_key,
    add_index,
    add_unique,
    column_name,
    graphs,
    new_table,
    pick,
    plain_column,
    table_name_free,
    unused,
)


def _rename_column(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    """The rename as ``RENAME COLUMN`` does it (the op's own graph edit; the database checks it)."""
    t = b.table(table_q)
    old = pick(draw, t.columns).name
    new = column_name(draw, (c.name for c in t.columns))
    renamed = rename_column(b.graph(), table_q, old, new)
    b.tables, b.sequences = list(renamed.tables), list(renamed.sequences)


def _referenced_columns(b: Builder, table_q: str) -> set[str]:
    return {c for t in b.tables for f in t.foreign_keys if f.ref_table == table_q for c in f.ref_columns}


def _generation_sources(t: Table) -> set[str]:
    """Columns some stored generated column is computed from."""
    return {c.name for g in t.columns if g.generated for c in t.columns if mentions_column(g.generated, c.name)}


def _drop_column(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    """Drop a column with everything Postgres drops along with it (indexes, constraints, its sequence)."""
    t = b.table(table_q)
    pinned = set(t.primary_key.columns if t.primary_key else ()) | _referenced_columns(b, table_q)
    pinned |= _generation_sources(t)
    candidates = [c for c in t.columns if c.name not in pinned]
    if len(t.columns) < 2 or not candidates:
        return
    name = pick(draw, candidates).name
    b.put(
        replace(
            t,
            columns=tuple(c for c in t.columns if c.name != name),
            indexes=tuple(i for i in t.indexes if name not in i.columns),
            foreign_keys=tuple(f for f in t.foreign_keys if name not in f.columns),
            uniques=tuple(u for u in t.uniques if name not in u.columns),
            checks=tuple(c for c in t.checks if name not in c.columns),
            exclusions=tuple(x for x in t.exclusions if name not in x.columns),
        )
    )
    b.sequences = [s for s in b.sequences if s.owned_by != f"{table_q}.{name}"]


def _in_use(t: Table, name: str, b: Builder) -> bool:
    """Whether anything but the column itself mentions it (then its type and text must stay)."""
    groups: list[Iterable[str]] = [
        t.primary_key.columns if t.primary_key else (),
        *(i.columns for i in t.indexes),
        *(f.columns for f in t.foreign_keys),
        *(u.columns for u in t.uniques),
        *(c.columns for c in t.checks),
        *(x.columns for x in t.exclusions),
        _generation_sources(t),
        _referenced_columns(b, t.qualified_name),
    ]
    return any(name in g for g in groups)


def _plain(c: Column) -> bool:
    return c.identity is None and c.generated is None and not (c.default or "").startswith("nextval(")


def _retype_column(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    candidates = [
        c for c in t.columns if c.type in WIDENINGS and c.default is None and _plain(c) and not _in_use(t, c.name, b)
    ]
    if not candidates:
        return
    col = pick(draw, candidates)
    new = replace(col, type=pick(draw, WIDENINGS[col.type]))
    b.put(replace(t, columns=tuple(new if c.name == col.name else c for c in t.columns)))


def _change_nullability(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    pk = set(t.primary_key.columns if t.primary_key else ())
    candidates = [c for c in t.columns if c.name not in pk and _plain(c)]
    if not candidates:
        return
    col = pick(draw, candidates)
    new = replace(col, nullable=not col.nullable)
    b.put(replace(t, columns=tuple(new if c.name == col.name else c for c in t.columns)))


def _change_default(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    kinds = b.kinds()
    candidates = [c for c in t.columns if _plain(c) and c.type in kinds]
    if not candidates:
        return
    col = pick(draw, candidates)
    options = [d for d in kinds[col.type].defaults if d != col.default]
    default = pick(draw, options) if options and (col.default is None or draw(st.booleans())) else None
    new = replace(col, default=default)
    b.put(replace(t, columns=tuple(new if c.name == col.name else c for c in t.columns)))


def _add_column(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    col = plain_column(draw, b, column_name(draw, (c.name for c in t.columns)), allow_not_null_without_default=False)
    b.put(replace(t, columns=(*t.columns, col)))


def _drop_constraint_or_index(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    referenced = _referenced_columns(b, table_q)
    groups = {
        "indexes": tuple(i for i in t.indexes if not (i.unique and set(i.columns) <= referenced)),
        "checks": t.checks,
        "foreign_keys": t.foreign_keys,
        "uniques": tuple(u for u in t.uniques if not set(u.columns) <= referenced),  # an FK may rely on it
    }
    choices = [(field, item) for field, items in groups.items() for item in items]
    if not choices:
        return
    field, item = pick(draw, choices)
    change: dict[str, Any] = {field: tuple(x for x in getattr(t, field) if x != item)}
    b.put(replace(t, **change))


def _drop_table(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    if len(b.tables) < 2:
        return
    b.tables = [t for t in b.tables if t.qualified_name != table_q]
    for other in list(b.tables):
        b.put(replace(other, foreign_keys=tuple(f for f in other.foreign_keys if f.ref_table != table_q)))
    b.sequences = [s for s in b.sequences if not (s.owned_by or "").startswith(table_q + ".")]


def _rename_table(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    new = unused(draw, TABLE_NAMES, lambda n: table_name_free(b.taken, n))
    b.taken.add(new)
    renamed = replace(t, name=new)
    new_q = renamed.qualified_name
    b.tables = [renamed if x.qualified_name == table_q else x for x in b.tables]
    for other in list(b.tables):
        fks = tuple(replace(f, ref_table=new_q) if f.ref_table == table_q else f for f in other.foreign_keys)
        b.put(replace(other, foreign_keys=fks))
    b.sequences = [
        replace(s, owned_by=new_q + s.owned_by[len(table_q) :])
        if s.owned_by and s.owned_by.startswith(table_q + ".")
        else s
        for s in b.sequences
    ]


def _append_enum_value(draw: st.DrawFn, b: Builder) -> None:
    if not b.enums:
        return
    enum = pick(draw, b.enums)
    label = unused(draw, LABELS, lambda v: v not in enum.values)
    b.enums = [replace(e, values=(*e.values, label)) if e == enum else e for e in b.enums]


_TABLE_CHANGES: tuple[Callable[[st.DrawFn, Builder, str], None], ...] = (
    _add_column,
    _drop_column,
    _rename_column,
    _retype_column,
    _change_nullability,
    _change_default,
    add_index,
    add_check,
    add_unique,
    add_foreign_key,
    _drop_constraint_or_index,
    _drop_table,
    _rename_table,
)


#: Changes to which columns a table has; at most one per table in an evolution (see :func:`diffs`).
_COLUMN_IDENTITY_CHANGES = frozenset({_add_column, _drop_column, _rename_column, add_foreign_key})
#: Changes to which tables exist; at most one per evolution.
_TABLE_IDENTITY_CHANGES = frozenset({_drop_table, _rename_table})


@st.composite
def diffs(
    draw: st.DrawFn, max_tables: int, max_columns: int, nulls_not_distinct: bool
) -> tuple[SchemaGraph, SchemaGraph]:
    """One to four changes, each evolution unambiguous for a tool that matches objects by name and
    shape: at most one column added, dropped or renamed per table, at most one table added, dropped
    or renamed, and no name freed by a drop or rename is taken again."""
    a = draw(graphs(max_tables, max_columns, nulls_not_distinct))
    b = Builder.of(a, nulls_not_distinct)
    columns_changed: set[str] = set()
    tables_changed = False
    for _ in range(draw(st.integers(1, 4))):
        change = draw(st.integers(0, len(_TABLE_CHANGES) + 1))
        if change == len(_TABLE_CHANGES):
            if not tables_changed:
                new_table(draw, b, max_columns)
                tables_changed = True
        elif change == len(_TABLE_CHANGES) + 1:
            _append_enum_value(draw, b)
        else:
            table = pick(draw, b.tables).qualified_name
            make = _TABLE_CHANGES[change]
            if make in _COLUMN_IDENTITY_CHANGES:
                if table in columns_changed:
                    continue
                columns_changed.add(table)
            if make in _TABLE_IDENTITY_CHANGES:
                if tables_changed or table in columns_changed:
                    continue
                tables_changed = True
            make(draw, b, table)
    return a, b.graph()
