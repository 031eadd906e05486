"""The shape every definition op shares: a family per kind of definition, and the three verbs.

A :class:`Family` says how the ops treat one kind of definition — where the graph holds it, how it is
created, changed and dropped in SQL, which locks each verb takes, what still uses it. The three verb
classes (:class:`CreateDefinition`, :class:`ChangeDefinition`, :class:`DropDefinition`) implement
``statements``, ``reverse`` and ``apply_to`` once for every family; the concrete op classes in the
sibling modules only name their kind, family and value type. Comments Postgres drops with an object
travel with its create and drop ops, so each is the other's exact reversal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ...schema.graph import (
    Aggregate,
    Collation,
    Comment,
    CompositeType,
    Domain,
    Function,
    Policy,
    SchemaGraph,
    Sequence,
    TextSearchConfiguration,
    TextSearchDictionary,
    Trigger,
    View,
    qualified,
)
from ...schema.queries import NotApplicable, collation_users, configuration_users, type_users
from ...sql.definitions import (
    alter_composite_type,
    alter_domain,
    alter_text_search_configuration,
    alter_text_search_dictionary,
    comment_on,
    create_aggregate,
    create_collation,
    create_composite_type,
    create_domain,
    create_function,
    create_policy,
    create_text_search_configuration,
    create_text_search_dictionary,
    create_trigger,
    create_view,
    drop_aggregate,
    drop_collation,
    drop_composite_type,
    drop_domain,
    drop_function,
    drop_policy,
    drop_text_search_configuration,
    drop_text_search_dictionary,
    drop_trigger,
    drop_view,
    replace_trigger,
)
from ...sql.order import reads
from ...sql.sequences import alter_sequence, create_sequence, drop_sequence, set_sequence_owner
from ..altering import check_identifier
from ..base import InvalidOperation, Lock, Operation, Stage, Statement
from ..effects import require_recorded


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


def _no_change(old: Any, new: Any) -> tuple[Statement, ...]:
    raise InvalidOperation(f"{new.qualified_name} cannot change in place; drop and create it instead")


def _dictionary_replace(old: TextSearchDictionary, new: TextSearchDictionary) -> tuple[Statement, ...]:
    if old.template != new.template:
        raise InvalidOperation(
            f"text search dictionary {new.qualified_name}: its template cannot change in place; drop and create it"
        )
    return alter_text_search_dictionary(old, new)


def _configuration_replace(old: TextSearchConfiguration, new: TextSearchConfiguration) -> tuple[Statement, ...]:
    if old.parser != new.parser:
        raise InvalidOperation(
            f"text search configuration {new.qualified_name}: its parser cannot change in place; drop and create it"
        )
    return alter_text_search_configuration(old, new)


def _dictionary_users(graph: SchemaGraph, d: TextSearchDictionary) -> list[str]:
    return [
        f"text search configuration {c.qualified_name}"
        for c in graph.text_search_configurations
        if any(name.replace('"', "") == d.qualified_name for m in c.mappings for name in m.dictionaries)
    ]


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
        Family("collation", "replace", "collations", lambda c: c.qualified_name,
               lambda c: (create_collation(c),), lambda c: (drop_collation(c),), _no_change,
               lambda c: ("collation", (c.schema, c.name), None), (_NONE, _NONE, _NONE),
               users=lambda g, c: list(collation_users(g, c.schema, c.name))),
        Family("text_search_dictionary", "alter", "text_search_dictionaries", lambda d: d.qualified_name,
               lambda d: (create_text_search_dictionary(d),), lambda d: (drop_text_search_dictionary(d),),
               _dictionary_replace, lambda d: ("text search dictionary", (d.schema, d.name), None),
               (_NONE, _NONE, _NONE), users=_dictionary_users),
        Family("text_search_configuration", "alter", "text_search_configurations", lambda c: c.qualified_name,
               create_text_search_configuration, lambda c: (drop_text_search_configuration(c),),
               _configuration_replace, lambda c: ("text search configuration", (c.schema, c.name), None),
               (_NONE, _NONE, _NONE), users=lambda g, c: list(configuration_users(g, c.schema, c.name))),
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
    Collation: "collation",
    TextSearchDictionary: "text_search_dictionary",
    TextSearchConfiguration: "text_search_configuration",
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


def without_attached(
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


def with_comment(graph: SchemaGraph, target: tuple[str, tuple[str, ...], str | None], text: str | None) -> SchemaGraph:
    kept = tuple(c for c in graph.comments if (c.object_type, c.names, c.arguments) != target)
    added = (Comment(target[0], target[1], target[2], text),) if text is not None else ()
    return replace(graph, comments=(*kept, *added))


def comment_statement(target: tuple[str, tuple[str, ...], str | None], text: str | None) -> Statement:
    return comment_on(Comment(target[0], target[1], target[2], text or ""), text)


def with_comments(graph: SchemaGraph, comments: tuple[Comment, ...]) -> SchemaGraph:
    for c in comments:
        graph = with_comment(graph, (c.object_type, c.names, c.arguments), c.text)
    return graph


def require_comments(what: str, recorded: tuple[Comment, ...], graph: SchemaGraph, target: Any) -> None:
    require_recorded(f"comments on {what}", set(recorded), set(attached_comments(graph, *target)))


VERBS: dict[tuple[str, str], type[Operation]] = {}
"""Op classes by ``(noun, verb)``, verb ``create`` / ``change`` / ``drop``."""


@dataclass(frozen=True)
class DefinitionOperation(Operation):
    stage = Stage.MIDDLE
    family: ClassVar[Family]
    verb: ClassVar[str]

    definition: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "family" in cls.__dict__:
            cls.default_lock = cls.family.locks[("create", "change", "drop").index(cls.verb)]
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
class CreateDefinition(DefinitionOperation):
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
        return with_comments(self._replaced(graph, self.definition), self.comments)


@dataclass(frozen=True)
class DropDefinition(DefinitionOperation):
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
        require_comments(f"{self.family.noun} {self.target}", self.comments, graph, target)
        users = self.family.users(graph, self.definition)
        if users:
            raise NotApplicable(
                f"{self.family.noun} {self.target} is still used by {', '.join(users)}; drop or change those first"
            )
        return without_attached(self._replaced(graph, None), *target)


@dataclass(frozen=True)
class ChangeDefinition(DefinitionOperation):
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
