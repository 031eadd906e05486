"""Steps that cannot succeed on the target's rows, when its live statistics prove it (issue 18, part 4).

Measured: a NOT NULL column with no default added to a 2,000-row table planned as "moderate 40, may
fail" with verdict ok — then apply failed. With live statistics the plan knows better, and says so:

- ``add_column`` of a NOT NULL column with no default (nor identity, nor generated expression) on a
  table whose estimated rows (``reltuples``) are above zero: every existing row would hold NULL;
- a new primary key, unique constraint or unique index on **one** plain column whose ``pg_stats``
  sample held two equal values (``n_distinct`` short of all-distinct), or, for a primary key, NULLs.

Such a step is marked ``will_fail`` with its evidence and scored 100, and the budget gate refuses it
whatever the budget. Statistics can be stale (ANALYZE the table to refresh them); what they cannot
prove — a unique key over several columns, a table never analysed — is not predicted to fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ops import AddColumn, AddIndex, AddPrimaryKey, AddUnique, Operation
from ..schema.codec import encode
from .subject import RiskContext, TableStats


@dataclass(frozen=True)
class WillFail:
    """Why a step cannot succeed: the table, its estimated rows, the column, and what goes wrong."""

    table: str
    rows: int
    column: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))

    def render(self) -> str:
        return f"will fail: {self.why} ({self.table}.{self.column}, about {self.rows} rows)"


def will_fail(op: Operation, ctx: RiskContext) -> WillFail | None:
    """The proof that ``op`` fails on the target's rows, or None (see the module doc)."""
    table = op.tables[0] if op.tables else None
    stats = ctx.stats.get(table) if ctx.stats is not None and table else None
    if table is None or stats is None or not stats.rows or stats.rows <= 0:
        return None
    if isinstance(op, AddColumn):
        column = op.column
        if not column.nullable and column.default is None and column.identity is None and column.generated is None:
            return WillFail(table, stats.rows, column.name, "a NOT NULL column without a default, on a table with rows")
        return None
    key = _unique_key(op)
    return _duplicates(table, stats, key, primary=isinstance(op, AddPrimaryKey)) if key else None


def _unique_key(op: Operation) -> str | None:
    """The one plain column a new unique key is on (None for several columns or an expression)."""
    if isinstance(op, AddPrimaryKey):
        columns = op.primary_key.columns
    elif isinstance(op, AddUnique):
        columns = op.unique.columns
    elif isinstance(op, AddIndex) and op.index.unique and op.index.predicate is None:
        columns = op.index.keys if op.index.keys == op.index.columns else ()
    else:
        return None
    return columns[0] if len(columns) == 1 else None


def _duplicates(table: str, stats: TableStats, column: str, *, primary: bool) -> WillFail | None:
    seen = stats.column(column)
    if seen is None or stats.rows is None:
        return None
    if primary and seen.null_frac > 0:
        return WillFail(table, stats.rows, column, "a primary key on a column holding NULLs")
    if seen.duplicates_seen(stats.rows):
        return WillFail(table, stats.rows, column, "a unique key on a column holding duplicate values")
    return None
