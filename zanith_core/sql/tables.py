"""DDL for tables: columns, keys, constraints, ``CREATE TABLE``, enums and row-level security.

The inverse of :mod:`zanith_core.read`: executing :func:`zanith_core.sql.script.schema_ddl` of a graph
on an empty database and introspecting it gives the same graph back. Identifiers always go through
:class:`psycopg.sql.Identifier` (:mod:`zanith_core.sql.identifiers`); type, default, predicate and
constraint text is inserted as is, because it is canonical text Postgres itself printed (introspection
qualifies every name in it, so it runs under any ``search_path``).

The operations (:mod:`zanith_core.ops`) and the declared sources build on the per-object functions here,
so an object is spelled in SQL in exactly one place.
"""

from __future__ import annotations

from psycopg import sql

from ..schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    ForeignKey,
    IdentityOptions,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from .identifiers import identifier_list, qualified_identifier, spaced
from .indexes import create_index, storage_parameters

Statement = sql.Composed


# -- columns and table constraints -----------------------------------------------------------------


def _deferrable(deferrable: bool, initially_deferred: bool) -> list[sql.Composable]:
    if not deferrable:
        return []
    return [sql.SQL("DEFERRABLE INITIALLY DEFERRED" if initially_deferred else "DEFERRABLE")]


def column_definition(column: Column) -> sql.Composed:
    """``name type [COLLATE c] [GENERATED ...] [DEFAULT expr] [NOT NULL]`` for CREATE/ALTER TABLE."""
    parts: list[sql.Composable] = [sql.Identifier(column.name), sql.SQL(column.type)]
    if column.collation:
        parts.append(sql.SQL("COLLATE {}").format(sql.SQL(column.collation)))
    if column.generated is not None:
        parts.append(sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(column.generated)))
    if column.identity is not None:
        parts.append(identity_clause(column.identity, column.identity_options))
    if column.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column.default)))
    if not column.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return spaced(parts)


def partition_column_options(column: Column) -> sql.Composed:
    """``name WITH OPTIONS DEFAULT expr [NOT NULL]``: what a partition overrides of its parent's column
    (``DEFAULT NULL`` when it has no default where the parent has one)."""
    parts: list[sql.Composable] = [sql.SQL("{} WITH OPTIONS").format(sql.Identifier(column.name))]
    parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column.default or "NULL")))
    if not column.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return spaced(parts)


def identity_clause(identity: str, options: IdentityOptions | None) -> sql.Composed:
    """``GENERATED ALWAYS|BY DEFAULT AS IDENTITY [(SEQUENCE NAME ... START WITH ... )]``."""
    clause = sql.SQL("GENERATED {} AS IDENTITY").format(sql.SQL(identity.upper()))
    if options is None:
        return clause
    return sql.SQL("{} (SEQUENCE NAME {} {})").format(
        clause, qualified_identifier(options.sequence), spaced(identity_option_clauses(None, options))
    )


def identity_option_clauses(old: IdentityOptions | None, new: IdentityOptions) -> list[sql.Composable]:
    """The sequence options of ``new`` that differ from ``old`` (all of them when ``old`` is None), in the
    words both ``CREATE TABLE`` and ``ALTER COLUMN ... SET`` take (without ``SET``)."""
    clauses: list[sql.Composable] = []
    for label, attr in (("INCREMENT BY", "increment"), ("MINVALUE", "min_value"), ("MAXVALUE", "max_value"),
                        ("START WITH", "start"), ("CACHE", "cache")):  # fmt: skip
        if old is None or getattr(old, attr) != getattr(new, attr):
            clauses.append(sql.SQL(label + " {}").format(sql.Literal(getattr(new, attr))))
    if old is None or old.cycle != new.cycle:
        clauses.append(sql.SQL("CYCLE" if new.cycle else "NO CYCLE"))
    return clauses


def _constraint(name: str, body: sql.Composable) -> sql.Composed:
    return sql.SQL("CONSTRAINT {} {}").format(sql.Identifier(name), body)


def primary_key_clause(pk: PrimaryKey) -> sql.Composed:
    body = sql.SQL("PRIMARY KEY ({})").format(identifier_list(pk.columns))
    return _constraint(pk.name, spaced([body, storage_parameters(pk.options)]) if pk.options else body)


def unique_clause(uq: UniqueConstraint) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("UNIQUE")]
    if uq.nulls_not_distinct:
        parts.append(sql.SQL("NULLS NOT DISTINCT"))
    parts.append(sql.SQL("({})").format(identifier_list(uq.columns)))
    if uq.options:
        parts.append(storage_parameters(uq.options))
    parts += _deferrable(uq.deferrable, uq.initially_deferred)
    return _constraint(uq.name, spaced(parts))


def check_clause(chk: CheckConstraint, *, not_valid: bool = False) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("CHECK ({})").format(sql.SQL(chk.expression))]
    if chk.no_inherit:
        parts.append(sql.SQL("NO INHERIT"))
    if not_valid:
        parts.append(sql.SQL("NOT VALID"))
    return _constraint(chk.name, spaced(parts))


def exclusion_clause(ex: ExclusionConstraint) -> sql.Composed:
    return _constraint(ex.name, sql.SQL(ex.definition))


def foreign_key_clause(fk: ForeignKey, *, not_valid: bool = False) -> sql.Composed:
    parts: list[sql.Composable] = [
        sql.SQL("FOREIGN KEY ({}) REFERENCES {} ({})").format(
            identifier_list(fk.columns), qualified_identifier(fk.ref_table), identifier_list(fk.ref_columns)
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
    return _constraint(fk.name, spaced(parts))


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


# -- tables ----------------------------------------------------------------------------------------


def _create_table_statement(table: Table, *, foreign_keys: bool) -> sql.Composed:
    """The ``CREATE TABLE`` itself, with the primary key, checks and (optionally) FKs inline.

    Unique and exclusion constraints are added by :func:`_table_constraints` instead: inside
    ``CREATE TABLE`` Postgres silently merges one that duplicates the primary key or another.
    A partition or an ``INHERITS`` child lists only its own columns: the rest come from its parents (a
    partition's are only what it overrides of its parent's: its default, NOT NULL).
    """
    render = column_definition if table.partition_of is None else partition_column_options
    elements: list[sql.Composable] = [render(c) for c in table.columns]
    if table.primary_key is not None:
        elements.append(primary_key_clause(table.primary_key))
    elements += [check_clause(c) for c in table.checks if c.validated]
    if foreign_keys:
        elements += [foreign_key_clause(f) for f in table.foreign_keys if _inline(table, f)]
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
    if table.inherits:
        parts.append(sql.SQL("INHERITS ({})").format(sql.SQL(", ").join(map(qualified_identifier, table.inherits))))
    if table.partition_by is not None:
        parts.append(sql.SQL("PARTITION BY {}").format(sql.SQL(table.partition_by)))
    if table.options:
        parts.append(storage_parameters(table.options))
    return spaced(parts)


def _table_constraints(table: Table) -> list[sql.Composed]:
    """What ``CREATE TABLE`` cannot say: uniques, exclusions, NOT VALID checks, row-level security."""
    name = table.qualified_name
    return [
        *(add_unique(name, u) for u in table.uniques),
        *(add_exclusion(name, x) for x in table.exclusions),
        *(add_check(name, c, not_valid=True) for c in table.checks if not c.validated),
        *row_security(name, enabled=table.rls_enabled or None, forced=table.rls_forced or None),
    ]


def add_foreign_keys(table: Table, *, validated: bool | None = None) -> list[sql.Composed]:
    """``ALTER TABLE ... ADD FOREIGN KEY`` for the table's FKs (``validated`` filters; None = all)."""
    return [
        add_foreign_key(table.qualified_name, f, not_valid=not f.validated)
        for f in table.foreign_keys
        if validated is None or f.validated == validated
    ]


def create_indexes(table: Table) -> list[sql.Composed]:
    return [create_index(table.qualified_name, i) for i in table.indexes]


def table_and_constraints(table: Table) -> list[Statement]:
    """``CREATE TABLE`` without foreign keys, then what it cannot say (a whole-schema script adds the
    FKs once every table exists)."""
    return [_create_table_statement(table, foreign_keys=False), *_table_constraints(table)]


def create_table(table: Table, *, foreign_keys: bool = True) -> tuple[sql.Composed, ...]:
    """Statements creating ``table`` with its constraints and indexes.

    Constraints marked NOT VALID are added by ``ALTER TABLE ... NOT VALID`` (``CREATE TABLE`` would
    validate them), and so are uniques and exclusions (see :func:`_create_table_statement`) and foreign
    keys referencing the table itself (after the uniques they may rely on). With
    ``foreign_keys=False`` the caller adds the FKs later, once their targets exist.
    """
    statements = [_create_table_statement(table, foreign_keys=foreign_keys), *_table_constraints(table)]
    if foreign_keys:
        name = table.qualified_name
        statements += [
            add_foreign_key(name, f, not_valid=not f.validated) for f in table.foreign_keys if not _inline(table, f)
        ]
    return (*statements, *create_indexes(table))


def _inline(table: Table, fk: ForeignKey) -> bool:
    """Whether a foreign key goes inside ``CREATE TABLE``: a validated one, unless it references the table
    itself, whose key may be a unique constraint added only after (:func:`_table_constraints`)."""
    return fk.validated and fk.ref_table != table.qualified_name


# -- enums and row-level security -------------------------------------------------------------------


def create_enum(enum: Enum) -> sql.Composed:
    return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
        qualified_identifier(enum.qualified_name), sql.SQL(", ").join(sql.Literal(v) for v in enum.values)
    )


def row_security(table: str, *, enabled: bool | None = None, forced: bool | None = None) -> tuple[Statement, ...]:
    """``ALTER TABLE ... ENABLE/DISABLE`` and ``[NO] FORCE ROW LEVEL SECURITY`` (None leaves it)."""
    statements: list[Statement] = []
    if enabled is not None:
        action = "ENABLE ROW LEVEL SECURITY" if enabled else "DISABLE ROW LEVEL SECURITY"
        statements.append(sql.SQL("ALTER TABLE {} " + action).format(qualified_identifier(table)))
    if forced is not None:
        action = "FORCE ROW LEVEL SECURITY" if forced else "NO FORCE ROW LEVEL SECURITY"
        statements.append(sql.SQL("ALTER TABLE {} " + action).format(qualified_identifier(table)))
    return tuple(statements)
