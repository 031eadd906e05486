"""Index ops: add, drop (concurrently by default) and rename.

``CREATE INDEX CONCURRENTLY`` builds without blocking writes (SHARE UPDATE EXCLUSIVE) but cannot run in
a transaction block, so a concurrent op is non-transactional; a failed concurrent build leaves an
INVALID index, which the runner drops before retrying (:mod:`zanith_core.apply.concurrent_index`). A plain
build (``concurrently=False``, right for a table created in the same migration) blocks writes (SHARE)
and runs in the step's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..schema.graph import Index, PartitionIndex, SchemaGraph, Table, split_qualified
from ..schema.partitions import partition_indexes
from ..schema.queries import NotApplicable, require_columns, require_free_relation_name, table_of
from ..sql.indexes import create_index
from .altering import TableOperation, check_identifier
from .base import Lock, Operation, Stage, Statement
from .effects import require_recorded, update_table


@dataclass(frozen=True)
class _IndexOperation(TableOperation):
    index: Index
    concurrently: bool = True

    @property
    def target(self) -> str:
        return f"{super().target}.{self.index.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    @property
    def transactional(self) -> bool:
        return not self.concurrently

    def validate(self) -> None:
        check_identifier("index name", self.index.name)


@dataclass(frozen=True)
class AddIndex(_IndexOperation):
    """``CREATE INDEX [CONCURRENTLY]``; on a partitioned table, piece by piece.

    PostgreSQL refuses ``CONCURRENTLY`` on a partitioned table, and a plain ``CREATE INDEX`` there holds
    SHARE on every partition for the whole build. So with ``partitions`` (the table is partitioned) the
    op creates the index ``ON ONLY`` the parent (invalid, empty, instant), builds each partition's
    concurrently, and attaches each (``ALTER INDEX ... ATTACH PARTITION``, brief): the parent's index
    turns valid with the last one. Every statement is idempotent (``IF NOT EXISTS``, attaching an
    attached index does nothing), so a run stopped in between resumes.
    """

    kind = "add_index"
    stage = Stage.ADD_CONSTRAINT
    default_lock = Lock.SHARE
    """The plain build's; ``concurrently`` (the default field value) takes SHARE UPDATE EXCLUSIVE."""
    partitions: tuple[PartitionIndex, ...] | None = None
    """None for a plain table; for a partitioned one, each partition's index (parents first)."""

    @property
    def lock(self) -> Lock:
        """SHARE UPDATE EXCLUSIVE for a concurrent build; SHARE for a partitioned table's, whose ``ON ONLY``
        index on the parent (and on each sub-partitioned partition) is a plain ``CREATE INDEX``: it holds
        SHARE there for an instant (observed on the server: ``tests/ops/test_ops_observed.py``)."""
        if self.concurrently and self.partitions is None:
            return Lock.SHARE_UPDATE_EXCLUSIVE
        return self.default_lock

    @property
    def tables(self) -> tuple[str, ...]:
        return (*super().tables, *(p.partition for p in self.partitions or ()))

    @property
    def transactional(self) -> bool:
        return not self.concurrently or (self.partitions is not None and not self.partitions)

    @classmethod
    def on(cls, graph: SchemaGraph, table: str, index: Index) -> AddIndex:
        """The op adding ``index`` to the existing ``table``: piece by piece if it is partitioned."""
        if table_of(graph, table).partition_by is None:
            return cls(table, index)
        return cls(table, index, partitions=partition_indexes(graph, table, index.name, index.keys, index.include))

    def statements(self) -> tuple[Statement, ...]:
        if self.partitions is None:
            return (create_index(self.table, self.index, concurrently=self.concurrently),)
        concurrently = self.concurrently and bool(self.partitions)
        builds = [create_index(self.table, self.index, only=True, if_not_exists=concurrently)]
        for part in self.partitions:
            piece = replace(self.index, name=part.name)
            builds.append(
                create_index(
                    part.partition,
                    piece,
                    only=part.partitioned,
                    concurrently=self.concurrently and not part.partitioned,
                    if_not_exists=concurrently,
                )
            )
        attach = [
            sql.SQL("ALTER INDEX {} ATTACH PARTITION {}").format(
                sql.Identifier(*split_qualified(part.attach_to)),
                sql.Identifier(split_qualified(part.partition)[0], part.name),
            )
            for part in reversed(self.partitions)
        ]
        return (*builds, *attach)

    def reverse(self) -> Operation:
        # a partitioned index cannot be dropped concurrently (its partitions' go with it)
        return DropIndex(self.table, self.index, self.concurrently and self.partitions is None)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_free_relation_name(graph, current.schema, self.index.name)
        require_columns(graph, current, self.index.columns)
        if self.partitions is not None and current.partition_by is None:
            raise NotApplicable(f"table {current.qualified_name} is not partitioned (`partitions` must be None)")
        if self.partitions is None and self.concurrently and current.partition_by is not None:
            raise NotApplicable(
                f"PostgreSQL cannot create an index concurrently on the partitioned table {current.qualified_name}: "
                "build it with AddIndex.on(graph, table, index) (ON ONLY, then each partition) or concurrently=False"
            )
        return graph.with_table(replace(current, indexes=(*current.indexes, self.index)))


@dataclass(frozen=True)
class DropIndex(_IndexOperation):
    """``DROP INDEX [CONCURRENTLY]`` of an index that backs no constraint; records the index for the reversal."""

    kind = "drop_index"
    stage = Stage.DROP_CONSTRAINT
    default_lock = Lock.ACCESS_EXCLUSIVE
    """The plain drop's; ``concurrently`` (the default field value) takes SHARE UPDATE EXCLUSIVE."""

    @property
    def lock(self) -> Lock:
        return Lock.SHARE_UPDATE_EXCLUSIVE if self.concurrently else self.default_lock

    def statements(self) -> tuple[Statement, ...]:
        verb = "DROP INDEX CONCURRENTLY {}" if self.concurrently else "DROP INDEX {}"
        return (sql.SQL(verb).format(self.schema_identifier(self.index.name)),)

    @classmethod
    def on(cls, graph: SchemaGraph, table: str, name: str) -> DropIndex:
        """The drop of the index ``name`` of ``table`` as it is in ``graph``: a partitioned table's
        cannot be dropped concurrently (PostgreSQL refuses; its partitions' indexes go with it)."""
        current = table_of(graph, table)
        index = next((i for i in current.indexes if i.name == name), None)
        if index is None:
            raise NotApplicable(f"index {table}.{name} does not exist")
        return cls(table, index, concurrently=current.partition_by is None)

    def reverse(self) -> Operation:
        return AddIndex(self.table, self.index, self.concurrently)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            current = next((i for i in table.indexes if i.name == self.index.name), None)
            if current is None:
                raise NotApplicable(f"index {self.target} does not exist")
            if self.concurrently and table.partition_by is not None:
                raise NotApplicable(f"PostgreSQL cannot drop the partitioned index {self.target} concurrently")
            require_recorded(f"index {self.target}", self.index, current)
            return replace(table, indexes=tuple(i for i in table.indexes if i.name != self.index.name))

        return update_table(graph, self.table, change)


@dataclass(frozen=True)
class RenameIndex(TableOperation):
    """``ALTER INDEX ... RENAME TO`` (SHARE UPDATE EXCLUSIVE on PostgreSQL 12+)."""

    kind = "rename_index"
    stage = Stage.RENAME_INDEX
    default_lock = Lock.SHARE_UPDATE_EXCLUSIVE
    index: str
    new_name: str

    @property
    def target(self) -> str:
        return f"{super().target}.{self.index}"

    def validate(self) -> None:
        check_identifier("new_name", self.new_name)

    def statements(self) -> tuple[Statement, ...]:
        return (
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                self.schema_identifier(self.index), sql.Identifier(self.new_name)
            ),
        )

    def reverse(self) -> Operation:
        return RenameIndex(self.table, self.new_name, self.index)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        if not any(i.name == self.index for i in current.indexes):
            raise NotApplicable(f"index {self.target} does not exist (constraints' indexes are renamed with them)")
        require_free_relation_name(graph, split_qualified(self.table)[0], self.new_name)
        indexes = tuple(replace(i, name=self.new_name) if i.name == self.index else i for i in current.indexes)
        return graph.with_table(replace(current, indexes=indexes))


__all__ = ["AddIndex", "DropIndex", "RenameIndex"]
