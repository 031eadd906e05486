"""The order to create definitions in: each after what it needs.

Postgres records what needs what (:attr:`~zanith_core.schema.graph.SchemaGraph.dependencies`); a graph
built without a database (the DSL, ``apply_to``) has none recorded, so the objects themselves are read
too: a trigger needs its table and function, a policy its table, an aggregate its functions, a view
the views it reads and the functions it calls. Postgres records nothing of a ``$$``-quoted body, so a
function needs the functions its body calls (:mod:`zanith_core.schema.routines`, for ``LANGUAGE sql``
and ``plpgsql``); mutual recursion is a cycle, and a cycle keeps the given order (bodies that call each
other are only checked when they run, or with ``check_function_bodies`` off).

Both the whole-schema script (:mod:`zanith_core.sql.script`) and generate
(:mod:`zanith_core.generate.definitions`) order by these needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..schema.graph import (
    Aggregate,
    Collation,
    CompositeType,
    Domain,
    Function,
    Policy,
    SchemaGraph,
    TextSearchConfiguration,
    TextSearchDictionary,
    Trigger,
    View,
)
from ..schema.graph import Sequence as SequenceDef
from ..schema.routines import Name, called_functions, sql_calls

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
    if isinstance(item, Collation):
        return f"collation {item.qualified_name}"
    if isinstance(item, TextSearchDictionary):
        return f"tsdictionary {item.qualified_name}"
    if isinstance(item, TextSearchConfiguration):
        return f"tsconfiguration {item.qualified_name}"
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
    routines = _Routines(graph)
    for function in graph.functions:
        for key in routines.keys(called_functions(function), function.schema):
            if key != definition_key(function):
                need(function, key)
    for trigger in graph.triggers:
        need(trigger, f"{relations.get(trigger.table, 'table')} {trigger.table}")
        need(trigger, f"function {trigger.function}")
    for policy in graph.policies:
        need(policy, f"table {policy.table}")
    dictionaries = {d.qualified_name: d for d in graph.text_search_dictionaries}
    for configuration in graph.text_search_configurations:
        for mapping in configuration.mappings:
            for dictionary in (dictionaries.get(d.replace('"', "")) for d in mapping.dictionaries):
                if dictionary is not None:
                    need(configuration, definition_key(dictionary))
    for aggregate in graph.aggregates:
        for name in (aggregate.state_function, aggregate.final_function, aggregate.combine_function):
            for function in functions.get(name or "", ()):
                need(aggregate, definition_key(function))
    for view in graph.views:
        for other in graph.views:
            if other is not view and reads(view, other):
                need(view, definition_key(other))
        for key in routines.keys(sql_calls(view.definition), view.schema):
            need(view, key)
    return needs


class _Routines:
    """A graph's functions and aggregates by the names a body calls them by.

    An unqualified call resolves like a default ``search_path`` would: the caller's own schema, then
    ``public``, then the one schema that has the name (several schemas: none is guessed). Every
    overload of the name is needed: the call's argument types are not known without the server.
    """

    def __init__(self, graph: SchemaGraph) -> None:
        self.by_name: dict[tuple[str, str], list[str]] = {}
        self.schemas: dict[str, set[str]] = {}
        routines: list[Function | Aggregate] = [*graph.functions, *graph.aggregates]
        for item in routines:
            self.by_name.setdefault((item.schema, item.name), []).append(definition_key(item))
            self.schemas.setdefault(item.name, set()).add(item.schema)

    def keys(self, calls: frozenset[Name], schema: str) -> list[str]:
        found: list[str] = []
        for called_schema, name in calls:
            if called_schema is not None:
                found += self.by_name.get((called_schema, name), [])
                continue
            places = self.schemas.get(name, set())
            only = next(iter(places)) if len(places) == 1 else None
            chosen = next((s for s in (schema, "public") if s in places), only)
            found += self.by_name.get((chosen, name), []) if chosen else []
        return found


def reads(view: View, other: View) -> bool:
    """Whether ``view``'s definition names ``other`` (how views without recorded dependencies, from a
    DSL graph, are ordered: :func:`requirements`).

    Introspected definitions qualify every relation (``public.active_users``), so a view reads another
    when the other's name appears after a dot; a false positive only costs order, never correctness.
    """
    name = re.escape(other.name)
    return re.search(rf'\.(?:{name}\b|"{name}")', view.definition) is not None


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


def in_cycles(keys: Sequence[str], needs: Mapping[str, set[str]]) -> set[str]:
    """Those of ``keys`` that need themselves through other ``keys`` (mutually recursive functions)."""
    present = set(keys)
    cyclic: set[str] = set()
    for key in keys:
        seen: set[str] = set()
        pending = [r for r in needs.get(key, ()) if r in present and r != key]
        while pending:
            ref = pending.pop()
            if ref == key:
                cyclic.add(key)
                break
            if ref not in seen:
                seen.add(ref)
                pending += [r for r in needs.get(ref, ()) if r in present]
    return cyclic


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
