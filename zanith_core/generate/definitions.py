"""Generate for definitions: changes of functions, aggregates, triggers, views, domains, composite types,
standalone sequences, policies, schemas, extensions, row-level security, comments and privileges become
ops of the definition family (:mod:`zanith_core.ops.definitions`), placed around the table ops.

:func:`split_differences` takes the differences this module handles out of the diff before
:mod:`zanith_core.generate` maps the rest; :func:`definition_steps` returns the steps, each placed in one
of five phases of the stage order (:mod:`zanith_core.generate.ordering`):

1. **before everything** — row-level security switched off, and the drops of what blocks a table change
   or is itself going away: views, triggers and policies, in reverse dependency order (what reads an
   object before the object). A view, trigger or policy that needs a column whose type changes (or a
   definition that must be dropped and created again) is *blocked*: Postgres refuses the change while
   it exists, so it is dropped here and created again in phase 4. New schemas and extensions follow.
2. **before the tables** — what tables need: domains and composite types (created or altered),
   standalone sequences, and the functions and aggregates a default, check, index, domain or type
   uses, in dependency order.
3. the table ops of :mod:`zanith_core.generate`.
4. **after the tables** — the other functions and aggregates (a ``LANGUAGE sql`` body is checked
   against the tables it names), views, triggers and policies (created, replaced, recreated), in
   dependency order; then row-level security switched on (after the policies, so no reader ever faces
   an enabled table without them), comments and privileges.
5. **after the drops** — functions, aggregates, domains, types and sequences that are going away, once
   nothing uses them; then schemas and extensions.

What cannot be done in place and is used by table-level objects (a function whose return type changes
while a default calls it, a domain whose base type changes while columns use it) is refused with a
:class:`~zanith_core.GenerateError` saying what to write by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..diff import Difference
from ..ops.base import Operation
from ..ops.definitions import (
    FAMILIES,
    VERBS,
    CreateExtension,
    CreateSchema,
    DisableRls,
    DropExtension,
    DropSchema,
    EnableRls,
    ForceRls,
    Grant,
    NoForceRls,
    ReplaceView,
    Revoke,
    SetComment,
    attached_comments,
    comment_text,
    definition_noun,
)
from ..schema.graph import (
    Aggregate,
    Comment,
    CompositeType,
    Domain,
    Function,
    Policy,
    Privilege,
    SchemaGraph,
    Trigger,
    View,
)
from ..sql.definitions import alter_composite_type
from ..sql.order import definition_key, in_dependency_order, requirements
from .enums import replaced_holders
from .steps import GenerateError, Step, fixed

#: Object types of the diff this module turns into ops.
DEFINITION_TYPES = frozenset(
    {"schema", "extension", "view", "domain", "composite_type", "function", "aggregate", "trigger", "policy",
     "comment", "privilege"}
)  # fmt: skip

_FIRST, _BEFORE_TABLES, _LAST_DROPS = "create_enum", "rename_table", "drop_enum"
"""The stages phases 1, 2 and 5 run at the start of (see :func:`zanith_core.generate.ordering.slot`)."""

_TABLE_LEVEL = frozenset({"table", "column", "constraint", "index"})
_EARLY_KINDS = frozenset({"domain", "type", "sequence"})


def split_differences(differences: Iterable[Difference]) -> tuple[list[Difference], list[Difference]]:
    """``(table differences, definition differences)``: what :mod:`zanith_core.generate` maps, what this
    module maps (definitions, standalone or changed sequences, row-level security flags)."""
    differences = list(differences)
    tables: list[Difference] = []
    definitions: list[Difference] = []
    moving = _moving_with_their_owners(differences)
    for d in differences:
        mine = (
            d.object_type in DEFINITION_TYPES
            or (
                d.object_type == "sequence"
                and (d.action == "changed" or _sequence(d).owned_by is None)
                and d.name not in moving
            )
            or (d.object_type == "table" and d.attribute in ("rls_enabled", "rls_forced"))
        )
        (definitions if mine else tables).append(d)
    return tables, definitions


def _moving_with_their_owners(differences: Sequence[Difference]) -> set[str]:
    """Sequences whose owning column goes away and whose new owner is created in the same migration (a
    table declined as a rename and recreated): the table and column ops drop them with the old owner
    and create them, as declared, with the new one."""
    gone: set[str] = set()
    new: set[str] = set()
    for d in differences:
        if d.object_type in ("table", "column") and d.action in ("added", "removed"):
            name = d.name if d.object_type == "table" else f"{d.table}.{d.name}"
            (new if d.action == "added" else gone).add(name)

    def within(column: Any, names: set[str]) -> bool:
        return isinstance(column, str) and (column in names or column.rpartition(".")[0] in names)

    return {
        d.name
        for d in differences
        if d.object_type == "sequence" and d.attribute == "owned_by" and within(d.before, gone) and within(d.after, new)
    }


def _sequence(d: Difference) -> Any:
    return d.after if d.action == "added" else d.before


def definition_steps(
    definitions: Sequence[Difference],
    tables: Sequence[Difference],
    state: SchemaGraph,
    declared: SchemaGraph,
    *,
    hard_drop: bool = False,
) -> list[Step]:
    """The steps for ``definitions`` (from :func:`split_differences`), given the table ``differences``
    generate maps and the schema before (``state``, after renames) and after (``declared``)."""
    return _Planner(definitions, tables, state, declared, hard_drop).steps()


class _Planner:
    def __init__(
        self,
        definitions: Sequence[Difference],
        tables: Sequence[Difference],
        state: SchemaGraph,
        declared: SchemaGraph,
        hard_drop: bool,
    ) -> None:
        self.state, self.declared, self.hard_drop = state, declared, hard_drop
        self.definitions, self.tables = definitions, tables
        self.before, self.after = _objects(state, definitions), _objects(declared, definitions)
        self.needs_before, self.needs_after = requirements(state), requirements(declared)
        self.early_drops: list[Any] = []
        self.late_drops: list[Any] = []
        self.creates: list[Any] = []
        self.changes: list[tuple[Any, Any]] = []
        self.dropped: list[Any] = []
        """Every definition dropped (early or late): their comments and grants go with them."""

    # -- deciding ------------------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        recreated = self._classify()
        for key in self._blocked(recreated):
            self._drop(self.before[key], early=True)
            if key in self.after:
                self.creates.append(self.after[key])
        self._refuse_kept_alive()
        early_keys = self._needed_early()
        changed = {definition_key(new): old for old, new in self.changes}
        early: list[Any] = []
        post: list[Any] = []
        for item in sorted([*self.creates, *(new for _, new in self.changes)], key=_rank):
            (early if definition_key(item) in early_keys else post).append(item)
        steps = self._first_steps()
        for items, ahead_of in ((early, _BEFORE_TABLES), (post, None)):
            for item in in_dependency_order(items, definition_key, self.needs_after):
                key = definition_key(item)
                if key in changed:
                    steps.append(self._change_step(changed[key], item, ahead_of))
                else:
                    steps.append(self._create_step(item, ahead_of))
        steps += self._row_security(switch_on=True)
        steps += self._comment_steps()
        steps += self._privilege_steps()
        steps += self._last_steps()
        return steps

    def _classify(self) -> set[str]:
        """Sort each changed definition into create, change in place, drop or recreate; return the keys
        of the recreated (dropped and created again, so what uses them is blocked)."""
        recreated: set[str] = set()
        for key in sorted(self.before.keys() | self.after.keys()):
            old, new = self.before.get(key), self.after.get(key)
            if old is None:
                self.creates.append(new)
            elif new is None:
                self._drop(old, early=isinstance(old, View | Trigger | Policy))
            elif old != new:
                if _changes_in_place(old, new):
                    self.changes.append((old, new))
                else:
                    self._refuse_recreate(key, old)
                    recreated.add(key)
                    self._drop(old, early=True)
                    self.creates.append(new)
        return recreated

    def _drop(self, item: Any, *, early: bool) -> None:
        """Drop ``item`` before everything (what blocks a change, what reads tables) or after everything
        (functions, types, sequences that are going away: once nothing uses them)."""
        if item not in self.dropped:
            self.dropped.append(item)
            (self.early_drops if early else self.late_drops).append(item)

    def _blocked(self, recreated: set[str]) -> list[str]:
        """Definitions that must be dropped before and created after a change they block, dependents
        first: what needs a column whose type changes, a recreated definition, or a replaced view."""
        seeds = set(recreated) | self._retyped_columns()
        seeds |= {definition_key(new) for old, new in self.changes if isinstance(new, View)}
        dependents: dict[str, set[str]] = {}
        for dependent, needed in self.needs_before.items():
            for ref in needed:
                dependents.setdefault(ref, set()).add(dependent)
        found: list[str] = []
        pending = sorted(seeds)
        while pending:
            for dependent in sorted(dependents.get(pending.pop(0), ())):
                if dependent in found or dependent in seeds or dependent not in self.before:
                    continue
                found.append(dependent)
                pending.append(dependent)
        self.changes = [(old, new) for old, new in self.changes if definition_key(new) not in found]
        return found

    def _retyped_columns(self) -> set[str]:
        """Columns whose type changes, or that are dropped and added again (generation), and the enums
        replaced with a new type (:func:`.enums.replaced_holders`: the enum, its domains, its columns)."""
        return {
            f"column {d.table}.{d.name}"
            for d in self.tables
            if d.object_type == "column" and d.action == "changed" and d.attribute in ("type", "generated")
        } | replaced_holders(self.tables, self.state)

    def _refuse_recreate(self, key: str, old: Any) -> None:
        """What table-level objects use cannot be dropped and created again by a generated migration."""
        users = [d for d in _dependents_of(self.needs_before, key) if d.split(" ", 1)[0] in _TABLE_LEVEL]
        if isinstance(old, Domain | CompositeType):
            users += FAMILIES[_noun(old)].users(self.state, old)
        if users:
            raise GenerateError(
                f"{key} changes in a way Postgres cannot apply in place (it must be dropped and created "
                f"again) while {', '.join(sorted(set(users)))} use it: write this change by hand with "
                "`zanith new --sql` (e.g. a new object, a data migration, then the drop)"
            )

    def _refuse_kept_alive(self) -> None:
        """Definitions going away while a soft-dropped table or column would still use them."""
        if self.hard_drop:
            return
        dropped_tables = {d.name for d in self.tables if d.object_type == "table" and d.action == "removed"}
        dropped_columns = {
            f"{d.table}.{d.name}" for d in self.tables if d.object_type == "column" and d.action == "removed"
        }
        problems = []
        for item in self.late_drops:
            key = definition_key(item)
            users = [
                u
                for u in _dependents_of(self.needs_before, key) + FAMILIES[_noun(item)].users(self.state, item)
                if u.startswith("column ")
                and (u.split(" ", 1)[1] in dropped_columns or u.split(" ", 1)[1].rsplit(".", 1)[0] in dropped_tables)
            ]
            if users:
                problems.append(
                    f"{key} cannot be dropped: soft-dropped {', '.join(sorted(set(users)))} would still use it "
                    "(pass --hard-drop to drop the data too, or keep it in the declared schema)"
                )
        if problems:
            raise GenerateError("; ".join(problems))

    def _needed_early(self) -> set[str]:
        """Keys created or changed before the tables: domains, composite types, new standalone
        sequences, and the functions and aggregates table-level objects (or those) need."""
        keys = {definition_key(i) for i in self.creates if _is_sequence(i)}
        keys |= {
            definition_key(i) for i in (*self.creates, *self.after.values()) if isinstance(i, Domain | CompositeType)
        }
        for dependent, needed in self.needs_after.items():
            if dependent.split(" ", 1)[0] in _TABLE_LEVEL | _EARLY_KINDS:
                keys |= {n for n in needed if n.split(" ", 1)[0] in ("function", "aggregate", *_EARLY_KINDS)}
        pending = list(keys)
        while pending:
            for key in self.needs_after.get(pending.pop(), ()):
                if key not in keys and key.split(" ", 1)[0] not in _TABLE_LEVEL | {"view"}:
                    keys.add(key)
                    pending.append(key)
        return keys

    # -- steps ---------------------------------------------------------------------------------------

    def _first_steps(self) -> list[Step]:
        steps = self._row_security(switch_on=False)
        steps += [self._drop_step(item, _FIRST) for item in self._drop_order(self.early_drops)]
        for d in self.definitions:
            if d.object_type == "schema" and d.action == "added":
                schema: str = d.after
                text = comment_text(self.declared, ("schema", (schema,), None))
                steps.append(fixed(CreateSchema(schema, text), _FIRST))
            elif d.object_type == "extension" and d.action == "added":
                steps.append(fixed(CreateExtension(d.after), _FIRST))
            elif d.object_type == "extension" and d.action == "changed":
                raise GenerateError(
                    f"extension {d.name} changes its {d.attribute}: write this change by hand with `zanith new --sql`"
                )
        return steps

    def _last_steps(self) -> list[Step]:
        steps = [self._drop_step(item, _LAST_DROPS) for item in self._drop_order(self.late_drops)]
        for d in self.definitions:
            if d.object_type == "schema" and d.action == "removed":
                steps.append(Step("drop_schema", _schema_drop(d.before)))
            elif d.object_type == "extension" and d.action == "removed":
                steps.append(fixed(DropExtension(d.before), None))
        return steps

    def _drop_order(self, items: Iterable[Any]) -> list[Any]:
        """``items`` with what uses an object before the object (ties by kind and name)."""
        used_by: dict[str, set[str]] = {}
        for dependent, needed in self.needs_before.items():
            for key in needed:
                used_by.setdefault(key, set()).add(dependent)
        return in_dependency_order(sorted(items, key=_rank), definition_key, used_by)

    def _create_step(self, item: Any, ahead_of: str | None) -> Step:
        comments = _attached(self.declared, item)
        return fixed(VERBS[(_noun(item), "create")](item, comments), ahead_of)  # type: ignore[call-arg]

    def _drop_step(self, item: Any, ahead_of: str) -> Step:
        op = VERBS[(_noun(item), "drop")]

        def build(graph: SchemaGraph) -> Operation:
            return op(item, _attached(graph, item))  # type: ignore[call-arg]

        return Step(op.kind, build, ahead_of)

    def _change_step(self, old: Any, new: Any, ahead_of: str | None) -> Step:
        if isinstance(new, View):
            comments = _attached(self.declared, new)
            return Step(
                "replace_view", lambda g: ReplaceView(new, old, comments, _attached(g, old)), ahead_of
            )
        return fixed(VERBS[(_noun(new), "change")](new, old), ahead_of)  # type: ignore[call-arg]

    def _row_security(self, *, switch_on: bool) -> list[Step]:
        steps = []
        for d in self.definitions:
            if d.object_type != "table" or bool(d.after) != switch_on:
                continue
            ops = {("rls_enabled", True): EnableRls, ("rls_enabled", False): DisableRls,
                   ("rls_forced", True): ForceRls, ("rls_forced", False): NoForceRls}  # fmt: skip
            steps.append(fixed(ops[(str(d.attribute), bool(d.after))](d.name), None if switch_on else _FIRST))
        return steps

    def _comment_steps(self) -> list[Step]:
        """``set_comment`` for every comment the ops above do not already leave as declared."""
        expected = {(c.object_type, c.names, c.arguments): c.text for c in self._comments_after_ops()}
        wanted = {(c.object_type, c.names, c.arguments): c.text for c in self.declared.comments}
        steps = []
        for target in sorted(expected.keys() | wanted.keys(), key=lambda t: (t[0], t[1], t[2] or "")):
            before, after = expected.get(target), wanted.get(target)
            if before != after:
                steps.append(fixed(SetComment(*target, text=after, previous=before), None))
        return steps

    def _comments_after_ops(self) -> list[Comment]:
        """The comments the graph holds once the ops above ran: what a drop removes and a create (or a
        view's replacement) sets are already as declared."""
        views = [(old, new) for old, new in self.changes if isinstance(new, View)]
        gone = {c for item in (*self.dropped, *(old for old, _ in views)) for c in _attached(self.state, item)}
        kept = [c for c in self.state.comments if c not in gone]
        created = [c for item in (*self.creates, *(new for _, new in views)) for c in _attached(self.declared, item)]
        schemas = [d.after for d in self.definitions if d.object_type == "schema" and d.action == "added"]
        created += [c for c in self.declared.comments if c.object_type == "schema" and c.names[0] in schemas]
        removed_schemas = {d.before for d in self.definitions if d.object_type == "schema" and d.action == "removed"}
        return [c for c in kept if not (c.object_type == "schema" and c.names[0] in removed_schemas)] + created

    def _privilege_steps(self) -> list[Step]:
        """``grant`` / ``revoke`` for what the declared schema grants (only when privileges are read)."""
        if not (self.declared.privileges or self.state.privileges):
            return []
        gone = {_grant_target(item) for item in self.dropped}
        gone |= {_grant_target(old) for old, _ in self.changes if isinstance(old, View)}
        expected = {p for p in self.state.privileges if (p.object_type, p.names, p.arguments) not in gone}
        for item in self.creates:
            if isinstance(item, Function):  # CREATE FUNCTION grants EXECUTE to PUBLIC
                expected.add(Privilege(item.kind, (item.schema, item.name), item.arguments, "PUBLIC", "EXECUTE"))
        wanted = set(self.declared.privileges)
        steps = [fixed(Revoke(p), None) for p in sorted(expected - wanted, key=_privilege_order)]
        return steps + [fixed(Grant(p), None) for p in sorted(wanted - expected, key=_privilege_order)]


# -- helpers ----------------------------------------------------------------------------------------


def _objects(graph: SchemaGraph, definitions: Sequence[Difference]) -> dict[str, Any]:
    """The graph's definitions by key; sequences only when a difference names them (the others
    belong to their column's ops)."""
    sequences = {d.name for d in definitions if d.object_type == "sequence"}
    items: list[Any] = [*graph.functions, *graph.aggregates, *graph.triggers, *graph.views, *graph.domains,
                        *graph.composite_types, *graph.policies]  # fmt: skip
    items += [s for s in graph.sequences if s.qualified_name in sequences]
    return {definition_key(i): i for i in items}


def _attached(graph: SchemaGraph, item: Any) -> tuple[Comment, ...]:
    """The comments on ``item`` and its parts in ``graph``."""
    return tuple(attached_comments(graph, *FAMILIES[_noun(item)].comment_target(item)))


def _noun(item: Any) -> str:
    return definition_noun(item)


def _is_sequence(item: Any) -> bool:
    return _noun(item) == "sequence"


def _rank(item: Any) -> int:
    order = ("domain", "type", "sequence", "function", "aggregate", "view", "trigger", "policy")
    return order.index(_noun(item))


def _changes_in_place(old: Any, new: Any) -> bool:
    if isinstance(new, Function):
        return (old.kind, old.returns, old.parameters) == (new.kind, new.returns, new.parameters)
    if isinstance(new, Aggregate):
        return (old.parameters, old.kind, old.state_type) == (new.parameters, new.kind, new.state_type)
    if isinstance(new, Domain):
        return (old.base_type, old.collation) == (new.base_type, new.collation)
    if isinstance(new, CompositeType):
        return alter_composite_type(old, new) is not None
    return isinstance(new, Trigger | Policy | View) or _is_sequence(new)


def _dependents_of(needs: Mapping[str, set[str]], key: str) -> list[str]:
    return sorted(dependent for dependent, needed in needs.items() if key in needed)


def _grant_target(item: Any) -> tuple[str, tuple[str, ...], str | None]:
    object_type, names, arguments = FAMILIES[_noun(item)].comment_target(item)
    return ("table" if object_type in ("view", "materialized view") else object_type, names, arguments)


def _privilege_order(p: Privilege) -> tuple[Any, ...]:
    return (p.object_type, p.names, p.arguments or "", p.grantee, p.privilege)


def _schema_drop(name: str) -> Callable[[SchemaGraph], Operation]:
    return lambda graph: DropSchema(name, comment_text(graph, ("schema", (name,), None)))
