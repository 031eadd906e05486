"""Generate: the difference between the current and the declared schema, as a migration of typed ops.

The pipeline reads top to bottom:

1. **renames** (:mod:`zanith_core.generate.renames`): tables, then columns, decided by hints, ``--yes`` or a
   prompt, become ``rename_table`` / ``rename_column``. A column hinted across types is *renamed by
   copy*: ``add_column`` (nullable, no default), ``backfill`` from the old column cast to the new type,
   and — from the diff that follows — the declared default and NOT NULL, the new column's indexes and
   ``soft_drop_column`` of the old one. That is the reference example: one declared change giving
   ``add_column``, ``backfill``, ``add_index`` and ``soft_drop_column``, each with its reversal.
   An index whose definition is unchanged but whose name is becomes ``rename_index``, without asking.
2. **diff** (:func:`zanith_core.diff.diff`) of the renamed state against the declared schema; every
   difference maps to the ops below. Drops are soft (renamed aside, data kept) unless ``hard_drop``.
3. **order** (:mod:`zanith_core.generate.steps`, :mod:`zanith_core.generate.ordering`): each op is a
   *step* with a kind and a builder; steps are sorted into stages, then built one by one against the
   schema as the steps before it leave it, so an op that records what it removes (for its reversal)
   records exactly what will be there.
4. **self-check**: the ops are applied to ``current`` with ``apply_to``; the result must have no
   difference left with ``declared``, or generate raises instead of writing a wrong migration.

A column whose generation expression changes is dropped and added again (no ALTER op changes it), its
indexes and constraints dropped before and re-added after; an identity changes in place
(``alter_identity``), and a kept column that becomes or stops being serial gets or loses its sequence.
New columns are added in their declared order; a table the steps leave in another column order than the
declared one is rebuilt (:mod:`zanith_core.generate.reorder`), unless ``column_order`` is off.

Definitions — schemas, extensions, functions, aggregates, triggers, views, domains, composite types,
standalone sequences, policies, row-level security, comments, privileges — are taken out of the diff by
:mod:`zanith_core.generate.definitions`, which places their steps around the table steps.

What has no op kind (:mod:`zanith_core.generate.tables` says what) is refused with one
:class:`GenerateError` listing it all, pointing at ``zanith new --sql``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from psycopg import sql

from ..diff import diff
from ..migrations import Migration, migration_id
from ..ops import AddColumn, Backfill, Operation, RenameColumn, RenameIndex, RenameTable
from ..schema.graph import SchemaGraph, split_qualified
from ..schema.queries import owned_sequences, table_of
from .definitions import definition_steps, split_differences
from .renames import Confirm, RenameCandidate, RenameHints, resolve_column_renames, resolve_table_renames
from .reorder import reorder_steps
from .steps import GenerateError, Step, build, fixed
from .tables import CastCheck, refuse_unsupported, table_steps

__all__ = ["GenerateError", "Step", "generate", "generate_operations", "reversal"]


def generate(
    current: SchemaGraph,
    declared: SchemaGraph,
    hints: RenameHints | None = None,
    *,
    hard_drop: bool = False,
    accept_detected: bool = False,
    confirm: Confirm | None = None,
    castable: CastCheck | None = None,
    id: str | None = None,
    name: str = "",
    phase: str | None = None,
    column_order: bool = True,
) -> Migration:
    """The migration turning ``current`` into ``declared`` (no operations when they already match).

    ``hints``, ``accept_detected`` (``--yes``) and ``confirm`` (a prompt) decide renames, see
    :mod:`zanith_core.generate.renames`; ``hard_drop`` drops instead of soft-dropping; ``castable`` asks a
    server whether a type change has a cast (without it, none is refused for lack of one). ``id`` defaults
    to a timestamped id made from ``name``. ``column_order=False`` (``ignore_column_order``) accepts the
    column order ``ALTER TABLE`` reaches instead of rebuilding tables into the declared one.
    """
    ops = generate_operations(
        current,
        declared,
        hints,
        hard_drop=hard_drop,
        accept_detected=accept_detected,
        confirm=confirm,
        column_order=column_order,
        castable=castable,
    )
    return Migration(id=id or migration_id(name or "migration"), operations=ops, name=name, phase=phase)


def generate_operations(
    current: SchemaGraph,
    declared: SchemaGraph,
    hints: RenameHints | None = None,
    *,
    hard_drop: bool = False,
    accept_detected: bool = False,
    confirm: Confirm | None = None,
    column_order: bool = True,
    castable: CastCheck | None = None,
) -> tuple[Operation, ...]:
    """The ordered, self-checked operations turning ``current`` into ``declared``."""
    table_hints, column_hints = (hints or RenameHints()).split(current)
    decide: dict[str, Any] = {"accept_detected": accept_detected, "confirm": confirm}
    steps: list[Step] = []
    state = current

    def take(op: Operation) -> None:
        nonlocal state
        state = op.apply_to(state)
        steps.append(fixed(op))

    table_renames = resolve_table_renames(current, declared, table_hints, **decide)
    for rename in table_renames:
        take(RenameTable(rename.old, split_qualified(rename.new)[1]))
    for rename in resolve_column_renames(state, declared, column_hints, table_renames=table_renames, **decide):
        for op in _column_rename(rename, declared):
            take(op)
    for op in _index_renames(state, declared):
        take(op)
    differences, definitions = split_differences(diff(state, declared))
    refuse_unsupported(differences, state, declared, hard_drop, castable)
    steps += table_steps(differences, state, declared, hard_drop)
    steps += definition_steps(definitions, differences, state, declared, hard_drop=hard_drop)
    if column_order:
        steps += reorder_steps(current, state, declared, steps)
    return build(current, declared, steps, column_order=column_order)


def reversal(operations: Sequence[Operation]) -> tuple[Operation, ...]:
    """The ops undoing ``operations``: each one's reversal, last first (raises Irreversible)."""
    return tuple(op.reverse() for op in reversed(operations))


# -- renames ---------------------------------------------------------------------------------------


def _column_rename(rename: RenameCandidate, declared: SchemaGraph) -> tuple[Operation, ...]:
    """``rename_column``, or for a hint across types the copy: add the new column, then fill it."""
    assert rename.table is not None
    if rename.compatible:
        return (RenameColumn(rename.table, rename.old, rename.new),)
    target = table_of(declared, rename.table).column(rename.new)
    assert target is not None
    cast = sql.SQL("CAST({} AS {})").format(sql.Identifier(rename.old), sql.SQL(target.type)).as_string(None)
    return (
        AddColumn(
            rename.table,
            replace(target, nullable=True, default=None),
            owned_sequences(declared, rename.table, rename.new),
        ),
        Backfill(rename.table, rename.new, cast, reverse_expression="NULL"),
    )


def _index_renames(state: SchemaGraph, declared: SchemaGraph) -> list[Operation]:
    """``rename_index`` for each index whose definition only changed its name (unambiguously)."""
    ops: list[Operation] = []
    for table in state.tables:
        wanted = declared.table(table.qualified_name)
        if wanted is None:
            continue
        removed = [i for i in table.indexes if i.name not in {w.name for w in wanted.indexes}]
        added = [i for i in wanted.indexes if i.name not in {t.name for t in table.indexes}]
        for old in removed:
            same = [new for new in added if replace(new, name=old.name) == old]
            twins = [o for o in removed if replace(o, name="") == replace(old, name="")]
            if len(same) == 1 and len(twins) == 1:
                ops.append(RenameIndex(table.qualified_name, old.name, same[0].name))
                added.remove(same[0])
    return ops
