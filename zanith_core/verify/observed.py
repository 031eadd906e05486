"""Each replayed step's prediction beside what PostgreSQL observed (``zanith verify --observe``).

The prediction is the risk model's for what the op does (scored out of context: no table counts as new
in the plan, no statistics, so the shadow's empty tables do not make every step "small"): the lock the op
takes (a typed op's :attr:`~zanith_core.ops.base.Operation.lock`; for hand-written SQL the lock its
reason codes imply, :func:`~zanith_core.apply.lock_wait.step_locks`, or none when they imply no
blocking lock), the tables it locks, and whether it rewrites a table (reason ``table_rewrite``). The
observation is :class:`~zanith_core.risk.observed.Observation`, read in the step's transaction or, for a
step outside one (``CONCURRENTLY``), from a second connection while it ran.

:func:`mismatches` compares them where it matters to traffic. A lock mode is judged by what it does to
other clients: it blocks their reads (``ACCESS EXCLUSIVE``), their writes (``SHARE`` and stronger), or
neither. A step **mismatches** when on some table it blocked more than its prediction for that table
(a table not predicted at all is predicted to block nothing), or when it rewrote a table while its
reasons lack ``table_rewrite``. A partition is judged by its partitioned root's prediction: PostgreSQL
takes a partitioned table's DDL lock on each of its partitions. Each mismatch names what made the
prediction: the risk rule for the op kind (a plugin's, or zanith's own) or, without one, the catalog
entry of the kind; for hand-written SQL, those of the kinds its statements were mapped onto.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..apply.lock_wait import step_locks
from ..apply.results import ApplyResult
from ..migrations import Migration
from ..ops.base import Lock, Operation
from ..plan import Plan
from ..plan.observed import ObservedStep as Observed
from ..risk import analyse_sql, locked_tables
from ..risk.subject import RiskContext, Rules
from ..schema.codec import encode


@dataclass(frozen=True)
class Predicted:
    lock: str | None
    """The lock mode, as the op catalog names it (``ACCESS EXCLUSIVE``); None: no blocking lock predicted."""
    tables: tuple[str, ...]
    rewrite: bool
    reasons: tuple[str, ...] = ()
    """The step's reason codes, as the plan scored it on the shadow."""


@dataclass(frozen=True)
class ObservedStep(Observed):
    """A replayed step as the plan reads it back (``observed`` None for a step outside a transaction that no
    second connection could watch: :class:`~zanith_core.apply.observe.LockPoll`), with its prediction."""

    predicted: Predicted

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))

    def render(self) -> str:
        """One line; of the modes held on a table, the strongest (``--json`` lists every mode)."""
        lock = self.predicted.lock or "no blocking lock"
        rewrite = "rewrite" if self.predicted.rewrite else "no rewrite"
        head = f"{self.migration} step {self.index} ({self.kind} {self.target}): predicted {lock}, {rewrite}"
        if self.observed is None:
            return f"{head}; not observed (it ran outside a transaction and no second connection could watch it)"
        strongest = {h.relation: h.mode for h in self.observed.locks}  # locks come weakest first per relation
        held = ", ".join(f"{mode} on {table}" for table, mode in strongest.items()) or "no lock on an existing table"
        wrote = f"rewrote {', '.join(self.observed.rewritten)}" if self.observed.rewritten else "no rewrite"
        return f"{head}; observed {held}, {wrote}, {self.observed.seconds:.3f}s"


def observed_steps(migrations: Sequence[Migration], result: ApplyResult, predictions: Plan) -> tuple[ObservedStep, ...]:
    """The ``done`` steps of an observed run, each with its prediction from ``predictions`` (a plan scored
    out of context: ``plan(..., in_context=False)``)."""
    ops = {(m.id, i): op for m in migrations for i, op in enumerate(m.operations, 1)}
    reasons = {(s.migration_id, s.index): s.reasons for s in predictions.steps}
    return tuple(
        ObservedStep(
            e.migration_id,
            e.step_index,
            e.kind,
            e.target,
            e.observed,
            predict(ops[(e.migration_id, e.step_index)], reasons.get((e.migration_id, e.step_index), ())),
        )
        for e in result.events
        if e.status == "done"
    )


BLOCKS = {"reads": 2, "writes": 1, "nothing": 0}


def blocks(mode: str) -> str:
    """What a ``pg_locks`` mode does to other clients' reads and writes (:attr:`Lock.blocks`)."""
    return Lock.of_pg_mode(mode).blocks


@dataclass(frozen=True)
class Mismatch:
    """A step that did more to a table than the risk model said it would."""

    migration: str
    index: int
    kind: str
    target: str
    aspect: str
    """``lock`` or ``rewrite``."""
    table: str
    predicted: str
    observed: str
    wrong: str
    """What made the prediction: ``rule <module.name> for <kind>`` or ``catalog entry for <kind>``."""

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))

    def render(self) -> str:
        return (
            f"{self.migration} step {self.index} ({self.kind} {self.target}): {self.aspect} on {self.table} "
            f"predicted {self.predicted}, observed {self.observed} — from the {self.wrong}"
        )


def mismatches(steps: Sequence[ObservedStep], migrations: Sequence[Migration], rules: Rules) -> tuple[Mismatch, ...]:
    """Every observed step's mismatches with its prediction (see the module doc)."""
    ops = {(m.id, i): op for m in migrations for i, op in enumerate(m.operations, 1)}
    found: list[Mismatch] = []
    for step in steps:
        if step.observed is None:
            continue
        op = ops[(step.migration, step.index)]
        expected = _predicted_blocks(op, step)
        strongest: dict[str, str] = {}
        for held in step.observed.locks:
            if held.relation not in expected and held.partition_of in expected:
                expected[held.relation] = expected[held.partition_of]  # a partitioned table's lock, recursed
            if BLOCKS[blocks(held.mode)] > BLOCKS[strongest.get(held.relation, "nothing")]:
                strongest[held.relation] = blocks(held.mode)
        for table, blocked in sorted(strongest.items()):
            if BLOCKS[blocked] > BLOCKS[expected.get(table, "nothing")]:
                found.append(
                    _mismatch(
                        step, op, rules, "lock", table, f"blocks {expected.get(table, 'nothing')}", f"blocks {blocked}"
                    )
                )
        if not step.predicted.rewrite:
            for table in step.observed.rewritten:
                found.append(_mismatch(step, op, rules, "rewrite", table, "no rewrite", "rewritten"))
    return tuple(found)


def _predicted_blocks(op: Operation, step: ObservedStep) -> dict[str, str]:
    """What the prediction says the step does to each table's traffic."""
    if op.kind == "raw_sql":
        return {held.table: held.mode.blocks for held in step_locks(op, step.predicted.reasons)}
    tables = step.predicted.tables
    return {t: (op.lock if n == 0 else op.other_lock).blocks for n, t in enumerate(tables)}


def _mismatch(
    step: ObservedStep, op: Operation, rules: Rules, aspect: str, table: str, predicted: str, observed: str
) -> Mismatch:
    return Mismatch(
        step.migration, step.index, step.kind, step.target, aspect, table, predicted, observed, _source(op, rules)
    )


def _source(op: Operation, rules: Rules) -> str:
    """The rules (or catalog entries) that scored ``op``."""
    kinds = (
        [k for s in analyse_sql(op.sql(), RiskContext(), rules) for k in s.kinds] if op.kind == "raw_sql" else [op.kind]
    )
    names = []
    for kind in dict.fromkeys(kinds):
        rule = rules.subject.get(kind) or rules.op.get(kind)
        names.append(f"rule {rule.__module__}.{rule.__qualname__} for {kind}" if rule else f"catalog entry for {kind}")
    return "; ".join(names) or "raw SQL classifier (a statement it maps to no op kind)"


def predict(op: Operation, reasons: Sequence[str]) -> Predicted:
    if op.kind == "raw_sql":
        order = list(Lock)
        modes = [held.mode for held in step_locks(op, reasons)]
        lock = max(modes, key=order.index).value if modes else None
    else:
        lock = op.lock.value
    return Predicted(lock, tuple(locked_tables(op)), "table_rewrite" in reasons, tuple(reasons))
