"""Drift: the differences between a declared schema and what a database (or another source) holds.

The CLI's ``zanith diff`` and pytest's ``assert_no_drift`` are both a few lines over these functions.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..config import Config
from ..diff import Difference, diff, without_column_order
from ..parallel import both
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope
from ..servers import connect, resolve_server
from . import load_schema


def load_pair(source: Any, target: Any, config: Config) -> tuple[SchemaGraph, SchemaGraph]:
    """Load two schema sources with the project's settings; scratch work runs on the shadow server."""
    server = None if _is_live(source) and _is_live(target) else resolve_server(config.shadow_url)

    def load(src: Any) -> SchemaGraph:
        return load_schema(src, server=server, schemas=config.schemas, project_dir=config.project_dir, **scope(config))

    return both(lambda: load(source), lambda: load(target))


def drift(declared: Any, database: str | psycopg.Connection, config: Config) -> tuple[Difference, ...]:
    """Differences from the live ``database`` to the ``declared`` schema (empty = no drift)."""
    if isinstance(database, str):
        with connect(database) as conn:
            live = introspect(conn, config.schemas, **scope(config))
    else:
        live = introspect(database, config.schemas, **scope(config))
    wanted = load_schema(
        declared,
        server=None if isinstance(declared, SchemaGraph) else resolve_server(config.shadow_url),
        schemas=config.schemas,
        project_dir=config.project_dir,
        **scope(config),
    )
    differences = diff(live, wanted)
    return without_column_order(differences) if config.ignore_column_order else differences


def _is_live(source: Any) -> bool:
    return isinstance(source, SchemaGraph) or (
        isinstance(source, str) and source.startswith(("postgres://", "postgresql://"))
    )
