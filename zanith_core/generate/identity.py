"""Generate for how a kept column numbers its rows: identity changed in place, serial sequences.

An identity column's kind (``ALWAYS`` / ``BY DEFAULT``), its sequence's options and name, and the
identity itself (added to or dropped from an existing column) change with one ``alter_identity``
(:mod:`zanith_core.ops.identity`), never by dropping the column. Its place among the column steps:

* dropping an identity runs first among the relaxing steps (before ``DROP NOT NULL``, and before a
  serial default that takes over sets its sequence);
* adding one runs last among the tightening steps (after ``SET NOT NULL``, which Postgres requires), and
  after the serial default it replaces was dropped.

A serial column is an integer column, a sequence it owns and a ``nextval`` default. When a kept column
gains or loses its sequence (``int`` ↔ ``serial``, identity ↔ serial), the sequence is created or
dropped between those two moments: after the old default or identity let go of it, before the new
default uses it or an identity takes over its name.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diff import Difference
from ..ops import AlterIdentity, Operation
from ..ops.definitions import CreateSequence, DropSequence, attached_comments
from ..schema.graph import SchemaGraph
from ..schema.graph import Sequence as SequenceDef
from ..schema.identity import effective
from ..schema.queries import column_of, table_of
from .steps import Step, fixed

IDENTITY = ("identity", "identity_options")
"""Column attributes one ``alter_identity`` changes together."""

_BETWEEN = "create_table"
"""The stage a kept column's serial sequence is created or dropped at the start of: after the relaxing
steps (``DROP DEFAULT``, ``DROP IDENTITY``), before the tightening ones (``SET DEFAULT``, ``ADD ... IDENTITY``)."""


def alter_identity(table: str, column: str, declared: SchemaGraph) -> Step:
    """The identity change of one kept column, built against the column as it then is."""
    wanted_table = table_of(declared, table)
    wanted = column_of(wanted_table, column)

    def build(graph: SchemaGraph) -> Operation:
        current = table_of(graph, table)
        have = column_of(current, column)
        return AlterIdentity(
            table,
            column,
            wanted.identity,
            have.identity,
            effective(wanted_table.schema, wanted_table.name, wanted),
            effective(current.schema, current.name, have),
        )

    if wanted.identity is None:
        return Step(AlterIdentity.kind, build, ahead_of="drop_not_null")
    return Step(AlterIdentity.kind, build, last_in_stage=True)


def serial_sequence_steps(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph) -> list[Step]:
    """Create or drop the sequence of a kept column that becomes or stops being serial."""
    steps: list[Step] = []
    for d in differences:
        if d.object_type != "sequence" or d.action == "changed":
            continue
        sequence = d.after if d.action == "added" else d.before
        if sequence.owned_by is None or not _kept(sequence.owned_by, state, declared):
            continue
        if d.action == "added":
            comments = tuple(attached_comments(declared, "sequence", (sequence.schema, sequence.name), None))
            steps.append(fixed(CreateSequence(sequence, comments), ahead_of=_BETWEEN))
        else:
            steps.append(_drop(sequence))
    return steps


def _drop(sequence: SequenceDef) -> Step:
    def build(graph: SchemaGraph) -> Operation:
        current = graph.sequence(sequence.qualified_name)
        assert current is not None
        comments = tuple(attached_comments(graph, "sequence", (current.schema, current.name), None))
        return DropSequence(current, comments)

    return Step(DropSequence.kind, build, ahead_of=_BETWEEN)


def _kept(owner: str, state: SchemaGraph, declared: SchemaGraph) -> bool:
    """Whether the owning column ``schema.table.column`` is in both schemas (neither added nor dropped)."""
    table, _, column = owner.rpartition(".")
    before, after = state.table(table), declared.table(table)
    return before is not None and after is not None and None not in (before.column(column), after.column(column))
