"""The risk of the definition family: functions, aggregates, triggers, views, domains, composite types,
sequences, policies, schemas, extensions, comments, grants and row-level security.

A section of the catalog of its own, beside the table-level op kinds of :mod:`zanith_core.risk.catalog`:
importing :mod:`zanith_core.risk` adds these entries to ``OP_KINDS`` and their rules to the classifier.
The reason codes are the catalog's 21; what differs is what they mean for objects that hold no rows —
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

from collections.abc import Callable

from ..ops.base import Operation
from ..ops.definitions import AlterDomain, CreateView, DropFunction, DropPolicy, EnableRls, ForceRls, ReplaceView
from ..schema.graph import SchemaGraph
from .catalog import OP_KINDS, OpKind
from .classify import OP_RULES, Risk, RiskContext, in_context

_NO_TABLE = "no table lock"

DEFINITION_OP_KINDS: tuple[OpKind, ...] = (
    OpKind("create_function", 2, (), _NO_TABLE, "create a function or procedure",
           "CREATE FUNCTION adds catalog rows; nothing calls the function yet. A LANGUAGE sql body is "
           "parsed at creation, so the tables it names must exist (generate orders it after them)."),
    OpKind("replace_function", 5, (), _NO_TABLE, "replace a function's body or attributes",
           "CREATE OR REPLACE FUNCTION swaps the definition atomically: sessions pick the new body up on "
           "their next call, no table is locked. Postgres refuses it across a different return type or "
           "parameter names; zanith then drops and recreates the function with whatever uses it."),
    OpKind("drop_function", 30, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE,
           "drop a function or procedure",
           "DROP FUNCTION fails while a trigger, default, check, view, policy or aggregate uses the function "
           "(score 70: zanith never adds CASCADE, which would drop them silently). Once dropped, clients and "
           "code that call it fail; its reversal recreates it from the recorded definition."),
    OpKind("create_aggregate", 2, (), _NO_TABLE, "create an aggregate",
           "CREATE AGGREGATE adds catalog rows over existing functions; nothing uses it yet."),
    OpKind("replace_aggregate", 5, (), _NO_TABLE, "replace an aggregate's definition",
           "CREATE OR REPLACE AGGREGATE (PostgreSQL 12+) swaps the state and final functions atomically; "
           "no table is locked."),
    OpKind("drop_aggregate", 25, ("breaks_old_readers",), _NO_TABLE, "drop an aggregate",
           "DROP AGGREGATE fails while a view uses it; queries calling it fail afterwards."),
    OpKind("create_trigger", 15, ("lock_brief",), "brief", "create a trigger",
           "CREATE TRIGGER takes SHARE ROW EXCLUSIVE on the table for a catalog change: writes wait "
           "briefly, reads do not. From then on every matching write runs the trigger function, which "
           "costs a little on each write and may fail writes the function rejects."),
    OpKind("replace_trigger", 15, ("lock_brief",), "brief", "replace a trigger",
           "CREATE OR REPLACE TRIGGER (PostgreSQL 14+) swaps events, condition or function in one catalog "
           "change under SHARE ROW EXCLUSIVE; a constraint trigger is dropped and created in the same "
           "transaction instead."),
    OpKind("drop_trigger", 30, ("lock_brief", "breaks_old_writers"), "brief",
           "drop a trigger",
           "DROP TRIGGER takes ACCESS EXCLUSIVE for a catalog change. What the trigger maintained "
           "(updated_at, an audit row, a search vector) is no longer maintained for writes from then on."),
    OpKind("create_view", 2, (), "on the tables it reads", "create a view or materialized view",
           "CREATE VIEW stores the query; nothing runs. CREATE MATERIALIZED VIEW runs it and stores the rows "
           "(reading every row of its tables without blocking them) and builds its indexes (score 20)."),
    OpKind("replace_view", 20, ("lock_brief", "breaks_old_readers"), "on the view, brief",
           "recreate a view with a new definition",
           "The view is dropped and created in one transaction: readers wait on its ACCESS EXCLUSIVE lock "
           "instead of seeing it missing, and see the new columns afterwards. A materialized view runs its "
           "query again while the lock is held (score 50): readers wait for the whole refresh."),
    OpKind("drop_view", 30, ("lock_brief", "breaks_old_readers"), "on the view, brief",
           "drop a view or materialized view",
           "DROP VIEW fails while another view reads it (those are dropped first). Queries using it fail "
           "afterwards; a materialized view's stored rows are gone, but its reversal recomputes them."),
    OpKind("create_domain", 0, (), _NO_TABLE, "create a domain",
           "CREATE DOMAIN adds a type to the catalog; no column uses it yet, no table is touched."),
    OpKind("alter_domain", 5, (),
           "on each table using the domain while a new check or NOT NULL is checked; none otherwise",
           "change a domain's default, NOT NULL or checks",
           "Setting or dropping the default and dropping a check are catalog changes. Adding a validated "
           "check or NOT NULL checks every value of every column of the domain's type under a SHARE lock "
           "on each table (score 50: writes wait, the step fails on a violating value); added NOT VALID, "
           "the check applies to new values only."),
    OpKind("drop_domain", 10, ("breaks_old_readers",), _NO_TABLE, "drop a domain",
           "DROP DOMAIN fails while a column, another domain or a composite type uses it (zanith never "
           "adds CASCADE). Clients casting to it fail afterwards."),
    OpKind("create_type", 0, (), _NO_TABLE, "create a composite type",
           "CREATE TYPE ... AS (...) adds a type to the catalog; no column or function uses it yet."),
    OpKind("alter_type", 20, ("breaks_old_readers",), "on the composite type itself, no table",
           "add, drop or retype a composite type's attributes",
           "ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE changes the type in place; Postgres refuses to "
           "retype an attribute while a column uses the type. Clients reading a dropped attribute fail."),
    OpKind("drop_type", 10, ("breaks_old_readers",), _NO_TABLE, "drop a composite type",
           "DROP TYPE fails while a column, a function or another type uses it; clients casting to it fail."),
    OpKind("create_sequence", 0, (), _NO_TABLE, "create a standalone sequence",
           "CREATE SEQUENCE adds a one-row relation that no default or client uses yet."),
    OpKind("alter_sequence", 10, ("lock_brief",), "on the sequence, brief",
           "change a sequence's type, increment, bounds, cache or cycle",
           "ALTER SEQUENCE is a catalog change that waits for concurrent nextval() calls briefly; the "
           "current value is kept (zanith never restarts a sequence). A smaller maximum can make the next "
           "nextval() fail."),
    OpKind("drop_sequence", 40, ("lock_brief", "breaks_old_writers"), "on the sequence, brief",
           "drop a standalone sequence",
           "DROP SEQUENCE fails while a default uses it. Its current value is lost: the reversal recreates "
           "it at its START value, so ids it hands out again may collide with existing ones."),
    OpKind("create_policy", 15, ("lock_brief",), "brief", "create a row-level security policy",
           "CREATE POLICY takes ACCESS EXCLUSIVE on the table for a catalog change. With row-level security "
           "enabled, a permissive policy makes more rows visible and a restrictive one fewer, from the commit on."),
    OpKind("replace_policy", 25, ("lock_brief", "breaks_old_readers"), "brief",
           "replace a row-level security policy",
           "The policy is dropped and created in one transaction (ALTER POLICY cannot change its command "
           "or remove a clause): readers never see the table without it, but see the rows the new "
           "expression allows from the commit on."),
    OpKind("drop_policy", 35, ("lock_brief", "breaks_old_readers"), "brief",
           "drop a row-level security policy",
           "With row-level security enabled, the rows only this policy made visible disappear for every "
           "reader; dropping the last policy of such a table hides every row (score 60)."),
    OpKind("create_schema", 0, (), _NO_TABLE, "create a schema",
           "CREATE SCHEMA adds an empty namespace; nothing is locked and no client sees a difference."),
    OpKind("drop_schema", 10, ("breaks_old_readers",), _NO_TABLE, "drop an empty schema",
           "DROP SCHEMA without CASCADE fails unless every object in it was dropped first; clients whose "
           "search_path names it are unaffected, those naming objects in it were already broken."),
    OpKind("create_extension", 10, (), "no lock on user tables", "install an extension",
           "CREATE EXTENSION runs the extension's install script (types, functions, operators); the "
           "objects it creates belong to it and are never reported as drift."),
    OpKind("drop_extension", 40, ("breaks_old_readers", "breaks_old_writers"), "no lock on user tables",
           "uninstall an extension",
           "DROP EXTENSION without CASCADE fails while a column, index or function uses one of its objects; "
           "queries calling its functions fail afterwards."),
    OpKind("set_comment", 0, (), "on a table, column or view, brief; none on other objects", "set or remove a comment",
           "COMMENT ON changes documentation only; no client behaves differently."),
    OpKind("grant", 5, (), _NO_TABLE, "grant a privilege",
           "GRANT updates the object's access list; the grantee may use the object from the commit on."),
    OpKind("revoke", 30, ("breaks_old_readers", "breaks_old_writers"), _NO_TABLE, "revoke a privilege",
           "REVOKE updates the object's access list; sessions of the role lose access at their next "
           "statement, so an application still relying on the privilege fails."),
    OpKind("enable_rls", 45, ("lock_brief", "breaks_old_readers", "breaks_old_writers"), "brief",
           "enable row-level security on a table",
           "From the commit on, every role except the owner (and superusers, and roles with BYPASSRLS) sees "
           "only the rows a policy allows and may write only those: without any policy, none (score 70). "
           "Create the policies first (generate does) and test with the application's role."),
    OpKind("disable_rls", 25, ("lock_brief",), "brief", "disable row-level security",
           "A catalog change; from then on every role with the table privilege sees every row, whatever "
           "the policies say: a security change to review, not an availability risk."),
    OpKind("force_rls", 30, ("lock_brief", "breaks_old_readers"), "brief",
           "apply row-level security to the table's owner too",
           "FORCE ROW LEVEL SECURITY subjects the owner to the policies: an application connecting as the "
           "owner (common in small deployments) suddenly sees only what the policies allow — nothing "
           "without a policy (score 70)."),
    OpKind("no_force_rls", 15, ("lock_brief",), "brief", "exempt the owner from row-level security",
           "A catalog change under a brief ACCESS EXCLUSIVE; the table's owner sees every row again."),
)  # fmt: skip

OP_KINDS.update({entry.kind: entry for entry in DEFINITION_OP_KINDS})

#: The definition family's kinds (``docs/risk.md`` lists them apart from the table-level kinds).
DEFINITION_KIND_NAMES = frozenset(entry.kind for entry in DEFINITION_OP_KINDS)


def _default(op: Operation, ctx: RiskContext) -> Risk:
    entry = OP_KINDS[op.kind]
    return _scored(op, ctx, entry.score, entry.reasons)


def _scored(op: Operation, ctx: RiskContext, score: int, reasons: tuple[str, ...]) -> Risk:
    tables = op.tables
    return in_context(tables[0] if tables else None, op.kind, Risk.of(score, reasons), ctx)


def _drop_function(op: Operation, ctx: RiskContext) -> Risk:
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


def _row_security(op: Operation, ctx: RiskContext) -> Risk:
    assert isinstance(op, EnableRls | ForceRls)
    graph = ctx.graph
    if graph is None:
        return _default(op, ctx)
    if any(p.table == op.target for p in graph.policies):
        return _scored(op, ctx, 25, ("lock_brief", "breaks_old_readers"))
    return _scored(op, ctx, 70, ("lock_brief", "breaks_old_readers", "breaks_old_writers"))


def _drop_policy(op: Operation, ctx: RiskContext) -> Risk:
    assert isinstance(op, DropPolicy)
    graph = ctx.graph
    table = graph.table(op.definition.table) if graph is not None else None
    others = [p for p in graph.policies if p.table == op.definition.table and p != op.definition] if graph else []
    if table is not None and table.rls_enabled and not others:
        return _scored(op, ctx, 60, ("lock_brief", "breaks_old_readers", "breaks_old_writers"))
    return _default(op, ctx)


def _alter_domain(op: Operation, ctx: RiskContext) -> Risk:
    assert isinstance(op, AlterDomain) and op.previous is not None
    had = {c.name: c for c in op.previous.checks}
    scans = (op.definition.not_null and not op.previous.not_null) or any(
        c.validated and (c.name not in had or had[c.name].expression != c.expression or not had[c.name].validated)
        for c in op.definition.checks
    )
    if scans:
        return _scored(op, ctx, 50, ("lock_blocks_writes", "scan_under_lock", "validation_may_fail"))
    return _default(op, ctx)


def _materialized(op: Operation, ctx: RiskContext) -> Risk:
    assert isinstance(op, CreateView | ReplaceView)
    if not op.definition.materialized:
        return _default(op, ctx)
    if isinstance(op, ReplaceView):
        return _scored(op, ctx, 50, ("lock_blocks_reads", "breaks_old_readers"))
    return _scored(op, ctx, 20, ("index_build",) if op.definition.indexes else ())


_RULES: dict[str, Callable[[Operation, RiskContext], Risk]] = {
    "drop_function": _drop_function,
    "enable_rls": _row_security,
    "force_rls": _row_security,
    "drop_policy": _drop_policy,
    "alter_domain": _alter_domain,
    "create_view": _materialized,
    "replace_view": _materialized,
}
OP_RULES.update({kind: _RULES.get(kind, _default) for kind in DEFINITION_KIND_NAMES})

__all__ = ["DEFINITION_KIND_NAMES", "DEFINITION_OP_KINDS", "function_users"]
