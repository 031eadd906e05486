"""Column ops: add, drop, soft-drop (and restore), rename, change type, NOT NULL and defaults.

Ops that remove a column record its whole :class:`Column` (and the sequences it owns), so their
reversal can recreate it; ops that change an attribute record the old value (``old_type``,
``old_default``) for the same reason. Every recorded value is checked against the schema in
``apply_to``: a stale recording would make a reversal restore the wrong thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from psycopg import sql

from ..schema.codec import encode
from ..schema.graph import Column, Parked, SchemaGraph, Sequence, Table
from ..schema.queries import NotApplicable, column_dependents, column_of, owned_sequences, table_of
from ..sql.sequences import create_sequence, set_sequence_owner
from ..sql.tables import column_definition
from .altering import ColumnOperation, TableOperation, aside_name, check_identifier
from .base import InvalidOperation, Operation, Stage, Statement
from .effects import (
    drop_column,
    rename_column,
    require_recorded,
    to_partitions,
    update_column,
    update_table,
    with_sequences,
)


@dataclass(frozen=True)
class _WholeColumn(TableOperation):
    """An op carrying a whole column definition and the sequences it owns."""

    column: Column
    sequences: tuple[Sequence, ...] = ()
    """Sequences the column owns (serial): created before it, owned by it after."""

    @property
    def target(self) -> str:
        return f"{super().target}.{self.column.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def validate(self) -> None:
        check_identifier("column name", self.column.name)
        for seq in self.sequences:
            if seq.owned_by != self.target:
                raise InvalidOperation(f"sequence {seq.qualified_name} is not owned by {self.target}")

    def _remove_recorded(self, graph: SchemaGraph) -> SchemaGraph:
        """``graph`` after the column is dropped, checking the op recorded it as it is."""
        current = table_of(graph, self.table)
        require_recorded(f"column {self.target}", self.column, column_of(current, self.column.name))
        require_recorded(
            f"sequences owned by {self.target}", self.sequences, owned_sequences(graph, self.table, self.column.name)
        )
        return drop_column(graph, self.table, self.column.name)

    def _insert(self, graph: SchemaGraph, position: int | None) -> SchemaGraph:
        """``graph`` with the column back at ``position`` (None: appended, as ADD COLUMN does)."""
        current = table_of(graph, self.table)
        if current.column(self.column.name) is not None:
            raise NotApplicable(f"column {self.target} already exists")
        columns = list(current.columns)
        if position is None:
            position = len(columns)
        elif not 0 <= position <= len(columns):
            raise NotApplicable(f"column {self.target} cannot go back to position {position}: the table changed")
        columns.insert(position, self.column)
        return with_sequences(graph.with_table(replace(current, columns=tuple(columns))), self.sequences)


@dataclass(frozen=True)
class AddColumn(_WholeColumn):
    """``ALTER TABLE ... ADD COLUMN``; the column is appended (PostgreSQL cannot place it elsewhere)."""

    kind = "add_column"
    stage = Stage.ADD_COLUMN

    def statements(self) -> tuple[Statement, ...]:
        return (
            *(create_sequence(s) for s in self.sequences),
            self.alter(sql.SQL("ADD COLUMN {}").format(column_definition(self.column))),
            *(set_sequence_owner(s) for s in self.sequences),
        )

    def reverse(self) -> Operation:
        return DropColumn(self.table, self.column, self.sequences)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._insert(graph, None)


@dataclass(frozen=True)
class DropColumn(_WholeColumn):
    """``ALTER TABLE ... DROP COLUMN`` (never CASCADE); Postgres drops its indexes and constraints too.

    Reversible structurally: the reversal adds the column back, empty and last; the indexes and
    constraints dropped with it come back only through their own ops (generate drops them explicitly
    first, so a generated migration's reversal restores them). Prefer ``soft_drop_column``.
    """

    kind = "drop_column"
    stage = Stage.DROP_COLUMN

    @classmethod
    def from_graph(cls, graph: SchemaGraph, table: str, column: str) -> DropColumn:
        current = table_of(graph, table)
        return cls(table, column_of(current, column), owned_sequences(graph, table, column))

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter(sql.SQL("DROP COLUMN {}").format(sql.Identifier(self.column.name))),)

    def reverse(self) -> Operation:
        return AddColumn(self.table, self.column, self.sequences)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return self._remove_recorded(graph)


def _keeps_not_null(column: Column) -> bool:
    """Whether the aside column needs NOT NULL lifted (identity columns cannot, and need not: they fill
    themselves)."""
    return not column.nullable and column.identity is None


@dataclass(frozen=True)
class _AsideColumn(_WholeColumn):
    physical_name: str = field(kw_only=True)
    """The name the column has while it is soft-dropped: ``_zanith_<hash>_<name>``."""
    position: int = field(kw_only=True)
    """Index of the column among the table's columns before the soft drop."""

    def validate(self) -> None:
        super().validate()
        check_identifier("physical_name", self.physical_name)
        if not self.physical_name.startswith("_zanith_"):
            raise InvalidOperation(f"physical_name {self.physical_name!r} must start with _zanith_ to stay hidden")
        if self.position < 0:
            raise InvalidOperation(f"position must be 0 or more, not {self.position}")

    def _rename(self, old: str, new: str) -> Statement:
        return self.alter(sql.SQL("RENAME COLUMN {} TO {}").format(sql.Identifier(old), sql.Identifier(new)))


@dataclass(frozen=True)
class SoftDropColumn(_AsideColumn):
    """Rename the column aside (``_zanith_<hash>_<name>``) and lift its NOT NULL: readers see it gone,
    writers that omit it keep working, its values are kept for ``restore_column``.

    The column must have no index or constraint of its own left (generate drops them with their own,
    reversible ops first): introspection would hide them with the column, and a restore could not show
    them again. ``position`` is where the column stands among the table's columns, so its restore puts
    it back in place (it never moved physically).
    """

    kind = "soft_drop_column"
    stage = Stage.SOFT_DROP_COLUMN

    @classmethod
    def from_graph(cls, graph: SchemaGraph, table: str, column: str) -> SoftDropColumn:
        current = table_of(graph, table)
        col = column_of(current, column)
        position = current.columns.index(col)
        physical = aside_name(f"{current.qualified_name}.{column}", str(encode(col)), str(position))
        sequences = owned_sequences(graph, table, column)
        return cls(table, col, sequences, physical_name=physical, position=position)

    def statements(self) -> tuple[Statement, ...]:
        rename = self._rename(self.column.name, self.physical_name)
        if not _keeps_not_null(self.column):
            return (rename,)
        lift = self.alter(sql.SQL("ALTER COLUMN {} DROP NOT NULL").format(sql.Identifier(self.physical_name)))
        return (rename, lift)

    def reverse(self) -> Operation:
        return RestoreColumn(
            self.table, self.column, self.sequences, physical_name=self.physical_name, position=self.position
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        dependents = column_dependents(current, self.column.name)
        if dependents:
            raise NotApplicable(
                f"column {self.target} still has {', '.join(dependents)}; drop them first (with their own "
                "reversible ops): they would be hidden with the column and its restore could not show them"
            )
        if current.columns.index(column_of(current, self.column.name)) != self.position:
            raise NotApplicable(f"column {self.target} is not at the recorded position {self.position}")
        parked = Parked("column", current.qualified_name, self.column.name, self.physical_name)
        removed = self._remove_recorded(graph)
        return replace(removed, parked=(*removed.parked, parked))  # what a rebuild of the table would lose


@dataclass(frozen=True)
class RestoreColumn(_AsideColumn):
    """Rename a soft-dropped column back (and restore NOT NULL): the reversal of ``soft_drop_column``.

    SET NOT NULL scans the table; it fails if rows written while the column was aside left it NULL.
    """

    kind = "restore_column"
    stage = Stage.MIDDLE

    def statements(self) -> tuple[Statement, ...]:
        rename = self._rename(self.physical_name, self.column.name)
        if not _keeps_not_null(self.column):
            return (rename,)
        return (rename, self.alter(sql.SQL("ALTER COLUMN {} SET NOT NULL").format(sql.Identifier(self.column.name))))

    def reverse(self) -> Operation:
        return SoftDropColumn(
            self.table, self.column, self.sequences, physical_name=self.physical_name, position=self.position
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        restored = self._insert(graph, self.position)
        parked = tuple(p for p in restored.parked if not (p.kind == "column" and p.physical_name == self.physical_name))
        return replace(restored, parked=parked)


@dataclass(frozen=True)
class RenameColumn(ColumnOperation):
    """``RENAME COLUMN``: indexes, constraints, foreign keys elsewhere and owned sequences follow."""

    kind = "rename_column"
    stage = Stage.RENAME_COLUMN
    new_name: str

    def validate(self) -> None:
        check_identifier("new_name", self.new_name)

    def statements(self) -> tuple[Statement, ...]:
        return (
            self.alter(
                sql.SQL("RENAME COLUMN {} TO {}").format(sql.Identifier(self.column), sql.Identifier(self.new_name))
            ),
        )

    def reverse(self) -> Operation:
        return RenameColumn(self.table, self.new_name, self.column)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        return rename_column(graph, self.table, self.column, self.new_name)


@dataclass(frozen=True)
class AlterColumnType(ColumnOperation):
    """``ALTER COLUMN ... TYPE type [COLLATE collation] [USING expression]``.

    ``using`` converts existing values (``price::numeric``); ``reverse_using`` converts them back on
    reversal (None: PostgreSQL's assignment cast). Without a COLLATE clause PostgreSQL gives the column
    the new type's default collation, so ``collation`` (and ``old_collation`` for the reversal) must name
    a non-default one to keep it; the same type with another collation is how a collation changes.
    The default, index keys and check expressions keep their text in ``apply_to``; where Postgres
    re-prints them for the new type (a string literal's cast), generate follows with the declared text
    (``set_default``).

    With ``reset_default`` the one ``ALTER TABLE`` also drops the default before the type changes and
    sets ``default`` (None: none) after it, as PostgreSQL's documentation does for a default that cannot
    be cast to the new type automatically (``0`` for a boolean); ``old_default`` is the dropped one. One
    statement, so no insert ever meets the column without its default.
    """

    kind = "alter_column_type"
    stage = Stage.ALTER_COLUMN_TYPE
    type: str
    old_type: str
    using: str | None = None
    reverse_using: str | None = None
    collation: str | None = None
    old_collation: str | None = None
    reset_default: bool = False
    default: str | None = None
    old_default: str | None = None

    def validate(self) -> None:
        if not self.reset_default and (self.default, self.old_default) != (None, None):
            raise InvalidOperation(f"alter_column_type {self.target}: a default goes with reset_default=True")

    def statements(self) -> tuple[Statement, ...]:
        clause = sql.SQL("TYPE {}").format(sql.SQL(self.type))
        if self.collation is not None:
            clause = sql.SQL("{} COLLATE {}").format(clause, sql.SQL(self.collation))
        if self.using is not None:
            clause = sql.SQL("{} USING {}").format(clause, sql.SQL(self.using))
        if not self.reset_default:
            return (self.alter_column(clause),)
        column = sql.Identifier(self.column)
        clauses = [
            sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(column),
            sql.SQL("ALTER COLUMN {} {}").format(column, clause),
        ]
        if self.default is not None:
            clauses.append(sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(column, sql.SQL(self.default)))
        return (self.alter(sql.SQL(", ").join(clauses)),)

    def reverse(self) -> Operation:
        return AlterColumnType(
            self.table,
            self.column,
            self.old_type,
            self.type,
            self.reverse_using,
            self.using,
            self.old_collation,
            self.collation,
            self.reset_default,
            self.old_default,
            self.default,
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            column = column_of(table, self.column)
            require_recorded(f"type of {self.target}", self.old_type, column.type)
            default = column.default
            if self.reset_default:
                require_recorded(f"default of {self.target}", self.old_default, column.default)
                default = self.default
            return update_column(
                table, self.column, lambda c: replace(c, type=self.type, collation=self.collation, default=default)
            )

        graph = update_table(graph, self.table, change)
        return to_partitions(
            graph, self.table, self.column, lambda c: replace(c, type=self.type, collation=self.collation)
        )


@dataclass(frozen=True)
class SetNotNull(ColumnOperation):
    """``SET NOT NULL``: scans the table under ACCESS EXCLUSIVE unless a valid ``IS NOT NULL`` check exists."""

    kind = "set_not_null"
    stage = Stage.TIGHTEN_COLUMN

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter_column(sql.SQL("SET NOT NULL")),)

    def reverse(self) -> Operation:
        return DropNotNull(self.table, self.column)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            if not column_of(table, self.column).nullable:
                raise NotApplicable(f"column {self.target} is already NOT NULL")
            return update_column(table, self.column, lambda c: replace(c, nullable=False))

        return to_partitions(
            update_table(graph, self.table, change), self.table, self.column, lambda c: replace(c, nullable=False)
        )


@dataclass(frozen=True)
class DropNotNull(ColumnOperation):
    """``DROP NOT NULL`` (refused by Postgres on primary key and identity columns)."""

    kind = "drop_not_null"
    stage = Stage.RELAX_COLUMN

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter_column(sql.SQL("DROP NOT NULL")),)

    def reverse(self) -> Operation:
        return SetNotNull(self.table, self.column)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            column = column_of(table, self.column)
            if column.nullable:
                raise NotApplicable(f"column {self.target} is already nullable")
            if table.primary_key and self.column in table.primary_key.columns:
                raise NotApplicable(f"column {self.target} is in the primary key; drop the key first")
            if column.identity is not None:
                raise NotApplicable(f"column {self.target} is an identity column, which is always NOT NULL")
            return update_column(table, self.column, lambda c: replace(c, nullable=True))

        return to_partitions(
            update_table(graph, self.table, change), self.table, self.column, lambda c: replace(c, nullable=True)
        )


@dataclass(frozen=True)
class SetDefault(ColumnOperation):
    """``SET DEFAULT expression`` (text as Postgres prints it); ``old_default`` is what it replaces."""

    kind = "set_default"
    stage = Stage.TIGHTEN_COLUMN
    default: str
    old_default: str | None = None

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter_column(sql.SQL("SET DEFAULT {}").format(sql.SQL(self.default))),)

    def reverse(self) -> Operation:
        if self.old_default is None:
            return DropDefault(self.table, self.column, self.default)
        return SetDefault(self.table, self.column, self.old_default, self.default)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            require_recorded(f"default of {self.target}", self.old_default, column_of(table, self.column).default)
            return update_column(table, self.column, lambda c: replace(c, default=self.default))

        return to_partitions(
            update_table(graph, self.table, change), self.table, self.column, lambda c: replace(c, default=self.default)
        )


@dataclass(frozen=True)
class DropDefault(ColumnOperation):
    """``DROP DEFAULT``; ``default`` records the dropped expression for the reversal."""

    kind = "drop_default"
    stage = Stage.RELAX_COLUMN
    default: str

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter_column(sql.SQL("DROP DEFAULT")),)

    def reverse(self) -> Operation:
        return SetDefault(self.table, self.column, self.default)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            require_recorded(f"default of {self.target}", self.default, column_of(table, self.column).default)
            return update_column(table, self.column, lambda c: replace(c, default=None))

        return to_partitions(
            update_table(graph, self.table, change), self.table, self.column, lambda c: replace(c, default=None)
        )


__all__ = [
    "AddColumn",
    "AlterColumnType",
    "DropColumn",
    "DropDefault",
    "DropNotNull",
    "RenameColumn",
    "RestoreColumn",
    "SetDefault",
    "SetNotNull",
    "SoftDropColumn",
]
