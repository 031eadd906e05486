"""The piece-by-piece form of a unique constraint or primary key on an existing partitioned table.

PostgreSQL builds neither concurrently on a partitioned table, and ``ADD CONSTRAINT ... USING INDEX``
is refused there; a plain ``ADD CONSTRAINT`` builds every partition's index under ACCESS EXCLUSIVE on
the whole tree. But it *attaches* an index a partition already has when that index backs a matching
constraint. So each leaf partition gets its unique index concurrently and the constraint over it (a
brief catalog change), and the parent's ``ADD CONSTRAINT`` then only attaches them (sub-partitioned
partitions get theirs from it, named by PostgreSQL). Index names are PostgreSQL's own choice for the
partitions (:func:`zanith_core.schema.partitions.partition_indexes`), so the result is the database a
plain ``ADD CONSTRAINT`` would have given.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from ..schema.graph import PartitionIndex, Table
from ..schema.queries import NotApplicable
from ..sql.identifiers import qualified_identifier
from .base import Statement


def keyed_statements(
    table: str,
    kind: str,
    columns: Sequence[str],
    nulls_not_distinct: bool,
    partitions: Sequence[PartitionIndex],
    add_to_parent: Statement,
) -> tuple[Statement, ...]:
    """Per leaf partition a concurrent unique index and ``ADD CONSTRAINT ... <kind> USING INDEX``, then
    ``add_to_parent`` (``kind``: ``UNIQUE`` or ``PRIMARY KEY``)."""
    statements: list[Statement] = []
    for part in partitions:
        if part.partitioned:
            continue
        build = sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(part.name),
            qualified_identifier(part.partition),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
        )
        statements.append(sql.SQL("{} NULLS NOT DISTINCT").format(build) if nulls_not_distinct else build)
        statements.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + kind + " USING INDEX {}").format(
                qualified_identifier(part.partition), sql.Identifier(part.name), sql.Identifier(part.name)
            )
        )
    return (*statements, add_to_parent)


def require_partitions_known(table: Table, concurrently: bool, partitions: tuple[PartitionIndex, ...] | None) -> None:
    """A concurrent key on a partitioned table needs its partitions' pieces (PostgreSQL builds none
    concurrently there); a plain table has none."""
    if partitions is not None and table.partition_by is None:
        raise NotApplicable(f"table {table.qualified_name} is not partitioned (`partitions` must be None)")
    if partitions is None and concurrently and table.partition_by is not None:
        raise NotApplicable(
            f"PostgreSQL cannot build a key concurrently on the partitioned table {table.qualified_name}: "
            "build it with .on(graph, table, key) (each partition's, then the parent's) or concurrently=False"
        )
