"""The planner: a pure function from migrations and what is known of the target to a :class:`Plan`.

``plan()`` opens no connection and reads no file. It scores every step of the pending migrations
(catalog defaults refined by parameters, the schema before the step, tables created earlier in the plan
and, when given, the target's live statistics and server version), lets plugins adjust the scores, and
runs the gates. What it needs of a database is gathered beforehand by one function,
:func:`zanith_core.plan.read_target`; what it needs of a project by :func:`zanith_core.plan.plan_project`.

Each step sees the schema the earlier steps made (``op.apply_to``). An *opaque* op (raw SQL that declares
no state operations) cannot say what schema it leaves: the schema after it comes from ``known_after`` (a
replay on a scratch database, see :mod:`zanith_core.migrations.replay`) when given; otherwise the planner
keeps going with the schema it had, and a later step that no longer fits is scored without failing the
plan — what the SQL really did is verify's and generate's business, on real databases.

Given ``observed`` (what ``zanith verify --observe`` saw each step do on the shadow), a step with a
matching observation is scored from it rather than from prediction
(:func:`zanith_core.risk.observed.observed_risk`) and carries it; stale or missing observations leave the
prediction and a note (:mod:`zanith_core.plan.observed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pluggy

from ..config import Config
from ..hooks import adjusted, gate_checks, hookimpl, plugin_manager, reason_codes
from ..migrations import Migration
from ..ops import NotApplicable, Operation
from ..risk import CORE_RULES, Risk, RiskContext, Rules, TableStats, classify, subject_of
from ..risk.failure import will_fail
from ..risk.observed import observed_risk
from ..schema.graph import SchemaGraph
from .gates import checksum_gate, shadow_gate, stale_gate
from .model import STATS_LIVE, STATS_STATIC, Plan, PlanStep, ordered, schema_hash, step_gates
from .observed import Observations, floors, step_table

#: A step's place: ``(migration id, step index)``.
StepKey = tuple[str, int]

_CORE_RULES = "zanith.risk"


class CoreRiskRules:
    """The risk model's own rules, added through the hook a plugin uses (``add_risk_rules``)."""

    @hookimpl
    def add_risk_rules(self) -> Rules:
        return CORE_RULES


def risk_rules(pm: pluggy.PluginManager) -> Rules:
    """The rules every plugin adds, zanith's own included (registered here once per plugin manager)."""
    if pm.get_plugin(_CORE_RULES) is None:
        pm.register(CoreRiskRules(), name=_CORE_RULES)
    return Rules.merged(pm.hook.add_risk_rules())


def plan(
    migrations: Sequence[Migration],
    *,
    budget: int | None,
    applied: Mapping[str, str] | None = None,
    graph: SchemaGraph | None = None,
    stats: Mapping[str, TableStats] | None = None,
    version: int | None = None,
    known_after: Mapping[StepKey, SchemaGraph] | None = None,
    config: Config | None = None,
    shadow_verified: bool | None = None,
    allow_destructive: bool = True,
    pm: pluggy.PluginManager | None = None,
    in_context: bool = True,
    observed: Observations | None = None,
) -> Plan:
    """Score and gate the steps of ``migrations`` that the target has not applied.

    ``applied`` (migration id → checksum, from the target's ledger) says there is a target: migrations in
    it are skipped and their checksums feed the checksum gate, and a table created earlier in the plan
    makes later steps on it cheap across migrations (they deploy together). Without it every migration is
    pending and judged on its own, since CI cannot know which migrations will be deployed together.
    ``graph`` is the schema before the plan (the target's, or a static one; None: steps are scored without
    one and ``pre_state_hash`` is None). ``stats`` are live statistics by table (None: static defaults),
    ``version`` the server's ``server_version_num``. ``allow_destructive=False`` makes the destructive
    gate enforcing. ``in_context=False`` scores what each op does rather than what it costs here: no table
    counts as new in the plan (whose steps would otherwise be cheap ``small_table`` ones, their lock and
    rewrite reasons dropped) — what verify compares with what it observes. ``observed`` (a verify
    document's observations) scores each step it observed from the observation (see the module doc).
    """
    cfg = config or Config()
    manager = pm or plugin_manager(cfg)
    known = reason_codes(manager)
    rules = risk_rules(manager)
    targeted = applied is not None
    done = applied or {}
    pending = tuple(m for m in migrations if m.id not in done)
    after = known_after or {}

    steps = []
    notes: list[str] = []
    current = graph
    uncertain = False
    new_tables: frozenset[str] = frozenset()
    for migration in pending:
        if not targeted:
            new_tables = frozenset()
        for index, op in enumerate(migration.operations, start=1):
            ctx = RiskContext(stats=stats, server_version_num=version, new_tables=new_tables, graph=current)
            risk = adjusted(manager, op, classify(op, ctx, rules), ctx, migration.id, known)
            seen, live = None, None
            table = step_table(op, stats) if observed is not None else None
            if observed is not None and table not in new_tables:  # a table new in the plan stays cheap: unused
                live = stats.get(table) if stats is not None and table else None
                found = observed.scaled(migration.id, index, op, table, live)
                notes += [found.note] if found.note else []
                seen = found.scaled
            if seen is not None:
                bare = replace(ctx, stats=None)  # the observation, not statistics, says how long the work takes
                base = adjusted(manager, op, classify(op, bare, rules), bare, migration.id, known)
                risk = observed_risk(base, seen, live)
            failure = will_fail(op, ctx)
            if failure is not None:
                risk = Risk.of(100, risk.reasons)
            steps.append(
                PlanStep(
                    migration.id,
                    index,
                    op.kind,
                    op.target,
                    op.sql(),
                    risk.level,
                    risk.score,
                    risk.reasons,
                    failure,
                    seen,
                )
            )
            if in_context and op.kind == "create_table" and (table := subject_of(op).table):
                new_tables |= {table}
            key = (migration.id, index)
            if key in after:
                current = after[key]
            else:
                current = _after(op, current, lenient=targeted or uncertain)
                uncertain = uncertain or op.opaque

    pre_hash = schema_hash(graph) if graph is not None else None
    gates = (
        *step_gates(steps, budget, enforcing={"destructive": not allow_destructive}),
        stale_gate(pre_hash),
        checksum_gate(migrations, applied),
        shadow_gate(shadow_verified),
    )
    draft = Plan(
        migrations=tuple(m.id for m in pending),
        steps=tuple(steps),
        gates=ordered(gates),
        budget=budget,
        stats=STATS_LIVE if stats is not None else STATS_STATIC,
        pre_state_hash=pre_hash,
        server_version_num=version,
        skipped=tuple(m.id for m in migrations if m.id in done),
        notes=(*notes, *floors(steps)),
    )
    extra = tuple(check.check(draft) for check in gate_checks(manager))
    return replace(draft, gates=(*draft.gates, *extra)) if extra else draft


def _after(op: Operation, graph: SchemaGraph | None, *, lenient: bool) -> SchemaGraph | None:
    """The schema after ``op``. An op that no longer fits is, against a live target, one an interrupted
    apply already ran (the runner resumes there, and the live schema shows its effect), and after an
    opaque op, one whose table the raw SQL made: then the schema stays as it was. In a static plan with
    nothing opaque before it, it is a mistake in the migration and the error stands."""
    if graph is None:
        return None
    try:
        return op.apply_to(graph)
    except NotApplicable:
        if lenient:
            return graph
        raise
