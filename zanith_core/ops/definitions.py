"""The definition family: create, replace (or alter) and drop of a named definition, comments, grants
and row-level security.

A *definition* is a schema object that is not a table: a function or procedure, an aggregate, a
trigger, a view or materialized view, a domain, a composite type, a standalone sequence, a policy, a
schema, an extension. Each kind has three ops — ``create_<kind>``, ``replace_<kind>`` (``alter_`` for
domains, composite types and sequences, whose SQL is ``ALTER``) and ``drop_<kind>`` — sharing one
shape: the op carries the whole definition value (and a replace the previous one), so each is the
other's exact reversal. Create and drop ops also carry the object's comments (its own, and its
columns' or constraints'): Postgres drops them with the object, and the reversal puts them back.

``set_comment``, ``grant`` / ``revoke`` and ``enable_rls`` / ``disable_rls`` / ``force_rls`` /
``no_force_rls`` complete the family. The SQL of every op is spelled in
:mod:`zanith_core.sql.definitions`; how generate orders them is :mod:`zanith_core.generate.definitions`.

``apply_to`` checks what Postgres would refuse — creating what exists, dropping a function a trigger or
an aggregate still uses, a domain or type a column still has, a view another view reads, a schema that
still holds objects — and removes what Postgres removes along with the object (its comments, its
columns' comments, the grants on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from psycopg import sql

from ..schema.graph import (
    Aggregate,
    Comment,
    CompositeType,
    Domain,
    Extension,
    Function,
    Policy,
    Privilege,
    SchemaGraph,
    Sequence,
    Trigger,
    View,
    qualified,
)
from ..schema.queries import NotApplicable, type_users
from ..sql.definitions import (
    alter_composite_type,
    alter_domain,
    comment_on,
    create_aggregate,
    create_composite_type,
    create_domain,
    create_extension,
    create_function,
    create_policy,
    create_trigger,
    create_view,
    drop_aggregate,
    drop_composite_type,
    drop_domain,
    drop_extension,
    drop_function,
    drop_policy,
    drop_schema,
    drop_trigger,
    drop_view,
    grant,
    replace_trigger,
    revoke,
)
from ..sql.order import reads
from ..sql.sequences import alter_sequence, create_sequence, drop_sequence, set_sequence_owner
from ..sql.tables import row_security
from .altering import TableOperation, check_identifier
from .base import InvalidOperation, Lock, Operation, Statement
from .effects import require_recorded, update_table

# -- what each kind of definition is -----------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """How the ops treat one kind of definition: where the graph holds it, its SQL, its locks."""

    noun: str
    """``function``, ``trigger`` ...: the op kinds are ``create_<noun>``, ``drop_<noun>`` and ``change``."""
    change: str
    """The verb of the in-place change: ``replace`` or ``alter``."""
    field: str
    """The :class:`SchemaGraph` field holding the definitions."""
    identity: Callable[[Any], str]
    create: Callable[[Any], tuple[Statement, ...]]
    drop: Callable[[Any], tuple[Statement, ...]]
    replace: Callable[[Any, Any], tuple[Statement, ...]]
    comment_target: Callable[[Any], tuple[str, tuple[str, ...], str | None]]
    """The object's own ``(object_type, names, arguments)`` as :class:`Comment` names it."""
    locks: tuple[Lock, Lock, Lock]
    """The table lock taken by create, change and drop."""
    table: Callable[[Any], str | None] = lambda _d: None
    """The table the definition sits on (triggers, policies), for locks and live statistics."""
    users: Callable[[SchemaGraph, Any], list[str]] = lambda _g, _d: []
    """What in the graph still needs the definition (Postgres refuses to drop it without CASCADE)."""


def _routine_target(f: Function) -> tuple[str, tuple[str, ...], str | None]:
    return (f.kind, (f.schema, f.name), f.arguments)


def _function_users(graph: SchemaGraph, f: Function) -> list[str]:
    name = qualified(f.schema, f.name)
    users = [f"trigger {t.identity}" for t in graph.triggers if t.function == f.identity]
    return users + [f"aggregate {a.identity}" for a in graph.aggregates if name in _aggregate_functions(a)]


def _aggregate_functions(a: Aggregate) -> set[str | None]:
    return {a.state_function, a.final_function, a.combine_function, a.serial_function, a.deserial_function}


def _view_users(graph: SchemaGraph, v: View) -> list[str]:
    users = [f"view {o.qualified_name}" for o in graph.views if o != v and reads(o, v)]
    return users + [f"trigger {t.identity}" for t in graph.triggers if t.table == v.qualified_name]


def _view_replace(old: View, new: View) -> tuple[Statement, ...]:
    return (drop_view(old), *create_view(new))


def _composite_replace(old: CompositeType, new: CompositeType) -> tuple[Statement, ...]:
    altered = alter_composite_type(old, new)
    if altered is None:
        raise InvalidOperation(
            f"type {new.qualified_name}: ALTER TYPE can only append attributes; drop and create the type instead"
        )
    return altered


def _sequence_create(s: Sequence) -> tuple[Statement, ...]:
    owner = (set_sequence_owner(s),) if s.owned_by is not None else ()
    return (create_sequence(s), *owner)


_NONE, _AE = Lock.NONE, Lock.ACCESS_EXCLUSIVE

FAMILIES: dict[str, Family] = {
    f.noun: f
    for f in (
        Family("function", "replace", "functions", lambda f: f.identity,
               lambda f: (create_function(f),), lambda f: (drop_function(f),),
               lambda _old, new: (create_function(new),), _routine_target,
               (_NONE, _NONE, _NONE), users=_function_users),
        Family("aggregate", "replace", "aggregates", lambda a: a.identity,
               lambda a: (create_aggregate(a),), lambda a: (drop_aggregate(a),),
               lambda _old, new: (create_aggregate(new, replace=True),),
               lambda a: ("aggregate", (a.schema, a.name), a.arguments), (_NONE, _NONE, _NONE)),
        Family("trigger", "replace", "triggers", lambda t: t.identity, create_trigger,
               lambda t: (drop_trigger(t),), replace_trigger,
               lambda t: ("trigger", (*t.table.split(".", 1), t.name), None),
               (Lock.SHARE_ROW_EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE, _AE), table=lambda t: t.table),
        Family("view", "replace", "views", lambda v: v.qualified_name, create_view,
               lambda v: (drop_view(v),), _view_replace,
               lambda v: ("materialized view" if v.materialized else "view", (v.schema, v.name), None),
               (Lock.ACCESS_SHARE, _AE, _AE), users=_view_users),
        Family("domain", "alter", "domains", lambda d: d.qualified_name, create_domain,
               lambda d: (drop_domain(d),), alter_domain, lambda d: ("domain", (d.schema, d.name), None),
               (_NONE, Lock.SHARE, _NONE), users=lambda g, d: list(type_users(g, d.schema, d.name))),
        Family("type", "alter", "composite_types", lambda c: c.qualified_name,
               lambda c: (create_composite_type(c),), lambda c: (drop_composite_type(c),),
               _composite_replace, lambda c: ("type", (c.schema, c.name), None), (_NONE, _AE, _NONE),
               users=lambda g, c: list(type_users(g, c.schema, c.name))),
        Family("sequence", "alter", "sequences", lambda s: s.qualified_name, _sequence_create,
               lambda s: (drop_sequence(s),), alter_sequence,
               lambda s: ("sequence", (s.schema, s.name), None), (_NONE, Lock.SHARE_ROW_EXCLUSIVE, _AE)),
        Family("policy", "replace", "policies", lambda p: p.identity, lambda p: (create_policy(p),),
               lambda p: (drop_policy(p),), lambda old, new: (drop_policy(old), create_policy(new)),
               lambda p: ("policy", (*p.table.split(".", 1), p.name), None), (_AE, _AE, _AE),
               table=lambda p: p.table),
    )
}  # fmt: skip


_NOUNS: dict[type, str] = {
    Function: "function",
    Aggregate: "aggregate",
    Trigger: "trigger",
    View: "view",
    Domain: "domain",
    CompositeType: "type",
    Sequence: "sequence",
    Policy: "policy",
}


def definition_noun(item: Any) -> str:
    """The :data:`FAMILIES` key of a definition value (``Function`` → ``function`` ...)."""
    return _NOUNS[type(item)]


_SUB_COMMENTS = {"view": "column", "materialized view": "column", "type": "column", "domain": "domain constraint"}
"""Comments on an object's parts, which Postgres drops with the object."""


def attached_comments(
    graph: SchemaGraph, object_type: str, names: tuple[str, ...], arguments: str | None
) -> list[Comment]:
    """The comments Postgres drops with an object: its own, and its columns' or constraints'."""
    part = _SUB_COMMENTS.get(object_type)
    return [
        c
        for c in graph.comments
        if (c.object_type, c.names, c.arguments) == (object_type, names, arguments)
        or (c.object_type == part and c.names[:-1] == names)
    ]


def _without_attached(
    graph: SchemaGraph, object_type: str, names: tuple[str, ...], arguments: str | None
) -> SchemaGraph:
    gone = set(attached_comments(graph, object_type, names, arguments))
    grant_type = "table" if object_type in ("view", "materialized view") else object_type
    return replace(
        graph,
        comments=tuple(c for c in graph.comments if c not in gone),
        privileges=tuple(
            p for p in graph.privileges if (p.object_type, p.names, p.arguments) != (grant_type, names, arguments)
        ),
    )


def _with_comment(graph: SchemaGraph, target: tuple[str, tuple[str, ...], str | None], text: str | None) -> SchemaGraph:
    kept = tuple(c for c in graph.comments if (c.object_type, c.names, c.arguments) != target)
    added = (Comment(target[0], target[1], target[2], text),) if text is not None else ()
    return replace(graph, comments=(*kept, *added))


def _comment_statement(target: tuple[str, tuple[str, ...], str | None], text: str | None) -> Statement:
    return comment_on(Comment(target[0], target[1], target[2], text or ""), text)


def _with_comments(graph: SchemaGraph, comments: tuple[Comment, ...]) -> SchemaGraph:
    for c in comments:
        graph = _with_comment(graph, (c.object_type, c.names, c.arguments), c.text)
    return graph


def _require_comments(what: str, recorded: tuple[Comment, ...], graph: SchemaGraph, target: Any) -> None:
    require_recorded(f"comments on {what}", set(recorded), set(attached_comments(graph, *target)))


# -- the three verbs ---------------------------------------------------------------------------------

VERBS: dict[tuple[str, str], type[Operation]] = {}
"""Op classes by ``(noun, verb)``, verb ``create`` / ``change`` / ``drop``."""


@dataclass(frozen=True)
class _DefinitionOperation(Operation):
    family: ClassVar[Family]
    verb: ClassVar[str]

    definition: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "family" in cls.__dict__:
            VERBS[(cls.family.noun, cls.verb)] = cls

    @property
    def target(self) -> str:
        return self.family.identity(self.definition)

    @property
    def tables(self) -> tuple[str, ...]:
        table = self.family.table(self.definition)
        return (table,) if table else ()

    @property
    def lock(self) -> Lock:
        return self.family.locks[("create", "change", "drop").index(self.verb)]

    def validate(self) -> None:
        check_identifier(f"{self.family.noun} name", self.definition.name)

    def _current(self, graph: SchemaGraph) -> Any:
        identity = self.target
        return next((d for d in getattr(graph, self.family.field) if self.family.identity(d) == identity), None)

    def _require_current(self, graph: SchemaGraph, recorded: Any) -> None:
        current = self._current(graph)
        if current is None:
            raise NotApplicable(f"{self.family.noun} {self.target} does not exist")
        require_recorded(f"{self.family.noun} {self.target}", recorded, current)

    def _replaced(self, graph: SchemaGraph, new: Any | None) -> SchemaGraph:
        identity = self.target
        kept = tuple(d for d in getattr(graph, self.family.field) if self.family.identity(d) != identity)
        return replace(graph, **{self.family.field: (*kept, new) if new is not None else kept})


@dataclass(frozen=True)
class _Create(_DefinitionOperation):
    verb = "create"
    comments: tuple[Comment, ...] = ()
    """Comments on the object and its parts (columns, constraints), set right after it is created."""

    def statements(self) -> tuple[Statement, ...]:
        return (*self.family.create(self.definition), *(comment_on(c, c.text) for c in self.comments))

    def reverse(self) -> Operation:
        return VERBS[(self.family.noun, "drop")](self.definition, self.comments)  # type: ignore[call-arg]

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self._current(graph) is not None:
            raise NotApplicable(f"{self.family.noun} {self.target} already exists")
        return _with_comments(self._replaced(graph, self.definition), self.comments)


@dataclass(frozen=True)
class _Drop(_DefinitionOperation):
    verb = "drop"
    comments: tuple[Comment, ...] = ()
    """The comments Postgres drops with the object (its reversal sets them again)."""

    def statements(self) -> tuple[Statement, ...]:
        return self.family.drop(self.definition)

    def reverse(self) -> Operation:
        return VERBS[(self.family.noun, "create")](self.definition, self.comments)  # type: ignore[call-arg]

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        self._require_current(graph, self.definition)
        target = self.family.comment_target(self.definition)
        _require_comments(f"{self.family.noun} {self.target}", self.comments, graph, target)
        users = self.family.users(graph, self.definition)
        if users:
            raise NotApplicable(
                f"{self.family.noun} {self.target} is still used by {', '.join(users)}; drop or change those first"
            )
        return _without_attached(self._replaced(graph, None), *target)


@dataclass(frozen=True)
class _Change(_DefinitionOperation):
    verb = "change"
    previous: Any = None
    """The definition as it is before the op (the reversal's ``definition``)."""

    def validate(self) -> None:
        super().validate()
        if self.previous is None or self.family.identity(self.previous) != self.target:
            raise InvalidOperation(f"{self.kind}: `previous` must be the current definition of {self.target}")
        self.family.replace(self.previous, self.definition)  # raises when the change cannot be made in place

    def statements(self) -> tuple[Statement, ...]:
        return self.family.replace(self.previous, self.definition)

    def reverse(self) -> Operation:
        return type(self)(self.previous, self.definition)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        self._require_current(graph, self.previous)
        return self._replaced(graph, self.definition)


def comment_text(graph: SchemaGraph, target: tuple[str, tuple[str, ...], str | None]) -> str | None:
    """The text of the comment on ``target`` (``(object_type, names, arguments)``), or None."""
    return next((c.text for c in graph.comments if (c.object_type, c.names, c.arguments) == target), None)


# Functions and procedures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateFunction(_Create):
    """``CREATE FUNCTION`` / ``CREATE PROCEDURE`` as ``pg_get_functiondef`` printed it."""

    kind = "create_function"
    family = FAMILIES["function"]
    definition: Function


@dataclass(frozen=True)
class ReplaceFunction(_Change):
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
class DropFunction(_Drop):
    """``DROP FUNCTION`` / ``DROP PROCEDURE`` (never CASCADE: what uses it goes first)."""

    kind = "drop_function"
    family = FAMILIES["function"]
    definition: Function


# Aggregates -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateAggregate(_Create):
    kind = "create_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate


@dataclass(frozen=True)
class ReplaceAggregate(_Change):
    """``CREATE OR REPLACE AGGREGATE`` (PostgreSQL 12+)."""

    kind = "replace_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate
    previous: Aggregate | None = None


@dataclass(frozen=True)
class DropAggregate(_Drop):
    kind = "drop_aggregate"
    family = FAMILIES["aggregate"]
    definition: Aggregate


# Triggers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTrigger(_Create):
    """``CREATE TRIGGER`` (and its enabled state when it is not the default)."""

    kind = "create_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if graph.table(self.definition.table) is None and graph.view(self.definition.table) is None:
            raise NotApplicable(f"trigger {self.target}: table {self.definition.table} does not exist")
        return super().apply_to(graph)


@dataclass(frozen=True)
class ReplaceTrigger(_Change):
    """``CREATE OR REPLACE TRIGGER`` (PostgreSQL 14+); a constraint trigger is dropped and created."""

    kind = "replace_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger
    previous: Trigger | None = None


@dataclass(frozen=True)
class DropTrigger(_Drop):
    kind = "drop_trigger"
    family = FAMILIES["trigger"]
    definition: Trigger


# Views and materialized views -----------------------------------------------------------------------


@dataclass(frozen=True)
class CreateView(_Create):
    """``CREATE [MATERIALIZED] VIEW`` (a materialized view with its indexes, populated)."""

    kind = "create_view"
    family = FAMILIES["view"]
    definition: View


@dataclass(frozen=True)
class ReplaceView(_Change):
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
        _require_comments(f"view {self.target}", self.previous_comments, graph, old_target)
        return _with_comments(_without_attached(super().apply_to(graph), *old_target), self.comments)


@dataclass(frozen=True)
class DropView(_Drop):
    kind = "drop_view"
    family = FAMILIES["view"]
    definition: View


# Domains --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateDomain(_Create):
    kind = "create_domain"
    family = FAMILIES["domain"]
    definition: Domain


@dataclass(frozen=True)
class AlterDomain(_Change):
    """``ALTER DOMAIN``: default, NOT NULL and checks (a new validated check scans every column of the
    domain's type; the base type cannot change in place)."""

    kind = "alter_domain"
    family = FAMILIES["domain"]
    definition: Domain
    previous: Domain | None = None

    def validate(self) -> None:
        super().validate()
        assert self.previous is not None
        if (self.previous.base_type, self.previous.collation) != (self.definition.base_type, self.definition.collation):
            raise InvalidOperation(f"alter_domain {self.target}: the base type and collation cannot change in place")


@dataclass(frozen=True)
class DropDomain(_Drop):
    kind = "drop_domain"
    family = FAMILIES["domain"]
    definition: Domain


# Composite types ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateType(_Create):
    """``CREATE TYPE ... AS (...)`` (composite types; enums are ``create_enum``)."""

    kind = "create_type"
    family = FAMILIES["type"]
    definition: CompositeType


@dataclass(frozen=True)
class AlterType(_Change):
    """``ALTER TYPE ... ADD / DROP / ALTER ATTRIBUTE`` (Postgres refuses to retype an attribute while a
    column uses the type)."""

    kind = "alter_type"
    family = FAMILIES["type"]
    definition: CompositeType
    previous: CompositeType | None = None


@dataclass(frozen=True)
class DropType(_Drop):
    kind = "drop_type"
    family = FAMILIES["type"]
    definition: CompositeType


# Sequences ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateSequence(_Create):
    """``CREATE SEQUENCE`` of a standalone sequence (a serial column's comes with its column)."""

    kind = "create_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence


@dataclass(frozen=True)
class AlterSequence(_Change):
    """``ALTER SEQUENCE``: type, increment, bounds, start, cache, cycle, ownership (never its value)."""

    kind = "alter_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence
    previous: Sequence | None = None


@dataclass(frozen=True)
class DropSequence(_Drop):
    kind = "drop_sequence"
    family = FAMILIES["sequence"]
    definition: Sequence


# Policies -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatePolicy(_Create):
    kind = "create_policy"
    family = FAMILIES["policy"]
    definition: Policy

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if graph.table(self.definition.table) is None:
            raise NotApplicable(f"policy {self.target}: table {self.definition.table} does not exist")
        return super().apply_to(graph)


@dataclass(frozen=True)
class ReplacePolicy(_Change):
    """``DROP POLICY`` then ``CREATE POLICY`` in one transaction (``ALTER POLICY`` cannot change the
    command or remove a clause)."""

    kind = "replace_policy"
    family = FAMILIES["policy"]
    definition: Policy
    previous: Policy | None = None


@dataclass(frozen=True)
class DropPolicy(_Drop):
    kind = "drop_policy"
    family = FAMILIES["policy"]
    definition: Policy


# -- schemas and extensions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateSchema(Operation):
    kind = "create_schema"
    name: str
    comment: str | None = None

    @property
    def target(self) -> str:
        return self.name

    @property
    def lock(self) -> Lock:
        return Lock.NONE

    def validate(self) -> None:
        check_identifier("schema name", self.name)

    def statements(self) -> tuple[Statement, ...]:
        create = sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.name))
        return (create, *((_comment_statement(("schema", (self.name,), None), self.comment),) if self.comment else ()))

    def reverse(self) -> Operation:
        return DropSchema(self.name, self.comment)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.name in graph.schemas:
            raise NotApplicable(f"schema {self.name} already exists")
        return _with_comment(
            replace(graph, schemas=(*graph.schemas, self.name)), ("schema", (self.name,), None), self.comment
        )


@dataclass(frozen=True)
class DropSchema(CreateSchema):
    """``DROP SCHEMA`` (never CASCADE: everything in it is dropped by its own op first)."""

    kind = "drop_schema"

    def statements(self) -> tuple[Statement, ...]:
        return (drop_schema(self.name),)

    def reverse(self) -> Operation:
        return CreateSchema(self.name, self.comment)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.name not in graph.schemas:
            raise NotApplicable(f"schema {self.name} does not exist")
        require_recorded(
            f"comment on schema {self.name}", self.comment, comment_text(graph, ("schema", (self.name,), None))
        )
        held = [
            f"{noun} {o.schema}.{o.name}"
            for noun, items in (("table", graph.tables), ("view", graph.views), ("sequence", graph.sequences),
                                ("enum", graph.enums), ("domain", graph.domains), ("type", graph.composite_types),
                                ("function", graph.functions), ("aggregate", graph.aggregates))
            for o in items
            if o.schema == self.name
        ]  # fmt: skip
        if held:
            raise NotApplicable(f"schema {self.name} still holds {', '.join(held[:5])}; drop those first")
        graph = _without_attached(graph, "schema", (self.name,), None)
        return replace(graph, schemas=tuple(s for s in graph.schemas if s != self.name))


@dataclass(frozen=True)
class CreateExtension(Operation):
    """``CREATE EXTENSION IF NOT EXISTS ... WITH SCHEMA``; the objects it brings are never drift."""

    kind = "create_extension"
    extension: Extension

    @property
    def target(self) -> str:
        return self.extension.name

    @property
    def lock(self) -> Lock:
        return Lock.NONE

    def statements(self) -> tuple[Statement, ...]:
        return (create_extension(self.extension),)

    def reverse(self) -> Operation:
        return DropExtension(self.extension)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if any(e.name == self.extension.name for e in graph.extensions):
            raise NotApplicable(f"extension {self.extension.name} already exists")
        return replace(graph, extensions=(*graph.extensions, self.extension))


@dataclass(frozen=True)
class DropExtension(CreateExtension):
    """``DROP EXTENSION`` (never CASCADE: columns of its types are changed first)."""

    kind = "drop_extension"

    def statements(self) -> tuple[Statement, ...]:
        return (drop_extension(self.extension),)

    def reverse(self) -> Operation:
        return CreateExtension(self.extension)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.extension not in graph.extensions:
            raise NotApplicable(f"extension {self.extension.name} is not installed as recorded")
        return replace(graph, extensions=tuple(e for e in graph.extensions if e != self.extension))


# -- comments and privileges ------------------------------------------------------------------------


@dataclass(frozen=True)
class SetComment(Operation):
    """``COMMENT ON <object> IS <text>`` (``text`` None removes it); ``previous`` is the text it replaces."""

    kind = "set_comment"
    object_type: str
    names: tuple[str, ...]
    arguments: str | None = None
    text: str | None = None
    previous: str | None = None

    @property
    def target(self) -> str:
        return Comment(self.object_type, self.names, self.arguments).identity

    @property
    def lock(self) -> Lock:
        return (
            Lock.SHARE_UPDATE_EXCLUSIVE
            if self.object_type in ("table", "column", "view", "materialized view")
            else Lock.NONE
        )

    def statements(self) -> tuple[Statement, ...]:
        return (_comment_statement((self.object_type, self.names, self.arguments), self.text),)

    def reverse(self) -> Operation:
        return SetComment(self.object_type, self.names, self.arguments, self.previous, self.text)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        target = (self.object_type, self.names, self.arguments)
        require_recorded(f"comment on {self.target}", self.previous, comment_text(graph, target))
        return _with_comment(graph, target, self.text)


@dataclass(frozen=True)
class Grant(Operation):
    """``GRANT <privilege> ON <object> TO <grantee>`` (only generated when privileges are managed)."""

    kind = "grant"
    privilege: Privilege

    @property
    def target(self) -> str:
        return f"{self.privilege.identity}: {self.privilege.privilege} to {self.privilege.grantee}"

    @property
    def lock(self) -> Lock:
        return Lock.NONE

    def statements(self) -> tuple[Statement, ...]:
        return (grant(self.privilege),)

    def reverse(self) -> Operation:
        return Revoke(self.privilege)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        """Granting what is granted changes nothing (a new routine's implicit ``PUBLIC`` ``EXECUTE``)."""
        return replace(graph, privileges=(*_other_privileges(graph, self.privilege), self.privilege))


@dataclass(frozen=True)
class Revoke(Grant):
    kind = "revoke"

    def statements(self) -> tuple[Statement, ...]:
        return (revoke(self.privilege),)

    def reverse(self) -> Operation:
        return Grant(self.privilege)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        """Revoking what is not granted changes nothing, like in Postgres (a warning at most)."""
        return replace(graph, privileges=_other_privileges(graph, self.privilege))


def _other_privileges(graph: SchemaGraph, privilege: Privilege) -> tuple[Privilege, ...]:
    same = (privilege.object_type, privilege.names, privilege.arguments, privilege.grantee, privilege.privilege)
    return tuple(p for p in graph.privileges if (p.object_type, p.names, p.arguments, p.grantee, p.privilege) != same)


# -- row-level security ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RowSecurity(TableOperation):
    flag: ClassVar[str]
    value: ClassVar[bool]
    opposite: ClassVar[str]

    def statements(self) -> tuple[Statement, ...]:
        return row_security(self.target, **{self.flag.removeprefix("rls_"): self.value})

    def reverse(self) -> Operation:
        return OPPOSITES[self.opposite](self.table)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        table = graph.table(self.target)
        if table is None:
            raise NotApplicable(f"table {self.target} does not exist")
        if getattr(table, self.flag) == self.value:
            raise NotApplicable(f"{self.kind} {self.target}: row-level security is already in that state")
        flags = {self.flag: self.value}
        return update_table(graph, self.target, lambda t: replace(t, **flags))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EnableRls(_RowSecurity):
    """``ENABLE ROW LEVEL SECURITY``: from then on a role sees only the rows a policy lets it see —
    none when the table has no policy (owners excepted unless the table also forces it)."""

    kind = "enable_rls"
    flag, value, opposite = "rls_enabled", True, "disable_rls"


@dataclass(frozen=True)
class DisableRls(_RowSecurity):
    kind = "disable_rls"
    flag, value, opposite = "rls_enabled", False, "enable_rls"


@dataclass(frozen=True)
class ForceRls(_RowSecurity):
    """``FORCE ROW LEVEL SECURITY``: the table's owner is subject to its policies too."""

    kind = "force_rls"
    flag, value, opposite = "rls_forced", True, "no_force_rls"


@dataclass(frozen=True)
class NoForceRls(_RowSecurity):
    kind = "no_force_rls"
    flag, value, opposite = "rls_forced", False, "force_rls"


OPPOSITES: dict[str, type[_RowSecurity]] = {c.kind: c for c in (EnableRls, DisableRls, ForceRls, NoForceRls)}

#: Every op kind of the definition family (the risk catalog documents them in their own section).
DEFINITION_KINDS: tuple[str, ...] = (
    *(cls.kind for cls in VERBS.values()),
    "create_schema",
    "drop_schema",
    "create_extension",
    "drop_extension",
    "set_comment",
    "grant",
    "revoke",
    *OPPOSITES,
)

__all__ = [
    "DEFINITION_KINDS",
    "FAMILIES",
    "VERBS",
    "AlterDomain",
    "AlterSequence",
    "AlterType",
    "CreateAggregate",
    "CreateDomain",
    "CreateExtension",
    "CreateFunction",
    "CreatePolicy",
    "CreateSchema",
    "CreateSequence",
    "CreateTrigger",
    "CreateType",
    "CreateView",
    "DisableRls",
    "DropAggregate",
    "DropDomain",
    "DropExtension",
    "DropFunction",
    "DropPolicy",
    "DropSchema",
    "DropSequence",
    "DropTrigger",
    "DropType",
    "DropView",
    "EnableRls",
    "Family",
    "ForceRls",
    "Grant",
    "NoForceRls",
    "ReplaceAggregate",
    "ReplaceFunction",
    "ReplacePolicy",
    "ReplaceTrigger",
    "ReplaceView",
    "Revoke",
    "SetComment",
    "attached_comments",
    "comment_text",
    "definition_noun",
]
