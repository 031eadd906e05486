"""Generate for column order: rebuild a table whose columns the other steps leave in another order.

``ALTER TABLE`` appends, so the order the other steps reach is the current one with new columns at the
end (in their declared order) and replaced columns (identity or generation changed) moved there too.
:func:`reorder_steps` runs those steps on paper, and for each table whose order then differs from the
declared one adds a ``reorder_columns`` step (:class:`~zanith_core.ops.ReorderColumns`, a scored rebuild
that keeps the rows) and drops and re-adds the foreign keys of other tables pointing at it, which the
rebuild's ``DROP TABLE`` would refuse.

A rebuild is refused, with what to do instead, when a view, function or another table's column uses
the table's row type (``DROP TABLE`` would fail, and their shape would change), and for partitioned
tables and partitions (whose order is their parent's).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ops import DropForeignKey, Operation, ReorderColumns
from ..schema.graph import SchemaGraph
from ..schema.queries import row_type_users, table_of
from .constraints import drop_foreign_key, rebuild_add
from .steps import GenerateError, Step, run

IGNORE_HINT = "or set `ignore_column_order = true` in [tool.zanith] to accept the order PostgreSQL has"


def reorder_steps(current: SchemaGraph, state: SchemaGraph, declared: SchemaGraph, steps: Sequence[Step]) -> list[Step]:
    """The rebuilds (and foreign key round trips) that put every table in its declared column order;
    ``steps`` run from ``current``, ``state`` is the schema after the renames among them."""
    ops, reached = run(current, steps)
    dropped = {op.target for op in ops if isinstance(op, DropForeignKey)}
    out: list[Step] = []
    for table in declared.tables:
        have = reached.table(table.qualified_name)
        if have is None or [c.name for c in have.columns] == [c.name for c in table.columns]:
            continue
        name = table.qualified_name
        out.append(_rebuild(name, tuple(c.name for c in table.columns)))
        for other, fk in state.referencing(name):
            owner = other.qualified_name
            if owner == name or f"{owner}.{fk.name}" in dropped:
                continue
            out.append(drop_foreign_key(owner, fk.name))
            kept = declared.table(owner)
            if kept is not None and fk.name in {f.name for f in kept.foreign_keys}:
                out += rebuild_add(owner, "foreign_key", fk.name, declared)
    return out


def _rebuild(table: str, declared_order: tuple[str, ...]) -> Step:
    """The ``reorder_columns`` step: declared columns in their order, columns still to be dropped after
    them (a soft drop then renames them aside, rows kept); nothing when the table is in order by then."""

    def build(graph: SchemaGraph) -> Operation | None:
        have = table_of(graph, table)
        names = tuple(c.name for c in have.columns)
        order = (*(n for n in declared_order if n in names), *(n for n in names if n not in declared_order))
        if order == names:
            return None
        wanted = (
            f"table {table}: the declared column order ({', '.join(declared_order)}) is reached only by "
            "rebuilding the table"
        )
        if have.partition_by is not None or have.partition_of is not None:
            raise GenerateError(
                f"{wanted}, and zanith does not rebuild a partitioned table or a partition (its columns "
                f"are its parent's). Write the rebuild by hand with `zanith new --sql`, {IGNORE_HINT}"
            )
        aside = [p.physical_name for p in graph.parked if p.kind == "column" and p.table == table]
        if aside:
            raise GenerateError(
                f"{wanted}, and it holds soft-dropped columns ({', '.join(aside)}) a rebuild would lose. "
                "Purge or restore them first (`zanith recover`), then generate again, "
                f"{IGNORE_HINT}"
            )
        users = [u for u in row_type_users(graph, table) if _exists(graph, u)]
        if users:
            raise GenerateError(
                f"{wanted}, and {', '.join(users)} use its row type (DROP TABLE would fail, and their shape "
                "follows the order). Drop and recreate them around a rebuild written with `zanith new --sql`, "
                f"{IGNORE_HINT}"
            )
        return ReorderColumns.from_graph(graph, table, order)

    return Step("reorder_columns", build)


def _exists(graph: SchemaGraph, key: str) -> bool:
    """Whether the object a dependency key names is still in ``graph`` (the edges are read once, from
    the database, and steps may have dropped the object since)."""
    kind, identity = key.split(" ", 1)
    if kind == "view":
        return graph.view(identity) is not None
    if kind == "function":
        return any(f.identity == identity for f in graph.functions)
    if kind == "aggregate":
        return any(a.identity == identity for a in graph.aggregates)
    owner, _, column = identity.rpartition(".")
    found = graph.table(owner)
    return found is not None and found.column(column) is not None
