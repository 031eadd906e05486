"""DDL for definitions: functions, aggregates, triggers, domains, composite types, policies, row-level
security, comments, privileges, standalone sequences, schemas and extensions — and the order to create
them in.

Like :mod:`zanith_core.sql.tables`, text Postgres printed (``pg_get_functiondef``, ``pg_get_triggerdef``, types,
expressions) is used as is, and every name zanith composes goes through :class:`psycopg.sql.Identifier`.
The definition ops (:mod:`zanith_core.ops.definitions`) and :func:`zanith_core.sql.tables.schema_ddl` both build
on the functions here, so each object is spelled in SQL in exactly one place.

Order. :func:`before_tables` creates what tables need (domains and composite types for column types,
functions for defaults and checks, aggregates over them); :func:`after_tables` what needs tables (views,
functions whose signature names a table's row type, triggers, policies), then comments and privileges.
Within each, objects follow the dependencies Postgres recorded (:attr:`SchemaGraph.dependencies`),
ties broken by kind and name. A whole-schema script turns ``check_function_bodies`` off first, as
``pg_dump`` does: a ``LANGUAGE sql`` body may name a table created later in the script.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from psycopg import sql

from ..schema.graph import (
    Aggregate,
    Comment,
    CompositeType,
    Domain,
    DomainCheck,
    Extension,
    Function,
    Policy,
    Privilege,
    SchemaGraph,
    Trigger,
    View,
)
from ..schema.graph import Sequence as SequenceDef
from . import tables as ddl

Statement = sql.Composed


def _text(text: str) -> sql.Composed:
    """Canonical text Postgres printed, as a statement."""
    return sql.Composed([sql.SQL(text)])


def _routine(kind: str, schema: str, name: str, arguments: str) -> sql.Composed:
    """``FUNCTION app.f(text)`` / ``PROCEDURE ...`` / ``AGGREGATE app.agg(*)``."""
    args = arguments or ("*" if kind == "aggregate" else "")
    return sql.SQL("{} {}({})").format(sql.SQL(kind.upper()), sql.Identifier(schema, name), sql.SQL(args))


# -- functions and aggregates ----------------------------------------------------------------------


def create_function(function: Function) -> sql.Composed:
    """``CREATE OR REPLACE FUNCTION ...`` exactly as ``pg_get_functiondef`` printed it."""
    return _text(function.definition.strip())


def drop_function(function: Function) -> sql.Composed:
    return sql.SQL("DROP {}").format(_routine(function.kind, function.schema, function.name, function.arguments))


def create_aggregate(aggregate: Aggregate, *, replace: bool = False) -> sql.Composed:
    a = aggregate
    options: list[sql.Composable] = [
        sql.SQL("SFUNC = {}").format(sql.SQL(a.state_function)),
        sql.SQL("STYPE = {}").format(sql.SQL(a.state_type)),
    ]
    optional = (
        ("FINALFUNC", a.final_function),
        ("COMBINEFUNC", a.combine_function),
        ("SERIALFUNC", a.serial_function),
        ("DESERIALFUNC", a.deserial_function),
        ("SORTOP", a.sort_operator),
    )
    options += [sql.SQL("{} = {}").format(sql.SQL(k), sql.SQL(v)) for k, v in optional if v is not None]
    if a.final_function_extra:
        options.append(sql.SQL("FINALFUNC_EXTRA"))
    if a.initial_value is not None:
        options.append(sql.SQL("INITCOND = {}").format(sql.Literal(a.initial_value)))
    if a.parallel != "unsafe":
        options.append(sql.SQL("PARALLEL = {}").format(sql.SQL(a.parallel.upper())))
    if a.kind == "hypothetical":
        options.append(sql.SQL("HYPOTHETICAL"))
    head = "CREATE OR REPLACE AGGREGATE {} ({}) ({})" if replace else "CREATE AGGREGATE {} ({}) ({})"
    return sql.SQL(head).format(
        sql.Identifier(a.schema, a.name), sql.SQL(a.parameters or "*"), sql.SQL(", ").join(options)
    )


def drop_aggregate(aggregate: Aggregate) -> sql.Composed:
    return sql.SQL("DROP {}").format(_routine("aggregate", aggregate.schema, aggregate.name, aggregate.arguments))


# -- triggers ---------------------------------------------------------------------------------------

_ENABLE = {"origin": "ENABLE", "disabled": "DISABLE", "replica": "ENABLE REPLICA", "always": "ENABLE ALWAYS"}


def create_trigger(trigger: Trigger) -> tuple[Statement, ...]:
    """The trigger as ``pg_get_triggerdef`` printed it, then its enabled state unless the default."""
    statements: list[Statement] = [_text(trigger.definition)]
    if trigger.enabled != "origin":
        statements.append(trigger_enabled(trigger))
    return tuple(statements)


def replace_trigger(old: Trigger, new: Trigger) -> tuple[Statement, ...]:
    """``CREATE OR REPLACE TRIGGER`` (PostgreSQL 14+); a constraint trigger is dropped and created."""
    if old.constraint or new.constraint:
        return (drop_trigger(old), *create_trigger(new))
    statements: list[Statement] = [_text(re.sub(r"^CREATE TRIGGER ", "CREATE OR REPLACE TRIGGER ", new.definition))]
    if new.enabled != old.enabled or new.enabled != "origin":
        statements.append(trigger_enabled(new))
    return tuple(statements)


def trigger_enabled(trigger: Trigger) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
        ddl.qualified_identifier(trigger.table), sql.SQL(_ENABLE[trigger.enabled]), sql.Identifier(trigger.name)
    )


def drop_trigger(trigger: Trigger) -> sql.Composed:
    return sql.SQL("DROP TRIGGER {} ON {}").format(
        sql.Identifier(trigger.name), ddl.qualified_identifier(trigger.table)
    )


# -- domains and composite types --------------------------------------------------------------------


def _domain_check(check: DomainCheck) -> sql.Composed:
    return sql.SQL("CONSTRAINT {} CHECK ({})").format(sql.Identifier(check.name), sql.SQL(check.expression))


def create_domain(domain: Domain) -> tuple[Statement, ...]:
    """``CREATE DOMAIN`` with its validated checks; NOT VALID checks are added after it, unvalidated."""
    parts: list[sql.Composable] = [
        sql.SQL("CREATE DOMAIN {} AS {}").format(
            ddl.qualified_identifier(domain.qualified_name), sql.SQL(domain.base_type)
        )
    ]
    if domain.collation:
        parts.append(sql.SQL("COLLATE {}").format(sql.SQL(domain.collation)))
    if domain.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(domain.default)))
    if domain.not_null:
        parts.append(sql.SQL("NOT NULL"))
    parts += [_domain_check(c) for c in domain.checks if c.validated]
    name = domain.qualified_name
    unvalidated = [_alter_domain(name, "ADD {} NOT VALID", _domain_check(c)) for c in domain.checks if not c.validated]
    return (sql.Composed(parts).join(" "), *unvalidated)


def _alter_domain(name: str, action: str, *args: sql.Composable) -> sql.Composed:
    return sql.SQL("ALTER DOMAIN {} " + action).format(ddl.qualified_identifier(name), *args)


def alter_domain(old: Domain, new: Domain) -> tuple[Statement, ...]:
    """The ``ALTER DOMAIN`` statements turning ``old`` into ``new`` (same base type and collation).

    A changed check is dropped and added again; a check added validated scans every column of the
    domain's type (``validation_may_fail``), one added NOT VALID applies to new values only.
    """
    name = new.qualified_name
    statements: list[Statement] = []
    if old.default != new.default:
        statements.append(
            _alter_domain(name, "DROP DEFAULT")
            if new.default is None
            else _alter_domain(name, "SET DEFAULT {}", sql.SQL(new.default))
        )
    if old.not_null != new.not_null:
        statements.append(_alter_domain(name, "SET NOT NULL" if new.not_null else "DROP NOT NULL"))
    before = {c.name: c for c in old.checks}
    after = {c.name: c for c in new.checks}
    for check in old.checks:
        wanted = after.get(check.name)
        if wanted is None or wanted.expression != check.expression:
            statements.append(_alter_domain(name, "DROP CONSTRAINT {}", sql.Identifier(check.name)))
    for check in new.checks:
        had = before.get(check.name)
        if had is None or had.expression != check.expression:
            action = "ADD {}" if check.validated else "ADD {} NOT VALID"
            statements.append(_alter_domain(name, action, _domain_check(check)))
        elif check.validated and not had.validated:
            statements.append(_alter_domain(name, "VALIDATE CONSTRAINT {}", sql.Identifier(check.name)))
        elif had.validated and not check.validated:
            statements += [
                _alter_domain(name, "DROP CONSTRAINT {}", sql.Identifier(check.name)),
                _alter_domain(name, "ADD {} NOT VALID", _domain_check(check)),
            ]
    return tuple(statements)


def drop_domain(domain: Domain) -> sql.Composed:
    return sql.SQL("DROP DOMAIN {}").format(ddl.qualified_identifier(domain.qualified_name))


def create_composite_type(type_: CompositeType) -> sql.Composed:
    attributes = [
        sql.SQL(" ").join(
            [
                sql.Identifier(a.name),
                sql.SQL(a.type),
                *([sql.SQL("COLLATE {}").format(sql.SQL(a.collation))] if a.collation else []),
            ]
        )
        for a in type_.attributes
    ]
    return sql.SQL("CREATE TYPE {} AS ({})").format(
        ddl.qualified_identifier(type_.qualified_name), sql.SQL(", ").join(attributes)
    )


def alter_composite_type(old: CompositeType, new: CompositeType) -> tuple[Statement, ...] | None:
    """``ALTER TYPE ... DROP/ADD/ALTER ATTRIBUTE`` turning ``old`` into ``new``, or None when the new
    attribute order cannot be reached that way (an attribute is only ever appended)."""
    new_names = [a.name for a in new.attributes]
    kept = [a for a in old.attributes if a.name in new_names]
    added = new.attributes[len(kept) :]
    if [a.name for a in kept] != new_names[: len(kept)] or any(a.name in {k.name for k in kept} for a in added):
        return None
    name = ddl.qualified_identifier(new.qualified_name)
    actions: list[sql.Composable] = [
        sql.SQL("DROP ATTRIBUTE {}").format(sql.Identifier(a.name)) for a in old.attributes if a.name not in new_names
    ]
    for had, wanted in zip(kept, new.attributes, strict=False):
        if (had.type, had.collation) != (wanted.type, wanted.collation):
            collate = [sql.SQL("COLLATE {}").format(sql.SQL(wanted.collation))] if wanted.collation else []
            actions.append(
                sql.SQL(" ").join(
                    [
                        sql.SQL("ALTER ATTRIBUTE {} TYPE {}").format(sql.Identifier(wanted.name), sql.SQL(wanted.type)),
                        *collate,
                    ]
                )
            )
    for attribute in added:
        collate = [sql.SQL("COLLATE {}").format(sql.SQL(attribute.collation))] if attribute.collation else []
        actions.append(
            sql.SQL(" ").join(
                [
                    sql.SQL("ADD ATTRIBUTE {} {}").format(sql.Identifier(attribute.name), sql.SQL(attribute.type)),
                    *collate,
                ]
            )
        )
    return (sql.SQL("ALTER TYPE {} {}").format(name, sql.SQL(", ").join(actions)),) if actions else ()


def drop_composite_type(type_: CompositeType) -> sql.Composed:
    return sql.SQL("DROP TYPE {}").format(ddl.qualified_identifier(type_.qualified_name))


# -- row-level security -----------------------------------------------------------------------------


def _roles(roles: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("PUBLIC") if r == "public" else sql.Identifier(r) for r in roles)


def create_policy(policy: Policy) -> sql.Composed:
    parts: list[sql.Composable] = [
        sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
            sql.Identifier(policy.name),
            ddl.qualified_identifier(policy.table),
            sql.SQL("PERMISSIVE" if policy.permissive else "RESTRICTIVE"),
            sql.SQL(policy.command),
            _roles(policy.roles),
        )
    ]
    if policy.using is not None:
        parts.append(sql.SQL("USING ({})").format(sql.SQL(policy.using)))
    if policy.with_check is not None:
        parts.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy.with_check)))
    return sql.SQL(" ").join(parts)


def drop_policy(policy: Policy) -> sql.Composed:
    return sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(policy.name), ddl.qualified_identifier(policy.table))


def row_security(table: str, *, enabled: bool | None = None, forced: bool | None = None) -> tuple[Statement, ...]:
    """``ALTER TABLE ... ENABLE/DISABLE`` and ``[NO] FORCE ROW LEVEL SECURITY`` (None leaves it)."""
    statements: list[Statement] = []
    if enabled is not None:
        action = "ENABLE ROW LEVEL SECURITY" if enabled else "DISABLE ROW LEVEL SECURITY"
        statements.append(sql.SQL("ALTER TABLE {} " + action).format(ddl.qualified_identifier(table)))
    if forced is not None:
        action = "FORCE ROW LEVEL SECURITY" if forced else "NO FORCE ROW LEVEL SECURITY"
        statements.append(sql.SQL("ALTER TABLE {} " + action).format(ddl.qualified_identifier(table)))
    return tuple(statements)


# -- comments and privileges ------------------------------------------------------------------------

_ON_TABLE = ("trigger", "policy", "constraint")


def object_reference(object_type: str, names: Sequence[str], arguments: str | None = None) -> sql.Composed:
    """An object as ``COMMENT ON`` and ``GRANT`` name it: ``TABLE app.t``, ``TRIGGER x ON app.t`` ..."""
    if object_type in ("function", "procedure", "aggregate"):
        return _routine(object_type, names[0], names[1], arguments or "")
    if object_type in _ON_TABLE:
        return sql.SQL("{} {} ON {}").format(
            sql.SQL(object_type.upper()), sql.Identifier(names[-1]), sql.Identifier(*names[:-1])
        )
    if object_type == "domain constraint":
        return sql.SQL("CONSTRAINT {} ON DOMAIN {}").format(sql.Identifier(names[-1]), sql.Identifier(*names[:-1]))
    keyword = "TYPE" if object_type == "enum" else object_type.upper()
    return sql.SQL("{} {}").format(sql.SQL(keyword), sql.Identifier(*names))


def comment_on(comment: Comment, text: str | None) -> sql.Composed:
    """``COMMENT ON <object> IS <text>`` (``IS NULL`` removes the comment)."""
    value: sql.Composable = sql.Literal(text) if text is not None else sql.SQL("NULL")
    return sql.SQL("COMMENT ON {} IS {}").format(
        object_reference(comment.object_type, comment.names, comment.arguments), value
    )


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "PUBLIC" else sql.Identifier(name)


def _grant_target(privilege: Privilege) -> sql.Composed:
    kind = "table" if privilege.object_type in ("view", "materialized view") else privilege.object_type
    return object_reference(kind, privilege.names, privilege.arguments)


def grant(privilege: Privilege) -> sql.Composed:
    option = " WITH GRANT OPTION" if privilege.grantable else ""
    return sql.SQL("GRANT {} ON {} TO {}" + option).format(
        sql.SQL(privilege.privilege), _grant_target(privilege), _grantee(privilege.grantee)
    )


def revoke(privilege: Privilege) -> sql.Composed:
    return sql.SQL("REVOKE {} ON {} FROM {}").format(
        sql.SQL(privilege.privilege), _grant_target(privilege), _grantee(privilege.grantee)
    )


# -- views, sequences, schemas, extensions ----------------------------------------------------------


def create_view(view: View) -> tuple[Statement, ...]:
    """The view (:func:`zanith_core.sql.tables.create_view`) and, for a materialized one, its indexes."""
    return (ddl.create_view(view), *(ddl.create_index(view.qualified_name, i) for i in view.indexes))


def drop_view(view: View) -> sql.Composed:
    keyword = "DROP MATERIALIZED VIEW {}" if view.materialized else "DROP VIEW {}"
    return sql.SQL(keyword).format(ddl.qualified_identifier(view.qualified_name))


def alter_sequence(old: SequenceDef, new: SequenceDef) -> tuple[Statement, ...]:
    """``ALTER SEQUENCE`` with every option that differs (``START`` only sets what RESTART goes back to)."""
    options: list[sql.Composable] = []
    if old.data_type != new.data_type:
        options.append(sql.SQL("AS {}").format(sql.SQL(new.data_type)))
    for label, attr in (("INCREMENT BY", "increment"), ("MINVALUE", "min_value"), ("MAXVALUE", "max_value"),
                        ("START WITH", "start"), ("CACHE", "cache")):  # fmt: skip
        if getattr(old, attr) != getattr(new, attr):
            options.append(sql.SQL(label + " {}").format(sql.Literal(getattr(new, attr))))
    if old.cycle != new.cycle:
        options.append(sql.SQL("CYCLE" if new.cycle else "NO CYCLE"))
    statements: list[Statement] = []
    if options:
        statements.append(
            sql.SQL("ALTER SEQUENCE {} {}").format(
                ddl.qualified_identifier(new.qualified_name), sql.SQL(" ").join(options)
            )
        )
    if old.owned_by != new.owned_by:
        statements.append(ddl.set_sequence_owner(new))
    return tuple(statements)


def drop_sequence(sequence: SequenceDef) -> sql.Composed:
    return sql.SQL("DROP SEQUENCE {}").format(ddl.qualified_identifier(sequence.qualified_name))


def drop_schema(name: str) -> sql.Composed:
    return sql.SQL("DROP SCHEMA {}").format(sql.Identifier(name))


def drop_extension(extension: Extension) -> sql.Composed:
    return sql.SQL("DROP EXTENSION {}").format(sql.Identifier(extension.name))


# -- order ------------------------------------------------------------------------------------------

T = TypeVar("T")

#: Kinds whose presence makes a definition wait until the tables exist.
RELATION_KINDS = frozenset({"table", "column", "view", "constraint", "index"})


def definition_key(item: Any) -> str:
    """The dependency key (:class:`~zanith_core.schema.graph.Dependency`) of a definition value."""
    if isinstance(item, Function):
        return f"function {item.identity}"
    if isinstance(item, Aggregate):
        return f"aggregate {item.identity}"
    if isinstance(item, Trigger):
        return f"trigger {item.identity}"
    if isinstance(item, Policy):
        return f"policy {item.identity}"
    if isinstance(item, View):
        return f"view {item.qualified_name}"
    if isinstance(item, Domain):
        return f"domain {item.qualified_name}"
    if isinstance(item, CompositeType):
        return f"type {item.qualified_name}"
    if isinstance(item, SequenceDef):
        return f"sequence {item.qualified_name}"
    raise TypeError(f"no dependency key for {type(item).__name__}")


def requirements(graph: SchemaGraph) -> dict[str, set[str]]:
    """For each object key, the keys it needs: the dependencies Postgres recorded, and what the objects
    themselves name (a trigger its table and function, a policy its table, an aggregate its functions,
    a view the views it reads), so a graph without recorded dependencies is ordered too."""
    needs: dict[str, set[str]] = {}

    def need(item: Any, key: str) -> None:
        needs.setdefault(definition_key(item), set()).add(key)

    for dep in graph.dependencies:
        needs.setdefault(dep.dependent, set()).add(dep.referenced)
    relations = {t.qualified_name: "table" for t in graph.tables} | {v.qualified_name: "view" for v in graph.views}
    functions: dict[str, list[Function]] = {}
    for function in graph.functions:
        functions.setdefault(f"{function.schema}.{function.name}", []).append(function)
    for trigger in graph.triggers:
        need(trigger, f"{relations.get(trigger.table, 'table')} {trigger.table}")
        need(trigger, f"function {trigger.function}")
    for policy in graph.policies:
        need(policy, f"table {policy.table}")
    for aggregate in graph.aggregates:
        for name in (aggregate.state_function, aggregate.final_function, aggregate.combine_function):
            for function in functions.get(name or "", ()):
                need(aggregate, definition_key(function))
    for view in graph.views:
        for other in graph.views:
            if other is not view and ddl._reads(view, other):
                need(view, definition_key(other))
    return needs


def needs_relations(key: str, needs: Mapping[str, set[str]]) -> bool:
    """Whether ``key`` needs (directly or through other definitions) a table, column or view."""
    seen: set[str] = set()
    pending = [key]
    while pending:
        for ref in needs.get(pending.pop(), ()):
            if ref.split(" ", 1)[0] in RELATION_KINDS:
                return True
            if ref not in seen:
                seen.add(ref)
                pending.append(ref)
    return False


def in_dependency_order(items: Sequence[T], key: Callable[[T], str], needs: Mapping[str, set[str]]) -> list[T]:
    """``items`` ordered so each comes after the items it needs (Kahn's algorithm, stable).

    Needs outside ``items`` are ignored (they exist already, or are ordered elsewhere); a cycle, which
    Postgres would not have let exist, falls back to the given order.
    """
    keys = [key(i) for i in items]
    present = set(keys)
    waiting = {k: {r for r in needs.get(k, ()) if r in present and r != k} for k in keys}
    done: set[str] = set()
    ordered: list[T] = []
    remaining = list(zip(keys, items, strict=True))
    while remaining:
        ready = next((pair for pair in remaining if waiting[pair[0]] <= done), remaining[0])
        remaining.remove(ready)
        done.add(ready[0])
        ordered.append(ready[1])
    return ordered


def _rank(item: Any) -> int:
    order = (Domain, CompositeType, Function, Aggregate, View, Trigger, Policy)
    return next(i for i, cls in enumerate(order) if isinstance(item, cls))


def _creating(item: Any) -> tuple[Statement, ...]:
    if isinstance(item, Function):
        return (create_function(item),)
    if isinstance(item, Aggregate):
        return (create_aggregate(item),)
    if isinstance(item, Trigger):
        return create_trigger(item)
    if isinstance(item, Policy):
        return (create_policy(item),)
    if isinstance(item, View):
        return create_view(item)
    if isinstance(item, Domain):
        return create_domain(item)
    return (create_composite_type(item),)


def _split(graph: SchemaGraph) -> tuple[list[Any], list[Any], dict[str, set[str]]]:
    needs = requirements(graph)
    early: list[Any] = [*graph.domains, *graph.composite_types, *graph.functions, *graph.aggregates]
    late: list[Any] = [*graph.views, *graph.triggers, *graph.policies]
    waiting = [i for i in early if needs_relations(definition_key(i), needs)]
    early = [i for i in early if i not in waiting]
    return sorted(early, key=_rank), sorted([*waiting, *late], key=_rank), needs


def before_tables(graph: SchemaGraph) -> list[Statement]:
    """What tables need, in dependency order: domains, composite types, functions, aggregates."""
    early, _, needs = _split(graph)
    statements: list[Statement] = []
    if graph.functions:
        statements.append(_text("SET check_function_bodies = false"))
    for item in in_dependency_order(early, definition_key, needs):
        statements += _creating(item)
    return statements


def after_tables(graph: SchemaGraph) -> list[Statement]:
    """What needs tables, in dependency order (views, triggers, policies ...), then comments and grants."""
    _, late, needs = _split(graph)
    statements: list[Statement] = []
    for item in in_dependency_order(late, definition_key, needs):
        statements += _creating(item)
    statements += [comment_on(c, c.text) for c in graph.comments]
    statements += [grant(p) for p in graph.privileges]
    statements += _default_grants_revoked(graph)
    return statements


def _default_grants_revoked(graph: SchemaGraph) -> list[Statement]:
    """``REVOKE EXECUTE ... FROM PUBLIC`` for routines whose privileges are read and lack that default."""
    if not graph.privileges:
        return []
    public = {(p.names, p.arguments) for p in graph.privileges if p.grantee == "PUBLIC" and p.privilege == "EXECUTE"}
    return [
        revoke(Privilege(f.kind, (f.schema, f.name), f.arguments, "PUBLIC", "EXECUTE"))
        for f in graph.functions
        if ((f.schema, f.name), f.arguments) not in public
    ]


__all__ = [
    "after_tables",
    "alter_composite_type",
    "alter_domain",
    "alter_sequence",
    "before_tables",
    "comment_on",
    "create_aggregate",
    "create_composite_type",
    "create_domain",
    "create_function",
    "create_policy",
    "create_trigger",
    "create_view",
    "definition_key",
    "drop_aggregate",
    "drop_composite_type",
    "drop_domain",
    "drop_extension",
    "drop_function",
    "drop_policy",
    "drop_schema",
    "drop_sequence",
    "drop_trigger",
    "drop_view",
    "grant",
    "in_dependency_order",
    "needs_relations",
    "object_reference",
    "replace_trigger",
    "requirements",
    "revoke",
    "row_security",
    "trigger_enabled",
]
