"""The gates that need more than the steps: is the target still the schema the plan was made for, were
applied migrations edited since, did the shadow verify pass — and what other stages call to enforce a plan.

The four gates judged step by step (budget, destructive, irreversible, large_table_rewrite) are in
:mod:`zanith_core.plan.model`, with the plan they restrict; plugins add gates of their own
(:mod:`zanith_core.hooks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import PlanRefused
from ..migrations import Migration
from ..schema.graph import SchemaGraph
from .model import GateResult, Plan, schema_hash


def stale_gate(pre_hash: str | None) -> GateResult:
    """At planning time a plan is fresh by construction; it records the schema it was made for."""
    made_for = f"schema {pre_hash[:12]}" if pre_hash else "no known schema"
    return GateResult("stale_plan", True, f"plan made for {made_for}")


def check_fresh(plan: Plan, current: SchemaGraph, pending: Sequence[Migration] | None = None) -> GateResult:
    """The stale_plan gate at apply time: does the target still hold the schema the plan was made for, and
    (given the migrations about to run) does the plan still describe them, step by step?"""
    result = check_fresh_hash(plan.pre_state_hash, schema_hash(current))
    if not result.passed or pending is None:
        return result
    mismatch = _described(plan, pending)
    return GateResult("stale_plan", False, mismatch) if mismatch else result


def _described(plan: Plan, pending: Sequence[Migration]) -> str | None:
    """Why ``plan`` does not describe ``pending`` (the migrations and their steps' SQL), or None."""
    if plan.migrations != tuple(m.id for m in pending):
        return (
            f"the plan is for migrations {', '.join(plan.migrations) or '(none)'} but "
            f"{', '.join(m.id for m in pending) or 'none'} are pending; plan again"
        )
    for migration in pending:
        for index, op in enumerate(migration.operations, start=1):
            planned = next((s for s in plan.steps if (s.migration_id, s.index) == (migration.id, index)), None)
            if planned is None or planned.sql != op.sql():
                return f"migration {migration.id} step {index} changed since the plan was made; plan again"
    return None


def check_fresh_hash(planned: str | None, current: str) -> GateResult:
    if planned is None:
        return GateResult("stale_plan", False, "the plan records no schema to compare with; plan against the target")
    if planned == current:
        return GateResult("stale_plan", True, f"target schema unchanged since the plan ({planned[:12]})")
    return GateResult(
        "stale_plan",
        False,
        f"target schema changed since the plan was made (planned for {planned[:12]}, now {current[:12]}); plan again",
    )


def checksum_gate(migrations: Sequence[Migration], applied: Mapping[str, str] | None) -> GateResult:
    if applied is None:
        return GateResult("checksum", True, "no target database: no applied migration to compare")
    edited = [m for m in migrations if m.id in applied and applied[m.id] != m.checksum]
    if edited:
        names = ", ".join(f"{m.id} ({m.path or 'defined in code'})" for m in edited)
        return GateResult("checksum", False, f"applied migration(s) edited since they ran: {names}")
    return GateResult("checksum", True, f"{len(applied)} applied migration(s) match their files")


def shadow_gate(verified: bool | None) -> GateResult:
    if verified is None:
        return GateResult("shadow_verified", True, "shadow verify not run for this plan")
    if verified:
        return GateResult("shadow_verified", True, "shadow verify reached the declared schema")
    return GateResult("shadow_verified", False, "shadow verify failed: the migrations do not reach the declared schema")


def require_ok(plan: Plan) -> Plan:
    """``plan`` itself when its verdict is ok; otherwise raise :class:`PlanRefused` with the reasons."""
    if plan.verdict == "ok":
        return plan
    failed = "; ".join(f"{g.name}: {g.detail}" for g in plan.gates if g.refuses)
    raise PlanRefused(f"plan refused, nothing was written — {failed}")
