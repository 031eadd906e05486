"""Expand/contract: rename a column or change its type on a busy table in two migrations, no downtime.

``expand_contract_rename`` and ``expand_contract_type_change`` each return two migrations:

- **expand** (``phase="expand"``): add the new column (nullable, no default), install the dual-write
  trigger (a write to either column updates the other, casting for a type change) and backfill the new
  column from the old one in batches. Old and new clients both work while the window is open.
- **contract** (``phase="contract"``), applied with ``zanith apply --contract`` once every reader uses
  the new column: drop the trigger; carry NOT NULL over without a long lock (``CHECK (col IS NOT NULL)
  NOT VALID``, ``VALIDATE``, ``SET NOT NULL`` — which then skips its scan — and drop the check), the
  default, the indexes (built concurrently) and the constraints (``NOT VALID`` + ``VALIDATE``); drop
  the old column's indexes and constraints, and soft-drop the old column (renamed aside, values kept
  for recovery). For a type change, the new column then takes the old name: readers keep reading
  the same name, now with the new type.

Every step takes at most a brief lock, which is the point: each scores low in the plan. Indexes keep
their names (the new one is built under a temporary name and renamed once the old one is gone). So do
the constraints a type change carries (the old one is dropped just before its copy takes the name), as
the declared schema names them; a rename gives them the name PostgreSQL would give them on the new
column.

What cannot be carried this way is refused up front: primary key columns, columns other tables' foreign
keys reference, identity and generated columns, columns owning a sequence, exclusion constraints, and
tables without a primary key or unique NOT NULL key (the batched backfill pages on it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from psycopg import sql

from ..config import Config
from ..errors import ZanithError
from ..migrations import Migration, migration_id, write_migration
from ..migrations.guard import migrations_to_extend
from ..ops import (
    AddCheck,
    AddColumn,
    AddDualWrite,
    AddForeignKey,
    AddIndex,
    AddUnique,
    Backfill,
    DropCheck,
    DropForeignKey,
    DropIndex,
    DropUnique,
    NotApplicable,
    Operation,
    RenameColumn,
    RenameIndex,
    SetDefault,
    SetNotNull,
    SoftDropColumn,
    ValidateConstraint,
)
from ..ops.altering import check_identifier
from ..schema.expressions import mentions_column, quote_ident, rename_identifier
from ..schema.graph import CheckConstraint, Column, Index, SchemaGraph, Table, qualified, split_qualified
from ..schema.naming import Namespace
from ..schema.queries import column_of, constraint_names, owned_sequences, relation_names, table_of
from ..servers import resolve_server
from .fragments import FragmentRefused, check_retype, one_expression, one_type
from .scaffold import Written, current_schema, next_id

EXPAND = "expand"
CONTRACT = "contract"


class ExpandContractError(ZanithError):
    """The column cannot be changed by expand/contract; the message says why and what to do instead."""


@dataclass(frozen=True)
class _Change:
    """One expand/contract change: ``old`` is replaced by ``new`` (which is renamed to ``final``)."""

    graph: SchemaGraph
    table: Table
    old: Column
    new: Column
    final: str
    forward: str | None
    """SQL giving the new column's value from the row; None copies the old column."""
    backward: str | None
    """SQL giving the old column's value from the row; None copies the new column."""
    batch_size: int

    @property
    def name(self) -> str:
        return self.table.qualified_name

    def _dual_write(self) -> AddDualWrite:
        return AddDualWrite(self.name, self.old.name, self.new.name, self.forward, self.backward)

    def expand(self) -> tuple[Operation, ...]:
        return (
            AddColumn(self.name, self.new),
            self._dual_write(),
            Backfill(
                self.name,
                self.new.name,
                self.forward or quote_ident(self.old.name),
                # Rows the dual-write trigger already filled are skipped (IS NULL works for every type).
                where=f"{quote_ident(self.new.name)} IS NULL",
                batch_size=self.batch_size,
                reverse_expression="NULL",
            ),
        )

    def contract(self) -> tuple[Operation, ...]:
        expanded = _apply(self.graph, self.expand())
        table = table_of(expanded, self.name)
        names = Namespace(
            relations=set(relation_names(expanded, table.schema)),
            constraints={c for t in expanded.tables if t.schema == table.schema for c in constraint_names(t)},
        )
        ops: list[Operation] = [self._dual_write().reverse()]
        ops += self._not_null(names)
        if self.old.default is not None:
            ops.append(SetDefault(self.name, self.new.name, self.old.default))
        carried, dropped, renamed = self._dependents(table, names)
        ops += carried + dropped
        ops.append(SoftDropColumn.from_graph(_apply(expanded, ops), self.name, self.old.name))
        if self.final != self.new.name:
            ops.append(RenameColumn(self.name, self.new.name, self.final))
        ops += renamed
        return tuple(ops)

    def _not_null(self, names: Namespace) -> list[Operation]:
        """NOT NULL without a scan under ACCESS EXCLUSIVE: validate a check first, SET NOT NULL uses it."""
        if self.old.nullable:
            return []
        check = CheckConstraint(
            names.choose_constraint(self.table.name, self.new.name, "not_null"),
            f"({quote_ident(self.new.name)} IS NOT NULL)",
            columns=(self.new.name,),
        )
        return [
            AddCheck(self.name, check),
            ValidateConstraint(self.name, check.name),
            SetNotNull(self.name, self.new.name),
            DropCheck(self.name, replace(check, validated=True)),
        ]

    def _dependents(self, table: Table, names: Namespace) -> tuple[list[Operation], list[Operation], list[Operation]]:
        """(build on the new column, drop from the old one, rename into place) for indexes and constraints."""
        old, new = self.old.name, self.new.name
        carried: list[Operation] = []
        dropped: list[Operation] = []
        renamed: list[Operation] = []
        # A type change keeps every constraint's name, as the declared schema has it: the old constraint
        # is dropped first, freeing the name for its copy. (The old column is not written any more once
        # the dual-write trigger is gone; what guards the new one is the copy.)
        keep_names = self.final == old

        def replace_constraint(drop: Operation, add: list[Operation]) -> None:
            if keep_names:
                carried.extend([drop, *add])
            else:
                carried.extend(add)
                dropped.append(drop)

        for index in (i for i in table.indexes if old in i.columns):
            temporary = names.choose_relation(table.name, new, "idx")
            carried.append(AddIndex(self.name, replace(_renamed_index(index, old, new), name=temporary)))
            dropped.append(DropIndex(self.name, index))
            renamed.append(RenameIndex(self.name, temporary, index.name))
        for unique in (u for u in table.uniques if old in u.columns):
            columns = _swap(unique.columns, old, new)
            final_columns = _swap(unique.columns, old, self.final)
            name = (
                unique.name
                if keep_names
                else names.choose_relation(table.name, "_".join(final_columns), "key", constraint=True)
            )
            replace_constraint(
                DropUnique(self.name, unique), [AddUnique(self.name, replace(unique, name=name, columns=columns))]
            )
        for check in (c for c in table.checks if old in c.columns):
            label = check.name if keep_names else names.choose_constraint(table.name, self.final, "check")
            moved = replace(
                check,
                name=label,
                expression=rename_identifier(check.expression, old, new),
                columns=tuple(sorted(_swap(check.columns, old, new))),
            )
            replace_constraint(DropCheck(self.name, check), _add_validated(AddCheck(self.name, moved), check.validated))
        for fk in (f for f in table.foreign_keys if old in f.columns):
            final_columns = _swap(fk.columns, old, self.final)
            label = fk.name if keep_names else names.choose_constraint(table.name, "_".join(final_columns), "fkey")
            moved_fk = replace(fk, name=label, columns=_swap(fk.columns, old, new))
            replace_constraint(
                DropForeignKey(self.name, fk), _add_validated(AddForeignKey(self.name, moved_fk), fk.validated)
            )
        return carried, dropped, renamed


def _add_validated(add: AddCheck | AddForeignKey, validated: bool) -> list[Operation]:
    """``NOT VALID`` (brief lock), then ``VALIDATE`` (a scan that blocks no writes) if it was validated."""
    name = add.check.name if isinstance(add, AddCheck) else add.foreign_key.name
    return [add, ValidateConstraint(add.table, name)] if validated else [add]


def _renamed_index(index: Index, old: str, new: str) -> Index:
    return replace(
        index,
        keys=tuple(rename_identifier(k, old, new) for k in index.keys),
        predicate=None if index.predicate is None else rename_identifier(index.predicate, old, new),
        include=_swap(index.include, old, new),
        columns=tuple(sorted(_swap(index.columns, old, new))),
    )


def _swap(names: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if n == old else n for n in names)


# -- the two generators ----------------------------------------------------------------------------


def expand_contract_rename(
    graph_or_table: SchemaGraph | Table,
    table: str,
    old: str,
    new: str,
    *,
    name: str = "",
    now: datetime | None = None,
    batch_size: int = 500,
) -> tuple[Migration, Migration]:
    """(expand, contract) migrations renaming ``table.old`` to ``new`` without a moment of downtime.

    Deploy order: apply expand; deploy the application reading and writing ``new``; then
    ``zanith apply --contract``. ``name`` names the pair (default ``rename_<table>_<old>_to_<new>``).
    """
    graph = _graph(graph_or_table)
    current, column = _located(graph, table, old)
    check_identifier("new column name", new)
    _require_free_column(current, new)
    _refuse_unsupported(graph, current, column)
    change = _Change(
        graph=graph,
        table=current,
        old=column,
        new=_fresh_copy(column, new, column.type),
        final=new,
        forward=None,
        backward=None,
        batch_size=batch_size,
    )
    return _pair(change, name or f"rename {current.name} {old} to {new}", now)


def expand_contract_type_change(
    graph_or_table: SchemaGraph | Table,
    table: str,
    column: str,
    new_type: str,
    *,
    using: str | None = None,
    reverse_using: str | None = None,
    temporary: str | None = None,
    name: str = "",
    now: datetime | None = None,
    batch_size: int = 500,
) -> tuple[Migration, Migration]:
    """(expand, contract) migrations changing the type of ``table.column`` to ``new_type``.

    ``new_type`` is written as PostgreSQL prints it (``bigint``, ``numeric(12,2)``). ``using`` converts
    an old value (SQL over the row, like ``ALTER ... TYPE ... USING``; default ``CAST(column AS
    new_type)``) and ``reverse_using`` converts a value written to the new column back for old
    clients (default a cast to the old type). During the window the new values live in ``temporary``
    (default ``<column>_new``); the contract soft-drops the original (its values stay recoverable) and
    gives the new column the original name. ``new_type`` must parse as one type name and ``using`` and
    ``reverse_using`` as one expression each (:mod:`.fragments`), or :class:`FragmentRefused` is raised.
    """
    new_type = one_type(new_type, "--online-retype TYPE")
    using = None if using is None else one_expression(using, "--using")
    reverse_using = None if reverse_using is None else one_expression(reverse_using, "reverse_using")
    graph = _graph(graph_or_table)
    current, original = _located(graph, table, column)
    if new_type == original.type:
        raise ExpandContractError(f"column {current.qualified_name}.{column} already has type {new_type}")
    temp = temporary or _temporary_name(current, column)
    check_identifier("temporary column name", temp)
    _require_free_column(current, temp)
    _refuse_unsupported(graph, current, original)
    old_ident, temp_ident = sql.Identifier(column), sql.Identifier(temp)
    change = _Change(
        graph=graph,
        table=current,
        old=original,
        new=_fresh_copy(original, temp, new_type),
        final=column,
        forward=using or _cast(old_ident, new_type),
        backward=reverse_using or _cast(temp_ident, original.type),
        batch_size=batch_size,
    )
    return _pair(change, name or f"retype {current.name} {column} to {new_type}", now)


def _pair(change: _Change, name: str, now: datetime | None) -> tuple[Migration, Migration]:
    stamp = now or datetime.now(UTC)
    expand_ops = change.expand()
    contract_ops = change.contract()
    _apply(change.graph, (*expand_ops, *contract_ops))  # the pair must hold together, or nothing is written
    return (
        Migration(migration_id(f"{name} expand", stamp), expand_ops, name=f"{name} (expand)", phase=EXPAND),
        Migration(
            migration_id(f"{name} contract", stamp + timedelta(seconds=1)),
            contract_ops,
            name=f"{name} (contract)",
            phase=CONTRACT,
        ),
    )


# -- checks and small helpers ----------------------------------------------------------------------


def _graph(graph_or_table: SchemaGraph | Table) -> SchemaGraph:
    if isinstance(graph_or_table, Table):
        return SchemaGraph(schemas=(graph_or_table.schema,), tables=(graph_or_table,))
    return graph_or_table


def _located(graph: SchemaGraph, table: str, column: str) -> tuple[Table, Column]:
    """The table and column to change, looked up as every stage does; missing ones said in this stage's error."""
    try:
        found = table_of(graph, table)
        return found, column_of(found, column)
    except NotApplicable as exc:
        raise ExpandContractError(str(exc)) from None


def _require_free_column(table: Table, name: str) -> None:
    if table.column(name) is not None:
        raise ExpandContractError(f"column {table.qualified_name}.{name} already exists")


def _refuse_unsupported(graph: SchemaGraph, table: Table, column: Column) -> None:
    where = f"{table.qualified_name}.{column.name}"
    reasons: list[str] = []
    if table.primary_key and column.name in table.primary_key.columns:
        reasons.append("it is in the primary key")
    referencing = [
        f"{t.qualified_name}.{fk.name}"
        for t, fk in graph.referencing(table.qualified_name)
        if column.name in fk.ref_columns
    ]
    if referencing:
        reasons.append(f"foreign keys reference it ({', '.join(referencing)})")
    if column.identity or column.generated:
        reasons.append("it is an identity or generated column")
    if owned_sequences(graph, table.qualified_name, column.name):
        reasons.append("it owns a sequence (serial)")
    if any(column.name in x.columns for x in table.exclusions):
        reasons.append("an exclusion constraint uses it")
    if any(c.generated and mentions_column(c.generated, column.name) for c in table.columns):
        reasons.append("a generated column reads it")
    if not _has_key(table):
        reasons.append(f"{table.qualified_name} has no primary key or unique NOT NULL key for the batched backfill")
    if reasons:
        raise ExpandContractError(
            f"cannot change {where} by expand/contract: {'; '.join(reasons)}. Change it in a maintenance "
            "window instead (rename_column / alter_column_type, or `zanith new --sql`)"
        )


def _has_key(table: Table) -> bool:
    if table.primary_key:
        return True
    not_null = {c.name for c in table.columns if not c.nullable}
    candidates = [u.columns for u in table.uniques if not u.deferrable]
    candidates += [i.keys for i in table.indexes if i.unique and i.predicate is None]
    return any(cols and set(cols) <= not_null for cols in candidates)


def _fresh_copy(column: Column, name: str, type_: str) -> Column:
    """The new column as expand adds it: nullable and without a default (both come at contract)."""
    return Column(name=name, type=type_, collation=column.collation if type_ == column.type else None)


def _temporary_name(table: Table, column: str) -> str:
    base = f"{column}_new"
    name, n = base, 1
    while table.column(name) is not None:
        name, n = f"{base}{n}", n + 1
    return name


def _cast(column: sql.Identifier, type_: str) -> str:
    return sql.SQL("CAST({} AS {})").format(column, sql.SQL(type_)).as_string(None)


def _apply(graph: SchemaGraph, ops: tuple[Operation, ...] | list[Operation]) -> SchemaGraph:
    for op in ops:
        try:
            graph = op.apply_to(graph)
        except NotApplicable as exc:
            raise ExpandContractError(f"cannot generate the expand/contract pair: {op.describe()}: {exc}") from None
    return graph


def online_pair(
    current: SchemaGraph,
    *,
    rename: str | None = None,
    retype: str | None = None,
    using: str | None = None,
    name: str = "",
    now: datetime | None = None,
) -> tuple[Migration, Migration]:
    """The pair for ``zanith generate --online-rename TABLE.OLD=NEW`` or ``--online-retype TABLE.COL=TYPE``.

    ``TABLE`` may be qualified (``app.users.email=mail``); ``using`` goes with ``--online-retype`` only.
    """
    if (rename is None) == (retype is None):
        raise ExpandContractError(
            "give exactly one of --online-rename TABLE.OLD=NEW and --online-retype TABLE.COL=TYPE"
        )
    if rename is not None:
        if using is not None:
            raise ExpandContractError("--using goes with --online-retype (a rename copies values as they are)")
        (table, old), new = _assignment(rename, "--online-rename TABLE.OLD=NEW")
        return expand_contract_rename(current, table, old, new, name=name, now=now)
    assert retype is not None
    (table, column), new_type = _assignment(retype, "--online-retype TABLE.COL=TYPE")
    return expand_contract_type_change(current, table, column, new_type, using=using, name=name, now=now)


def write_online_pair(
    config: Config,
    *,
    name: str,
    source: str | None = None,
    rename: str | None = None,
    retype: str | None = None,
    using: str | None = None,
    now: datetime | None = None,
) -> tuple[Written, Written]:
    """Generate the pair (see :func:`online_pair`) from the project's current state and write both files.

    The current state is what ``zanith generate`` diffs from: ``source`` (a URL or ``.sql`` file), else
    the existing migrations replayed on the shadow server. The expand id sorts after every existing one.
    A type change is first tried on a scratch copy of the current schema on the shadow server
    (:func:`~zanith_core.authoring.fragments.check_retype`): nothing is written unless it works there.
    """
    existing = migrations_to_extend(config)
    current = current_schema(config, source, existing)
    first_id = next_id(f"{name} expand", existing, now)
    stamp = datetime.strptime(first_id[:15], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    expand, contract = online_pair(current, rename=rename, retype=retype, using=using, name=name, now=stamp)
    if retype is not None:
        _try_retype(config, current, expand, using=using is not None)
    notes = {
        EXPAND: [
            "Expand phase: old and new clients both work once it is applied (`zanith apply`).",
            f"Then deploy clients that use the new column, then `zanith apply --contract` ({contract.id}).",
        ],
        CONTRACT: [
            "Contract phase: runs only with `zanith apply --contract`, once every client uses the",
            f"new column written by {expand.id}.",
        ],
    }
    return (
        Written(expand, write_migration(expand, config.migrations_dir, summary=notes[EXPAND])),
        Written(contract, write_migration(contract, config.migrations_dir, summary=notes[CONTRACT])),
    )


def _try_retype(config: Config, current: SchemaGraph, expand: Migration, *, using: bool) -> None:
    """Try the expand phase's type change on a scratch copy of the current schema (:func:`check_retype`)."""
    added, dual_write = expand.operations[0], expand.operations[1]
    assert isinstance(added, AddColumn) and isinstance(dual_write, AddDualWrite)
    check_retype(
        resolve_server(config.shadow_url),
        current,
        dual_write.table,
        dual_write.column,
        dual_write.new_column,
        added.column.type,
        dual_write.expression or quote_ident(dual_write.column),
        dual_write.reverse_expression or quote_ident(dual_write.new_column),
        using=using,
    )


def _assignment(text: str, usage: str) -> tuple[tuple[str, str], str]:
    """``[schema.]table.column=value`` → ((qualified table, column), value)."""
    target, eq, value = text.partition("=")
    table, dot, column = target.strip().rpartition(".")
    if not eq or not dot or not table or not column or not value.strip():
        raise ExpandContractError(f"expected {usage}, got {text!r}")
    return (qualified(*split_qualified(table)), column), value.strip()


__all__ = [
    "CONTRACT",
    "EXPAND",
    "ExpandContractError",
    "FragmentRefused",
    "expand_contract_rename",
    "expand_contract_type_change",
    "online_pair",
    "write_online_pair",
]
