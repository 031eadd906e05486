r"""A whole schema as one script: what ``CREATE``\s a graph on an empty database, in an order Postgres accepts.

Schemas, extensions, collations, text search dictionaries and configurations, enums, sequences; what
tables need (domains, composite types, functions: the *early* definitions); tables (parents before
their partitions and INHERITS children) without FKs; then FKs, sequence ownership, indexes; then what
needs tables (views, triggers, policies: the *late* ones), each after what it needs
(:mod:`zanith_core.sql.order`), then comments and privileges. A script with functions turns
``check_function_bodies`` off first, as ``pg_dump`` does: a ``LANGUAGE sql`` body may name a table
created later in the script.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from ..schema.graph import (
    Aggregate,
    CompositeType,
    Domain,
    Function,
    Policy,
    Privilege,
    SchemaGraph,
    Trigger,
    View,
)
from ..schema.queries import parents_first
from .definitions import (
    comment_on,
    create_aggregate,
    create_collation,
    create_composite_type,
    create_domain,
    create_extension,
    create_function,
    create_policy,
    create_schema,
    create_text_search_configuration,
    create_text_search_dictionary,
    create_trigger,
    create_view,
    grant,
    revoke,
    text_statement,
)
from .order import definition_key, in_dependency_order, needs_relations, requirements
from .sequences import create_sequence, set_sequence_owner
from .tables import add_foreign_keys, create_enum, create_indexes, table_and_constraints

Statement = sql.Composed


def schema_ddl(graph: SchemaGraph) -> tuple[sql.Composed, ...]:
    """A script creating ``graph`` on an empty database, in an order Postgres accepts (see above)."""
    schemas = sorted({*graph.schemas, *(e.schema for e in graph.extensions)})
    statements: list[sql.Composed] = [create_schema(s) for s in schemas]
    statements += [create_extension(e) for e in graph.extensions]
    statements += [create_collation(c) for c in graph.collations]
    statements += [create_text_search_dictionary(d) for d in graph.text_search_dictionaries]
    for configuration in graph.text_search_configurations:
        statements += create_text_search_configuration(configuration)
    statements += [create_enum(e) for e in graph.enums]
    statements += [create_sequence(s) for s in graph.sequences]
    statements += before_tables(graph)
    tables = parents_first(graph.tables)
    for table in tables:
        statements += table_and_constraints(table)
    for table in tables:
        statements += add_foreign_keys(table)
    statements += [set_sequence_owner(s) for s in graph.sequences if s.owned_by is not None]
    for table in tables:
        statements += create_indexes(table)
    statements += after_tables(graph)
    return tuple(statements)


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
        statements.append(text_statement("SET check_function_bodies = false"))
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
