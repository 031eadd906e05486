"""Partition ops: change a partition's bounds.

PostgreSQL has no ``ALTER ... SET BOUND``: a partition's bounds change by detaching it and attaching it
again with the new ones. Both run in the op's one transaction, so no reader ever sees the rows outside
the table; the detach holds ACCESS EXCLUSIVE on the parent (``DETACH ... CONCURRENTLY`` cannot run in a
transaction, and would leave the rows unreachable in between), and the attach scans the partition
under ACCESS EXCLUSIVE to check every row fits the new bounds (and the default partition, if there is
one, to check none of its rows belongs to them). The graph never sees the detached state, in which the
partition would hold the parent's columns, indexes and keys as its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..schema.graph import SchemaGraph, qualified, split_qualified
from ..schema.queries import NotApplicable, table_of
from ..sql.identifiers import qualified_identifier
from .altering import TableOperation
from .base import InvalidOperation, Lock, Operation, Stage, Statement
from .effects import require_recorded


@dataclass(frozen=True)
class SetPartitionBound(TableOperation):
    """``DETACH PARTITION`` then ``ATTACH PARTITION ... <bound>`` of the partition ``table``, one transaction.

    ``bound`` and ``old_bound`` are as ``pg_get_expr`` prints them (``FOR VALUES FROM (1) TO (10)``,
    ``DEFAULT``); ``old_bound`` is the reversal's.
    """

    kind = "set_partition_bound"
    stage = Stage.PARTITION_BOUND
    default_lock = Lock.ACCESS_EXCLUSIVE
    parent: str
    bound: str
    old_bound: str
    other_tables_lock = Lock.ACCESS_EXCLUSIVE
    """``DETACH PARTITION`` (without ``CONCURRENTLY``) locks the parent so."""

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.target, qualified(*split_qualified(self.parent)))

    def validate(self) -> None:
        for name, value in (("bound", self.bound), ("old_bound", self.old_bound)):
            if not (value == "DEFAULT" or value.startswith("FOR VALUES ")):
                raise InvalidOperation(f"{name} must be DEFAULT or FOR VALUES ...: {value!r}")

    def statements(self) -> tuple[Statement, ...]:
        parent, partition = qualified_identifier(self.parent), qualified_identifier(self.table)
        return (
            sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, partition),
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} {}").format(parent, partition, sql.SQL(self.bound)),
        )

    def reverse(self) -> Operation:
        return SetPartitionBound(self.table, self.parent, self.old_bound, self.bound)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        if current.partition_of != qualified(*split_qualified(self.parent)):
            raise NotApplicable(f"table {self.target} is not a partition of {self.parent}")
        require_recorded(f"bound of {self.target}", self.old_bound, current.partition_bound)
        if self.bound == "DEFAULT" and any(
            t.partition_of == current.partition_of and t.partition_bound == "DEFAULT" and t is not current
            for t in graph.tables
        ):
            raise NotApplicable(f"{self.parent} already has a default partition")
        return graph.with_table(replace(current, partition_bound=self.bound))


__all__ = ["SetPartitionBound"]
