"""Graph queries: what a schema holds and what uses what, asked in one place.

Ops (``apply_to``), generate, the risk rules, expand/contract and the ignore rules all need the same
answers — which table, which column, which indexes involve a column, what still uses a type, which
names are taken — and each answer must match what PostgreSQL itself would say, or a plan passes what
the server refuses. Copies of these answers drifted apart before (an enum a domain still used could be
dropped on paper), so every caller asks here.

A lookup that fails raises :class:`NotApplicable`, naming the object: an op that does not fit the
schema is refused before any database sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ZanithError
from .expressions import quote_qualified
from .graph import Column, SchemaGraph, Table, qualified, split_qualified
from .graph import Sequence as SequenceDef
from .identity import effective


class NotApplicable(ZanithError):
    """An operation does not fit the schema it is applied to; the message says which object and why."""


# -- tables and columns -----------------------------------------------------------------------------


def table_of(graph: SchemaGraph, name: str) -> Table:
    table = graph.table(name)
    if table is None:
        raise NotApplicable(f"table {name} does not exist")
    return table


def column_of(table: Table, name: str) -> Column:
    column = table.column(name)
    if column is None:
        raise NotApplicable(f"column {table.qualified_name}.{name} does not exist")
    return column


def absent_table(graph: SchemaGraph, name: str) -> None:
    if graph.table(name) is not None:
        raise NotApplicable(f"table {name} already exists")


def parents(table: Table) -> tuple[str, ...]:
    """The tables ``table`` takes columns from: a partition's parent, or its ``INHERITS`` parents."""
    return (table.partition_of,) if table.partition_of is not None else table.inherits


def all_columns(graph: SchemaGraph, table: Table) -> tuple[Column, ...]:
    """Every column ``table`` has: those it inherits (its parents', recursively, first) and its own.

    The graph holds a partition's or an ``INHERITS`` child's own columns only; what PostgreSQL gives it
    from its parents is asked here, so a key or an index on a partition finds the parent's columns.
    """
    inherited: dict[str, Column] = {}
    for parent in parents(table):
        found = graph.table(parent)
        for column in all_columns(graph, found) if found is not None else ():
            inherited.setdefault(column.name, column)
    own = {c.name: c for c in table.columns}
    return (*(own.pop(name, c) for name, c in inherited.items()), *own.values())


def column_in(graph: SchemaGraph, table: Table, name: str) -> Column:
    """The column ``name`` of ``table``, its own or inherited (:func:`all_columns`)."""
    column = next((c for c in all_columns(graph, table) if c.name == name), None)
    if column is None:
        raise NotApplicable(f"column {table.qualified_name}.{name} does not exist")
    return column


def require_columns(graph: SchemaGraph, table: Table, names: tuple[str, ...]) -> None:
    """Each of ``names`` is a column of ``table``, its own or inherited."""
    for name in names:
        column_in(graph, table, name)


def heirs(graph: SchemaGraph, table: str) -> tuple[Table, ...]:
    """Every table that takes columns from ``table``: its partitions and INHERITS children, at every level."""
    target = qualified(*split_qualified(table))
    found: list[Table] = []
    for child in sorted(graph.tables, key=lambda t: t.qualified_name):
        if target in parents(child):
            found += [child, *(h for h in heirs(graph, child.qualified_name) if h not in found)]
    return tuple(dict.fromkeys(found))


def parents_first(tables: Iterable[Table]) -> list[Table]:
    """``tables`` with every parent (partitioned or ``INHERITS``) before its children, else as given."""
    by_name = {t.qualified_name: t for t in tables}

    def depth(table: Table) -> int:
        above = [depth(by_name[p]) for p in parents(table) if p in by_name]
        return 1 + max(above) if above else 0

    return sorted(by_name.values(), key=depth)


def descendants(graph: SchemaGraph, table: str) -> tuple[Table, ...]:
    """The partitions of ``table``, at every level, each after its own parent."""
    target = qualified(*split_qualified(table))
    found: list[Table] = []
    children = (t for t in graph.tables if t.partition_of == target)
    for child in sorted(children, key=lambda t: t.qualified_name):
        found += [child, *descendants(graph, child.qualified_name)]
    return tuple(found)


def owned_sequences(graph: SchemaGraph, table: str, column: str | None = None) -> tuple[SequenceDef, ...]:
    """Sequences owned by a column of ``table`` (``OWNED BY``, serial), or by ``column`` only."""
    prefix = qualified(*split_qualified(table)) + "."
    return tuple(
        s
        for s in graph.sequences
        if s.owned_by is not None
        and s.owned_by.startswith(prefix)
        and (column is None or s.owned_by == prefix + column)
    )


# -- what depends on a column ------------------------------------------------------------------------


def column_indexes(table: Table, column: str) -> tuple[str, ...]:
    """Names of the indexes involving ``column``: plain ones and those behind a primary key, unique or
    exclusion constraint (Postgres rebuilds them when the column's type or collation changes)."""
    names = [i.name for i in table.indexes if column in i.columns]
    if table.primary_key and column in table.primary_key.columns:
        names.append(table.primary_key.name)
    names += [u.name for u in table.uniques if column in u.columns]
    names += [x.name for x in table.exclusions if column in x.columns]
    return tuple(sorted(names))


def column_users(graph: SchemaGraph, table: str, column: str) -> tuple[tuple[str, str, str], ...]:
    """``(table, object type, name)`` of every index and constraint involving ``column`` — the table's
    own, and the foreign keys of any table pointing at it — with the diff's object types (``index``,
    ``primary_key``, ``unique``, ``exclusion``, ``foreign_key``, ``check``)."""
    t = table_of(graph, table)
    name = t.qualified_name
    found = [("index", i.name) for i in t.indexes if column in i.columns]
    if t.primary_key and column in t.primary_key.columns:
        found.append(("primary_key", t.primary_key.name))
    found += [("unique", u.name) for u in t.uniques if column in u.columns]
    found += [("exclusion", x.name) for x in t.exclusions if column in x.columns]
    found += [("foreign_key", fk.name) for fk in t.foreign_keys if column in fk.columns]
    found += [("check", c.name) for c in t.checks if column in c.columns]
    outside = [
        (other.qualified_name, "foreign_key", fk.name)
        for other, fk in graph.referencing(name)
        if column in fk.ref_columns and (other.qualified_name, fk.name) not in {(name, n) for _, n in found}
    ]
    return (*((name, kind, n) for kind, n in found), *outside)


def column_dependents(table: Table, column: str) -> tuple[str, ...]:
    """Names of this table's indexes and constraints that involve ``column`` (Postgres drops them with it)."""
    alone = SchemaGraph(tables=(table,))
    return tuple(sorted(n for owner, _, n in column_users(alone, table.qualified_name, column)))


def outside_references(graph: SchemaGraph, table: str) -> tuple[str, ...]:
    """Foreign keys of other tables pointing at ``table``, as ``schema.table.fk``."""
    target = qualified(*split_qualified(table))
    return tuple(f"{t.qualified_name}.{fk.name}" for t, fk in graph.referencing(target) if t.qualified_name != target)


# -- column order ------------------------------------------------------------------------------------


def order_after_appends(before: Sequence[str], after: Sequence[str]) -> tuple[str, ...]:
    """The column order ``ALTER TABLE`` alone reaches from ``before`` towards ``after``: the kept columns
    where they are, the new ones appended (in ``after``'s order). It differs from ``after`` exactly when
    only a rebuild of the table gives the declared order."""
    return (*(c for c in before if c in after), *(c for c in after if c not in before))


def row_type_users(graph: SchemaGraph, table: str) -> tuple[str, ...]:
    """What depends on ``table``'s columns or row type, outside the table itself: views (``SELECT *``
    included), functions (``RETURNS SETOF t``, a ``t`` argument), aggregates, and columns of other tables
    holding values of the row type — as dependency keys (``view s.v``, ``column s.u.c``), sorted.

    Their shape follows the table's column order, and ``DROP TABLE`` fails while any of them exists.
    """
    t = qualified(*split_qualified(table))
    own = (f"table {t}", f"column {t}.")
    users = {
        d.dependent
        for d in graph.dependencies
        if (d.referenced == own[0] or d.referenced.startswith(own[1]))
        and d.dependent.split(" ", 1)[0] in ("view", "function", "aggregate")
    }
    found = graph.table(t)
    if found is not None:
        users |= {u for u in type_users(graph, found.schema, found.name) if not u.startswith(own[1])}
    return tuple(sorted(users))


# -- what uses a type ----------------------------------------------------------------------------------


def type_users(graph: SchemaGraph, schema: str, name: str) -> tuple[str, ...]:
    """What holds values of the type ``schema.name`` (an enum, a domain, a composite type), arrays of it
    included: ``column s.t.c``, ``domain s.d`` (its base type), ``type s.c`` (an attribute). PostgreSQL
    refuses to drop the type while any of them exists."""
    text = quote_qualified(schema, name)

    def uses(type_text: str) -> bool:
        return type_text.rstrip("[]") == text

    users = [f"column {t.qualified_name}.{c.name}" for t in graph.tables for c in t.columns if uses(c.type)]
    users += [f"domain {d.qualified_name}" for d in graph.domains if uses(d.base_type)]
    users += [f"type {c.qualified_name}" for c in graph.composite_types if any(uses(a.type) for a in c.attributes)]
    return tuple(users)


def collation_users(graph: SchemaGraph, schema: str, name: str) -> tuple[str, ...]:
    """What is declared ``COLLATE schema.name``: ``column s.t.c``, ``domain s.d``, ``type s.c`` (an
    attribute). PostgreSQL refuses to drop the collation while any of them exists."""
    text = quote_qualified(schema, name)
    users = [f"column {t.qualified_name}.{c.name}" for t in graph.tables for c in t.columns if c.collation == text]
    users += [f"domain {d.qualified_name}" for d in graph.domains if d.collation == text]
    users += [
        f"type {c.qualified_name}" for c in graph.composite_types if any(a.collation == text for a in c.attributes)
    ]
    return tuple(users)


def configuration_users(graph: SchemaGraph, schema: str, name: str) -> tuple[str, ...]:
    """What names the text search configuration ``schema.name`` in an expression (``to_tsvector(
    'public.docs_search'::regconfig, body)``): ``column s.t.c`` (generated, default), ``index s.i``,
    ``view s.v``. PostgreSQL records these and refuses to drop the configuration while they exist."""
    pattern = re.compile(rf"'(?:{re.escape(schema)}\.)?{re.escape(name)}'::regconfig")

    def names(text: str | None) -> bool:
        return text is not None and pattern.search(text) is not None

    users = [
        f"column {t.qualified_name}.{c.name}" for t in graph.tables for c in t.columns
        if names(c.generated) or names(c.default)
    ]  # fmt: skip
    users += [
        f"index {t.schema}.{i.name}" for t in graph.tables for i in t.indexes
        if any(names(k) for k in i.keys) or names(i.predicate)
    ]  # fmt: skip
    users += [f"view {v.qualified_name}" for v in graph.views if names(v.definition)]
    return tuple(users)


def schema_objects(graph: SchemaGraph, schema: str) -> list[str]:
    """The objects ``graph`` holds in ``schema``, as ``kind schema.name`` (what keeps it from a drop)."""
    groups: list[tuple[str, Sequence[Any]]] = [
        ("table", graph.tables), ("view", graph.views), ("sequence", graph.sequences), ("enum", graph.enums),
        ("domain", graph.domains), ("type", graph.composite_types), ("function", graph.functions),
        ("aggregate", graph.aggregates), ("collation", graph.collations),
        ("text search dictionary", graph.text_search_dictionaries),
        ("text search configuration", graph.text_search_configurations),
    ]  # fmt: skip
    return [f"{kind} {o.schema}.{o.name}" for kind, items in groups for o in items if o.schema == schema]


# -- names ---------------------------------------------------------------------------------------------


def relation_names(graph: SchemaGraph, schema: str) -> frozenset[str]:
    """Names taken in ``schema``'s relation namespace: tables, views, sequences and every index
    (constraints with an index — primary keys, uniques, exclusions — own one of the same name)."""
    names: set[str] = set()
    for table in graph.tables:
        if table.schema != schema:
            continue
        names |= table.relation_names
        names.update(n for s, n in identity_sequences(table) if s == schema)
    names.update(v.name for v in graph.views if v.schema == schema)
    names.update(s.name for s in graph.sequences if s.schema == schema)
    return frozenset(names)


def identity_sequences(table: Table, column: str | None = None) -> tuple[tuple[str, str], ...]:
    """``(schema, name)`` of the identity sequences of ``table``'s columns (or of one column)."""
    found = []
    for c in table.identity_columns:
        if column in (None, c.name):
            options = effective(table.schema, table.name, c)
            assert options is not None  # an identity column always has a sequence
            found.append(split_qualified(options.sequence))
    return tuple(found)


def require_free_relation_name(graph: SchemaGraph, schema: str, name: str) -> None:
    if name in relation_names(graph, schema):
        raise NotApplicable(f"relation {qualified(schema, name)} already exists")


def constraint_names(table: Table) -> frozenset[str]:
    """Names of the table's constraints (unique per table)."""
    names = {fk.name for fk in table.foreign_keys} | {u.name for u in table.uniques}
    names |= {c.name for c in table.checks} | {x.name for x in table.exclusions}
    return frozenset(names | ({table.primary_key.name} if table.primary_key else set()))


def require_free_constraint_name(table: Table, name: str) -> None:
    if name in constraint_names(table):
        raise NotApplicable(f"constraint {name} already exists on {table.qualified_name}")


# -- objects by key --------------------------------------------------------------------------------------


def known_objects(graph: SchemaGraph) -> set[str]:
    """The identity (:attr:`Comment.identity` form) of every object ``graph`` holds.

    Comments, privileges and dependencies of anything else (extension members, hidden objects, a
    partition's inherited indexes) are dropped.
    """
    keys = {f"schema {s}" for s in graph.schemas}
    for table in graph.tables:
        t = table.qualified_name
        keys |= {f"table {t}", *(f"column {t}.{c.name}" for c in table.columns)}
        keys |= {f"index {table.schema}.{i.name}" for i in table.indexes}
        names = constraint_names(table)
        keys |= {f"constraint {t}.{n}" for n in names}
        keys |= {f"index {table.schema}.{n}" for n in names}
    for view in graph.views:
        kind = "materialized view" if view.materialized else "view"
        keys |= {f"{kind} {view.qualified_name}", *(f"index {view.schema}.{i.name}" for i in view.indexes)}
    keys |= {f"sequence {s.qualified_name}" for s in graph.sequences}
    keys |= {f"enum {e.qualified_name}" for e in graph.enums}
    keys |= {f"type {c.qualified_name}" for c in graph.composite_types}
    for domain in graph.domains:
        keys |= {
            f"domain {domain.qualified_name}",
            *(f"domain constraint {domain.qualified_name}.{c.name}" for c in domain.checks),
        }
    keys |= {f"{'procedure' if f.kind == 'procedure' else 'function'} {f.identity}" for f in graph.functions}
    keys |= {f"aggregate {a.identity}" for a in graph.aggregates}
    keys |= {f"trigger {t.identity}" for t in graph.triggers}
    keys |= {f"policy {p.identity}" for p in graph.policies}
    return keys


COLUMN_OWNERS = (("view", "view"), ("materialized view", "view"), ("type", "type"))
"""Kinds whose columns the graph does not model one by one: (owner kind, dependency kind)."""


def holds(known: set[str], kind: str, names: Sequence[str], arguments: str | None = None) -> bool:
    """Whether the object is among ``known`` (a view's or composite type's column: when its owner is)."""
    if object_key(kind, names, arguments) in known:
        return True
    return kind == "column" and any(object_key(owner, names[:2]) in known for owner, _ in COLUMN_OWNERS)


def object_key(kind: str, names: Sequence[str], arguments: str | None = None) -> str:
    """The :class:`~zanith_core.schema.graph.Dependency` key of an object: ``"<kind> <identity>"``."""
    args = f"({arguments})" if arguments is not None else ""
    return f"{kind} {'.'.join(names)}{args}"
