"""Storage ops: a table's or index's storage parameters, and a table's persistence (LOGGED / UNLOGGED).

Storage parameters (``WITH (fillfactor = 70)``, ``autovacuum_*``, ``toast.*``) are part of what
``pg_dump`` prints, so they are part of the schema: ``set_storage_parameters`` changes them in place
with ``ALTER TABLE/INDEX ... RESET`` of the old ones and ``SET`` of the new ones, in their declared
order (the catalog keeps the order they were set in), under SHARE UPDATE EXCLUSIVE — nothing is
rewritten; a new fillfactor applies to pages written from then on.

``set_persistence`` is ``ALTER TABLE ... SET LOGGED`` / ``SET UNLOGGED``: PostgreSQL rewrites the table
(and its indexes and owned sequences) under ACCESS EXCLUSIVE.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from psycopg import sql

from ..schema.graph import Index, PrimaryKey, SchemaGraph, Table, UniqueConstraint
from ..schema.queries import NotApplicable, table_of
from ..sql.identifiers import qualified_identifier
from ..sql.indexes import parameter_list, parameter_names
from .altering import TableOperation
from .base import Lock, Operation, Stage, Statement
from .effects import require_recorded, update_table

_Keyed = TypeVar("_Keyed", Index, PrimaryKey, UniqueConstraint)


@dataclass(frozen=True)
class SetStorageParameters(TableOperation):
    """Set the storage parameters of ``table`` itself, or of its index ``index`` (a plain index, or the
    one behind a primary key or unique constraint, which has the constraint's name)."""

    kind = "set_storage_parameters"
    stage = Stage.ADD_CONSTRAINT
    default_lock = Lock.SHARE_UPDATE_EXCLUSIVE
    options: tuple[str, ...] = ()
    """The parameters after the op, ``name=value`` as ``reloptions`` holds them, in order."""
    previous: tuple[str, ...] = ()
    """The parameters before it (reset first, so the new ones are set in their declared order)."""
    index: str | None = None

    @property
    def target(self) -> str:
        return f"{super().target}.{self.index}" if self.index else super().target

    def statements(self) -> tuple[Statement, ...]:
        if self.index is None:
            relation = sql.SQL("ALTER TABLE {}").format(qualified_identifier(self.table))
        else:
            relation = sql.SQL("ALTER INDEX {}").format(self.schema_identifier(self.index))
        statements: list[Statement] = []
        if self.previous:
            statements.append(sql.SQL("{} RESET ({})").format(relation, parameter_names(self.previous)))
        if self.options:
            statements.append(sql.SQL("{} SET ({})").format(relation, parameter_list(self.options)))
        return tuple(statements)

    def reverse(self) -> Operation:
        return replace(self, options=self.previous, previous=self.options)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return update_table(graph, self.table, self._change)

    def _change(self, table: Table) -> Table:
        if self.index is None:
            require_recorded(f"storage parameters of {self.target}", self.previous, table.options)
            return replace(table, options=self.options)
        if table.primary_key is not None and table.primary_key.name == self.index:
            return replace(table, primary_key=self._changed(table.primary_key))
        if any(u.name == self.index for u in table.uniques):
            return replace(table, uniques=tuple(self._changed(u) if u.name == self.index else u for u in table.uniques))
        if any(i.name == self.index for i in table.indexes):
            return replace(table, indexes=tuple(self._changed(i) if i.name == self.index else i for i in table.indexes))
        raise NotApplicable(f"index {self.index} does not exist on {table.qualified_name}")

    def _changed(self, item: _Keyed) -> _Keyed:
        require_recorded(f"storage parameters of {self.target}", self.previous, item.options)
        return replace(item, options=self.options)


@dataclass(frozen=True)
class SetPersistence(TableOperation):
    """``ALTER TABLE ... SET UNLOGGED`` (``unlogged``) or ``SET LOGGED``: a rewrite of the table."""

    kind = "set_persistence"
    stage = Stage.ALTER_COLUMN_TYPE
    unlogged: bool = False

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter(sql.SQL("SET UNLOGGED" if self.unlogged else "SET LOGGED")),)

    def reverse(self) -> Operation:
        return replace(self, unlogged=not self.unlogged)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        table = table_of(graph, self.table)
        if table.unlogged == self.unlogged:
            raise NotApplicable(f"table {self.target} is already {'unlogged' if self.unlogged else 'logged'}")
        return graph.with_table(replace(table, unlogged=self.unlogged))


__all__ = ["SetPersistence", "SetStorageParameters"]
