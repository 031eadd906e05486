"""What the seeder needs to know of each table, read from the shadow's catalog at the seed point.

Read from ``pg_catalog`` rather than from a :class:`~zanith_core.schema.graph.SchemaGraph`: the seeder
needs the server's own view of types (base type of a domain, ``typcategory``, type modifiers), the
check constraints' columns, and each partitioned table's partition constraints, none of which a graph
keeps in a form SQL can be built from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

_TABLES = """
SELECT c.oid, n.nspname, c.relname,
       CASE WHEN c.relkind = 'p' THEN coalesce((
         SELECT string_agg(format('(%%s)', pg_get_partition_constraintdef(l.relid)), ' OR ')
         FROM pg_partition_tree(c.oid) l WHERE l.isleaf AND l.relid <> c.oid), 'false') END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname NOT LIKE '\\_zanith\\_%%'
ORDER BY 2, 3
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity, a.attgenerated, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
       b.typname, b.typtype, b.typcategory,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = """
SELECT k.conrelid, k.contype, pg_get_expr(k.conbin, k.conrelid),
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(num, ord)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.ord)::text[],
       CASE WHEN k.contype = 'f' THEN (
         SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = k.confrelid) END,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(num, ord)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.ord)::text[]
FROM pg_constraint k
WHERE k.conrelid = ANY(%(oids)s) AND k.contype IN ('c', 'f', 'p')
ORDER BY k.conrelid, k.conname
"""


@dataclass(frozen=True)
class SeedColumn:
    name: str
    type: str
    """As ``format_type`` prints it: what a value is cast to."""
    not_null: bool
    identity: str
    """``a`` (ALWAYS), ``d`` (BY DEFAULT) or empty."""
    generated: bool
    default: str
    base: str
    """The type's (for a domain, its base type's) ``typname``: ``int4``, ``varchar``, ``_text``."""
    typtype: str
    category: str
    """``pg_type.typcategory``: ``N`` numeric, ``S`` string, ``E`` enum, ``A`` array, …"""
    typmod: int

    @property
    def sequenced(self) -> bool:
        """Filled by the server itself: an identity column or one whose default draws from a sequence."""
        return bool(self.identity) or self.default.startswith("nextval(")


@dataclass(frozen=True)
class ForeignRef:
    columns: tuple[str, ...]
    table: str
    """The referenced table, ``schema.name``."""
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    expression: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SeedTable:
    schema: str
    name: str
    columns: tuple[SeedColumn, ...]
    foreign_keys: tuple[ForeignRef, ...] = ()
    checks: tuple[Check, ...] = ()
    primary_key: tuple[str, ...] = ()
    partitions: str | None = None
    """For a partitioned table, its leaves' partition constraints OR-ed: a row routed nowhere fails."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> SeedColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def read_tables(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> tuple[SeedTable, ...]:
    """The ordinary and partitioned tables of ``schemas`` (partitions are filled through their parent;
    zanith's own ``_zanith_*`` tables are left out)."""
    tables = conn.execute(_TABLES, {"schemas": list(schemas)}).fetchall()
    oids = [oid for oid, *_ in tables]
    columns: dict[int, list[SeedColumn]] = {}
    for oid, *fields in conn.execute(_COLUMNS, {"oids": oids}).fetchall():
        name, type_, not_null, identity, generated, default, base, typtype, category, typmod = fields
        columns.setdefault(oid, []).append(
            SeedColumn(name, type_, not_null, identity, bool(generated), default, base, typtype, category, typmod)
        )
    fks: dict[int, list[ForeignRef]] = {}
    checks: dict[int, list[Check]] = {}
    keys: dict[int, list[str]] = {}  # the primary key's columns
    for oid, kind, expression, cols, ref_table, ref_cols in conn.execute(_CONSTRAINTS, {"oids": oids}).fetchall():
        if kind == "f":
            fks.setdefault(oid, []).append(ForeignRef(tuple(cols), ref_table, tuple(ref_cols)))
        elif kind == "c":
            checks.setdefault(oid, []).append(Check(expression, tuple(cols)))
        else:
            keys.setdefault(oid, []).extend(cols)
    return tuple(
        SeedTable(
            schema,
            name,
            tuple(columns.get(oid, ())),
            tuple(fks.get(oid, ())),
            tuple(checks.get(oid, ())),
            tuple(keys.get(oid, ())),
            partitions,
        )
        for oid, schema, name, partitions in tables
    )


def fill_order(tables: Sequence[SeedTable]) -> tuple[SeedTable, ...]:
    """Referenced tables before the tables that reference them; a cycle's tables in name order after the
    rest (their references to one another then find no rows: NULL where the column allows it)."""
    by_name = {t.qualified: t for t in tables}
    done: dict[str, SeedTable] = {}
    pending = dict(by_name)
    while pending:
        ready = [
            t
            for t in pending.values()
            if all(fk.table in done or fk.table == t.qualified or fk.table not in by_name for fk in t.foreign_keys)
        ]
        for table in ready or [next(iter(pending.values()))]:
            done[table.qualified] = table
            del pending[table.qualified]
    return tuple(done.values())
