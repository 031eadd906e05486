"""Read: a live database's catalogs into a :class:`~zanith_core.schema.graph.SchemaGraph`.

The catalogs are read in a fixed number of queries, one per object kind, whatever the number of tables:
a schema of a thousand tables costs the same round trips as a schema of three. All text comes from
Postgres' own printers (``format_type``, ``pg_get_expr``, ``pg_get_indexdef``, ``pg_get_constraintdef``,
``pg_get_viewdef``), run with an empty ``search_path`` so every name they print is schema-qualified. That
makes the text canonical (the same whatever the caller's search path) and executable as is, which is what
:mod:`zanith_core.sql` relies on to recreate a graph.

:mod:`.tables` reads tables and what belongs to them, :mod:`.definitions` everything else (functions,
triggers, policies, comments, dependencies ...), :mod:`.text` collations and text search; none imports
another, and both leave out objects
owned by an extension (they come back with ``CREATE EXTENSION``) and zanith's own ``_zanith_*`` objects.
The work is split in two so the benchmark can time the catalog queries alone: :func:`fetch_catalog` runs
the queries, :func:`build_graph` assembles their rows; :func:`introspect` does both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq

from ..schema.graph import SchemaGraph
from ..schema.scope import without_ignored
from .catalog import Row, index_keys
from .definitions import add_definitions, definition_queries
from .tables import build_tables, check_expression, table_queries
from .text import add_text_objects, text_queries

__all__ = [
    "Catalog",
    "build_graph",
    "catalog_queries",
    "check_expression",
    "fetch_catalog",
    "index_keys",
    "introspect",
]

# One statement: read what we must know before the other queries, and make every printer qualify names
# (set_config(..., true) lasts until the end of the transaction introspect() runs in).
_SETUP = """
SELECT pg_catalog.current_setting('server_version_num')::int,
       pg_catalog.current_setting('search_path'),
       pg_catalog.set_config('search_path', '', true),
       ARRAY(SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%(schemas)s) ORDER BY 1)
"""


def catalog_queries(server_version_num: int, *, privileges: bool = False) -> dict[str, str]:
    """Every catalog query for a server version (each takes one parameter, ``schemas``); privileges only
    when asked for."""
    return {
        **table_queries(server_version_num),
        **definition_queries(server_version_num, privileges=privileges),
        **text_queries(server_version_num),
    }


@dataclass(frozen=True)
class Catalog:
    """The raw rows of every catalog query, as :func:`fetch_catalog` read them."""

    schemas: tuple[str, ...]
    rows: dict[str, list[Row]]


def introspect(
    conn: psycopg.Connection[Any],
    schemas: Sequence[str] = ("public",),
    *,
    ignore: Sequence[str] = (),
    privileges: bool = False,
) -> SchemaGraph:
    """The schema held by the database behind ``conn``, restricted to ``schemas``.

    ``ignore`` holds the project's ignore patterns (``[tool.zanith] ignore``, see :mod:`zanith_core.schema.scope`);
    ``privileges`` reads GRANTs too (``[tool.zanith] privileges``), off by default because role sets
    differ between environments.
    """
    return without_ignored(build_graph(fetch_catalog(conn, schemas, privileges=privileges)), ignore)


def fetch_catalog(
    conn: psycopg.Connection[Any], schemas: Sequence[str] = ("public",), *, privileges: bool = False
) -> Catalog:
    """Run the catalog queries (a fixed number, whatever the schema's size) in one transaction.

    The empty ``search_path`` is set transaction-locally; when the caller was already inside a
    transaction it is put back explicitly, so the caller's session never sees it.
    """
    params = {"schemas": list(schemas)}
    was_in_transaction = conn.info.transaction_status != pq.TransactionStatus.IDLE
    with conn.transaction(), conn.cursor() as cur:
        version, search_path, _, present = _one(cur.execute(_SETUP, params))
        queries = catalog_queries(version, privileges=privileges)
        rows = {kind: cur.execute(query, params).fetchall() for kind, query in queries.items()}
        if was_in_transaction:
            cur.execute("SELECT pg_catalog.set_config('search_path', %s, true)", (search_path,))
    return Catalog(schemas=tuple(present), rows=rows)


def _one(cur: psycopg.Cursor[Any]) -> Row:
    row = cur.fetchone()
    assert row is not None  # a SELECT without FROM always returns one row
    return tuple(row)


def build_graph(catalog: Catalog) -> SchemaGraph:
    """Assemble a :class:`SchemaGraph` from the rows :func:`fetch_catalog` read."""
    return add_text_objects(add_definitions(build_tables(catalog.schemas, catalog.rows), catalog.rows), catalog.rows)
