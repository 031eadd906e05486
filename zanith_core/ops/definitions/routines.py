"""Functions, procedures and aggregates: create, replace (``CREATE OR REPLACE``) and drop."""

from __future__ import annotations

from dataclasses import dataclass

from ...schema.graph import (
    Aggregate,
    Function,
)
from ...sql.definitions import text_statement
from ..base import InvalidOperation, Statement
from .family import (
    FAMILIES,
    ChangeDefinition,
    CreateDefinition,
    DropDefinition,
)


@dataclass(frozen=True)
class CreateFunction(CreateDefinition):
    """``CREATE FUNCTION`` / ``CREATE PROCEDURE`` as ``pg_get_functiondef`` printed it.

    ``check_body`` False turns ``check_function_bodies`` off for the step's transaction, as ``pg_dump``
    does for a whole script: generate sets it for a ``LANGUAGE sql`` function that calls, directly or
    not, back into itself through functions not created yet (mutual recursion has no creation order
    in which every body names only what exists), and for one created before the tables (a CHECK or
    default calls it) whose body reads a table the same migration creates.
    """

    kind = "create_function"
    family = FAMILIES["function"]
    definition: Function
    check_body: bool = True

    def statements(self) -> tuple[Statement, ...]:
        created = super().statements()
        return created if self.check_body else (text_statement("SET LOCAL check_function_bodies = false"), *created)


@dataclass(frozen=True)
class ReplaceFunction(ChangeDefinition):
    """``CREATE OR REPLACE FUNCTION``: same signature and return type, new body or attributes.

    Postgres refuses OR REPLACE across a different return type or parameter names; generate drops
    and creates the function (with what uses it) instead.
    """

    kind = "replace_function"
    family = FAMILIES["function"]
    definition: Function
    previous: Function | None = None

    def validate(self) -> None:
        super().validate()
        assert self.previous is not None
        if (self.previous.kind, self.previous.returns, self.previous.parameters) != (
            self.definition.kind,
            self.definition.returns,
            self.definition.parameters,
        ):
            raise InvalidOperation(
                f"replace_function {self.target}: OR REPLACE cannot change the kind, parameters or return type; "
                "drop and create the function instead"
            )


@dataclass(frozen=True)
class DropFunction(DropDefinition):
    """``DROP FUNCTION`` / ``DROP PROCEDURE`` (never CASCADE: what uses it goes first)."""

    kind = "drop_function"
    family = FAMILIES["function"]
    definition: Function


@dataclass(frozen=True)
class CreateAggregate(CreateDefinition):
    kind = "create_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate


@dataclass(frozen=True)
class ReplaceAggregate(ChangeDefinition):
    """``CREATE OR REPLACE AGGREGATE`` (PostgreSQL 12+)."""

    kind = "replace_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate
    previous: Aggregate | None = None


@dataclass(frozen=True)
class DropAggregate(DropDefinition):
    kind = "drop_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate
