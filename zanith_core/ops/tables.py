"""Table ops: create, drop, soft-drop (and restore), rename.

``create_table`` and the drops carry the whole :class:`Table` (and the sequences its serial columns
own), so each is the other's exact reversal. A hard drop's reversal restores the structure, not the
rows: that is what the soft drop is for — it renames the table aside (``_zanith_<hash>_<name>``, hidden
by introspection) and ``restore_table`` renames it back, data and all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from ..schema.codec import encode
from ..schema.graph import SchemaGraph, Sequence, Table, qualified, split_qualified
from ..schema.queries import (
    NotApplicable,
    absent_table,
    descendants,
    outside_references,
    owned_sequences,
    table_of,
)
from ..sql.identifiers import qualified_identifier
from ..sql.sequences import create_sequence, set_sequence_owner
from ..sql.tables import create_table
from .altering import TableOperation, aside_name, check_identifier
from .base import InvalidOperation, Lock, Operation, Stage, Statement
from .effects import rename_table, require_recorded, with_sequences, without_sequences


@dataclass(frozen=True)
class TableValueOperation(Operation):
    """An op carrying a whole table as it is: its target is the table, and it locks the table and the
    tables its foreign keys reference."""

    table: Table

    @property
    def target(self) -> str:
        return self.table.qualified_name

    @property
    def tables(self) -> tuple[str, ...]:
        refs = sorted({fk.ref_table for fk in self.table.foreign_keys} - {self.target})
        return (self.target, *refs)


@dataclass(frozen=True)
class _WholeTable(TableValueOperation):
    """An op carrying a whole table definition and the sequences its columns own."""

    default_lock = Lock.ACCESS_EXCLUSIVE
    sequences: tuple[Sequence, ...] = ()
    """Sequences owned by the table's columns (serial): created with it, dropped with it."""
    partitions: tuple[Table, ...] = ()
    """Its partitions at every level, each after its parent: ``DROP TABLE`` of a partitioned table drops
    them too, so ``drop_table`` records them for its reversal (``create_table`` creates them after it)."""

    def validate(self) -> None:
        check_identifier("table name", self.table.name)
        above = {self.target}
        for partition in self.partitions:
            if partition.partition_of not in above:
                raise InvalidOperation(
                    f"{partition.qualified_name} is not a partition of {self.target} listed after its parent"
                )
            above.add(partition.qualified_name)
        for seq in self.sequences:
            if seq.owned_by is None or seq.owned_by.rpartition(".")[0] != self.target:
                raise InvalidOperation(
                    f"sequence {seq.qualified_name} is not owned by a column of {self.target} "
                    "(only sequences the table owns belong in `sequences`)"
                )

    def _drop_recorded(self, graph: SchemaGraph) -> SchemaGraph:
        """``graph`` without the table and its sequences, checking the op recorded them as they are."""
        current = table_of(graph, self.target)
        require_recorded(f"table {self.target}", self.table, current)
        require_recorded(f"sequences owned by {self.target}", self.sequences, owned_sequences(graph, self.target))
        children = [t.qualified_name for t in graph.tables if self.target in t.inherits]
        if children:
            raise NotApplicable(f"table {self.target} has INHERITS children {', '.join(children)}; drop them first")
        referencing = outside_references(graph, self.target)
        if referencing:
            raise NotApplicable(
                f"table {self.target} is referenced by {', '.join(referencing)}; drop those foreign keys first"
            )
        return without_sequences(graph.without_table(self.target), self.sequences)

    def _add_recorded(self, graph: SchemaGraph) -> SchemaGraph:
        absent_table(graph, self.target)
        return with_sequences(graph.with_table(self.table), self.sequences)

    def _without_partitions(self, graph: SchemaGraph) -> SchemaGraph:
        """``graph`` without the recorded partitions, checking they are all the table has."""
        table_of(graph, self.target)
        require_recorded(f"partitions of {self.target}", self.partitions, descendants(graph, self.target))
        for partition in reversed(self.partitions):
            graph = graph.without_table(partition.qualified_name)
        return graph

    def _with_partitions(self, graph: SchemaGraph) -> SchemaGraph:
        for partition in self.partitions:
            absent_table(graph, partition.qualified_name)
            graph = graph.with_table(partition)
        return graph


@dataclass(frozen=True)
class CreateTable(_WholeTable):
    """``CREATE TABLE`` with its constraints and indexes (and its serial columns' sequences first)."""

    kind = "create_table"
    stage = Stage.CREATE_TABLE

    def statements(self) -> tuple[Statement, ...]:
        return (
            *(create_sequence(s) for s in self.sequences),
            *create_table(self.table),
            *(set_sequence_owner(s) for s in self.sequences),
            *(statement for p in self.partitions for statement in create_table(p)),
        )

    def reverse(self) -> Operation:
        return DropTable(self.table, self.sequences, self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._with_partitions(self._add_recorded(graph))


@dataclass(frozen=True)
class DropTable(_WholeTable):
    """``DROP TABLE`` (never CASCADE: foreign keys pointing at it are dropped by their own ops first).

    A partitioned table's partitions go with it (PostgreSQL drops them): the op records them, and
    generate drops no partition a second time. Reversible structurally: the reversal recreates the table
    and its partitions, empty. Prefer ``soft_drop_table``.
    """

    kind = "drop_table"
    stage = Stage.DROP_TABLE
    other_tables_lock = Lock.ACCESS_EXCLUSIVE
    """Its partitions are dropped, and its foreign keys' triggers on the referenced tables."""

    @property
    def tables(self) -> tuple[str, ...]:
        """The table, its partitions (dropped with it) and the tables its foreign keys reference."""
        own, *refs = super().tables
        return (own, *(p.qualified_name for p in self.partitions), *refs)

    @classmethod
    def from_graph(cls, graph: SchemaGraph, table: str) -> DropTable:
        return cls(table_of(graph, table), owned_sequences(graph, table), descendants(graph, table))

    def statements(self) -> tuple[Statement, ...]:
        return (sql.SQL("DROP TABLE {}").format(qualified_identifier(self.target)),)

    def reverse(self) -> Operation:
        return CreateTable(self.table, self.sequences, self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._drop_recorded(self._without_partitions(graph))


@dataclass(frozen=True)
class _AsideTable(_WholeTable):
    physical_name: str = field(kw_only=True)
    """The name the table has while it is soft-dropped: ``_zanith_<hash>_<name>``."""

    def validate(self) -> None:
        super().validate()
        check_identifier("physical_name", self.physical_name)
        if not self.physical_name.startswith("_zanith_"):
            raise InvalidOperation(f"physical_name {self.physical_name!r} must start with _zanith_ to stay hidden")

    @property
    def aside(self) -> str:
        return qualified(self.table.schema, self.physical_name)


@dataclass(frozen=True)
class SoftDropTable(_AsideTable):
    """Rename the table aside instead of dropping it: readers see it gone, its rows are kept.

    Foreign keys of other tables pointing at it must be dropped first (generate emits them as separate
    ops); its own foreign keys stay, so its kept rows keep their references. Its indexes and
    constraints keep their names while it is aside.
    """

    kind = "soft_drop_table"
    stage = Stage.SOFT_DROP_TABLE

    @classmethod
    def from_graph(cls, graph: SchemaGraph, table: str) -> SoftDropTable:
        current = table_of(graph, table)
        sequences = owned_sequences(graph, table)
        physical = aside_name(current.qualified_name, str(encode(current)), str(encode(sequences)))
        return cls(current, sequences, physical_name=physical)

    def statements(self) -> tuple[Statement, ...]:
        return (
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                qualified_identifier(self.target), sql.Identifier(self.physical_name)
            ),
        )

    def reverse(self) -> Operation:
        return RestoreTable(self.table, self.sequences, physical_name=self.physical_name)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._drop_recorded(graph)


@dataclass(frozen=True)
class RestoreTable(_AsideTable):
    """Rename a soft-dropped table back: the exact reversal of ``soft_drop_table``, rows included."""

    kind = "restore_table"
    stage = Stage.MIDDLE

    @property
    def tables(self) -> tuple[str, ...]:
        """The table under its soft-dropped name: the one renamed (the restored name is free before)."""
        refs = super().tables[1:]
        return (self.aside, *refs)

    def statements(self) -> tuple[Statement, ...]:
        return (
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                qualified_identifier(self.aside), sql.Identifier(self.table.name)
            ),
        )

    def reverse(self) -> Operation:
        return SoftDropTable(self.table, self.sequences, physical_name=self.physical_name)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._add_recorded(graph)


@dataclass(frozen=True)
class RenameTable(TableOperation):
    """``ALTER TABLE ... RENAME TO``: foreign keys elsewhere and owned sequences follow the new name."""

    kind = "rename_table"
    stage = Stage.RENAME_TABLE
    new_name: str
    """The new bare name (a rename never changes the schema)."""

    def validate(self) -> None:
        check_identifier("new_name", self.new_name)

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter(sql.SQL("RENAME TO {}").format(sql.Identifier(self.new_name))),)

    def reverse(self) -> Operation:
        schema, old = split_qualified(self.table)
        return RenameTable(qualified(schema, self.new_name), old)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return rename_table(graph, self.target, self.new_name)


__all__ = ["CreateTable", "DropTable", "RenameTable", "RestoreTable", "SoftDropTable"]
