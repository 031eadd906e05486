"""What a routine's body and a view's text name: the functions they call, read with PostgreSQL's parser.

``pg_depend`` records what a SQL-standard body (``BEGIN ATOMIC``) and a view need, but nothing of a
``$$``-quoted body: a ``LANGUAGE sql`` function calling ``norm(t)`` or a ``plpgsql`` one doing
``RETURN helper() + 1`` leave no trace there. Yet the callee must exist first — when the caller's SQL
body is checked at ``CREATE FUNCTION`` (``check_function_bodies``), and when an index expression or a
view runs it. So bodies are parsed (pglast's ``parse_sql``, and ``parse_plpgsql`` for each SQL
expression of a ``plpgsql`` body) and their calls become ordering needs (:mod:`zanith_core.sql.order`).

A name is what the text spells: ``(schema, name)`` with ``schema`` None when unqualified (resolved by
the caller against the graph). Dynamic SQL (``EXECUTE 'text'``) is invisible, like it is to Postgres.
A body the parser rejects falls back to every ``name(`` it contains: a false need costs order, never
correctness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pglast

from .graph import Function

Name = tuple[str | None, str]

_CALL = re.compile(r'(?:("?)([A-Za-z_][\w$]*)\1\s*\.\s*)?("?)([A-Za-z_][\w$]*)\3\s*\(')
_ASSIGNMENT = re.compile(r"^[^:=]*?:?=\s*", re.DOTALL)
#: ``parseMode`` of a ``PLpgSQL_expr``: 0 a whole statement, 2 an expression, 3-5 an assignment.
_STATEMENT, _EXPRESSION = 0, 2


def read_relations(function: Function) -> frozenset[Name]:
    """The tables and views a ``LANGUAGE sql`` body names (what ``check_function_bodies`` looks up at
    ``CREATE FUNCTION``); empty for other languages, whose bodies are not checked that way."""
    if function.language != "sql" or not function.body.strip():
        return frozenset()
    return _relations(function.body)


@lru_cache(maxsize=4096)
def _relations(text: str) -> frozenset[Name]:
    try:
        tree = json.loads(pglast.parser.parse_sql_json(text))
    except pglast.parser.ParseError:
        return frozenset()
    return frozenset(_relation_names(tree))


def _relation_names(node: Any) -> Iterator[Name]:
    if isinstance(node, list):
        for item in node:
            yield from _relation_names(item)
    elif isinstance(node, dict):
        relation = node.get("RangeVar")
        if isinstance(relation, dict) and "relname" in relation:
            yield (relation.get("schemaname"), relation["relname"])
        for value in node.values():
            yield from _relation_names(value)


def called_functions(function: Function) -> frozenset[Name]:
    """The functions ``function``'s body calls (its own name included when it recurses)."""
    return _called(function.language, function.body, function.definition)


@lru_cache(maxsize=4096)
def _called(language: str, body: str, definition: str) -> frozenset[Name]:
    if language == "sql" and body.strip():
        return sql_calls(body)
    if language == "plpgsql" and definition.strip():
        try:
            parsed = pglast.parse_plpgsql(definition)
        except pglast.parser.ParseError:
            return _loose_calls(body)
        return frozenset(name for query in _plpgsql_queries(parsed) for name in sql_calls(query))
    return frozenset()


@lru_cache(maxsize=4096)
def sql_calls(text: str) -> frozenset[Name]:
    """The functions a SQL text (statements, or one expression) calls."""
    for candidate in (text, f"SELECT {text}"):
        try:
            tree = json.loads(pglast.parser.parse_sql_json(candidate))
        except pglast.parser.ParseError:
            continue
        return frozenset(_function_names(tree))
    return _loose_calls(text)


def _loose_calls(text: str) -> frozenset[Name]:
    """Every ``name(`` or ``schema.name(`` of a text the parser rejected."""
    return frozenset((m.group(2), m.group(4)) for m in _CALL.finditer(text))


def _nodes(tree: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every node named ``key`` in a parse tree as JSON (nested lists and dicts), outermost first."""
    if isinstance(tree, list):
        for item in tree:
            yield from _nodes(item, key)
    elif isinstance(tree, dict):
        node = tree.get(key)
        if isinstance(node, dict):
            yield node
        for value in tree.values():
            yield from _nodes(value, key)


def _plpgsql_queries(tree: Any) -> Iterator[str]:
    """The SQL text of every expression and statement of a ``parse_plpgsql`` tree, as SQL."""
    for expr in _nodes(tree, "PLpgSQL_expr"):
        if isinstance(expr.get("query"), str):
            query, mode = expr["query"], expr.get("parseMode", _STATEMENT)
            yield _ASSIGNMENT.sub("", query, count=1) if mode > _EXPRESSION else query


def _function_names(tree: Any) -> Iterator[Name]:
    for call in _nodes(tree, "FuncCall"):
        parts = [p["String"]["sval"] for p in call.get("funcname", ()) if "String" in p]
        if parts:
            yield (parts[-2] if len(parts) > 1 else None, parts[-1])


__all__ = ["Name", "called_functions", "read_relations", "sql_calls"]
