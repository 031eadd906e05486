"""Steps: ops to be, ordered into stages and built one by one against the schema they will meet.

Both halves of generate — tables (:mod:`zanith_core.generate.tables`) and definitions
(:mod:`zanith_core.generate.definitions`) — return steps rather than ops, because an op that records
what it removes (for its reversal) must record what will be there when it runs, after the steps
ordered before it. :func:`build` sorts the steps (:mod:`zanith_core.generate.ordering`), builds each
against the schema the earlier ones leave, and checks that the result is the declared schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..diff import diff, render, without_column_order
from ..errors import ZanithError
from ..ops import NotApplicable, Operation
from ..schema.graph import SchemaGraph
from .ordering import slot


class GenerateError(ZanithError):
    """The declared change cannot be generated; the message says what and how to write it by hand."""


Builder = Callable[[SchemaGraph], Operation | None]
"""Builds a step's op against the schema as the steps before it leave it; None when, by then, the step
has nothing left to do (a table already in the declared column order)."""


@dataclass(frozen=True)
class Step:
    """One op to be, built against the schema as the steps ordered before it leave it."""

    kind: str
    build: Builder
    ahead_of: str | None = None
    """Run at the start of another kind's stage (see :func:`zanith_core.generate.ordering.slot`)."""
    last_in_stage: bool = False
    """Run after the other steps of its stage: a generated column after the columns it is computed from."""


def fixed(op: Operation, ahead_of: str | None = None, *, last_in_stage: bool = False) -> Step:
    """A step whose op does not depend on what the steps before it do."""
    return Step(op.kind, lambda _graph: op, ahead_of, last_in_stage)


def run(current: SchemaGraph, steps: Sequence[Step]) -> tuple[tuple[Operation, ...], SchemaGraph]:
    """Order the steps and build each against the schema as it will be: the ops, and the schema after."""
    graph = current
    ops: list[Operation] = []
    for step in sorted(steps, key=lambda s: (*slot(s.kind, s.ahead_of), s.last_in_stage)):
        try:
            op = step.build(graph)
            if op is None:
                continue
            graph = op.apply_to(graph)
        except NotApplicable as exc:
            done = "; ".join(o.describe() for o in ops) or "nothing"
            raise GenerateError(
                f"cannot generate a safe migration: step {step.kind} does not apply ({exc}) after: {done}. "
                "Write this change by hand with `zanith new --sql`"
            ) from None
        ops.append(op)
    return tuple(ops), graph


def build(
    current: SchemaGraph, declared: SchemaGraph, steps: Sequence[Step], *, column_order: bool = True
) -> tuple[Operation, ...]:
    """Order the steps, build each against the schema as it will be, and check the end result (its
    column order too, unless ``column_order`` is off)."""
    ops, graph = run(current, steps)
    left = diff(graph, declared) if column_order else without_column_order(diff(graph, declared))
    if left:
        raise GenerateError(
            "internal error: the generated operations do not reach the declared schema; left over:\n"
            + render(left)
            + "\nplease report this with both schemas"
        )
    return ops
