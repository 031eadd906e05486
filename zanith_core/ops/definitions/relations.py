"""Definitions that sit on relations: triggers, views (plain and materialized) and policies."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...schema.graph import (
    Comment,
    Policy,
    SchemaGraph,
    Trigger,
    View,
)
from ...schema.queries import NotApplicable
from ...sql.definitions import (
    comment_on,
    set_view_options,
)
from ..base import InvalidOperation, Lock, Operation, Stage, Statement
from ..effects import require_recorded
from .family import (
    FAMILIES,
    ChangeDefinition,
    CreateDefinition,
    DropDefinition,
    require_comments,
    with_comments,
    without_attached,
)


@dataclass(frozen=True)
class CreateTrigger(CreateDefinition):
    """``CREATE TRIGGER`` (and its enabled state when it is not the default)."""

    kind = "create_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if graph.table(self.definition.table) is None and graph.view(self.definition.table) is None:
            raise NotApplicable(f"trigger {self.target}: table {self.definition.table} does not exist")
        return super().apply_to(graph)


@dataclass(frozen=True)
class ReplaceTrigger(ChangeDefinition):
    """``CREATE OR REPLACE TRIGGER`` (PostgreSQL 14+); a constraint trigger is dropped and created."""

    kind = "replace_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger
    previous: Trigger | None = None


@dataclass(frozen=True)
class DropTrigger(DropDefinition):
    kind = "drop_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger


@dataclass(frozen=True)
class CreateView(CreateDefinition):
    """``CREATE [MATERIALIZED] VIEW`` (a materialized view with its indexes, populated)."""

    kind = "create_view"
    family = FAMILIES["view"]
    definition: View


@dataclass(frozen=True)
class ReplaceView(ChangeDefinition):
    """``DROP VIEW`` then ``CREATE VIEW`` in one transaction (readers never see it missing).

    ``CREATE OR REPLACE VIEW`` cannot drop, rename or retype a column, so the view is recreated; views
    reading it are dropped before and recreated after by their own ops. Its comments are set again
    (``comments``, the ones it had are ``previous_comments``); grants on it are granted again by generate.
    """

    kind = "replace_view"
    family = FAMILIES["view"]
    definition: View
    previous: View | None = None
    comments: tuple[Comment, ...] = ()
    previous_comments: tuple[Comment, ...] = ()

    def statements(self) -> tuple[Statement, ...]:
        return (*super().statements(), *(comment_on(c, c.text) for c in self.comments))

    def reverse(self) -> Operation:
        assert self.previous is not None
        return ReplaceView(self.previous, self.definition, self.previous_comments, self.comments)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        assert self.previous is not None
        old_target = self.family.comment_target(self.previous)
        require_comments(f"view {self.target}", self.previous_comments, graph, old_target)
        return with_comments(without_attached(super().apply_to(graph), *old_target), self.comments)


@dataclass(frozen=True)
class AlterViewOptions(Operation):
    """``ALTER [MATERIALIZED] VIEW ... RESET / SET (...)``: a view whose options alone change (storage
    parameters of a materialized view, ``security_barrier``, ``check_option``) keeps its rows, its
    dependents, comments and grants, where a replace would drop and recompute it."""

    kind = "alter_view_options"
    stage = Stage.MIDDLE
    default_lock = Lock.ACCESS_EXCLUSIVE
    """A view's options; a materialized view's storage parameters take SHARE UPDATE EXCLUSIVE. Brief
    either way: a catalog update, no rewrite."""
    definition: View
    previous: View

    @property
    def target(self) -> str:
        return self.definition.qualified_name

    @property
    def lock(self) -> Lock:
        return Lock.SHARE_UPDATE_EXCLUSIVE if self.definition.materialized else self.default_lock

    def validate(self) -> None:
        if replace(self.previous, options=self.definition.options) != self.definition:
            raise InvalidOperation(f"alter_view_options {self.target}: only the options may differ")

    def statements(self) -> tuple[Statement, ...]:
        return set_view_options(self.previous, self.definition)

    def reverse(self) -> Operation:
        return AlterViewOptions(self.previous, self.definition)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = graph.view(self.target)
        if current is None:
            raise NotApplicable(f"view {self.target} does not exist")
        require_recorded(f"view {self.target}", self.previous, current)
        others = tuple(v for v in graph.views if v.qualified_name != self.target)
        return replace(graph, views=(*others, self.definition))


@dataclass(frozen=True)
class DropView(DropDefinition):
    kind = "drop_view"
    family = FAMILIES["view"]
    definition: View


@dataclass(frozen=True)
class CreatePolicy(CreateDefinition):
    kind = "create_policy"
    family = FAMILIES["policy"]
    definition: Policy

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if graph.table(self.definition.table) is None:
            raise NotApplicable(f"policy {self.target}: table {self.definition.table} does not exist")
        return super().apply_to(graph)


@dataclass(frozen=True)
class ReplacePolicy(ChangeDefinition):
    """``DROP POLICY`` then ``CREATE POLICY`` in one transaction (``ALTER POLICY`` cannot change the
    command or remove a clause)."""

    kind = "replace_policy"
    family = FAMILIES["policy"]
    definition: Policy
    previous: Policy | None = None


@dataclass(frozen=True)
class DropPolicy(DropDefinition):
    kind = "drop_policy"
    family = FAMILIES["policy"]
    definition: Policy
