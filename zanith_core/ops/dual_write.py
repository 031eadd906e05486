"""Dual-write triggers: keep an old and a new column in step while both are in use (expand/contract).

During an expand/contract rename or type change, old clients read and write ``column`` and new clients
``new_column``. ``add_dual_write`` installs a ``BEFORE INSERT OR UPDATE`` trigger on the table that
copies whichever side a write changed onto the other: ``new_column := expression`` (default: the old
column's value) and ``column := reverse_expression`` (default: the new column's value). On INSERT a
non-null ``new_column`` wins: it has no default while the window is open, so only a new client set it,
and the old column may hold nothing but its default. Both
expressions are SQL over the row's columns, like a backfill's. Writes made by zanith's batched
backfill (which sets ``zanith.backfill`` for its transactions) are left alone: the backfill already
writes the new column, and converting it back could alter the old values.

``drop_dual_write`` removes the trigger and its function when the contract phase retires the old
column. Triggers and functions are not part of the schema model, so both ops leave the graph as it is;
their names start with ``_zanith_`` so they are recognisably zanith's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from psycopg import sql

from ..schema.graph import RESERVED_PREFIX, SchemaGraph, split_qualified
from ..schema.queries import column_of, table_of
from ..sql.identifiers import qualified_identifier
from .altering import ColumnOperation, check_identifier, clip_identifier
from .base import Lock, Operation, Stage, Statement

_BODY = """
BEGIN
    IF coalesce(pg_catalog.current_setting('zanith.backfill', true), '') <> '' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.{new} IS NULL THEN
            NEW.{new} := {forward};
        ELSE
            NEW.{old} := {backward};
        END IF;
    ELSIF NEW.{old} IS DISTINCT FROM OLD.{old} THEN
        NEW.{new} := {forward};
    ELSIF NEW.{new} IS DISTINCT FROM OLD.{new} THEN
        NEW.{old} := {backward};
    END IF;
    RETURN NEW;
END
"""


@dataclass(frozen=True)
class _DualWrite(ColumnOperation):
    new_column: str
    expression: str | None = None
    """The new column's value from the row (``price::numeric``); None copies ``column``."""
    reverse_expression: str | None = None
    """The old column's value from the row; None copies ``new_column``."""

    @property
    def target(self) -> str:
        return f"{super().target} <-> {self.new_column}"

    @property
    def trigger_name(self) -> str:
        """``_zanith_dw_<hash>_<new column>``: the trigger's and its function's name."""
        digest = hashlib.sha256("\0".join((self.tables[0], self.column, self.new_column)).encode()).hexdigest()[:8]
        return clip_identifier(f"{RESERVED_PREFIX}dw_{digest}_{self.new_column}")

    def validate(self) -> None:
        check_identifier("new_column", self.new_column)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        table = table_of(graph, self.table)
        column_of(table, self.column)
        column_of(table, self.new_column)
        return graph

    def _function(self) -> sql.Identifier:
        return sql.Identifier(split_qualified(self.table)[0], self.trigger_name)

    def _install(self) -> tuple[Statement, ...]:
        old, new = sql.Identifier(self.column), sql.Identifier(self.new_column)
        body = sql.SQL(_BODY).format(
            old=old,
            new=new,
            forward=_row_value(self.expression, old),
            backward=_row_value(self.reverse_expression, new),
        )
        function = sql.SQL("CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}").format(
            self._function(), sql.Literal(body.as_string(None))
        )
        trigger = sql.SQL("CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
            sql.Identifier(self.trigger_name), qualified_identifier(self.table), self._function()
        )
        return (function, trigger)

    def _remove(self) -> tuple[Statement, ...]:
        return (
            sql.SQL("DROP TRIGGER {} ON {}").format(
                sql.Identifier(self.trigger_name), qualified_identifier(self.table)
            ),
            sql.SQL("DROP FUNCTION {}()").format(self._function()),
        )

    def _fields(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.table, self.column, self.new_column, self.expression, self.reverse_expression)


def _row_value(expression: str | None, column: sql.Identifier) -> sql.Composable:
    """PL/pgSQL for an expression over the row being written (``NEW``), or a plain copy of ``column``."""
    if expression is None:
        return sql.SQL("NEW.{}").format(column)
    return sql.SQL("(SELECT ({}) FROM (SELECT NEW.*) AS _zanith_row)").format(sql.SQL(expression))


@dataclass(frozen=True)
class AddDualWrite(_DualWrite):
    """Install the trigger keeping ``column`` and ``new_column`` in step (SHARE ROW EXCLUSIVE, brief)."""

    kind = "add_dual_write"
    stage = Stage.MIDDLE
    default_lock = Lock.SHARE_ROW_EXCLUSIVE

    def statements(self) -> tuple[Statement, ...]:
        return self._install()

    def reverse(self) -> Operation:
        return DropDualWrite(*self._fields())


@dataclass(frozen=True)
class DropDualWrite(_DualWrite):
    """Remove the dual-write trigger and its function (ACCESS EXCLUSIVE, brief)."""

    kind = "drop_dual_write"
    stage = Stage.MIDDLE

    def statements(self) -> tuple[Statement, ...]:
        return self._remove()

    def reverse(self) -> Operation:
        return AddDualWrite(*self._fields())


__all__ = ["AddDualWrite", "DropDualWrite"]
