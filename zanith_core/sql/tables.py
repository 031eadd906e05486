"""DDL: SchemaGraph values rendered as SQL statements.

The inverse of :mod:`zanith_core.read.tables`: executing :func:`schema_ddl` of a graph on an empty
database and introspecting it gives the same graph back. Identifiers always go through
:class:`psycopg.sql.Identifier`; type, default, predicate and constraint text is inserted as is, because
it is canonical text Postgres itself printed (introspection qualifies every name in it, so it runs under
any ``search_path``).

The operations (:mod:`zanith_core.ops`) and the declared sources build on the per-object functions here,
so an object is spelled in SQL in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from psycopg import sql

from ..schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
    View,
    split_qualified,
)
from . import definitions as ddl_definitions


def qualified_identifier(name: str) -> sql.Identifier:
    """``schema.name`` (or a bare name, meaning ``public``) as a quoted two-part identifier."""
    return sql.Identifier(*split_qualified(name))


def _join(parts: Iterable[sql.Composable], sep: str = " ") -> sql.Composed:
    return sql.SQL(sep).join(parts)


def _names(names: Iterable[str]) -> sql.Composed:
    return _join((sql.Identifier(n) for n in names), ", ")


def _deferrable(deferrable: bool, initially_deferred: bool) -> list[sql.Composable]:
    if not deferrable:
        return []
    return [sql.SQL("DEFERRABLE INITIALLY DEFERRED" if initially_deferred else "DEFERRABLE")]


# -- columns and table constraints -----------------------------------------------------------------


def column_definition(column: Column) -> sql.Composed:
    """``name type [COLLATE c] [GENERATED ...] [DEFAULT expr] [NOT NULL]`` for CREATE/ALTER TABLE."""
    parts: list[sql.Composable] = [sql.Identifier(column.name), sql.SQL(column.type)]
    if column.collation:
        parts.append(sql.SQL("COLLATE {}").format(sql.SQL(column.collation)))
    if column.generated is not None:
        parts.append(sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(column.generated)))
    if column.identity is not None:
        parts.append(sql.SQL("GENERATED {} AS IDENTITY").format(sql.SQL(column.identity.upper())))
    if column.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column.default)))
    if not column.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return _join(parts)


def _constraint(name: str, body: sql.Composable) -> sql.Composed:
    return sql.SQL("CONSTRAINT {} {}").format(sql.Identifier(name), body)


def primary_key_clause(pk: PrimaryKey) -> sql.Composed:
    return _constraint(pk.name, sql.SQL("PRIMARY KEY ({})").format(_names(pk.columns)))


def unique_clause(uq: UniqueConstraint) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("UNIQUE")]
    if uq.nulls_not_distinct:
        parts.append(sql.SQL("NULLS NOT DISTINCT"))
    parts.append(sql.SQL("({})").format(_names(uq.columns)))
    parts += _deferrable(uq.deferrable, uq.initially_deferred)
    return _constraint(uq.name, _join(parts))


def check_clause(chk: CheckConstraint, *, not_valid: bool = False) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("CHECK ({})").format(sql.SQL(chk.expression))]
    if chk.no_inherit:
        parts.append(sql.SQL("NO INHERIT"))
    if not_valid:
        parts.append(sql.SQL("NOT VALID"))
    return _constraint(chk.name, _join(parts))


def exclusion_clause(ex: ExclusionConstraint) -> sql.Composed:
    return _constraint(ex.name, sql.SQL(ex.definition))


def foreign_key_clause(fk: ForeignKey, *, not_valid: bool = False) -> sql.Composed:
    parts: list[sql.Composable] = [
        sql.SQL("FOREIGN KEY ({}) REFERENCES {} ({})").format(
            _names(fk.columns), qualified_identifier(fk.ref_table), _names(fk.ref_columns)
        )
    ]
    if fk.match != "SIMPLE":
        parts.append(sql.SQL("MATCH {}").format(sql.SQL(fk.match)))
    if fk.on_update != "NO ACTION":
        parts.append(sql.SQL("ON UPDATE {}").format(sql.SQL(fk.on_update)))
    if fk.on_delete != "NO ACTION":
        parts.append(sql.SQL("ON DELETE {}").format(sql.SQL(fk.on_delete)))
    parts += _deferrable(fk.deferrable, fk.initially_deferred)
    if not_valid:
        parts.append(sql.SQL("NOT VALID"))
    return _constraint(fk.name, _join(parts))


def _add_constraint(table_q: str, clause: sql.Composable) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} ADD {}").format(qualified_identifier(table_q), clause)


def add_primary_key(table_q: str, pk: PrimaryKey) -> sql.Composed:
    return _add_constraint(table_q, primary_key_clause(pk))


def add_foreign_key(table_q: str, fk: ForeignKey, *, not_valid: bool = False) -> sql.Composed:
    return _add_constraint(table_q, foreign_key_clause(fk, not_valid=not_valid))


def add_unique(table_q: str, uq: UniqueConstraint) -> sql.Composed:
    return _add_constraint(table_q, unique_clause(uq))


def add_check(table_q: str, chk: CheckConstraint, *, not_valid: bool = False) -> sql.Composed:
    return _add_constraint(table_q, check_clause(chk, not_valid=not_valid))


def add_exclusion(table_q: str, ex: ExclusionConstraint) -> sql.Composed:
    return _add_constraint(table_q, exclusion_clause(ex))


def create_index(table_qualified: str, index: Index, *, concurrently: bool = False) -> sql.Composed:
    """``CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON table USING method (keys) ...``."""
    parts: list[sql.Composable] = [sql.SQL("CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX")]
    if concurrently:
        parts.append(sql.SQL("CONCURRENTLY"))
    parts.append(
        sql.SQL("{} ON {} USING {} ({})").format(
            sql.Identifier(index.name),
            qualified_identifier(table_qualified),
            sql.SQL(index.method),
            sql.SQL(", ").join(sql.SQL(k) for k in index.keys),
        )
    )
    if index.include:
        parts.append(sql.SQL("INCLUDE ({})").format(_names(index.include)))
    if index.nulls_not_distinct:
        parts.append(sql.SQL("NULLS NOT DISTINCT"))
    if index.predicate is not None:
        parts.append(sql.SQL("WHERE {}").format(sql.SQL(index.predicate)))
    return _join(parts)


# -- tables ----------------------------------------------------------------------------------------


def _create_table_statement(table: Table, *, foreign_keys: bool) -> sql.Composed:
    """The ``CREATE TABLE`` itself, with the primary key, checks and (optionally) FKs inline.

    Unique and exclusion constraints are added by :func:`_table_constraints` instead: inside
    ``CREATE TABLE`` Postgres silently merges one that duplicates the primary key or another.
    A partition takes its columns from its parent, so it lists only its own constraints.
    """
    elements: list[sql.Composable] = []
    if table.partition_of is None:
        elements += [column_definition(c) for c in table.columns]
    if table.primary_key is not None:
        elements.append(primary_key_clause(table.primary_key))
    elements += [check_clause(c) for c in table.checks if c.validated]
    if foreign_keys:
        elements += [foreign_key_clause(f) for f in table.foreign_keys if f.validated]
    body = sql.SQL(", ").join(elements)

    head = sql.SQL("CREATE UNLOGGED TABLE {}" if table.unlogged else "CREATE TABLE {}").format(
        qualified_identifier(table.qualified_name)
    )
    if table.partition_of is not None:
        parts: list[sql.Composable] = [
            head,
            sql.SQL("PARTITION OF {}").format(qualified_identifier(table.partition_of)),
        ]
        if elements:
            parts.append(sql.SQL("({})").format(body))
        parts.append(sql.SQL(table.partition_bound or "DEFAULT"))
    else:
        parts = [sql.SQL("{} ({})").format(head, body)]
    if table.partition_by is not None:
        parts.append(sql.SQL("PARTITION BY {}").format(sql.SQL(table.partition_by)))
    return _join(parts)


def _table_constraints(table: Table) -> list[sql.Composed]:
    """What ``CREATE TABLE`` cannot say: uniques, exclusions, NOT VALID checks, row-level security."""
    name = table.qualified_name
    return [
        *(add_unique(name, u) for u in table.uniques),
        *(add_exclusion(name, x) for x in table.exclusions),
        *(add_check(name, c, not_valid=True) for c in table.checks if not c.validated),
        *ddl_definitions.row_security(name, enabled=table.rls_enabled or None, forced=table.rls_forced or None),
    ]


def _foreign_keys(table: Table, *, validated: bool | None = None) -> list[sql.Composed]:
    """``ALTER TABLE ... ADD FOREIGN KEY`` for the table's FKs (``validated`` filters; None = all)."""
    return [
        add_foreign_key(table.qualified_name, f, not_valid=not f.validated)
        for f in table.foreign_keys
        if validated is None or f.validated == validated
    ]


def _indexes(table: Table) -> list[sql.Composed]:
    return [create_index(table.qualified_name, i) for i in table.indexes]


def create_table(table: Table, *, foreign_keys: bool = True) -> tuple[sql.Composed, ...]:
    """Statements creating ``table`` with its constraints and indexes.

    Constraints marked NOT VALID are added by ``ALTER TABLE ... NOT VALID`` (``CREATE TABLE`` would
    validate them), and so are uniques and exclusions (see :func:`_create_table_statement`). With
    ``foreign_keys=False`` the caller adds the FKs later, once their targets exist.
    """
    statements = [_create_table_statement(table, foreign_keys=foreign_keys), *_table_constraints(table)]
    if foreign_keys:
        statements += _foreign_keys(table, validated=False)
    return (*statements, *_indexes(table))


# -- other objects ---------------------------------------------------------------------------------


def create_enum(enum: Enum) -> sql.Composed:
    return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
        qualified_identifier(enum.qualified_name), sql.SQL(", ").join(sql.Literal(v) for v in enum.values)
    )


def create_sequence(seq: Sequence) -> sql.Composed:
    """``CREATE SEQUENCE`` with every option spelled out; ownership is :func:`set_sequence_owner`."""
    return sql.SQL("CREATE SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}").format(
        qualified_identifier(seq.qualified_name),
        sql.SQL(seq.data_type),
        sql.Literal(seq.increment),
        sql.Literal(seq.min_value),
        sql.Literal(seq.max_value),
        sql.Literal(seq.start),
        sql.Literal(seq.cache),
        sql.SQL("CYCLE" if seq.cycle else "NO CYCLE"),
    )


def set_sequence_owner(seq: Sequence) -> sql.Composed:
    """``ALTER SEQUENCE ... OWNED BY schema.table.column`` (or ``OWNED BY NONE``)."""
    owner: sql.Composable = sql.SQL("NONE")
    if seq.owned_by is not None:
        table_q, _, column = seq.owned_by.rpartition(".")
        owner = sql.Identifier(*split_qualified(table_q), column)
    return sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(qualified_identifier(seq.qualified_name), owner)


def create_view(view: View) -> sql.Composed:
    keyword = "CREATE MATERIALIZED VIEW {} AS {}" if view.materialized else "CREATE VIEW {} AS {}"
    body = view.definition.strip().removesuffix(";")
    return sql.SQL(keyword).format(qualified_identifier(view.qualified_name), sql.SQL(body))


def create_extension(ext: Extension) -> sql.Composed:
    return sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
        sql.Identifier(ext.name), sql.Identifier(ext.schema)
    )


def create_schema(name: str) -> sql.Composed:
    return sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name))


# -- a whole graph ---------------------------------------------------------------------------------


def schema_ddl(graph: SchemaGraph) -> tuple[sql.Composed, ...]:
    """A script creating ``graph`` on an empty database, in an order Postgres accepts.

    Schemas, extensions, enums, sequences; what tables need (domains, composite types, functions, see
    :mod:`zanith_core.sql.definitions`); tables (partitioned parents before their partitions) without
    FKs; then FKs, sequence ownership, indexes; then views, triggers, policies (each after what it
    needs), comments and privileges.
    """
    schemas = sorted({*graph.schemas, *(e.schema for e in graph.extensions)})
    statements: list[sql.Composed] = [create_schema(s) for s in schemas]
    statements += [create_extension(e) for e in graph.extensions]
    statements += [create_enum(e) for e in graph.enums]
    statements += [create_sequence(s) for s in graph.sequences]
    statements += ddl_definitions.before_tables(graph)
    tables = _parents_first(graph.tables)
    for table in tables:
        statements += [_create_table_statement(table, foreign_keys=False), *_table_constraints(table)]
    for table in tables:
        statements += _foreign_keys(table)
    statements += [set_sequence_owner(s) for s in graph.sequences if s.owned_by is not None]
    for table in tables:
        statements += _indexes(table)
    statements += ddl_definitions.after_tables(graph)
    return tuple(statements)


def _parents_first(tables: Iterable[Table]) -> list[Table]:
    by_name = {t.qualified_name: t for t in tables}

    def depth(table: Table) -> int:
        level = 0
        while table.partition_of is not None and table.partition_of in by_name:
            table, level = by_name[table.partition_of], level + 1
        return level

    return sorted(by_name.values(), key=depth)


def _reads(view: View, other: View) -> bool:
    """Whether ``view``'s definition names ``other`` (how views without recorded dependencies, from a
    DSL graph, are ordered: :func:`zanith_core.sql.definitions.requirements`).

    Introspected definitions qualify every relation (``public.active_users``), so a view reads another
    when the other's name appears after a dot; a false positive only costs order, never correctness.
    """
    name = re.escape(other.name)
    return re.search(rf'\.(?:{name}\b|"{name}")', view.definition) is not None


__all__ = [
    "add_check",
    "add_exclusion",
    "add_foreign_key",
    "add_primary_key",
    "add_unique",
    "check_clause",
    "column_definition",
    "create_enum",
    "create_extension",
    "create_index",
    "create_schema",
    "create_sequence",
    "create_table",
    "create_view",
    "exclusion_clause",
    "foreign_key_clause",
    "primary_key_clause",
    "qualified_identifier",
    "schema_ddl",
    "set_sequence_owner",
    "unique_clause",
]
