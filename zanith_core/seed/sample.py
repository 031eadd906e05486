"""Copy a sample of a real database's rows into the shadow, keys kept consistent, personal data masked.

Per table, in :func:`~.catalog.fill_order`: up to ``rows`` rows are streamed from the source with
``COPY (SELECT …) TO STDOUT`` as text — PostgreSQL's own output and input formats, so every type
round-trips without Python adapting it — into a temporary table of the shadow, then inserted by
:func:`~.fill.fill` like synthetic rows. Consistency:

- a foreign key's rows are only those whose key is among the rows already copied into the referenced
  table (or NULL), so every copied reference holds; a self-reference is not copied (NULL), since the row
  it points at may not be in the sample;
- columns matched by ``sample_mask`` are never selected from the source — they are filled with synthetic
  values on the shadow (distinct per row, so a unique column stays unique), so their data does not leave
  the source. A mask may not name a primary key or a column of a foreign key, referencing or referenced:
  a synthetic key would break the references the sample keeps.

Rows are taken in the source's physical order (``LIMIT``), the same rows for the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

import psycopg
from psycopg import sql

from ..errors import ConfigError
from .catalog import SeedTable
from .fill import STAGED, Filled, fill

_SOURCE_COLUMNS = """
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) AND a.attnum > 0 AND NOT a.attisdropped
"""


def masked(patterns: Sequence[str], table: SeedTable, column: str) -> bool:
    """Whether ``schema.table.column`` is matched by a ``sample_mask`` pattern (shell-style; a pattern
    with fewer dots is matched against the last parts: ``users.email``, ``*.email``, ``email``)."""
    parts = (table.schema, table.name, column)
    for pattern in patterns:
        width = min(pattern.count(".") + 1, 3)
        if fnmatchcase(".".join(parts[-width:]), pattern):
            return True
    return False


def check_mask(patterns: Sequence[str], tables: Sequence[SeedTable]) -> None:
    """Refuse a mask on a key column before anything is copied (see the module doc)."""
    for table in tables:
        keyed = {*table.primary_key, *(c for fk in table.foreign_keys for c in fk.columns)}
        for fk_table in tables:
            keyed.update(c for fk in fk_table.foreign_keys if fk.table == table.qualified for c in fk.ref_columns)
        for column in sorted(keyed):
            if masked(patterns, table, column):
                raise ConfigError(
                    f"sample_mask matches {table.qualified}.{column}, a key column: a synthetic key would break "
                    "the references the sample keeps; mask only non-key columns"
                )


def sample_table(
    shadow: psycopg.Connection[Any],
    source: psycopg.Connection[Any],
    table: SeedTable,
    rows: int,
    seed: int,
    mask: Sequence[str],
    filled: set[str],
) -> Filled:
    """Copy up to ``rows`` rows of ``table`` from ``source`` into ``shadow`` (see the module doc);
    ``filled`` names the tables already sampled, whose rows references may point at."""
    present = {r[0] for r in source.execute(_SOURCE_COLUMNS, (table.schema, table.name)).fetchall()}
    if not present:
        return Filled(table.qualified, 0, "not in the sample source")
    self_refs = {c for fk in table.foreign_keys if fk.table == table.qualified for c in fk.columns}
    copied = [
        c.name
        for c in table.columns
        if c.name in present and not c.generated and c.name not in self_refs and not masked(mask, table, c.name)
    ]
    if not copied:
        return fill(shadow, table, rows, seed)
    query = sql.SQL("COPY (SELECT {} FROM {}{} LIMIT {}) TO STDOUT").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in copied),
        sql.Identifier(table.schema, table.name),
        _references(shadow, table, copied, filled),
        sql.Literal(rows),
    )
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in copied)
    shadow.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({})").format(STAGED, columns))
    try:
        with (
            source.cursor().copy(query) as out,
            shadow.cursor().copy(sql.SQL("COPY pg_temp.{} FROM STDIN").format(STAGED)) as into,
        ):
            for chunk in out:
                into.write(chunk)
        return fill(shadow, table, rows, seed, staged=copied)
    finally:
        shadow.execute(sql.SQL("DROP TABLE pg_temp.{}").format(STAGED))


def _references(
    shadow: psycopg.Connection[Any], table: SeedTable, copied: Sequence[str], filled: set[str]
) -> sql.Composable:
    """``WHERE`` keeping the rows whose copied foreign keys point at rows already in the shadow."""
    conditions: list[sql.Composable] = []
    for fk in table.foreign_keys:
        if fk.table == table.qualified or fk.table not in filled or not all(c in copied for c in fk.columns):
            continue
        schema, _, name = fk.table.partition(".")
        keys = [
            r[0]
            for r in shadow.execute(
                sql.SQL("SELECT DISTINCT ROW({})::text FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns)), sql.Identifier(schema, name)
                )
            ).fetchall()
        ]
        nulls = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in fk.columns)
        conditions.append(
            sql.SQL("({} OR ROW({})::text IN (SELECT unnest({}::text[])))").format(
                nulls, sql.SQL(", ").join(map(sql.Identifier, fk.columns)), sql.Literal(keys)
            )
        )
    return sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(conditions)) if conditions else sql.SQL("")
