"""Constraint ops: primary keys, foreign keys, uniques, checks, exclusion constraints, and validating
NOT VALID ones.

The safe forms are the defaults, as the reference on PostgreSQL locks recommends:

- foreign keys and checks are added ``NOT VALID`` (a brief lock; new rows are checked at once) and
  ``validate_constraint`` checks the existing rows later under SHARE UPDATE EXCLUSIVE, which blocks
  neither reads nor writes. The graph shows ``validated=False`` in between.
- uniques and primary keys are two-phase in one op: ``CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS``
  then ``ADD CONSTRAINT ... USING INDEX`` (a catalog change). The op is non-transactional, each
  statement commits on its own; if it stops in between, the runner drops an INVALID index left by the
  build and the re-run skips a finished one (``IF NOT EXISTS``) and attaches it.
  ``concurrently=False`` gives the plain one-statement form (right for a table created in the same
  migration).

Exclusion constraints have no safe form: ``ADD CONSTRAINT ... EXCLUDE`` builds the index and checks
every existing row under ACCESS EXCLUSIVE (PostgreSQL can neither build it concurrently nor attach an
index to one), which the risk catalog scores as such.

``validate_constraint`` is its own reversal: PostgreSQL cannot mark a constraint NOT VALID again, a
validated constraint only promises more, and reversing the ``add_*`` that preceded it drops the
constraint anyway. So its reversal re-runs the (instant) validation and the graph keeps ``validated=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from psycopg import sql

from ..schema.graph import (
    CheckConstraint,
    ExclusionConstraint,
    ForeignKey,
    PartitionIndex,
    PrimaryKey,
    SchemaGraph,
    Table,
    UniqueConstraint,
)
from ..schema.partitions import partition_indexes
from ..schema.queries import (
    NotApplicable,
    column_in,
    require_columns,
    require_free_constraint_name,
    require_free_relation_name,
    table_of,
)
from ..sql.identifiers import qualified_identifier
from ..sql.indexes import storage_parameters
from ..sql.tables import add_check, add_exclusion, add_foreign_key, add_primary_key, add_unique
from .altering import TableOperation, check_identifier
from .base import InvalidOperation, Lock, Operation, Stage, Statement
from .effects import require_recorded, update_table
from .partition_keys import keyed_statements, require_partitions_known


def _unique_index(
    table: str, name: str, columns: tuple[str, ...], nulls_not_distinct: bool, options: tuple[str, ...] = ()
) -> Statement:
    """The concurrent build of the unique index a constraint then adopts (``USING INDEX``), with the
    constraint's storage parameters."""
    statement = sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})").format(
        sql.Identifier(name), qualified_identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    if nulls_not_distinct:
        statement = sql.SQL("{} NULLS NOT DISTINCT").format(statement)
    return sql.SQL("{} {}").format(statement, storage_parameters(options)) if options else statement


def _referencing_key(graph: SchemaGraph, table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Foreign keys that rely on a key over ``columns`` of ``table`` (Postgres refuses to drop it)."""
    return tuple(
        f"{t.qualified_name}.{fk.name}"
        for t, fk in graph.referencing(table.qualified_name)
        if set(fk.ref_columns) == set(columns)
    )


def _drop_constraint(op: TableOperation, name: str) -> Statement:
    return op.alter(sql.SQL("DROP CONSTRAINT {}").format(sql.Identifier(name)))


def _require_unreferenced(graph: SchemaGraph, table: Table, name: str, columns: tuple[str, ...]) -> None:
    referencing = _referencing_key(graph, table, columns)
    if referencing:
        raise NotApplicable(
            f"{name} on {table.qualified_name} is used by {', '.join(referencing)}; drop those foreign keys first"
        )


# -- primary keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PrimaryKeyOperation(TableOperation):
    primary_key: PrimaryKey

    @property
    def target(self) -> str:
        return f"{super().target}.{self.primary_key.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def validate(self) -> None:
        check_identifier("primary key name", self.primary_key.name)
        if not self.primary_key.columns:
            raise InvalidOperation("a primary key needs at least one column")


@dataclass(frozen=True)
class AddPrimaryKey(_PrimaryKeyOperation):
    """Add a primary key over NOT NULL columns (concurrent unique index, then ``USING INDEX``).

    The columns must already be NOT NULL (``set_not_null`` first): ADD PRIMARY KEY would otherwise set
    it silently, and dropping the key would not lift it again, so the reversal would not be exact.
    """

    kind = "add_primary_key"
    stage = Stage.ADD_PRIMARY_KEY
    concurrently: bool = True
    partitions: tuple[PartitionIndex, ...] | None = None
    """None for a plain table; for a partitioned one, each partition's index (see :mod:`.partition_keys`)."""

    @property
    def transactional(self) -> bool:
        return not self.concurrently

    @classmethod
    def on(cls, graph: SchemaGraph, table: str, primary_key: PrimaryKey) -> AddPrimaryKey:
        """The op adding ``primary_key`` to the existing ``table``, piece by piece if it is partitioned."""
        if table_of(graph, table).partition_by is None:
            return cls(table, primary_key)
        pieces = partition_indexes(graph, table, primary_key.name, primary_key.columns, label="pkey")
        return cls(table, primary_key, partitions=pieces)

    def statements(self) -> tuple[Statement, ...]:
        pk = self.primary_key
        if not self.concurrently:
            return (add_primary_key(self.table, pk),)
        if self.partitions is not None:
            add = add_primary_key(self.table, pk)
            return keyed_statements(self.table, "PRIMARY KEY", pk.columns, False, self.partitions, add)
        attach = self.alter(
            sql.SQL("ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}").format(
                sql.Identifier(pk.name), sql.Identifier(pk.name)
            )
        )
        return (_unique_index(self.table, pk.name, pk.columns, False, pk.options), attach)

    def reverse(self) -> Operation:
        return DropPrimaryKey(self.table, self.primary_key, self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        if current.primary_key is not None:
            raise NotApplicable(f"table {current.qualified_name} already has primary key {current.primary_key.name}")
        nullable = [c for c in self.primary_key.columns if column_in(graph, current, c).nullable]
        if nullable:
            raise NotApplicable(
                f"primary key column(s) {', '.join(nullable)} of {current.qualified_name} are nullable; "
                "set them NOT NULL first (set_not_null)"
            )
        require_free_relation_name(graph, current.schema, self.primary_key.name)
        require_free_constraint_name(current, self.primary_key.name)
        require_partitions_known(current, self.concurrently, self.partitions)
        return graph.with_table(replace(current, primary_key=self.primary_key))


@dataclass(frozen=True)
class DropPrimaryKey(_PrimaryKeyOperation):
    """``DROP CONSTRAINT`` of the primary key (foreign keys relying on it must be dropped first)."""

    kind = "drop_primary_key"
    stage = Stage.DROP_PRIMARY_KEY
    partitions: tuple[PartitionIndex, ...] | None = None
    """On a partitioned table, the pieces its reversal builds the key back from (see :mod:`.partition_keys`)."""

    @classmethod
    def on(cls, graph: SchemaGraph, table: str) -> DropPrimaryKey:
        """The drop of ``table``'s primary key, recording how a partitioned table's comes back."""
        current = table_of(graph, table)
        pk = current.primary_key
        if pk is None:
            raise NotApplicable(f"table {table} has no primary key")
        if current.partition_by is None:
            return cls(table, pk)
        without = graph.with_table(replace(current, primary_key=None))
        return cls(table, pk, partitions=partition_indexes(without, table, pk.name, pk.columns, label="pkey"))

    def statements(self) -> tuple[Statement, ...]:
        return (_drop_constraint(self, self.primary_key.name),)

    def reverse(self) -> Operation:
        return AddPrimaryKey(self.table, self.primary_key, partitions=self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_recorded(f"primary key of {current.qualified_name}", self.primary_key, current.primary_key)
        _require_unreferenced(graph, current, self.primary_key.name, self.primary_key.columns)
        return graph.with_table(replace(current, primary_key=None))


# -- foreign keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ForeignKeyOperation(TableOperation):
    foreign_key: ForeignKey

    @property
    def target(self) -> str:
        return f"{super().target}.{self.foreign_key.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        own = super().target
        return (own,) if self.foreign_key.ref_table == own else (own, self.foreign_key.ref_table)

    def validate(self) -> None:
        check_identifier("foreign key name", self.foreign_key.name)
        fk = self.foreign_key
        if not fk.columns or len(fk.columns) != len(fk.ref_columns):
            raise InvalidOperation(
                f"foreign key {fk.name} needs as many referenced columns as columns ({fk.columns} -> {fk.ref_columns})"
            )


@dataclass(frozen=True)
class AddForeignKey(_ForeignKeyOperation):
    """``ADD CONSTRAINT ... FOREIGN KEY`` — ``NOT VALID`` by default (then ``validate_constraint``).

    ``not_valid`` decides; the recorded ``foreign_key.validated`` is set to match it, so the op holds
    exactly the foreign key the graph will show.
    """

    kind = "add_foreign_key"
    stage = Stage.ADD_FOREIGN_KEY
    default_lock = Lock.SHARE_ROW_EXCLUSIVE
    not_valid: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "foreign_key", replace(self.foreign_key, validated=not self.not_valid))

    def statements(self) -> tuple[Statement, ...]:
        return (add_foreign_key(self.table, self.foreign_key, not_valid=self.not_valid),)

    def reverse(self) -> Operation:
        return DropForeignKey(self.table, self.foreign_key)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_free_constraint_name(current, self.foreign_key.name)
        require_columns(graph, current, self.foreign_key.columns)
        referenced = current if self.foreign_key.ref_table == current.qualified_name else None
        referenced = referenced or table_of(graph, self.foreign_key.ref_table)
        require_columns(graph, referenced, self.foreign_key.ref_columns)
        return graph.with_table(replace(current, foreign_keys=(*current.foreign_keys, self.foreign_key)))


@dataclass(frozen=True)
class DropForeignKey(_ForeignKeyOperation):
    """``DROP CONSTRAINT`` of a foreign key; the reversal re-adds it as validated as it was."""

    kind = "drop_foreign_key"
    stage = Stage.DROP_FOREIGN_KEY
    other_tables_lock = Lock.ACCESS_EXCLUSIVE
    """The foreign key's triggers on the referenced table are dropped with it."""

    def statements(self) -> tuple[Statement, ...]:
        return (_drop_constraint(self, self.foreign_key.name),)

    def reverse(self) -> Operation:
        return AddForeignKey(self.table, self.foreign_key, not_valid=not self.foreign_key.validated)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            current = next((fk for fk in table.foreign_keys if fk.name == self.foreign_key.name), None)
            require_recorded(f"foreign key {self.target}", self.foreign_key, _as_validated(current, self.foreign_key))
            return replace(
                table, foreign_keys=tuple(fk for fk in table.foreign_keys if fk.name != self.foreign_key.name)
            )

        return update_table(graph, self.table, change)


# -- uniques ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _UniqueOperation(TableOperation):
    unique: UniqueConstraint

    @property
    def target(self) -> str:
        return f"{super().target}.{self.unique.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def validate(self) -> None:
        check_identifier("unique constraint name", self.unique.name)
        if not self.unique.columns:
            raise InvalidOperation("a unique constraint needs at least one column")


@dataclass(frozen=True)
class AddUnique(_UniqueOperation):
    """A unique constraint, by default through a concurrent unique index and ``USING INDEX``."""

    kind = "add_unique"
    stage = Stage.ADD_CONSTRAINT
    concurrently: bool = True
    partitions: tuple[PartitionIndex, ...] | None = None
    """None for a plain table; for a partitioned one, each partition's index (see :mod:`.partition_keys`)."""

    @property
    def transactional(self) -> bool:
        return not self.concurrently

    @classmethod
    def on(cls, graph: SchemaGraph, table: str, unique: UniqueConstraint) -> AddUnique:
        """The op adding ``unique`` to the existing ``table``, piece by piece if it is partitioned."""
        if table_of(graph, table).partition_by is None:
            return cls(table, unique)
        return cls(table, unique, partitions=partition_indexes(graph, table, unique.name, unique.columns, label="key"))

    def statements(self) -> tuple[Statement, ...]:
        uq = self.unique
        if not self.concurrently:
            return (add_unique(self.table, uq),)
        if self.partitions is not None:
            add = add_unique(self.table, uq)
            return keyed_statements(self.table, "UNIQUE", uq.columns, uq.nulls_not_distinct, self.partitions, add)
        clause = sql.SQL("ADD CONSTRAINT {} UNIQUE USING INDEX {}").format(
            sql.Identifier(uq.name), sql.Identifier(uq.name)
        )
        if uq.deferrable:
            deferral = "DEFERRABLE INITIALLY DEFERRED" if uq.initially_deferred else "DEFERRABLE"
            clause = sql.SQL("{} {}").format(clause, sql.SQL(deferral))
        return (_unique_index(self.table, uq.name, uq.columns, uq.nulls_not_distinct, uq.options), self.alter(clause))

    def reverse(self) -> Operation:
        return DropUnique(self.table, self.unique, self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_columns(graph, current, self.unique.columns)
        require_free_relation_name(graph, current.schema, self.unique.name)
        require_free_constraint_name(current, self.unique.name)
        require_partitions_known(current, self.concurrently, self.partitions)
        return graph.with_table(replace(current, uniques=(*current.uniques, self.unique)))


@dataclass(frozen=True)
class DropUnique(_UniqueOperation):
    """``DROP CONSTRAINT`` of a unique constraint (and its index)."""

    kind = "drop_unique"
    stage = Stage.DROP_CONSTRAINT
    partitions: tuple[PartitionIndex, ...] | None = None
    """On a partitioned table, the pieces its reversal builds the constraint back from."""

    @classmethod
    def on(cls, graph: SchemaGraph, table: str, name: str) -> DropUnique:
        """The drop of ``table``'s unique constraint ``name``, recording how a partitioned table's comes back."""
        current = table_of(graph, table)
        unique = next((u for u in current.uniques if u.name == name), None)
        if unique is None:
            raise NotApplicable(f"unique constraint {table}.{name} does not exist")
        if current.partition_by is None:
            return cls(table, unique)
        without = graph.with_table(replace(current, uniques=tuple(u for u in current.uniques if u.name != name)))
        return cls(table, unique, partitions=partition_indexes(without, table, name, unique.columns, label="key"))

    def statements(self) -> tuple[Statement, ...]:
        return (_drop_constraint(self, self.unique.name),)

    def reverse(self) -> Operation:
        return AddUnique(self.table, self.unique, partitions=self.partitions)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        recorded = next((u for u in current.uniques if u.name == self.unique.name), None)
        require_recorded(f"unique constraint {self.target}", self.unique, recorded)
        _require_unreferenced(graph, current, self.unique.name, self.unique.columns)
        return graph.with_table(
            replace(current, uniques=tuple(u for u in current.uniques if u.name != self.unique.name))
        )


# -- checks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckOperation(TableOperation):
    check: CheckConstraint

    @property
    def target(self) -> str:
        return f"{super().target}.{self.check.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def validate(self) -> None:
        check_identifier("check constraint name", self.check.name)


@dataclass(frozen=True)
class AddCheck(_CheckOperation):
    """``ADD CONSTRAINT ... CHECK`` — ``NOT VALID`` by default (then ``validate_constraint``).

    ``not_valid`` decides; the recorded ``check.validated`` is set to match it.
    """

    kind = "add_check"
    stage = Stage.ADD_CONSTRAINT
    not_valid: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", replace(self.check, validated=not self.not_valid))

    def statements(self) -> tuple[Statement, ...]:
        return (add_check(self.table, self.check, not_valid=self.not_valid),)

    def reverse(self) -> Operation:
        return DropCheck(self.table, self.check)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_free_constraint_name(current, self.check.name)
        require_columns(graph, current, self.check.columns)
        return graph.with_table(replace(current, checks=(*current.checks, self.check)))


@dataclass(frozen=True)
class DropCheck(_CheckOperation):
    """``DROP CONSTRAINT`` of a check; the reversal re-adds it as validated as it was."""

    kind = "drop_check"
    stage = Stage.DROP_CONSTRAINT

    def statements(self) -> tuple[Statement, ...]:
        return (_drop_constraint(self, self.check.name),)

    def reverse(self) -> Operation:
        return AddCheck(self.table, self.check, not_valid=not self.check.validated)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            current = next((c for c in table.checks if c.name == self.check.name), None)
            require_recorded(f"check constraint {self.target}", self.check, _as_validated(current, self.check))
            return replace(table, checks=tuple(c for c in table.checks if c.name != self.check.name))

        return update_table(graph, self.table, change)


# -- exclusion constraints -------------------------------------------------------------------------


@dataclass(frozen=True)
class _ExclusionOperation(TableOperation):
    exclusion: ExclusionConstraint

    @property
    def target(self) -> str:
        return f"{super().target}.{self.exclusion.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return (super().target,)

    def validate(self) -> None:
        check_identifier("exclusion constraint name", self.exclusion.name)
        if not self.exclusion.definition.lstrip().upper().startswith("EXCLUDE"):
            raise InvalidOperation(
                f"exclusion constraint {self.exclusion.name}: the definition must be the EXCLUDE clause as "
                f"pg_get_constraintdef prints it (EXCLUDE USING gist (...)), not {self.exclusion.definition!r}"
            )


@dataclass(frozen=True)
class AddExclusion(_ExclusionOperation):
    """``ADD CONSTRAINT ... EXCLUDE USING ...``: builds its index and checks every row under ACCESS EXCLUSIVE."""

    kind = "add_exclusion"
    stage = Stage.ADD_CONSTRAINT

    def statements(self) -> tuple[Statement, ...]:
        return (add_exclusion(self.table, self.exclusion),)

    def reverse(self) -> Operation:
        return DropExclusion(self.table, self.exclusion)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        require_columns(graph, current, self.exclusion.columns)
        require_free_relation_name(graph, current.schema, self.exclusion.name)
        require_free_constraint_name(current, self.exclusion.name)
        return graph.with_table(replace(current, exclusions=(*current.exclusions, self.exclusion)))


@dataclass(frozen=True)
class DropExclusion(_ExclusionOperation):
    """``DROP CONSTRAINT`` of an exclusion constraint (and its index); records it for the reversal."""

    kind = "drop_exclusion"
    stage = Stage.DROP_CONSTRAINT

    def statements(self) -> tuple[Statement, ...]:
        return (_drop_constraint(self, self.exclusion.name),)

    def reverse(self) -> Operation:
        return AddExclusion(self.table, self.exclusion)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = table_of(graph, self.table)
        recorded = next((x for x in current.exclusions if x.name == self.exclusion.name), None)
        require_recorded(f"exclusion constraint {self.target}", self.exclusion, recorded)
        return graph.with_table(
            replace(current, exclusions=tuple(x for x in current.exclusions if x.name != self.exclusion.name))
        )


# -- validation ------------------------------------------------------------------------------------

_Validatable = TypeVar("_Validatable", CheckConstraint, ForeignKey)


def _as_validated(current: _Validatable | None, recorded: _Validatable) -> _Validatable | None:
    """``current`` with the recorded validation state: a drop need not know whether the constraint was
    validated since it was recorded — reversing ``add_*`` (NOT VALID) + ``validate_constraint`` drops a
    constraint the drop recorded as NOT VALID."""
    return None if current is None else replace(current, validated=recorded.validated)


def _validatable(table: Table, name: str) -> bool:
    return any(fk.name == name for fk in table.foreign_keys) or any(c.name == name for c in table.checks)


@dataclass(frozen=True)
class ValidateConstraint(TableOperation):
    """``VALIDATE CONSTRAINT`` of a NOT VALID foreign key or check: scans under SHARE UPDATE EXCLUSIVE."""

    kind = "validate_constraint"
    stage = Stage.VALIDATE
    default_lock = Lock.SHARE_UPDATE_EXCLUSIVE
    name: str

    @property
    def target(self) -> str:
        return f"{super().target}.{self.name}"

    def statements(self) -> tuple[Statement, ...]:
        return (self.alter(sql.SQL("VALIDATE CONSTRAINT {}").format(sql.Identifier(self.name))),)

    def reverse(self) -> Operation:
        """Itself: a constraint cannot be made NOT VALID again (see the module docstring)."""
        return self

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            fks = tuple(replace(fk, validated=True) if fk.name == self.name else fk for fk in table.foreign_keys)
            checks = tuple(replace(c, validated=True) if c.name == self.name else c for c in table.checks)
            if not _validatable(table, self.name):
                raise NotApplicable(f"no foreign key or check constraint {self.target} to validate")
            return replace(table, foreign_keys=fks, checks=checks)

        return update_table(graph, self.table, change)


__all__ = [
    "AddCheck",
    "AddExclusion",
    "AddForeignKey",
    "AddPrimaryKey",
    "AddUnique",
    "DropCheck",
    "DropExclusion",
    "DropForeignKey",
    "DropPrimaryKey",
    "DropUnique",
    "ValidateConstraint",
]
