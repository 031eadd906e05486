"""The plan as a value: every pending step scored, the gates' verdicts, and the schema it was made for.

A :class:`Plan` is computed once (:mod:`zanith_core.plan.planner`) and then consumed: the CLI prints it,
the pytest plugin checks it against a budget, ``zanith apply`` enforces it (Atlas and pg-schema-diff
treat plans the same way). It records the SHA-256 of the schema it was made for, so the runner can tell
under its lock whether the target still holds that schema (:func:`zanith_core.plan.gates.check_fresh`),
and it round-trips through the ``zanith plan --json`` document, so the plan a reviewer read can be the
one a deploy applies (``zanith apply --plan FILE``).

The four gates judged step by step live here too, because restricting a plan to one migration
(:meth:`Plan.only`, one pytest item per migration) judges them again on its steps alone.

Step indexes are 1-based, as people count steps ("step 2 of 3").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import MigrationFileError
from ..risk.catalog import GATES
from ..risk.failure import WillFail
from ..risk.observed import Scaled
from ..risk.subject import BLOCKING_REASONS, WORK_REASONS
from ..schema.codec import decode
from ..schema.graph import SchemaGraph

STATS_LIVE = "live"
STATS_STATIC = "static"


@dataclass(frozen=True)
class PlanStep:
    migration_id: str
    index: int
    """1-based position of the op in its migration."""
    kind: str
    target: str
    sql: str
    level: str
    score: int
    reasons: tuple[str, ...]
    will_fail: WillFail | None = None
    """The proof, from live statistics, that the step cannot succeed on the target's rows (scored 100)."""
    observed: Scaled | None = None
    """What the shadow saw the step do, scaled to the target, when the step was scored from it
    (``zanith plan --observed``)."""

    @property
    def label(self) -> str:
        return f"{self.migration_id} step {self.index} ({self.kind} {self.target})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "target": self.target,
            "sql": self.sql,
            "level": self.level,
            "score": self.score,
            "reasons": list(self.reasons),
            "will_fail": self.will_fail is not None,
            **({"evidence": self.will_fail.to_dict()} if self.will_fail else {}),
            **({"observed": self.observed.to_dict()} if self.observed else {}),
        }

    @classmethod
    def from_dict(cls, migration_id: str, data: Mapping[str, Any]) -> PlanStep:
        return cls(
            migration_id,
            int(data["index"]),
            str(data["kind"]),
            str(data["target"]),
            str(data["sql"]),
            str(data["level"]),
            int(data["score"]),
            tuple(data["reasons"]),
            decode(WillFail, data["evidence"]) if data.get("evidence") else None,
            decode(Scaled, data["observed"]) if data.get("observed") else None,
        )


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str
    enforcing: bool = True
    """False for an advisory gate: a failure is reported but does not refuse the plan."""
    steps: tuple[tuple[str, int], ...] = ()
    """(migration id, step index) of the steps that made the gate fail."""

    @property
    def refuses(self) -> bool:
        return self.enforcing and not self.passed

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, "enforcing": self.enforcing}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(str(data["name"]), bool(data["passed"]), str(data["detail"]), bool(data["enforcing"]))


@dataclass(frozen=True)
class Plan:
    migrations: tuple[str, ...]
    """Ids of the planned (pending) migrations, in order."""
    steps: tuple[PlanStep, ...]
    gates: tuple[GateResult, ...]
    budget: int | None
    stats: str
    """``live`` (scores used the target's pg_class statistics) or ``static`` (catalog defaults)."""
    pre_state_hash: str | None
    """SHA-256 of the JSON of the schema the plan was computed against (None: no schema was known)."""
    server_version_num: int | None = None
    skipped: tuple[str, ...] = ()
    """Migrations left out because the target already applied them."""
    notes: tuple[str, ...] = ()
    """What a reviewer should know about how steps were scored: observations ignored as stale, missing,
    or whose time could not be scaled (``zanith plan --observed``)."""

    @property
    def verdict(self) -> str:
        return "refused" if any(g.refuses for g in self.gates) else "ok"

    @property
    def offending(self) -> tuple[PlanStep, ...]:
        """Steps named by a refusing gate, in plan order."""
        keys = {key for g in self.gates if g.refuses for key in g.steps}
        return tuple(s for s in self.steps if (s.migration_id, s.index) in keys)

    def gate(self, name: str) -> GateResult:
        return next(g for g in self.gates if g.name == name)

    def step(self, migration_id: str, index: int) -> PlanStep:
        return next(s for s in self.steps if s.migration_id == migration_id and s.index == index)

    def with_budget(self, budget: int) -> Plan:
        """This plan judged against another budget (the other gates keep their verdicts)."""
        return self._judged(self.steps, budget, migrations=self.migrations)

    def only(self, migration_id: str) -> Plan:
        """This plan restricted to one migration; step-level gates are judged on its steps alone."""
        steps = tuple(s for s in self.steps if s.migration_id == migration_id)
        return self._judged(steps, self.budget, migrations=(migration_id,))

    def _judged(self, steps: tuple[PlanStep, ...], budget: int | None, *, migrations: tuple[str, ...]) -> Plan:
        whole = [g for g in self.gates if g.name not in STEP_GATES]
        per_step = {g.name: g.enforcing for g in self.gates if g.name in STEP_GATES}
        gates = ordered((*step_gates(steps, budget, enforcing=per_step), *whole))
        return replace(self, migrations=migrations, steps=steps, budget=budget, gates=gates)

    def to_dict(self) -> dict[str, Any]:
        """The ``zanith plan --json`` document (keys documented in docs/risk.md)."""
        return {
            "verdict": self.verdict,
            "budget": self.budget,
            "stats": self.stats,
            "server_version_num": self.server_version_num,
            "pre_state_hash": self.pre_state_hash,
            "skipped": list(self.skipped),
            "migrations": [
                {"id": mid, "steps": [s.to_dict() for s in self.steps if s.migration_id == mid]}
                for mid in self.migrations
            ],
            "gates": [g.to_dict() for g in self.gates],
            "offending": [{"migration": s.migration_id, "index": s.index} for s in self.offending],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "<plan>") -> Plan:
        """The plan a ``zanith plan --json`` document describes (what ``zanith apply --plan`` reads).

        Gates keep their verdicts; which steps made a refusing gate fail is known from ``offending``.
        """
        try:
            steps = tuple(PlanStep.from_dict(m["id"], s) for m in data["migrations"] for s in m["steps"])
            offending = tuple((o["migration"], int(o["index"])) for o in data["offending"])
            gates = tuple(
                replace(g, steps=offending if g.refuses else ())
                for g in (GateResult.from_dict(d) for d in data["gates"])
            )
            return cls(
                migrations=tuple(m["id"] for m in data["migrations"]),
                steps=steps,
                gates=gates,
                budget=data["budget"],
                stats=str(data["stats"]),
                pre_state_hash=data["pre_state_hash"],
                server_version_num=data["server_version_num"],
                skipped=tuple(data["skipped"]),
                notes=tuple(data.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MigrationFileError(
                f"{origin} is not a `zanith plan --json` document ({type(exc).__name__}: {exc}); write it with "
                "`zanith plan --json --database-url URL > FILE`"
            ) from None

    def render(self) -> str:
        """The table a reviewer reads at a glance; offending steps are marked with ``!``."""
        return render(self)


STEP_GATES = ("budget", "destructive", "irreversible", "large_table_rewrite")


def ordered(gates: Iterable[GateResult]) -> tuple[GateResult, ...]:
    order = {name: i for i, name in enumerate(GATES)}
    return tuple(sorted(gates, key=lambda g: order.get(g.name, len(order))))


def _keys(steps: Iterable[PlanStep]) -> tuple[tuple[str, int], ...]:
    return tuple((s.migration_id, s.index) for s in steps)


def _listing(steps: Sequence[PlanStep], limit: int = 5) -> str:
    shown = "; ".join(f"{s.label} scores {s.score}" for s in steps[:limit])
    return shown + (f"; and {len(steps) - limit} more" if len(steps) > limit else "")


def step_gates(
    steps: Sequence[PlanStep], budget: int | None, *, enforcing: dict[str, bool] | None = None
) -> tuple[GateResult, ...]:
    """The four gates judged step by step: budget, destructive, irreversible, large_table_rewrite."""
    flags = {name: GATES[name].enforcing for name in STEP_GATES} | (enforcing or {})
    if budget is None:
        budget_gate = GateResult("budget", True, "no budget set", flags["budget"])
    else:
        over = [s for s in steps if s.score > budget or s.will_fail is not None]  # a step that will fail: any budget
        detail = (
            f"{len(over)} step(s) over budget {budget}: {_listing(over)}"
            if over
            else f"every step scores at most {budget}"
        )
        budget_gate = GateResult("budget", not over, detail, flags["budget"], _keys(over))

    lossy = [s for s in steps if "data_loss" in s.reasons]
    one_way = [s for s in steps if "irreversible" in s.reasons]
    large = [
        s
        for s in steps
        if "large_table" in s.reasons and BLOCKING_REASONS & set(s.reasons) and WORK_REASONS & set(s.reasons)
    ]
    return (
        budget_gate,
        GateResult(
            "destructive",
            not lossy,
            f"{len(lossy)} step(s) delete data: {_listing(lossy)}" if lossy else "no step deletes data",
            flags["destructive"],
            _keys(lossy),
        ),
        GateResult(
            "irreversible",
            not one_way,
            f"{len(one_way)} step(s) have no automatic reversal: {_listing(one_way)}"
            if one_way
            else "every step has an automatic reversal",
            flags["irreversible"],
            _keys(one_way),
        ),
        GateResult(
            "large_table_rewrite",
            not large,
            f"{len(large)} step(s) block traffic while working on a large table: {_listing(large)}"
            if large
            else "no blocking rewrite or scan of a table known to be large",
            flags["large_table_rewrite"],
            _keys(large),
        ),
    )


def schema_hash(graph: SchemaGraph) -> str:
    """SHA-256 of the schema's canonical JSON: equal schemas, equal hashes."""
    return hashlib.sha256(graph.to_json().encode()).hexdigest()


# -- rendering -----------------------------------------------------------------------------------------


def render(p: Plan) -> str:
    source = f"live statistics (PostgreSQL {p.server_version_num})" if p.stats == STATS_LIVE else "static defaults"
    budget = f"budget {p.budget}" if p.budget is not None else "no budget"
    lines = [f"plan: {len(p.migrations)} migration(s), {len(p.steps)} step(s), {budget}, {source}"]
    if p.skipped:
        lines.append(f"already applied: {len(p.skipped)} migration(s)")
    offending = {(s.migration_id, s.index) for s in p.offending}
    header = ("", "step", "op", "target", "level", "score", "reasons")
    for mid in p.migrations:
        rows = [
            (
                "!" if (s.migration_id, s.index) in offending else "",
                str(s.index),
                s.kind,
                s.target,
                s.level,
                str(s.score),
                ", ".join(s.reasons) or "-",
            )
            for s in p.steps
            if s.migration_id == mid
        ]
        lines.append("")
        lines.append(f"migration {mid}")
        lines.extend(_table([header, *rows]) if rows else ["  (no steps)"])
        lines.extend(
            f"  step {s.index} observed: {s.observed.render()}"
            for s in p.steps
            if s.migration_id == mid and s.observed is not None
        )
    if p.notes:
        lines.append("")
        lines.append("notes")
        lines.extend(f"  {note}" for note in p.notes)
    lines.append("")
    lines.append("gates")
    for g in p.gates:
        mark = "pass" if g.passed else ("FAIL" if g.enforcing else "warn")
        lines.append(f"  {mark:<4}  {g.name:<20} {g.detail}")
    lines.append("")
    if p.verdict == "ok":
        lines.append("verdict: ok")
    else:
        lines.append(f"verdict: refused ({', '.join(g.name for g in p.gates if g.refuses)})")
        lines.extend(f"  ! {s.label}: score {s.score}, {', '.join(s.reasons) or 'no reasons'}" for s in p.offending)
    lines.extend(f"  ! {s.label}: {s.will_fail.render()}" for s in p.steps if s.will_fail is not None)
    return "\n".join(lines)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {5}
    return [
        " ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in rows
    ]
