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

from ..schema.graph import Index, SchemaGraph, Table, split_qualified
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
    """``CREATE INDEX [CONCURRENTLY]``."""

    kind = "add_index"
    stage = Stage.ADD_CONSTRAINT
    default_lock = Lock.SHARE
    """The plain build's; ``concurrently`` (the default field value) takes SHARE UPDATE EXCLUSIVE."""

    @property
    def lock(self) -> Lock:
        return Lock.SHARE_UPDATE_EXCLUSIVE if self.concurrently else self.default_lock

    def statements(self) -> tuple[Statement, ...]:
        return (create_index(self.table, self.index, concurrently=self.concurrently),)

    def reverse(self) -> Operation:
        return DropIndex(self.table, self.index, self.concurrently)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_free_relation_name(graph, current.schema, self.index.name)
        require_columns(graph, current, self.index.columns)
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

    def reverse(self) -> Operation:
        return AddIndex(self.table, self.index, self.concurrently)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            current = next((i for i in table.indexes if i.name == self.index.name), None)
            if current is None:
                raise NotApplicable(f"index {self.target} does not exist")
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
