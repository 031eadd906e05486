"""How zanith spells names in SQL: always through :class:`psycopg.sql.Identifier`, never by formatting.

Type, default, predicate and constraint text is different: it is canonical text PostgreSQL itself
printed, with every name in it qualified, so it is inserted as is (see :mod:`zanith_core.sql`).
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from ..schema.graph import split_qualified


def qualified_identifier(name: str) -> sql.Identifier:
    """``schema.name`` (or a bare name, meaning ``public``) as a quoted two-part identifier."""
    return sql.Identifier(*split_qualified(name))


def identifier_list(names: Iterable[str]) -> sql.Composed:
    """``a, b, "C"``: quoted names separated by commas (key and constraint column lists)."""
    return spaced((sql.Identifier(n) for n in names), ", ")


def spaced(parts: Iterable[sql.Composable], sep: str = " ") -> sql.Composed:
    """The parts of a statement joined by ``sep``."""
    return sql.SQL(sep).join(parts)
