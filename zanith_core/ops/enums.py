"""Enum type ops: create, add a value, drop.

No table is locked. ``add_enum_value`` has no reversal: PostgreSQL cannot remove a value from an enum
(it would take a new type and a rewriting type change of every column using it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..errors import Irreversible
from ..schema.graph import Enum, SchemaGraph, qualified, split_qualified
from ..schema.queries import NotApplicable, type_users
from ..sql.identifiers import qualified_identifier
from ..sql.tables import create_enum
from .altering import check_identifier
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


__all__ = ["AddEnumValue", "CreateEnum", "DropEnum"]
