"""How ops change a SchemaGraph: the edits several op kinds share.

PostgreSQL does more than a statement says. Renaming a column renames it in every index, constraint,
foreign key (in this table and in the tables pointing at it), generated column and owned sequence;
dropping a column drops the indexes and constraints involving it; introspection hides what a soft drop
renamed aside. These helpers do the same to the graph, so that every op's ``apply_to`` tells the truth
— the op tests execute each op on a real server and hold ``apply_to`` to the introspected result.

An op that does not fit the graph (its table is missing, the name it creates is taken, Postgres would
refuse it) raises :class:`~zanith_core.schema.queries.NotApplicable` naming the object and what to do,
so a plan fails before a database sees it; the lookups behind those checks are graph queries
(:mod:`zanith_core.schema.queries`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..schema.expressions import mentions_column, rename_identifier
from ..schema.graph import Column, SchemaGraph, Sequence, Table, qualified
from ..schema.identity import pinned, stored
from ..schema.queries import (
    NotApplicable,
    absent_table,
    all_columns,
    column_of,
    descendants,
    heirs,
    owned_sequences,
    table_of,
)


def update_table(graph: SchemaGraph, name: str, change: Callable[[Table], Table]) -> SchemaGraph:
    """``graph`` with the table called ``name`` replaced by ``change(table)``."""
    return graph.with_table(change(table_of(graph, name)))


def update_column(table: Table, name: str, change: Callable[[Column], Column]) -> Table:
    column_of(table, name)
    return replace(table, columns=tuple(change(c) if c.name == name else c for c in table.columns))


def to_partitions(
    graph: SchemaGraph, table: str, column: str, change: Callable[[Column], Column | None]
) -> SchemaGraph:
    """``graph`` with a change of ``table``'s ``column`` carried to its partitions, as PostgreSQL does.

    A partition holds a column only where it overrides its parent's default or NOT NULL; ``change`` turns
    that override into the new one (None: the column is gone). An override left equal to its parent's
    column is no override any more: the partition takes the column from its parent again.
    """
    for partition in descendants(graph, table):
        own = partition.column(column)
        if own is None:
            continue
        changed = change(own)
        if changed is not None and partition.partition_of is not None:
            parent = next(
                c for c in all_columns(graph, table_of(graph, partition.partition_of)) if c.name == changed.name
            )
            if (changed.default, changed.nullable) == (parent.default, parent.nullable):
                changed = None
        kept = (changed if c.name == column else c for c in partition.columns)
        graph = graph.with_table(replace(partition, columns=tuple(c for c in kept if c is not None)))
    return graph


def without_sequences(graph: SchemaGraph, sequences: tuple[Sequence, ...]) -> SchemaGraph:
    return replace(graph, sequences=tuple(s for s in graph.sequences if s not in sequences))


def with_sequences(graph: SchemaGraph, sequences: tuple[Sequence, ...]) -> SchemaGraph:
    names = {s.qualified_name for s in sequences}
    return replace(graph, sequences=(*(s for s in graph.sequences if s.qualified_name not in names), *sequences))


# -- what goes with a column ----------------------------------------------------------------------------


def without_column_dependents(table: Table, column: str) -> Table:
    """``table`` without the indexes and constraints that involve ``column``."""
    pk = table.primary_key
    return replace(
        table,
        primary_key=None if pk and column in pk.columns else pk,
        indexes=tuple(i for i in table.indexes if column not in i.columns),
        foreign_keys=tuple(fk for fk in table.foreign_keys if column not in fk.columns),
        uniques=tuple(u for u in table.uniques if column not in u.columns),
        checks=tuple(c for c in table.checks if column not in c.columns),
        exclusions=tuple(x for x in table.exclusions if column not in x.columns),
    )


def drop_column(graph: SchemaGraph, table: str, column: str) -> SchemaGraph:
    """``graph`` after ``ALTER TABLE ... DROP COLUMN`` (without CASCADE), or NotApplicable as Postgres would.

    Postgres drops the column's indexes and table constraints (multi-column ones too) and the sequences
    it owns; it refuses while a foreign key elsewhere or a generated column depends on it.
    """
    current = table_of(graph, table)
    column_of(current, column)
    name = current.qualified_name
    blockers = tuple(
        f"{t.qualified_name}.{fk.name}" for t, fk in graph.referencing(name) if column in fk.ref_columns
    ) + tuple(c.name for c in current.columns if c.generated is not None and mentions_column(c.generated, column))
    if blockers:
        raise NotApplicable(f"column {name}.{column} is used by {', '.join(blockers)}; drop those first")
    changed = without_column_dependents(current, column)
    changed = replace(changed, columns=tuple(c for c in changed.columns if c.name != column))
    graph = to_partitions(graph.with_table(changed), name, column, lambda _: None)
    return without_sequences(graph, owned_sequences(graph, table, column))


# -- renames ---------------------------------------------------------------------------------------


def rename_column(graph: SchemaGraph, table: str, old: str, new: str) -> SchemaGraph:
    """``graph`` after ``RENAME COLUMN old TO new``: the name changes wherever Postgres would show it."""
    current = table_of(graph, table)
    column_of(current, old)
    if current.column(new) is not None:
        raise NotApplicable(f"column {current.qualified_name}.{new} already exists")
    name = current.qualified_name
    # PostgreSQL renames the column in every partition and INHERITS child too, and so in their own
    # indexes and constraints
    for table_ in (current, *heirs(graph, name)):
        graph = graph.with_table(_renamed_in(table_, old, new))
    graph = replace(graph, tables=tuple(_rename_referenced_column(t, name, old, new) for t in graph.tables))
    owner, new_owner = f"{name}.{old}", f"{name}.{new}"
    graph = replace(
        graph,
        sequences=tuple(replace(s, owned_by=new_owner) if s.owned_by == owner else s for s in graph.sequences),
    )
    return _follow_rename(graph, (current.schema, current.name, old), (current.schema, current.name, new))


def _renamed_in(current: Table, old: str, new: str) -> Table:
    """``current`` with its column ``old`` (if it holds it) called ``new`` wherever it shows."""

    def names(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if n == old else n for n in items)

    def expr(text: str) -> str:
        return rename_identifier(text, old, new)

    def opt_expr(text: str | None) -> str | None:
        return None if text is None else expr(text)

    def column(c: Column) -> Column:
        if c.name != old:
            return replace(c, generated=opt_expr(c.generated))
        renamed = replace(pinned(current.schema, current.name, c), name=new)  # the sequence keeps its name
        return stored(current.schema, current.name, renamed, renamed.identity_options)

    pk = current.primary_key
    return replace(
        current,
        columns=tuple(column(c) for c in current.columns),
        primary_key=replace(pk, columns=names(pk.columns)) if pk else None,
        indexes=tuple(
            replace(
                i,
                keys=tuple(expr(k) for k in i.keys),
                predicate=opt_expr(i.predicate),
                include=names(i.include),
                columns=tuple(sorted(names(i.columns))),
            )
            for i in current.indexes
        ),
        foreign_keys=tuple(replace(fk, columns=names(fk.columns)) for fk in current.foreign_keys),
        uniques=tuple(replace(u, columns=names(u.columns)) for u in current.uniques),
        checks=tuple(
            replace(c, expression=expr(c.expression), columns=tuple(sorted(names(c.columns)))) for c in current.checks
        ),
        exclusions=tuple(
            replace(x, definition=expr(x.definition), columns=tuple(sorted(names(x.columns))))
            for x in current.exclusions
        ),
        partition_by=opt_expr(current.partition_by),
    )


def _rename_referenced_column(table: Table, target: str, old: str, new: str) -> Table:
    if not any(fk.ref_table == target and old in fk.ref_columns for fk in table.foreign_keys):
        return table
    return replace(
        table,
        foreign_keys=tuple(
            replace(fk, ref_columns=tuple(new if c == old else c for c in fk.ref_columns))
            if fk.ref_table == target
            else fk
            for fk in table.foreign_keys
        ),
    )


def rename_table(graph: SchemaGraph, table: str, new_name: str) -> SchemaGraph:
    """``graph`` after ``ALTER TABLE ... RENAME TO new_name``: references and owned sequences follow."""
    current = table_of(graph, table)
    old = current.qualified_name
    new = qualified(current.schema, new_name)
    absent_table(graph, new)
    columns = tuple(  # identity sequences keep their names
        stored(current.schema, new_name, p, p.identity_options)
        for p in (pinned(current.schema, current.name, c) for c in current.columns)
    )
    graph = graph.without_table(old).with_table(replace(current, name=new_name, columns=columns))

    def repoint(t: Table) -> Table:
        if not any(fk.ref_table == old for fk in t.foreign_keys) and t.partition_of != old and old not in t.inherits:
            return t
        return replace(
            t,
            foreign_keys=tuple(replace(fk, ref_table=new) if fk.ref_table == old else fk for fk in t.foreign_keys),
            partition_of=new if t.partition_of == old else t.partition_of,
            inherits=tuple(new if p == old else p for p in t.inherits),
        )

    prefix = old + "."
    graph = replace(
        graph,
        tables=tuple(repoint(t) for t in graph.tables),
        sequences=tuple(
            replace(s, owned_by=new + "." + s.owned_by[len(prefix) :])
            if s.owned_by is not None and s.owned_by.startswith(prefix)
            else s
            for s in graph.sequences
        ),
        triggers=tuple(replace(t, table=new) if t.table == old else t for t in graph.triggers),
        policies=tuple(replace(p, table=new) if p.table == old else p for p in graph.policies),
    )
    return _follow_rename(graph, (current.schema, current.name), (current.schema, new_name))


def _follow_rename(graph: SchemaGraph, old: tuple[str, ...], new: tuple[str, ...]) -> SchemaGraph:
    """Comments and grants follow a renamed table or column (Postgres keeps them by oid), and so do
    the ``UPDATE OF`` columns of its triggers. Definitions Postgres prints again with the new name
    (a trigger's, a view's, a policy's expressions) keep the old text: the diff then replaces them."""

    def path(names: tuple[str, ...]) -> tuple[str, ...]:
        return new + names[len(old) :] if names[: len(old)] == old else names

    graph = replace(
        graph,
        comments=tuple(replace(c, names=path(c.names)) for c in graph.comments),
        privileges=tuple(replace(p, names=path(p.names)) for p in graph.privileges),
    )
    if len(old) != 3:
        return graph
    table, column, renamed = qualified(*old[:2]), old[2], new[2]
    return replace(
        graph,
        triggers=tuple(
            replace(t, columns=tuple(renamed if c == column else c for c in t.columns)) if t.table == table else t
            for t in graph.triggers
        ),
    )


# -- recorded definitions ------------------------------------------------------------------------------


def require_recorded(what: str, recorded: object, current: object) -> None:
    """An op that records a definition (to recreate it on reversal) must record the current one."""
    if recorded != current:
        raise NotApplicable(
            f"{what} is recorded in the operation as {recorded!r} but the schema has {current!r}; "
            "regenerate the migration (or correct the recorded definition) so its reversal restores it"
        )
