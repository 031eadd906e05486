"""The risk model: score one step — the catalog default, refined by rules, adjusted by what is known.

- :mod:`.catalog` — the data: 6 levels, the reason codes, the gates, and each op kind's default score,
  reasons and lock note (docs/risk.md is generated from it);
- :mod:`.subject` — a step's facts (:class:`Subject`), what is known of its target (:class:`RiskContext`),
  the :class:`Rules` value and scoring a subject in context;
- :mod:`.parameters` — the table-level kinds' parameter rules and the PostgreSQL facts they rely on;
- :mod:`.definitions` — the definition family's rules;
- :mod:`.rawsql` — hand-written SQL parsed with PostgreSQL's parser and scored statement by statement;
- :mod:`.stats` — the live statistics query.

:data:`CORE_RULES` is the risk model's own rules in one value. Nothing registers itself on import: the
plan stage adds :data:`CORE_RULES` to its plugin manager through the same ``add_risk_rules`` hook a
plugin uses, and hands the merged :class:`Rules` to :func:`classify`.
"""

from __future__ import annotations

from ..ops.base import Operation
from .catalog import DEFINITION_KIND_NAMES, GATES, LEVELS, OP_KINDS, REASONS, Gate, Level, OpKind, Reason
from .definitions import DEFINITION_RULES
from .parameters import TABLE_RULES, subject_of
from .rawsql import StatementRisk, analyse, raw_sql_rule
from .rawsql import classify_sql as _classify_sql
from .rawsql import tables as _raw_tables
from .subject import (
    BLOCKING_REASONS,
    WORK_REASONS,
    Risk,
    RiskContext,
    Rules,
    Subject,
    TableStats,
    score_subject,
)

CORE_RULES = Rules(subject=TABLE_RULES, op={**DEFINITION_RULES, "raw_sql": raw_sql_rule})
"""The risk model's own rules: parameter rules of the table-level kinds, whole-op rules of the definition
family and of raw SQL."""

__all__ = [
    "BLOCKING_REASONS",
    "CORE_RULES",
    "DEFINITION_KIND_NAMES",
    "GATES",
    "LEVELS",
    "OP_KINDS",
    "REASONS",
    "WORK_REASONS",
    "Gate",
    "Level",
    "OpKind",
    "Reason",
    "Risk",
    "RiskContext",
    "Rules",
    "StatementRisk",
    "Subject",
    "TableStats",
    "analyse_sql",
    "classify",
    "classify_sql",
    "locked_tables",
    "subject_of",
]


def classify(op: Operation, ctx: RiskContext | None = None, rules: Rules = CORE_RULES) -> Risk:
    """The risk of one op in context (default: static, nothing known about the target)."""
    context = ctx or RiskContext()
    rule = rules.op.get(op.kind)
    risk = rule(op, context, rules) if rule is not None else score_subject(subject_of(op), context, rules)
    if not op.reversible and "irreversible" not in risk.reasons:
        risk = Risk.of(risk.score, (*risk.reasons, "irreversible"))
    return risk


def locked_tables(op: Operation) -> tuple[str, ...]:
    """The qualified tables ``op`` locks: its declared :attr:`~Operation.tables`, or for hand-written SQL
    the tables its statements act on, read with PostgreSQL's parser (none when it does not parse)."""
    return tuple(sorted(_raw_tables(op.sql()))) if op.kind == "raw_sql" else op.tables


def classify_sql(text: str, ctx: RiskContext | None = None, rules: Rules = CORE_RULES) -> Risk:
    """The risk of hand-written SQL: its riskiest statement's score, every statement's reasons."""
    return _classify_sql(text, ctx or RiskContext(), rules)


def analyse_sql(text: str, ctx: RiskContext | None = None, rules: Rules = CORE_RULES) -> tuple[StatementRisk, ...]:
    """Each statement of ``text`` with the op kinds it maps onto and its risk."""
    return analyse(text, ctx or RiskContext(), rules)
