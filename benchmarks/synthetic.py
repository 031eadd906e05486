"""A large synthetic schema (and a plausible evolution of it) for the performance suite.

``synthetic_schema()`` builds, deterministically from a seed, a SchemaGraph of ``tables`` tables of
about sixteen columns each, with an identity primary key, a unique constraint, a check, two or three
indexes (plain, expression, partial) and one or two foreign keys to earlier tables. ``evolve()`` changes
a few percent of it the way a release does. ``create()`` puts a graph into a database through
``zanith_core.sql.tables.schema_ddl``, so the text is exactly what introspection reads back.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql

from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Table,
    UniqueConstraint,
)
from zanith_core.sql.script import schema_ddl

TABLES = 1000
COLUMNS = 16

# (type, a default Postgres prints back as is)
_TYPES = (
    ("integer", "0"),
    ("bigint", None),
    ("text", "''::text"),
    ("character varying(100)", None),
    ("boolean", "false"),
    ("numeric(12,2)", "0"),
    ("timestamp with time zone", "now()"),
    ("date", None),
    ("uuid", None),
    ("jsonb", "'{}'::jsonb"),
    ("public.status", "'active'::public.status"),
)
STATUS = Enum("public", "status", ("active", "paused", "closed"))


def synthetic_schema(tables: int = TABLES, columns: int = COLUMNS, seed: int = 0) -> SchemaGraph:
    """``tables`` tables of ``columns`` columns each (the id and FK columns included)."""
    rng = random.Random(seed)
    return SchemaGraph(enums=(STATUS,), tables=tuple(_table(rng, n, columns) for n in range(tables)))


def _table(rng: random.Random, n: int, width: int) -> Table:
    name = f"t{n:04d}"
    refs = [rng.randrange(n) for _ in range(rng.randint(1, 2))] if n else []
    cols = [Column("id", "bigint", False, identity="by default")]
    cols += [Column(f"t{r:04d}_id", "bigint", rng.random() < 0.5) for r in dict.fromkeys(refs)]
    for i in range(width - len(cols)):
        type_, default = rng.choice(_TYPES)
        cols.append(Column(f"c{i:02d}", type_, default is None or rng.random() < 0.5, default))
    text_cols = [c.name for c in cols if c.type == "text"] or ["id"]
    plain = cols[len(refs) + 1 :]
    key = rng.choice(plain)
    indexes = [
        Index(f"{name}_{key.name}_idx", (key.name,), columns=(key.name,)),
        Index(f"{name}_id_desc_idx", ("id DESC",), predicate="(id > 0)", columns=("id",)),
    ]
    if text_cols[0] != "id":
        indexes.append(Index(f"{name}_lower_idx", (f"lower({text_cols[0]})",), columns=(text_cols[0],)))
    fks = [
        ForeignKey(f"{name}_t{r:04d}_fkey", (f"t{r:04d}_id",), f"public.t{r:04d}", ("id",), on_delete="CASCADE")
        for r in dict.fromkeys(refs)
    ]
    return Table(
        "public",
        name,
        tuple(cols),
        PrimaryKey(f"{name}_pkey", ("id",)),
        indexes=tuple(indexes),
        foreign_keys=tuple(fks),
        uniques=(UniqueConstraint(f"{name}_id_key", ("id", key.name)),),
        checks=(CheckConstraint(f"{name}_id_check", "(id > 0)", columns=("id",)),),
    )


def evolve(graph: SchemaGraph, seed: int = 1, fraction: float = 0.03) -> SchemaGraph:
    """The graph after a release touching ``fraction`` of its tables: a column added, one retyped, one
    made NOT NULL, an index dropped and one added; plus one new table and the enum grown."""
    rng = random.Random(seed)
    tables = list(graph.tables)
    for i in rng.sample(range(len(tables)), max(1, int(len(tables) * fraction))):
        t = tables[i]
        cols = [*t.columns, Column("added_note", "text")]
        j = next((k for k, c in enumerate(cols) if c.type == "integer" and not c.default), None)
        if j is not None:
            cols[j] = replace(cols[j], type="bigint")
        k = next((k for k, c in enumerate(cols) if c.nullable and c.default), None)
        if k is not None:
            cols[k] = replace(cols[k], nullable=False)
        indexes = (*t.indexes[1:], Index(f"{t.name}_added_idx", ("added_note",), columns=("added_note",)))
        tables[i] = replace(t, columns=tuple(cols), indexes=indexes)
    extra = _table(rng, len(tables), COLUMNS)
    tables.append(replace(extra, name=f"t{len(tables):04d}"))
    return replace(graph, enums=(replace(STATUS, values=(*STATUS.values, "archived")),), tables=tuple(tables))


def create(conn: psycopg.Connection[Any], graph: SchemaGraph, chunk: int = 200) -> None:
    """Create ``graph`` on the (empty) database behind ``conn``, ``chunk`` statements per round trip and
    transaction (one transaction for all of it needs more locks than a default server has slots for)."""
    statements = schema_ddl(graph)
    for start in range(0, len(statements), chunk):
        conn.execute(sql.SQL(";\n").join(statements[start : start + chunk]))
        conn.commit()
