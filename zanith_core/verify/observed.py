"""Each replayed step's prediction beside what PostgreSQL observed (``zanith verify --observe``).

The prediction is the risk model's, for the step as the plan scored it on the shadow: the lock the op
takes (a typed op's :attr:`~zanith_core.ops.base.Operation.lock`; for hand-written SQL the lock its
reason codes imply, :func:`~zanith_core.apply.lock_wait.step_locks`, or none when they imply no
blocking lock), the tables it locks, and whether it rewrites a table (reason ``table_rewrite``). The
observation is :class:`~zanith_core.apply.observe.Observation`. Comparing the two, and failing on a
mismatch, is the next part of issue 18; this module only puts them side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..apply.lock_wait import step_locks
from ..apply.observe import Observation
from ..apply.results import ApplyResult
from ..migrations import Migration
from ..ops.base import Lock, Operation
from ..risk import locked_tables
from ..schema.codec import encode


@dataclass(frozen=True)
class Predicted:
    lock: str | None
    """The lock mode, as the op catalog names it (``ACCESS EXCLUSIVE``); None: no blocking lock predicted."""
    tables: tuple[str, ...]
    rewrite: bool


@dataclass(frozen=True)
class ObservedStep:
    migration: str
    index: int
    kind: str
    target: str
    predicted: Predicted
    observed: Observation | None
    """None for a step that ran outside a transaction: not observed yet."""

    def to_dict(self) -> dict[str, Any]:
        return dict(encode(self))

    def render(self) -> str:
        """One line; of the modes held on a table, the strongest (``--json`` lists every mode)."""
        lock = self.predicted.lock or "no blocking lock"
        rewrite = "rewrite" if self.predicted.rewrite else "no rewrite"
        head = f"{self.migration} step {self.index} ({self.kind} {self.target}): predicted {lock}, {rewrite}"
        if self.observed is None:
            return f"{head}; not observed (runs outside a transaction)"
        strongest = {h.relation: h.mode for h in self.observed.locks}  # locks come weakest first per relation
        held = ", ".join(f"{mode} on {table}" for table, mode in strongest.items()) or "no lock on an existing table"
        wrote = f"rewrote {', '.join(self.observed.rewritten)}" if self.observed.rewritten else "no rewrite"
        return f"{head}; observed {held}, {wrote}, {self.observed.seconds:.3f}s"


def observed_steps(migrations: Sequence[Migration], result: ApplyResult) -> tuple[ObservedStep, ...]:
    """The ``done`` steps of an observed run, each with the plan's prediction for it."""
    ops = {(m.id, i): op for m in migrations for i, op in enumerate(m.operations, 1)}
    reasons = {(s.migration_id, s.index): s.reasons for s in result.plan.steps} if result.plan else {}
    return tuple(
        ObservedStep(
            e.migration_id,
            e.step_index,
            e.kind,
            e.target,
            predict(ops[(e.migration_id, e.step_index)], reasons.get((e.migration_id, e.step_index), ())),
            e.observed,
        )
        for e in result.events
        if e.status == "done"
    )


def predict(op: Operation, reasons: Sequence[str]) -> Predicted:
    if op.kind == "raw_sql":
        order = list(Lock)
        modes = [held.mode for held in step_locks(op, reasons)]
        lock = max(modes, key=order.index).value if modes else None
    else:
        lock = op.lock.value
    return Predicted(lock, tuple(locked_tables(op)), "table_rewrite" in reasons)
