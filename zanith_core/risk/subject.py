"""What a step does and what is known of its target, as scoring sees them; and scoring a step from them.

A :class:`Subject` holds a step's facts in kind-neutral terms (its table, concurrently or not, NOT VALID or
not, the new type ...): built from an op (:func:`zanith_core.risk.parameters.subject_of`) or from one
parsed SQL statement (:mod:`zanith_core.risk.rawsql`), so a hand-written ``CREATE INDEX CONCURRENTLY``
and a generated ``add_index`` get the same score from the same rule. A :class:`RiskContext` carries what
makes scoring context-aware:

* ``graph`` — the schema just before the step (the planner threads it through ``op.apply_to``), to know
  the column's current type for a type change, or whether a valid ``CHECK (col IS NOT NULL)`` exists;
* ``new_tables`` — tables created earlier in the same plan: nobody uses them, they hold no data;
* ``stats`` — live ``pg_class`` statistics per table (``None`` = static defaults), so a rewrite of an
  empty table is cheap and a rewrite of a large one is critical;
* ``server_version_num`` — rules that changed across PostgreSQL versions (None = assume 12+ and say so).

:class:`Rules` are the rules that refine a catalog default, by op kind: zanith's own and any plugin's
(the ``add_risk_rules`` hook), merged into one value the planner hands to the classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..ops.base import Operation
from ..schema.graph import SchemaGraph, Table
from .catalog import OP_KINDS, level_for

#: Live-statistics thresholds. Rows come from ``pg_class.reltuples``; bytes from ``pg_table_size``.
SMALL_ROWS = 10_000
SMALL_BYTES = 64 * 1024**2
SMALL_BYTES_UNKNOWN_ROWS = 1024**2
LARGE_ROWS = 1_000_000
LARGE_BYTES = 1024**3

#: A table's sizes, smallest first.
SIZES = ("small", "medium", "large")

#: Reasons that mean "work proportional to the table's size".
WORK_REASONS = frozenset({"table_rewrite", "scan_under_lock", "index_build", "backfill_required"})
#: Reasons that mean "the work happens under a lock that blocks traffic".
BLOCKING_REASONS = frozenset({"lock_blocks_reads", "lock_blocks_writes"})

#: Scores the context adjustments move towards.
NEW_TABLE_SCORE = 5
SMALL_TABLE_SCORE = 15
LARGE_BLOCKING_BONUS = 20
LARGE_NONBLOCKING_BONUS = 10


@dataclass(frozen=True)
class Risk:
    level: str
    score: int
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, score: int, reasons: Iterable[str]) -> Risk:
        """A risk with ``score`` clamped to 0-100, its level derived, reasons de-duplicated in order.

        ``lock_brief`` is dropped when a lock held for the work is also named: the stronger claim wins.
        """
        clamped = max(0, min(100, score))
        codes = tuple(dict.fromkeys(reasons))
        if BLOCKING_REASONS & set(codes):
            codes = tuple(c for c in codes if c != "lock_brief")
        return cls(level_for(clamped), clamped, codes)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ColumnStats:
    """``pg_stats`` of one column, from the last ANALYZE's sample of real rows."""

    null_frac: float
    n_distinct: float
    """Negative: minus the fraction of rows that are distinct (-1: no two sampled rows alike, once NULLs
    are set aside); positive: an absolute count of distinct values."""

    def duplicates_seen(self, rows: int) -> bool:
        """Whether the sample held two equal non-NULL values — so the table does (statistics may be stale)."""
        present = 1.0 - self.null_frac
        if present <= 0:
            return False
        if self.n_distinct < 0:
            return -self.n_distinct < present - 1e-6
        return rows * present - self.n_distinct >= 1


@dataclass(frozen=True)
class TableStats:
    """Live statistics of one table: ``rows`` is None when PostgreSQL has never estimated it."""

    rows: int | None
    bytes: int
    columns: tuple[tuple[str, ColumnStats], ...] = ()
    """``pg_stats`` by column name, for the columns ANALYZE has seen."""

    def column(self, name: str) -> ColumnStats | None:
        return next((stats for column, stats in self.columns if column == name), None)

    @property
    def size(self) -> str:
        """``small``, ``medium`` or ``large`` (:data:`SIZES`), by the thresholds above."""
        if (self.rows is not None and self.rows >= LARGE_ROWS) or self.bytes >= LARGE_BYTES:
            return "large"
        if self.rows is None:
            return "small" if self.bytes < SMALL_BYTES_UNKNOWN_ROWS else "medium"
        return "small" if self.rows < SMALL_ROWS and self.bytes < SMALL_BYTES else "medium"


@dataclass(frozen=True)
class RiskContext:
    stats: Mapping[str, TableStats] | None = None
    """Live statistics by qualified table name; None means no target: static defaults."""
    server_version_num: int | None = None
    new_tables: frozenset[str] = frozenset()
    graph: SchemaGraph | None = None

    def table(self, name: str | None) -> Table | None:
        return self.graph.table(name) if self.graph is not None and name else None


@dataclass(frozen=True)
class Subject:
    """What a step does, in kind-neutral facts; built from an op or from one parsed SQL statement."""

    kind: str
    table: str | None = None
    """Qualified ``schema.table`` the step acts on."""
    column: str | None = None
    columns: tuple[str, ...] = ()
    concurrently: bool = False
    not_valid: bool = False
    unique: bool = False
    using_index: bool = False
    new_type: str | None = None
    old_type: str | None = None
    """A type change's current type when the op records it (the graph's column type wins)."""
    using: str | None = None
    collation: str | None = None
    """The collation a type change gives the column (None: the new type's default)."""
    default: str | None = None
    not_null: bool = False
    identity: bool = False
    generated: bool = False
    references: tuple[str, ...] = ()
    """Tables a new foreign key points at."""
    parent: str | None = None
    """The partitioned table a new partition belongs to."""


SubjectRule = Callable[["Subject", "RiskContext"], tuple[int, tuple[str, ...]] | None]
"""A parameter rule: the (score, reasons) replacing the catalog default, or None to keep it."""

OpRule = Callable[[Operation, "RiskContext", "Rules"], "Risk"]
"""A rule scoring a whole op (the definition family, raw SQL); it gets the rules to score what it maps."""


@dataclass(frozen=True)
class Rules:
    """Scoring rules by op kind: parameter rules over a :class:`Subject`, and rules over a whole op."""

    subject: Mapping[str, SubjectRule] = field(default_factory=dict)
    op: Mapping[str, OpRule] = field(default_factory=dict)

    @classmethod
    def merged(cls, added: Iterable[Rules]) -> Rules:
        """One value from every plugin's rules; two rules for one kind are a configuration error."""
        subject: dict[str, SubjectRule] = {}
        op: dict[str, OpRule] = {}
        for rules in added:
            for table, found in ((subject, rules.subject), (op, rules.op)):
                for kind, rule in found.items():
                    if kind in table and table[kind] is not rule:
                        raise ConfigError(f"two plugins add a risk rule for op kind {kind!r}; keep one")
                    table[kind] = rule  # type: ignore[assignment]
        return cls(subject, op)


NO_RULES = Rules()
"""No rule at all: catalog defaults in context."""


def score_subject(subject: Subject, ctx: RiskContext, rules: Rules) -> Risk:
    """Catalog default → parameter rule → context (new table in this plan, live statistics)."""
    entry = OP_KINDS[subject.kind]
    rule = rules.subject.get(subject.kind)
    ruled = rule(subject, ctx) if rule else None
    score, reasons = ruled if ruled is not None else (entry.score, entry.reasons)
    return in_context(subject.table, subject.kind, Risk.of(score, reasons), ctx)


def in_context(table: str | None, kind: str | None, risk: Risk, ctx: RiskContext) -> Risk:
    """Adjust a risk for its table: new in this plan → cheap; live statistics → small or large."""
    if kind != "create_table" and table in ctx.new_tables:
        return Risk.of(min(risk.score, NEW_TABLE_SCORE), ("small_table",))
    stats = ctx.stats.get(table) if ctx.stats is not None and table else None
    return sized(risk, stats.size if stats is not None else None)


def sized(risk: Risk, size: str | None) -> Risk:
    """Adjust a risk for the size of the table its work is done on (None: unknown, no adjustment):
    ``small`` → cheap, ``large`` → raised; only a step whose work grows with the table is adjusted. The
    size comes from live statistics (:attr:`TableStats.size`) or, scoring from observation, from the
    time the work is estimated to take (:mod:`zanith_core.risk.observed`)."""
    if size is None or not WORK_REASONS & set(risk.reasons):
        return risk
    if size == "small" and "data_loss" not in risk.reasons:
        return Risk.of(min(risk.score, SMALL_TABLE_SCORE), (*risk.reasons, "small_table"))
    if size == "large":
        blocking = bool(BLOCKING_REASONS & set(risk.reasons))
        bonus, cap = (LARGE_BLOCKING_BONUS, 79) if blocking else (LARGE_NONBLOCKING_BONUS, 65)
        return Risk.of(max(risk.score, min(risk.score + bonus, cap)), (*risk.reasons, "large_table"))
    return risk
