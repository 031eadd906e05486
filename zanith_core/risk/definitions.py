"""The risk of the definition family: functions, aggregates, triggers, views, domains, composite types,
sequences, policies, schemas, extensions, comments, grants and row-level security.

Their catalog entries are a section of :mod:`zanith_core.risk.catalog` of their own; their rules are
here, scoring the whole op (:data:`DEFINITION_RULES`, part of the risk model's own rules). The reason
codes are the catalog's; what differs is what they mean for objects that hold no rows —
the cost of a definition op is rarely a lock or a scan, it is what breaks: callers of a dropped
function, writers a dropped trigger no longer maintains, readers an enabled row-level security hides
every row from.

Rules that need the schema the step runs against (``RiskContext.graph``):

* ``drop_function`` scores 70 when a trigger, an aggregate, a default, a check, a view or a policy
  still uses the function (Postgres refuses the drop; CASCADE would drop them) — 30 otherwise;
* ``enable_rls`` / ``force_rls`` score 70 when the table has no policy (every reader but the owner sees
  no row, every write fails) — 25 with one;
* ``drop_policy`` scores 60 when it is the last policy of a table with row-level security enabled;
* ``alter_domain`` that adds a validated check or NOT NULL scans every column of the domain's type
  under a SHARE lock (50);
* ``create_view`` / ``replace_view`` of a materialized view runs its query (reads every row of its
  tables) — and a replace holds ACCESS EXCLUSIVE on it meanwhile (50).

Anything on a table created earlier in the same plan is cheap, like the table-level kinds.
"""

from __future__ import annotations

from ..ops.base import Operation
from ..ops.definitions import AlterDomain, CreateView, DropFunction, DropPolicy, EnableRls, ForceRls, ReplaceView
from ..schema.graph import SchemaGraph
from .catalog import DEFINITION_KIND_NAMES, OP_KINDS
from .subject import NO_RULES, OpRule, Risk, RiskContext, Rules, in_context


def _default(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    entry = OP_KINDS[op.kind]
    return _scored(op, ctx, entry.score, entry.reasons)


def _scored(op: Operation, ctx: RiskContext, score: int, reasons: tuple[str, ...]) -> Risk:
    tables = op.tables
    return in_context(tables[0] if tables else None, op.kind, Risk.of(score, reasons), ctx)


def _drop_function(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    assert isinstance(op, DropFunction)
    graph = ctx.graph
    if graph is not None and function_users(graph, op):
        return _scored(op, ctx, 70, ("breaks_old_readers", "breaks_old_writers", "validation_may_fail"))
    return _default(op, ctx)


def function_users(graph: SchemaGraph, op: DropFunction) -> list[str]:
    """What still uses the function in ``graph``: triggers and aggregates, and the defaults, checks,
    views and policies Postgres recorded (when they are still there)."""
    users = op.family.users(graph, op.definition)
    key = f"function {op.definition.identity}"
    present = {f"view {v.qualified_name}" for v in graph.views} | {f"policy {p.identity}" for p in graph.policies}
    present |= {f"column {t.qualified_name}.{c.name}" for t in graph.tables for c in t.columns if c.default}
    return users + [d.dependent for d in graph.dependencies if d.referenced == key and d.dependent in present]


def _row_security(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    assert isinstance(op, EnableRls | ForceRls)
    graph = ctx.graph
    if graph is None:
        return _default(op, ctx)
    if any(p.table == op.target for p in graph.policies):
        return _scored(op, ctx, 25, ("lock_brief", "breaks_old_readers"))
    return _scored(op, ctx, 70, ("lock_brief", "breaks_old_readers", "breaks_old_writers"))


def _drop_policy(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    assert isinstance(op, DropPolicy)
    graph = ctx.graph
    table = graph.table(op.definition.table) if graph is not None else None
    others = [p for p in graph.policies if p.table == op.definition.table and p != op.definition] if graph else []
    if table is not None and table.rls_enabled and not others:
        return _scored(op, ctx, 60, ("lock_brief", "breaks_old_readers", "breaks_old_writers"))
    return _default(op, ctx)


def _alter_domain(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    assert isinstance(op, AlterDomain) and op.previous is not None
    had = {c.name: c for c in op.previous.checks}
    scans = (op.definition.not_null and not op.previous.not_null) or any(
        c.validated and (c.name not in had or had[c.name].expression != c.expression or not had[c.name].validated)
        for c in op.definition.checks
    )
    if scans:
        return _scored(op, ctx, 50, ("lock_blocks_writes", "scan_under_lock", "validation_may_fail"))
    return _default(op, ctx)


def _materialized(op: Operation, ctx: RiskContext, rules: Rules = NO_RULES) -> Risk:
    assert isinstance(op, CreateView | ReplaceView)
    if not op.definition.materialized:
        return _default(op, ctx)
    if isinstance(op, ReplaceView):
        return _scored(op, ctx, 50, ("lock_blocks_reads", "breaks_old_readers"))
    return _scored(op, ctx, 20, ("index_build",) if op.definition.indexes else ())


_RULES: dict[str, OpRule] = {
    "drop_function": _drop_function,
    "enable_rls": _row_security,
    "force_rls": _row_security,
    "drop_policy": _drop_policy,
    "alter_domain": _alter_domain,
    "create_view": _materialized,
    "replace_view": _materialized,
}
DEFINITION_RULES: dict[str, OpRule] = {kind: _RULES.get(kind, _default) for kind in DEFINITION_KIND_NAMES}
"""Every definition kind's rule (the catalog default, in context, for the kinds without one of their own)."""

__all__ = ["DEFINITION_RULES", "function_users"]
