"""Token-aware edits of expression text as PostgreSQL prints it (index keys, predicates, checks).

Renaming a column renames it inside every expression that mentions it — exactly where the server would
re-print the new name, and nowhere else: not in a function of the same name, a type after ``::``, a field
after ``.``, an operator class or collation, or the inside of a string literal. A regular expression
cannot tell these apart; PostgreSQL's own scanner (through pglast) can.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import parser
from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*\Z")
_QUOTED_KEYWORDS = RESERVED_KEYWORDS | COL_NAME_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS

#: Words that continue a multi-word type name after ``::`` (``character varying``,
#: ``timestamp(3) with time zone``, ``double precision``).
_TYPE_CONTINUATIONS = frozenset({"varying", "precision", "with", "without", "time", "zone"})

#: Tokens after which a name is never a column: a type (``::``, ``AS``), a field (``.``), a collation.
_NOT_A_COLUMN_AFTER = frozenset({"TYPECAST", "AS", "ASCII_46", "COLLATE"})


def quote_ident(name: str) -> str:
    """Quote ``name`` exactly when PostgreSQL's ``quote_ident`` would, so text matches the server's."""
    if _PLAIN.match(name) and name not in _QUOTED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(schema: str, name: str) -> str:
    """``schema.name`` as ``format_type`` prints a type in column types: ``app."Money"``."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def rename_identifier(text: str, old: str, new: str) -> str:
    """``text`` with every column reference named ``old`` renamed to ``new`` (quoted as the server would).

    Unparseable text is returned unchanged: it cannot be a Postgres-printed expression.
    """
    if old not in text and quote_ident(old) not in text:
        return text
    try:
        tokens = parser.scan(text)
    except parser.ParseError:
        return text
    out: list[str] = []
    last = 0
    for i in _column_references(tokens):
        tok = tokens[i]
        if _identifier_value(text[tok.start : tok.end + 1]) == old:
            out.append(text[last : tok.start])
            out.append(quote_ident(new))
            last = tok.end + 1
    out.append(text[last:])
    return "".join(out)


def mentions_column(text: str, name: str) -> bool:
    """Whether the expression ``text`` reads the column ``name``."""
    try:
        tokens = parser.scan(text)
    except parser.ParseError:
        return False
    return any(_identifier_value(text[tokens[i].start : tokens[i].end + 1]) == name for i in _column_references(tokens))


def _column_references(tokens: list[Any]) -> list[int]:
    """Indexes of the tokens that name a column (as opposed to a function, type, field, opclass...)."""
    found: list[int] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.name in ("TYPECAST", "AS"):
            i = _skip_type_name(tokens, i + 1)
            continue
        if (_is_word(tok) and tok.kind != "RESERVED_KEYWORD") or tok.name == "IDENT":
            prev = tokens[i - 1] if i else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if not (
                (prev is not None and (prev.name in _NOT_A_COLUMN_AFTER or prev.name == "IDENT"))
                or (prev is not None and prev.name == "ASCII_41")  # ``lower(x) text_pattern_ops``
                or (nxt is not None and nxt.name in ("ASCII_40", "SCONST"))  # ``f(...)``, ``date '...'``
            ):
                found.append(i)
        i += 1
    return found


def _skip_type_name(tokens: list[Any], i: int) -> int:
    """Index of the first token after the type name starting at ``i`` (``public.t``, ``numeric(10,2)[]``)."""
    first = True
    while i < len(tokens):
        tok = tokens[i]
        word = _is_word(tok)
        if word and (first or tokens[i - 1].name == "ASCII_46" or tok.name.lower() in _TYPE_CONTINUATIONS):
            first = False
            i += 1
        elif tok.name == "ASCII_46" and not first:
            i += 1
        elif tok.name == "ASCII_40" and not first:
            i = _after_closing_parenthesis(tokens, i)
        elif tok.name == "ASCII_91" and i + 1 < len(tokens) and tokens[i + 1].name in ("ASCII_93", "ICONST"):
            i += 3 if tokens[i + 1].name == "ICONST" else 2
        else:
            break
    return i


def _after_closing_parenthesis(tokens: list[Any], i: int) -> int:
    depth = 0
    while i < len(tokens):
        if tokens[i].name == "ASCII_40":
            depth += 1
        elif tokens[i].name == "ASCII_41":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _is_word(tok: Any) -> bool:
    return bool(tok.name == "IDENT" or tok.kind != "NO_KEYWORD")


def _identifier_value(source: str) -> str:
    if source.startswith('"'):
        return source[1:-1].replace('""', '"')
    return source.lower()
