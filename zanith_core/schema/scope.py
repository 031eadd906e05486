"""Ignore rules: objects a project does not own never appear in its schema graphs, so never as drift.

``[tool.zanith] ignore = [...]`` holds glob patterns (:mod:`fnmatch`, case-sensitive) matched against an
object's identity — ``app.tickets``, ``app.slugify(text)``, ``app.tickets.tickets_touch`` (a trigger or
policy), ``pg_stat_statements`` (an extension) — and against the identity prefixed with its kind, so
``function public.uuid_*`` ignores only functions while ``audit.*`` ignores everything in ``audit``.
An ignored table takes its triggers, policies, comments and privileges with it.

Objects owned by an extension need no pattern: introspection skips them (``pg_depend`` deptype ``e``).
Patterns are applied by :func:`zanith_core.read.introspect` and to declared schemas alike, so an
ignored object is absent on both sides of every diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

from ..config import Config
from .graph import SchemaGraph
from .queries import holds, known_objects


def ignored(patterns: Sequence[str], kind: str, identity: str) -> bool:
    """Whether ``identity`` (of an object of ``kind``) matches one of ``patterns``."""
    labelled = f"{kind} {identity}"
    return any(fnmatchcase(identity, p) or fnmatchcase(labelled, p) for p in patterns)


def without_ignored(graph: SchemaGraph, patterns: Sequence[str]) -> SchemaGraph:
    """``graph`` without the objects ``patterns`` match (and what belongs to them)."""
    if not patterns:
        return graph

    def keep(items: Iterable[Any], kind: str) -> tuple[Any, ...]:
        return tuple(i for i in items if not ignored(patterns, kind, i.qualified_name))

    tables = keep(graph.tables, "table")
    views = tuple(v for v in graph.views if not ignored(patterns, _view_kind(v.materialized), v.qualified_name))
    relations = {t.qualified_name for t in tables} | {v.qualified_name for v in views}
    removed = {t.qualified_name for t in graph.tables} | {v.qualified_name for v in graph.views}
    removed -= relations
    functions = tuple(f for f in graph.functions if not ignored(patterns, f.kind, f.identity))
    aggregates = tuple(a for a in graph.aggregates if not ignored(patterns, "aggregate", a.identity))
    kept = replace(
        graph,
        schemas=tuple(s for s in graph.schemas if not ignored(patterns, "schema", s)),
        extensions=tuple(e for e in graph.extensions if not ignored(patterns, "extension", e.name)),
        enums=keep(graph.enums, "enum"),
        sequences=keep(graph.sequences, "sequence"),
        tables=tables,
        views=views,
        functions=functions,
        aggregates=aggregates,
        triggers=tuple(
            t for t in graph.triggers if t.table not in removed and not ignored(patterns, "trigger", t.identity)
        ),
        domains=keep(graph.domains, "domain"),
        composite_types=keep(graph.composite_types, "type"),
        policies=tuple(
            p for p in graph.policies if p.table not in removed and not ignored(patterns, "policy", p.identity)
        ),
        collations=keep(graph.collations, "collation"),
        text_search_dictionaries=keep(graph.text_search_dictionaries, "text search dictionary"),
        text_search_configurations=keep(graph.text_search_configurations, "text search configuration"),
    )
    known = known_objects(kept)
    return replace(
        kept,
        comments=tuple(c for c in kept.comments if holds(known, c.object_type, c.names, c.arguments)),
        privileges=tuple(p for p in kept.privileges if holds(known, p.object_type, p.names, p.arguments)),
    )


def scope(config: Config) -> dict[str, Any]:
    """The keyword arguments of ``introspect`` and ``load_schema`` that apply a project's settings."""
    return {"ignore": config.ignore, "privileges": config.privileges}


def scoped(graph: SchemaGraph, ignore: Sequence[str] = (), privileges: bool = False) -> SchemaGraph:
    """``graph`` as a project sees it: without ignored objects, and without privileges unless managed."""
    kept = without_ignored(graph, ignore)
    return kept if privileges or not kept.privileges else replace(kept, privileges=())


def _view_kind(materialized: bool) -> str:
    return "materialized view" if materialized else "view"


__all__ = ["ignored", "scope", "scoped", "without_ignored"]
