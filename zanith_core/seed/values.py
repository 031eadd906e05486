"""Synthetic column values as SQL expressions over a row number ``g``, computed by the server itself.

A seeded shadow at 10,000 rows per table must not ship 10,000 rows per table from Python, so each
column's values are an expression over ``generate_series`` evaluated in one ``INSERT … SELECT``. The
values are deterministic (the same seed gives the same rows), distinct per row wherever the type allows
it (so primary keys and unique constraints hold without retries), and inside the type's limits
(``varchar(n)`` length, ``numeric(p, s)`` precision). A type with no expression here gets its default,
or NULL; a NOT NULL column of such a type without a default makes the table unseedable, said so by name.
"""

from __future__ import annotations

from psycopg import sql

from .catalog import SeedColumn

_INTEGERS = {"int2": 32767, "int4": 2147483647, "int8": None, "oid": 2147483647}
_TEXT = {"text", "varchar", "bpchar", "name", "citext"}


def synthetic(column: SeedColumn, g: sql.Composable, seed: int) -> sql.Composable | None:
    """An expression of ``column``'s type for row ``g``, or None when zanith has none for the type."""
    n = sql.SQL("({}::bigint + {})").format(g, sql.Literal(seed * 1_000_003))  # the seed shifts every value
    value = _value(column, n, g)
    if value is None:
        return None
    return sql.SQL("({})::{}").format(value, sql.SQL(column.type))


def _value(column: SeedColumn, n: sql.Composable, g: sql.Composable) -> sql.Composable | None:
    base, name = column.base, sql.Literal(column.name)
    if column.category == "A":
        return sql.SQL("'{}'")  # an empty array: NOT NULL holds, and element types do not matter
    if column.typtype == "e":
        values = sql.SQL("enum_range(NULL::{})").format(sql.SQL(column.type))
        return sql.SQL("({v})[1 + ({g} % cardinality({v}))]").format(v=values, g=g)
    if base in _INTEGERS:
        limit = _INTEGERS[base]
        return n if limit is None else sql.SQL("{} % {}").format(n, sql.Literal(limit))
    if base == "numeric":
        return _numeric(column.typmod, n)
    if base in ("float4", "float8"):  # below 2^22, so a real (24 bits of mantissa) holds each value exactly
        return sql.SQL("({} % 1000000) * 1.5").format(n)
    if base == "money":
        return sql.SQL("({} % 1000000)::numeric").format(n)
    if base in _TEXT:
        # A CHECK on an e-mail column is common enough to meet it: the other rows would all be filtered out.
        mail = sql.SQL(" || '@example.test'") if "mail" in column.name.lower() else sql.SQL("")
        text = sql.SQL("{} || '-' || {}{}").format(name, n, mail)
        length = column.typmod - 4 if base in ("varchar", "bpchar") and column.typmod > 4 else None
        return text if length is None else sql.SQL("right({}, {})").format(text, sql.Literal(length))
    return _other(base, n, name)


def _other(base: str, n: sql.Composable, name: sql.Composable) -> sql.Composable | None:
    expressions = {
        "bool": "{n} % 2 = 0",
        "date": "date '2020-01-01' + ({n} % 3650)::int",
        "timestamp": "timestamp '2020-01-01' + {n} * interval '1 minute'",
        "timestamptz": "timestamptz '2020-01-01 00:00:00+00' + {n} * interval '1 minute'",
        "time": "time '00:00' + ({n} % 86400) * interval '1 second'",
        "timetz": "(time '00:00' + ({n} % 86400) * interval '1 second')::timetz",
        "interval": "{n} * interval '1 second'",
        "uuid": "md5({name} || ':' || {n})::uuid",
        "json": "json_build_object('n', {n})",
        "jsonb": "jsonb_build_object('n', {n})",
        "bytea": "convert_to({n}::text, 'UTF8')",
        "inet": "('10.' || ({n} >> 16) % 256 || '.' || ({n} >> 8) % 256 || '.' || {n} % 256)::inet",
        "cidr": "('10.' || ({n} >> 16) % 256 || '.' || ({n} >> 8) % 256 || '.' || {n} % 256 || '/32')::cidr",
        "tsvector": "to_tsvector('simple', {name} || {n})",
        "xml": "xmlelement(name n, {n})",
    }
    template = expressions.get(base)
    return sql.SQL(template).format(n=n, name=name) if template is not None else None


def _numeric(typmod: int, n: sql.Composable) -> sql.Composable:
    """Whole values that fit ``numeric(p, s)``: below ``10^(p - s)``."""
    if typmod < 4:
        return n
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    digits = max(precision - scale, 0)
    return sql.SQL("{} % {}").format(n, sql.Literal(10**digits)) if digits else sql.SQL("0")
