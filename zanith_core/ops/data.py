"""Data ops: ``backfill`` (fill a column from an expression) and ``raw_sql`` (anything hand-written).

``backfill`` leaves the schema as it is. It is executed in batches by :mod:`zanith_core.apply.backfill`
(keyset pagination, a checkpoint per batch, resumable after a crash); its ``statements()`` are the
equivalent single ``UPDATE``, for display, the checksum and dry runs.

``raw_sql`` can do anything, so it says what it does to the schema itself: ``state_operations`` are ops
whose ``apply_to`` describes the text's effect (Django's ``RunSQL(state_operations=...)``), and
``apply_to`` folds them. Without them the op is *opaque* (:attr:`Operation.opaque`): the planner then
takes the schema from a replay on a scratch database, and ``zanith generate`` and shadow verify compare
real databases, so a raw statement's effect never passes unnoticed. The risk model parses the text with
PostgreSQL's parser to score it; the state operations are not run and not part of the checksum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pglast
from psycopg import sql

from ..errors import Irreversible
from ..schema.graph import SchemaGraph
from ..schema.queries import column_of, table_of
from ..sql.identifiers import qualified_identifier
from .altering import ColumnOperation
from .base import InvalidOperation, Lock, Operation, Stage, Statement


@dataclass(frozen=True)
class Backfill(ColumnOperation):
    """Set ``column`` to ``expression`` (SQL over the row's columns) on the rows matching ``where``.

    ``reverse_expression`` makes it reversible: ``"NULL"`` for a column added in the same migration
    (the reversal empties it again before it is dropped). Without one, the overwritten values are gone
    and there is no reversal. The reversal runs over every row (its ``where`` is None).
    """

    kind = "backfill"
    stage = Stage.BACKFILL
    default_lock = Lock.ROW_EXCLUSIVE
    expression: str
    where: str | None = None
    batch_size: int = 500
    reverse_expression: str | None = None

    @property
    def transactional(self) -> bool:
        return False

    def validate(self) -> None:
        if not self.expression.strip():
            raise InvalidOperation("backfill needs an expression")
        if self.batch_size < 1:
            raise InvalidOperation(f"batch_size must be at least 1, not {self.batch_size}")

    def statements(self) -> tuple[Statement, ...]:
        update = sql.SQL("UPDATE {} SET {} = ({})").format(
            qualified_identifier(self.table), sql.Identifier(self.column), sql.SQL(self.expression)
        )
        if self.where is not None:
            update = sql.SQL("{} WHERE {}").format(update, sql.SQL(self.where))
        return (update,)

    def reverse(self) -> Operation:
        if self.reverse_expression is None:
            raise Irreversible(
                f"backfill {self.target} overwrites values and has no reverse_expression "
                "(use 'NULL' for a column added in the same migration)"
            )
        return Backfill(
            self.table,
            self.column,
            self.reverse_expression,
            batch_size=self.batch_size,
            reverse_expression=self.expression,
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        column_of(table_of(graph, self.table), self.column)
        return graph


@dataclass(frozen=True)
class RawSql(Operation):
    """Hand-written SQL, run as written; ``reverse_sql`` is its hand-written reversal, if any.

    ``transactional=False`` runs each statement on its own in autocommit mode (needed for
    ``CREATE INDEX CONCURRENTLY``). The text is split into statements with PostgreSQL's scanner, so
    quoted semicolons and dollar-quoted bodies stay whole. ``state_operations`` declare what the text
    does to the schema (``(CreateTable(...),)`` for a hand-written ``CREATE TABLE``); they are never run.
    """

    kind = "raw_sql"
    nested_operations: ClassVar[tuple[str, ...]] = ("state_operations",)
    stage = Stage.MIDDLE
    default_lock = Lock.ACCESS_EXCLUSIVE
    """Unknown without parsing: assume the strongest (the risk model parses the text)."""
    forward_sql: str
    reverse_sql: str | None = None
    transactional: bool = True
    state_operations: tuple[Operation, ...] = ()

    @property
    def target(self) -> str:
        first = " ".join(self.forward_sql.split())
        return first if len(first) <= 60 else first[:57] + "..."

    @property
    def opaque(self) -> bool:
        return not self.state_operations

    def validate(self) -> None:
        if not split_statements(self.forward_sql):
            raise InvalidOperation("raw_sql has no SQL to run (forward_sql is empty)")
        if self.reverse_sql is not None and not split_statements(self.reverse_sql):
            raise InvalidOperation("reverse_sql is given but empty; pass None to declare that there is no reversal")
        for op in self.state_operations:
            if not isinstance(op, Operation) or isinstance(op, RawSql):
                raise InvalidOperation(f"state_operations hold ops that describe the SQL's effect, not {op!r}")
            op.validate()

    def statements(self) -> tuple[Statement, ...]:
        return tuple(sql.SQL(text) for text in split_statements(self.forward_sql))

    def reverse(self) -> Operation:
        """The reverse SQL, declaring the reversal of the state operations when every one has one."""
        if self.reverse_sql is None:
            raise Irreversible("raw_sql: no reverse_sql given")
        try:
            state = tuple(op.reverse() for op in reversed(self.state_operations))
        except Irreversible:
            state = ()
        return RawSql(self.reverse_sql, self.forward_sql, self.transactional, state)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        for op in self.state_operations:
            graph = op.apply_to(graph)
        return graph


def split_statements(text: str) -> tuple[str, ...]:
    """The statements of ``text`` without their ``;``, split by PostgreSQL's scanner.

    Text the scanner cannot read (an unterminated quote) stays one statement: the server will report
    the error with its position.
    """
    try:
        parts = pglast.split(text, with_parser=False)
    except pglast.parser.ParseError:
        parts = (text.strip().rstrip(";"),)
    return tuple(p.strip() for p in parts if p.strip())


__all__ = ["Backfill", "RawSql", "split_statements"]
