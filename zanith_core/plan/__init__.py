"""Plan: a verdict before anything writes.

``plan(migrations, budget=...)`` scores every step of every pending migration (catalog defaults refined
by parameters, the schema before the step, tables created earlier in the plan and, when a target is
connected, its live statistics and version), lets plugins adjust the scores, and runs the seven gates.
The result is a frozen :class:`Plan` that the CLI prints, the pytest plugin checks and the runner
enforces; no later stage recomputes what the plan decided (Atlas and pg-schema-diff treat plans the same
way). A plan records the SHA-256 of the schema it was made for, so :func:`check_fresh` refuses it when
the target changed in between.

Step indexes are 1-based, as people count steps ("step 2 of 3").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pluggy
import psycopg

from ..apply import ledger
from ..config import Config
from ..errors import PlanRefused
from ..hooks import adjusted, gate_checks, plugin_manager, reason_codes
from ..migrations import Migration
from ..migrations.loader import load_migrations
from ..ops import NotApplicable, Operation
from ..read import introspect
from ..risk.catalog import GATES
from ..risk.classify import BLOCKING_REASONS, WORK_REASONS, RiskContext, TableStats, classify, subject_of
from ..risk.rawsql import tables as raw_tables
from ..risk.stats import live_stats
from ..schema.graph import SchemaGraph
from ..servers import connect

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
        }


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

    def only(self, migration_id: str) -> Plan:
        """This plan restricted to one migration; step-level gates are judged on its steps alone."""
        steps = tuple(s for s in self.steps if s.migration_id == migration_id)
        whole_plan = [g for g in self.gates if g.name not in _STEP_GATES]
        per_step = {g.name: g.enforcing for g in self.gates if g.name in _STEP_GATES}
        gates = (*step_gates(steps, self.budget, enforcing=per_step), *whole_plan)
        return replace(self, migrations=(migration_id,), steps=steps, gates=_ordered(gates))

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
        }

    def render(self) -> str:
        """The table a reviewer reads at a glance; offending steps are marked with ``!``."""
        return render(self)


def plan(
    migrations: Sequence[Migration],
    *,
    budget: int | None,
    conn: psycopg.Connection[Any] | None = None,
    graph_before: SchemaGraph | None = None,
    config: Config | None = None,
    shadow_verified: bool | None = None,
    allow_destructive: bool = True,
    pm: pluggy.PluginManager | None = None,
) -> Plan:
    """Score and gate the steps of ``migrations`` that the target (if any) has not applied yet.

    With ``conn``, migrations recorded in the target's ledger are skipped (their checksums feed the
    checksum gate), the schema before the plan is introspected unless ``graph_before`` is given, and
    scores use live statistics. Without it, every given migration is planned with static defaults,
    against ``graph_before`` when given; with no schema at all (a lone migration checked against a
    budget) steps are scored without one and ``pre_state_hash`` is None. Each step sees the schema the
    earlier steps made (``op.apply_to``). A table created earlier in the plan makes later steps on it
    cheap; without a target only within the same migration, since CI cannot know which migrations
    will be deployed together. ``allow_destructive=False`` makes the destructive gate enforcing.
    """
    cfg = config or Config()
    manager = pm or plugin_manager(cfg)
    known = reason_codes(manager)
    applied = {a.id: a.checksum for a in ledger.applied_migrations(conn, cfg.ledger_schema)} if conn else {}
    pending = tuple(m for m in migrations if m.id not in applied)
    live_graph = _introspect(conn, cfg) if conn is not None else None
    before = graph_before or live_graph
    stats: dict[str, TableStats] | None = None
    version = None
    if conn is not None:
        version = conn.info.server_version
        ops = [op for m in pending for op in m.operations]
        stats = live_stats(
            conn, {t for op in ops for t in (raw_tables(op.sql()) if op.kind == "raw_sql" else op.tables)}
        )

    steps = []
    graph = before
    new_tables: frozenset[str] = frozenset()
    for migration in pending:
        if conn is None:
            # Without a target nobody knows which migrations deploy together: judge each on its own.
            new_tables = frozenset()
        for index, op in enumerate(migration.operations, start=1):
            ctx = RiskContext(stats=stats, server_version_num=version, new_tables=new_tables, graph=graph)
            risk = adjusted(manager, op, classify(op, ctx), ctx, migration.id, known)
            steps.append(
                PlanStep(migration.id, index, op.kind, op.target, op.sql(), risk.level, risk.score, risk.reasons)
            )
            if op.kind == "create_table" and (table := subject_of(op).table):
                new_tables |= {table}
            graph = _after(op, graph, resumable=conn is not None)

    pre_hash = schema_hash(before) if before is not None else None
    gates = (
        *step_gates(steps, budget, enforcing={"destructive": not allow_destructive}),
        _stale_gate(pre_hash, live_graph if graph_before is not None else None),
        _checksum_gate(migrations, applied, connected=conn is not None),
        _shadow_gate(shadow_verified),
    )
    draft = Plan(
        migrations=tuple(m.id for m in pending),
        steps=tuple(steps),
        gates=_ordered(gates),
        budget=budget,
        stats=STATS_LIVE if conn is not None else STATS_STATIC,
        pre_state_hash=pre_hash,
        server_version_num=version,
        skipped=tuple(m.id for m in migrations if m.id in applied),
    )
    extra = tuple(check.check(draft) for check in gate_checks(manager))
    return replace(draft, gates=(*draft.gates, *extra)) if extra else draft


def _after(op: Operation, graph: SchemaGraph | None, *, resumable: bool) -> SchemaGraph | None:
    """The schema after ``op``. Against a live target an op that no longer fits is one an interrupted
    apply already ran (the runner resumes there), so the live schema already shows its effect; in a
    static plan it is a mistake in the migration and the error stands."""
    if graph is None:
        return None
    try:
        return op.apply_to(graph)
    except NotApplicable:
        if resumable:
            return graph
        raise


def _introspect(conn: psycopg.Connection[Any], config: Config) -> SchemaGraph:
    return introspect(conn, config.schemas)


def plan_project(config: Config, *, budget: int | None = None, shadow_verified: bool | None = None) -> Plan:
    """Plan the project's migrations folder: against ``config.database_url`` when set (pending = not in
    its ledger, live statistics), else statically (pending = newer than ``config.baseline``)."""
    migrations = load_migrations(config.migrations_dir)
    limit = budget if budget is not None else config.budget
    if config.database_url:
        with connect(config.database_url) as conn:
            return plan(migrations, budget=limit, conn=conn, config=config, shadow_verified=shadow_verified)
    pending = after_baseline(migrations, config.baseline)
    before = SchemaGraph(schemas=config.schemas)
    for migration in migrations:
        if migration not in pending:
            for op in migration.operations:
                before = op.apply_to(before)
    return plan(pending, budget=limit, graph_before=before, config=config, shadow_verified=shadow_verified)


def schema_hash(graph: SchemaGraph) -> str:
    """SHA-256 of the schema's canonical JSON: equal schemas, equal hashes."""
    return hashlib.sha256(graph.to_json().encode()).hexdigest()


# -- gates ---------------------------------------------------------------------------------------------

_STEP_GATES = ("budget", "destructive", "irreversible", "large_table_rewrite")


def _ordered(gates: Iterable[GateResult]) -> tuple[GateResult, ...]:
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
    flags = {name: GATES[name].enforcing for name in _STEP_GATES} | (enforcing or {})
    if budget is None:
        budget_gate = GateResult("budget", True, "no budget set", flags["budget"])
    else:
        over = [s for s in steps if s.score > budget]
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


def _stale_gate(pre_hash: str | None, live: SchemaGraph | None) -> GateResult:
    if live is None:
        made_for = f"schema {pre_hash[:12]}" if pre_hash else "no known schema"
        return GateResult("stale_plan", True, f"plan made for {made_for}")
    return check_fresh_hash(pre_hash, schema_hash(live))


def check_fresh(plan: Plan, current: SchemaGraph) -> GateResult:
    """The stale_plan gate at apply time: does the target still hold the schema the plan was made for?"""
    return check_fresh_hash(plan.pre_state_hash, schema_hash(current))


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


def _checksum_gate(migrations: Sequence[Migration], applied: dict[str, str], *, connected: bool) -> GateResult:
    if not connected:
        return GateResult("checksum", True, "no target database: no applied migration to compare")
    edited = [m for m in migrations if m.id in applied and applied[m.id] != m.checksum]
    if edited:
        names = ", ".join(f"{m.id} ({m.path or 'defined in code'})" for m in edited)
        return GateResult("checksum", False, f"applied migration(s) edited since they ran: {names}")
    return GateResult("checksum", True, f"{len(applied)} applied migration(s) match their files")


def _shadow_gate(verified: bool | None) -> GateResult:
    if verified is None:
        return GateResult("shadow_verified", True, "shadow verify not run for this plan")
    if verified:
        return GateResult("shadow_verified", True, "shadow verify reached the declared schema")
    return GateResult("shadow_verified", False, "shadow verify failed: the migrations do not reach the declared schema")


# -- checks other stages call --------------------------------------------------------------------------


def require_ok(plan: Plan) -> Plan:
    """``plan`` itself when its verdict is ok; otherwise raise :class:`PlanRefused` with the reasons."""
    if plan.verdict == "ok":
        return plan
    failed = "; ".join(f"{g.name}: {g.detail}" for g in plan.gates if g.refuses)
    raise PlanRefused(f"plan refused, nothing was written — {failed}")


def check_budget(migration_or_plan: Migration | Plan, budget: int) -> str | None:
    """None when every step scores at most ``budget``; otherwise the plan table saying which and why."""
    subject = migration_or_plan if isinstance(migration_or_plan, Plan) else plan([migration_or_plan], budget=budget)
    steps = subject.steps
    if all(s.score <= budget for s in steps):
        return None
    return replace(subject, budget=budget, gates=_ordered((*step_gates(steps, budget), *_whole(subject)))).render()


def _whole(subject: Plan) -> tuple[GateResult, ...]:
    return tuple(g for g in subject.gates if g.name not in _STEP_GATES)


def after_baseline(migrations: Sequence[Migration], baseline: str | None) -> tuple[Migration, ...]:
    """Migrations newer than the one marked as baseline (all of them without a baseline)."""
    return tuple(m for m in migrations if baseline is None or m.id > baseline)


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
    return "\n".join(lines)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {5}
    return [
        " ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in rows
    ]
