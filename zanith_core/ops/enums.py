"""Enum type ops: create, add a value, replace (values removed or reordered), drop.

Only ``replace_enum`` locks tables. ``add_enum_value`` has no reversal: PostgreSQL cannot remove a value
from an enum; that takes ``replace_enum``, a new type and a rewriting type change of every column using
it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..errors import Irreversible
from ..schema.expressions import quote_qualified
from ..schema.graph import Column, Domain, Enum, SchemaGraph, Table, qualified, split_qualified
from ..schema.queries import NotApplicable, type_users
from ..sql.definitions import create_domain
from ..sql.identifiers import qualified_identifier
from ..sql.tables import create_enum
from .altering import aside_name, check_identifier
from .base import InvalidOperation, Lock, Operation, Stage, Statement
from .effects import require_recorded


def _enum_of(graph: SchemaGraph, name: str) -> Enum:
    enum = graph.enum(name)
    if enum is None:
        raise NotApplicable(f"enum type {name} does not exist")
    return enum


@dataclass(frozen=True)
class _EnumOperation(Operation):
    default_lock = Lock.NONE
    enum: Enum

    @property
    def target(self) -> str:
        return self.enum.qualified_name

    def validate(self) -> None:
        check_identifier("enum name", self.enum.name)
        if len(set(self.enum.values)) != len(self.enum.values):
            raise InvalidOperation(f"enum {self.target} lists a value twice: {self.enum.values}")


@dataclass(frozen=True)
class CreateEnum(_EnumOperation):
    """``CREATE TYPE ... AS ENUM (...)``."""

    kind = "create_enum"
    stage = Stage.CREATE_ENUM

    def statements(self) -> tuple[Statement, ...]:
        return (create_enum(self.enum),)

    def reverse(self) -> Operation:
        return DropEnum(self.enum)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        taken = {e.qualified_name for e in graph.enums} | {t.qualified_name for t in graph.tables}
        if self.target in taken:
            raise NotApplicable(f"type {self.target} already exists")
        return replace(graph, enums=(*graph.enums, self.enum))


@dataclass(frozen=True)
class DropEnum(_EnumOperation):
    """``DROP TYPE`` (never CASCADE: columns of the type must be changed or dropped first)."""

    kind = "drop_enum"
    stage = Stage.DROP_ENUM

    def statements(self) -> tuple[Statement, ...]:
        return (sql.SQL("DROP TYPE {}").format(qualified_identifier(self.target)),)

    def reverse(self) -> Operation:
        return CreateEnum(self.enum)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        require_recorded(f"enum type {self.target}", self.enum, _enum_of(graph, self.target))
        users = type_users(graph, self.enum.schema, self.enum.name)
        if users:
            raise NotApplicable(f"enum type {self.target} is used by {', '.join(users)}; change or drop those first")
        return replace(graph, enums=tuple(e for e in graph.enums if e.qualified_name != self.target))


@dataclass(frozen=True)
class AddEnumValue(Operation):
    """``ALTER TYPE ... ADD VALUE 'v' [BEFORE 'x' | AFTER 'y']`` (appended when neither is given).

    Runs in a transaction on PostgreSQL 12+, but the value cannot be used before that transaction
    commits — each step commits on its own, so later steps may use it.
    """

    kind = "add_enum_value"
    stage = Stage.ADD_ENUM_VALUE
    default_lock = Lock.NONE
    enum: str
    """Qualified name of the enum type."""
    value: str
    before: str | None = None
    after: str | None = None

    @property
    def target(self) -> str:
        return qualified(*split_qualified(self.enum))

    def validate(self) -> None:
        if self.before is not None and self.after is not None:
            raise InvalidOperation("give `before` or `after`, not both")
        if not self.value or len(self.value.encode()) > 63:
            raise InvalidOperation(f"enum value {self.value!r} must be 1 to 63 bytes long")

    def statements(self) -> tuple[Statement, ...]:
        statement = sql.SQL("ALTER TYPE {} ADD VALUE {}").format(
            qualified_identifier(self.target), sql.Literal(self.value)
        )
        if self.before is not None:
            statement = sql.SQL("{} BEFORE {}").format(statement, sql.Literal(self.before))
        elif self.after is not None:
            statement = sql.SQL("{} AFTER {}").format(statement, sql.Literal(self.after))
        return (statement,)

    def reverse(self) -> Operation:
        raise Irreversible(
            f"add_enum_value {self.target} {self.value!r}: PostgreSQL cannot remove a value from an enum type "
            "(it takes a new type and a type change of every column using it, written by hand)"
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        enum = _enum_of(graph, self.target)
        values = list(enum.values)
        if self.value in values:
            raise NotApplicable(f"enum type {self.target} already has the value {self.value!r}")
        anchor = self.before if self.before is not None else self.after
        if anchor is None:
            values.append(self.value)
        elif anchor not in values:
            raise NotApplicable(f"enum type {self.target} has no value {anchor!r} to place {self.value!r} next to")
        else:
            values.insert(values.index(anchor) + (self.after is not None), self.value)
        changed = replace(enum, values=tuple(values))
        return replace(graph, enums=tuple(changed if e == enum else e for e in graph.enums))


@dataclass(frozen=True)
class ReplaceEnum(_EnumOperation):
    """An enum's values removed or reordered: a new type under the old name, every column converted.

    In one transaction: the old type (and each domain over it) is renamed aside, the new type (and the
    domains again) created, each column using the type — directly, through a domain, or as an array —
    converted with ``USING col::text::type`` (``col::text[]::type[]``) in one ``ALTER TABLE`` per table
    that drops its default first and sets it again after, then the old domains and type are dropped.
    Each table is rewritten under ACCESS EXCLUSIVE; a row holding a removed value makes the conversion
    fail, and the transaction with it.

    ``users`` holds, per table, the columns converted as they are (type and default), ``converted`` the
    same columns as they end up (the default set again may differ: the old one may name a removed
    value); ``domains`` the domains over the enum. The reversal is the replacement back to ``previous``.
    """

    kind = "replace_enum"
    stage = Stage.ADD_ENUM_VALUE
    default_lock = Lock.ACCESS_EXCLUSIVE
    previous: Enum | None = None
    users: tuple[Table, ...] = ()
    converted: tuple[Table, ...] = ()
    domains: tuple[Domain, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t.qualified_name for t in self.users)

    def validate(self) -> None:
        super().validate()
        if self.previous is None or self.previous.qualified_name != self.target:
            raise InvalidOperation(f"replace_enum {self.target}: `previous` must be the enum as it is")
        if [_shape(t) for t in self.users] != [_shape(t) for t in self.converted]:
            raise InvalidOperation(f"replace_enum {self.target}: `converted` must hold the columns of `users`")

    def _aside(self, name: str) -> str:
        assert self.previous is not None
        return aside_name(name, *self.previous.values)

    def statements(self) -> tuple[Statement, ...]:
        statements: list[Statement] = [self._rename(self.enum.qualified_name, "TYPE")]
        statements += [self._rename(d.qualified_name, "DOMAIN") for d in self.domains]
        statements.append(create_enum(self.enum))
        for domain in self.domains:
            statements += create_domain(domain)
        statements += [self._convert(old, new) for old, new in zip(self.users, self.converted, strict=True)]
        statements += [_drop_unless_held("DOMAIN", d.schema, self._aside(d.qualified_name)) for d in self.domains]
        statements.append(_drop_unless_held("TYPE", self.enum.schema, self._aside(self.target)))
        return tuple(statements)

    def _rename(self, name: str, noun: str) -> Statement:
        return sql.SQL("ALTER " + noun + " {} RENAME TO {}").format(
            qualified_identifier(name), sql.Identifier(self._aside(name))
        )

    def _convert(self, old: Table, new: Table) -> Statement:
        clauses: list[sql.Composable] = []
        for before, after in zip(old.columns, new.columns, strict=True):
            column = sql.Identifier(after.name)
            text = sql.SQL("text[]" if after.type.endswith("[]") else "text")
            if before.default is not None:
                clauses.append(sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(column))
            clauses.append(
                sql.SQL("ALTER COLUMN {c} TYPE {t} USING {c}::{text}::{t}").format(
                    c=column, t=sql.SQL(after.type), text=text
                )
            )
            if after.default is not None:
                clauses.append(sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(column, sql.SQL(after.default)))
        return sql.SQL("ALTER TABLE {} {}").format(
            qualified_identifier(new.qualified_name), sql.SQL(", ").join(clauses)
        )

    def reverse(self) -> Operation:
        assert self.previous is not None
        return ReplaceEnum(self.previous, self.enum, self.converted, self.users, self.domains)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        assert self.previous is not None
        require_recorded(f"enum type {self.target}", self.previous, _enum_of(graph, self.target))
        require_recorded(f"columns of enum type {self.target}", set(self.users), set(enum_users(graph, self.previous)))
        require_recorded(
            f"domains over enum type {self.target}", set(self.domains), set(enum_domains(graph, self.previous))
        )
        defaults = {(t.qualified_name, c.name): c.default for t in self.converted for c in t.columns}

        def converted(table: Table) -> Table:
            return replace(
                table,
                columns=tuple(
                    replace(c, default=defaults.get((table.qualified_name, c.name), c.default)) for c in table.columns
                ),
            )

        return replace(
            graph,
            enums=tuple(self.enum if e.qualified_name == self.target else e for e in graph.enums),
            tables=tuple(converted(t) for t in graph.tables),
        )


def _drop_unless_held(noun: str, schema: str, name: str) -> Statement:
    """``DROP TYPE`` / ``DROP DOMAIN`` of the old type set aside, unless a column still holds it: a
    soft-dropped column (hidden from the graph) keeps its values, and with them the old type, also
    hidden (``_zanith_``), until it is purged."""
    target = sql.Identifier(schema, name)
    drop = sql.SQL("DROP " + noun + " {}").format(target).as_string(None)
    held = sql.SQL(
        "SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = {}::regtype "
        "WHERE a.atttypid IN (t.oid, t.typarray) AND a.attnum > 0 AND NOT a.attisdropped"
    ).format(sql.Literal(target.as_string(None))).as_string(None)
    return sql.SQL("DO {}").format(sql.Literal(f"BEGIN IF NOT EXISTS ({held}) THEN {drop}; END IF; END"))


def _shape(table: Table) -> tuple[str, tuple[tuple[str, str], ...]]:
    return table.qualified_name, tuple((c.name, c.type) for c in table.columns)


def enum_domains(graph: SchemaGraph, enum: Enum) -> tuple[Domain, ...]:
    """The domains whose base type is ``enum`` (or an array of it)."""
    text = quote_qualified(enum.schema, enum.name)
    return tuple(d for d in graph.domains if d.base_type.removesuffix("[]") == text)


def enum_users(graph: SchemaGraph, enum: Enum) -> tuple[Table, ...]:
    """Per table, the columns holding ``enum`` values: of the type, of a domain over it, or arrays of
    either (each as it is: name, type, default)."""
    types = {quote_qualified(enum.schema, enum.name)} | {
        quote_qualified(d.schema, d.name) for d in enum_domains(graph, enum)
    }
    found = []
    for table in graph.tables:
        columns = tuple(
            Column(c.name, c.type, default=c.default) for c in table.columns if c.type.removesuffix("[]") in types
        )
        if columns:
            found.append(Table(table.schema, table.name, columns))
    return tuple(found)


__all__ = ["AddEnumValue", "CreateEnum", "DropEnum", "ReplaceEnum", "enum_domains", "enum_users"]
