"""Fill one table of the shadow in one ``INSERT … SELECT``, from synthetic values or staged sample rows.

The statement keeps the table's own rules instead of hoping values satisfy them:

- foreign keys draw their values from the referenced table's rows (already filled: tables are filled in
  :func:`~.catalog.fill_order`), row ``g`` taking the ``g``-th key, round robin;
- rows that a CHECK constraint would refuse, or that no partition of a partitioned table would take, are
  filtered out by the constraint's own expression;
- rows that would repeat a primary or unique key are dropped (``ON CONFLICT DO NOTHING``);
- identity and serial columns are left to their sequences (synthetic rows) or copied with
  ``OVERRIDING SYSTEM VALUE`` and their sequences moved past the copied values (sampled rows), so a
  later migration's own inserts do not collide.

A table the statement still cannot fill (a NOT NULL column of a type without synthetic values, a domain
whose check refuses them) is left empty and reported with the reason; the others are filled regardless.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .catalog import SeedColumn, SeedTable
from .values import synthetic

STAGED = sql.Identifier("zanith_sample")
"""The temporary table sampled rows are staged in (as text), one table at a time."""


@dataclass(frozen=True)
class Filled:
    table: str
    rows: int
    reason: str = ""
    """Why the table holds fewer rows than asked, when it is not obvious (a failed statement)."""


def fill(
    conn: psycopg.Connection[Any],
    table: SeedTable,
    rows: int,
    seed: int,
    *,
    staged: Collection[str] = (),
) -> Filled:
    """Insert up to ``rows`` rows into ``table`` (from :data:`STAGED` when ``staged`` names its columns
    there), in a transaction of its own; a failure leaves the table as it was and says why."""
    if rows <= 0 and not staged:
        return Filled(table.qualified, 0)
    try:
        statement = _insert(table, rows, seed, staged)
    except _Unfillable as exc:
        return Filled(table.qualified, 0, str(exc))
    try:
        with conn.transaction():
            count = conn.execute(statement).rowcount
            if staged:
                _advance_sequences(conn, table, staged)
    except psycopg.Error as exc:
        return Filled(table.qualified, 0, " ".join(str(exc).split()))
    if count <= 0 and rows > 0:
        return Filled(table.qualified, 0, "every row broke a CHECK constraint or fit no partition")
    return Filled(table.qualified, count)


_INSERT = (
    "{head}INSERT INTO {table}{columns}{overriding} SELECT {names} "
    "FROM (SELECT {values} FROM {source}{ctes}) s{where} ON CONFLICT DO NOTHING"
)


class _Unfillable(Exception):
    pass


def _insert(table: SeedTable, rows: int, seed: int, staged: Collection[str]) -> sql.Composed:
    g = sql.SQL("g")
    keys, ctes = _foreign_values(table, staged, g)
    names: list[sql.Composable] = []
    values: list[sql.Composable] = []
    produced: set[str] = set()
    for column in table.columns:
        value = _column_value(table, column, staged, keys, g, seed)
        if value is None:
            continue
        names.append(sql.Identifier(column.name))
        values.append(sql.SQL("{} AS {}").format(value, sql.Identifier(column.name)))
        produced.add(column.name)
    source = (
        sql.SQL("(SELECT row_number() OVER () AS g, * FROM pg_temp.{}) AS st").format(STAGED)
        if staged
        else sql.SQL("generate_series(1, {}) AS g").format(sql.Literal(rows))
    )
    where: list[sql.Composable] = [
        sql.SQL("({}) IS NOT FALSE").format(sql.SQL(c.expression)) for c in table.checks if set(c.columns) <= produced
    ]
    if table.partitions is not None:
        where.append(sql.SQL(table.partitions))
    overriding = any(c.identity == "a" for c in table.columns if c.name in staged)
    return sql.SQL(_INSERT).format(
        head=sql.SQL("WITH {} ").format(sql.SQL(", ").join(c for _, c in ctes)) if ctes else sql.SQL(""),
        table=sql.Identifier(table.schema, table.name),
        columns=sql.SQL(" ({})").format(sql.SQL(", ").join(names)) if names else sql.SQL(""),
        names=sql.SQL(", ").join(names),
        overriding=sql.SQL(" OVERRIDING SYSTEM VALUE") if overriding else sql.SQL(""),
        values=sql.SQL(", ").join(values),
        source=source,
        ctes=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(alias)) for alias, _ in ctes),
        where=sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(where)) if where else sql.SQL(""),
    )


def _column_value(
    table: SeedTable,
    column: SeedColumn,
    staged: Collection[str],
    keys: dict[str, sql.Composable],
    g: sql.Composable,
    seed: int,
) -> sql.Composable | None:
    """The column's expression, or None to leave it to its default (generated, identity, serial, or a
    type without synthetic values)."""
    if column.generated:
        return None
    if column.name in staged:
        return sql.SQL("st.{}::{}").format(sql.Identifier(column.name), sql.SQL(column.type))
    if column.name in keys:
        return keys[column.name]
    if column.sequenced:
        return None
    value = synthetic(column, g, seed)
    if value is not None:
        return value
    if column.default:
        return None
    if not column.not_null:
        return sql.SQL("NULL::{}").format(sql.SQL(column.type))
    raise _Unfillable(f"column {column.name} of type {column.type}: no synthetic values for the type, and no default")


def _foreign_values(
    table: SeedTable, staged: Collection[str], g: sql.Composable
) -> tuple[dict[str, sql.Composable], list[tuple[str, sql.Composable]]]:
    """Per foreign-key column not copied from a sample, the expression drawing its value from the
    referenced table's rows; and the CTEs those expressions read (one array per referenced column, all
    sorted alike so one index picks one referenced row). A self-reference is NULL."""
    keys: dict[str, sql.Composable] = {}
    ctes: list[tuple[str, sql.Composable]] = []
    for number, fk in enumerate(table.foreign_keys):
        if all(c in staged for c in fk.columns):
            continue
        if fk.table == table.qualified:
            for column in fk.columns:
                keys.setdefault(column, sql.SQL("NULL::{}").format(sql.SQL(_type(table, column))))
            continue
        alias = f"zanith_k{number}"
        order = sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns))
        arrays = sql.SQL(", ").join(
            sql.SQL("array_agg({} ORDER BY {}) AS {}").format(sql.Identifier(ref), order, sql.Identifier(f"a{i}"))
            for i, ref in enumerate(fk.ref_columns)
        )
        schema, _, name = fk.table.partition(".")
        ctes.append(
            (
                alias,
                sql.SQL("{} AS (SELECT {} FROM {})").format(
                    sql.Identifier(alias), arrays, sql.Identifier(schema, name)
                ),
            )
        )
        for i, column in enumerate(fk.columns):
            pick = sql.SQL("({k}.{a}[1 + ({g} - 1) % NULLIF(cardinality({k}.a0), 0)])::{type}").format(
                k=sql.Identifier(alias), a=sql.Identifier(f"a{i}"), g=g, type=sql.SQL(_type(table, column))
            )
            keys.setdefault(column, pick)
    return keys, ctes


def _type(table: SeedTable, name: str) -> str:
    column = table.column(name)
    return column.type if column is not None else "text"


_ADVANCE = """
SELECT setval(s, m) FROM (
  SELECT pg_get_serial_sequence(format('%I.%I', {schema}, {name}), {column}) AS s, max({col}) AS m FROM {table}
) x WHERE s IS NOT NULL AND m IS NOT NULL
"""


def _advance_sequences(conn: psycopg.Connection[Any], table: SeedTable, staged: Collection[str]) -> None:
    """Move identity and serial sequences past the values copied into their columns."""
    for column in table.columns:
        if column.name in staged and column.sequenced:
            conn.execute(
                sql.SQL(_ADVANCE).format(
                    schema=sql.Literal(table.schema),
                    name=sql.Literal(table.name),
                    column=sql.Literal(column.name),
                    col=sql.Identifier(column.name),
                    table=sql.Identifier(table.schema, table.name),
                )
            )
