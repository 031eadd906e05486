"""New migration files for a project: generated from the schema difference, or a raw-SQL skeleton.

``zanith generate`` and ``zanith new`` are a few lines over these two functions. Generate compares the
*current* state — by default what the existing migrations produce when replayed on a scratch database
(see :mod:`zanith_core.migrations.replay`), or ``--from`` a live URL or a ``.sql`` file (how an existing
database is adopted) — with the declared schema (``schema`` in ``[tool.zanith]``), and writes nothing when
there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Config
from ..diff import diff
from ..errors import ConfigError, MigrationFileError
from ..generate import GenerateError, generate
from ..generate.renames import Confirm, RenameHints
from ..migrations import Migration, migration_id, write_migration
from ..migrations.guard import migrations_to_extend
from ..migrations.replay import replay
from ..ops import RawSql
from ..parallel import both
from ..read.casts import castable
from ..schema.graph import SchemaGraph
from ..servers import connect, resolve_server
from ..sources import load_declared

TODO_SQL = "-- TODO: write the SQL of this migration"


@dataclass(frozen=True)
class Written:
    """A migration and where it was written (``path`` None: nothing to do, no file)."""

    migration: Migration
    path: Path | None


def current_schema(config: Config, source: str | None, migrations: Sequence[Migration]) -> SchemaGraph:
    """``source`` (a URL, ``.sql`` file or any schema source) if given, else the replayed migrations."""
    if source is None:
        return replay(migrations, config)[0]
    return load_declared(source, config)


def generate_migration_file(
    config: Config,
    *,
    name: str,
    source: str | None = None,
    hints: RenameHints | None = None,
    hard_drop: bool = False,
    accept_detected: bool = False,
    confirm: Confirm | None = None,
    now: datetime | None = None,
    allow_empty: bool = False,
) -> Written:
    """Generate the migration from the current state to the declared schema and write it, if any.

    A declared schema with no table, against a current state with tables, is refused unless
    ``allow_empty``: an emptied file, a wrong ``schema`` path that still loads, or a module that lost its
    models would otherwise generate "drop every table", with no warning.
    """
    if config.schema is None:
        raise ConfigError("no declared schema to generate from: set schema in [tool.zanith] (or ZANITH_SCHEMA)")
    existing = migrations_to_extend(config)
    schema = config.schema
    current, declared = both(
        lambda: current_schema(config, source, existing),
        lambda: load_declared(schema, config, server=resolve_server(config.shadow_url)),
    )
    if current.tables and not declared.tables and not allow_empty:
        raise GenerateError(
            f"the declared schema ({schema}) has no table, but the current state has {len(current.tables)} "
            "(the migration would drop every one); check the schema setting and the file, or pass --allow-empty "
            "if dropping everything is what you mean"
        )
    migration = project_generate(
        config, current, declared, hints, next_id(name, existing, now), name,
        hard_drop=hard_drop, accept_detected=accept_detected, confirm=confirm,
    )  # fmt: skip
    if not migration.operations:
        return Written(migration, None)
    summary = [d.render() for d in diff(current, declared)]
    return Written(migration, write_migration(migration, config.migrations_dir, summary=summary))


def new_migration_file(config: Config, *, name: str, sql: str | None = None, now: datetime | None = None) -> Written:
    """Write a hand-editable migration holding one ``raw_sql`` op (``sql``, else a TODO to replace)."""
    existing = migrations_to_extend(config)
    migration = Migration(next_id(name, existing, now), (RawSql(sql or TODO_SQL),), name=name)
    notes = [
        "One raw_sql operation: edit forward_sql; set reverse_sql='...' if it can be undone",
        "(without reverse_sql the migration has no automatic reversal).",
    ]
    return Written(migration, write_migration(migration, config.migrations_dir, summary=notes))


def next_id(name: str, existing: Sequence[Migration], now: datetime | None = None) -> str:
    """A timestamped id for ``name`` that sorts after every existing migration id."""
    moment = now or datetime.now(UTC)
    mid = migration_id(name, moment)
    last = max((m.id for m in existing), default="")
    if mid > last:
        return mid
    try:
        stamp = datetime.strptime(last[:15], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise MigrationFileError(
            f"the newest migration id {last!r} sorts after {mid!r}; a new migration's id must sort last"
        ) from None
    return migration_id(name, stamp + timedelta(seconds=1))


def project_generate(
    config: Config,
    current: SchemaGraph,
    declared: SchemaGraph,
    hints: RenameHints | None,
    mid: str,
    name: str,
    *,
    hard_drop: bool,
    accept_detected: bool,
    confirm: Confirm | None = None,
) -> Migration:
    """:func:`~zanith_core.generate.generate` as a project runs it: a type change is checked for a cast on
    the project's shadow server, and the column order is kept unless ``ignore_column_order``."""
    with connect(resolve_server(config.shadow_url).url) as conn:
        return generate(
            current,
            declared,
            hints,
            hard_drop=hard_drop,
            accept_detected=accept_detected,
            confirm=confirm,
            castable=lambda old, new: castable(conn, old, new),
            id=mid,
            name=name,
            column_order=not config.ignore_column_order,
        )
