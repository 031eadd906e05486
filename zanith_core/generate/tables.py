"""Generate for tables: table, column, enum, key, index and constraint differences become ops.

:func:`table_steps` maps every difference the definitions half leaves (:mod:`zanith_core.generate`
splits them) to steps:

- drops are soft (renamed aside, data kept) unless ``hard_drop``;
- a column whose identity or generation expression changes is dropped and added again (no ALTER op
  changes those), the indexes and constraints involving it dropped before and re-added after;
- a type or collation change is one ``alter_column_type`` built against the column as it then is;
- a changed index or constraint is dropped and added (once, whatever number of attributes changed),
  a NOT VALID one declared valid is validated, and added ones take the safe path (NOT VALID then
  validate, concurrent index builds).

What has no op kind (removing or reordering enum values, table storage or partitioning changes, and
any object type the diff learns later) is refused by
:func:`refuse_unsupported` with one :class:`~zanith_core.generate.steps.GenerateError` listing it all,
pointing at ``zanith new --sql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..diff import Difference
from ..ops import (
    AddCheck,
    AddColumn,
    AddEnumValue,
    AddExclusion,
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    AlterColumnType,
    CreateEnum,
    CreateTable,
    DropCheck,
    DropColumn,
    DropDefault,
    DropEnum,
    DropExclusion,
    DropForeignKey,
    DropIndex,
    DropNotNull,
    DropPrimaryKey,
    DropTable,
    DropUnique,
    NotApplicable,
    Operation,
    SetDefault,
    SetNotNull,
    SoftDropColumn,
    SoftDropTable,
    ValidateConstraint,
)
from ..schema.expressions import quote_ident
from ..schema.graph import (
    Column,
    Enum,
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Table,
    UniqueConstraint,
)
from ..schema.queries import column_of, column_users, owned_sequences, relation_names, table_of, type_users
from .renames import short_name
from .steps import GenerateError, Step, fixed


def table_steps(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph, hard: bool) -> list[Step]:
    removed_tables = {d.name for d in differences if d.object_type == "table" and d.action == "removed"}
    replaced = sorted({(d.table, d.name) for d in differences if d.attribute in _REPLACING and d.table})
    retyped = sorted(
        {(d.table, d.name) for d in differences if d.object_type == "column" and d.attribute in _RETYPING and d.table}
        - set(replaced)
    )
    touched = {(d.table, d.object_type, d.name) for d in differences if d.action in ("removed", "changed")}
    steps: list[Step] = []
    involved: list[tuple[str, str, str]] = []
    for table, column in replaced:
        steps += _replace_column(table, column, declared, hard)
        involved += column_users(state, table, column)  # foreign keys of other tables pointing at it too
    steps += [_retype(table, column, declared) for table, column in retyped]
    for d in differences:
        if d.object_type in ("primary_key", "unique") and d.action != "added" and d.table:
            involved += _relying_on_key(state, d.table, d.name)
    for owner, kind, name in dict.fromkeys(involved):
        if (owner, kind, name) in touched:
            continue
        if owner in removed_tables:  # going away anyway: only out of the way first
            steps.append(_drop_constraint(kind, owner, name))
        else:
            steps += _rebuild(owner, kind, name, declared)
    grouped: dict[tuple[str | None, str, str], list[Difference]] = {}
    for d in differences:
        if d.object_type == "table":
            steps += _table_steps(d, state, declared, removed_tables, hard)
        elif d.object_type == "column" and (d.table, d.name) not in replaced and d.attribute not in _RETYPING:
            steps += _column_steps(d, declared, hard)
        elif d.object_type == "enum":
            steps += _enum_steps(d)
        elif d.object_type in _CONSTRAINTS:
            grouped.setdefault((d.table, d.object_type, d.name), []).append(d)
    for changes in grouped.values():
        steps += _constraint_steps(changes, declared)
    return steps


_REPLACING = ("identity", "generated")
"""Column attributes no ALTER op changes: the column is dropped and added again under its name."""

_RETYPING = ("type", "collation")
"""Column attributes one ``alter_column_type`` changes together (a new type resets the collation)."""


def _retype(table: str, column: str, declared: SchemaGraph) -> Step:
    """The type change (and collation change) of one column, from the schema as the steps before leave it."""
    wanted = column_of(table_of(declared, table), column)

    def build(graph: SchemaGraph) -> Operation:
        have = column_of(table_of(graph, table), column)
        if have.type == wanted.type:  # a collation change: the values stay as they are
            using, reverse_using = None, None
        else:
            ident = quote_ident(column)
            using, reverse_using = f"{ident}::{wanted.type}", f"{ident}::{have.type}"
        return AlterColumnType(
            table, column, wanted.type, have.type, using, reverse_using, wanted.collation, have.collation
        )

    return Step("alter_column_type", build)


def _add_column(table: str, column: Column, declared: SchemaGraph) -> Step:
    """``add_column`` of the declared column; a generated column after the plain columns of its stage,
    which it may be computed from (it cannot be computed from another generated column)."""
    op = AddColumn(table, column, owned_sequences(declared, table, column.name))
    return fixed(op, last_in_stage=column.generated is not None)


def _replace_column(table: str, column: str, declared: SchemaGraph, hard: bool) -> list[Step]:
    """Drop ``column`` just before the adds and add the declared one (what involves it is rebuilt)."""
    drop = DropColumn if hard else SoftDropColumn
    new = table_of(declared, table).column(column)
    assert new is not None
    return [
        Step(drop.kind, lambda g: drop.from_graph(g, table, column), ahead_of="add_column"),
        _add_column(table, new, declared),
    ]


def _relying_on_key(state: SchemaGraph, table: str, key: str) -> list[tuple[str, str, str]]:
    """Foreign keys relying on the primary key or unique constraint ``key``: PostgreSQL will not drop
    the key under them, so a key that is dropped or changed takes them down and back up with it."""
    t = table_of(state, table)
    keys = [k for k in (t.primary_key, *t.uniques) if k is not None and k.name == key]
    return [
        (other.qualified_name, "foreign_key", fk.name)
        for other, fk in state.referencing(table)
        for k in keys
        if set(fk.ref_columns) == set(k.columns)
    ]


def _rebuild(owner: str, kind: str, name: str, declared: SchemaGraph) -> list[Step]:
    """Drop an index or constraint the diff leaves alone, and add it back as declared."""
    return [_drop_constraint(kind, owner, name), *_rebuild_add(owner, kind, name, declared)]


def _rebuild_add(owner: str, kind: str, name: str, declared: SchemaGraph) -> list[Step]:
    held = getattr(table_of(declared, owner), _CONSTRAINTS[kind])
    return _add_constraint(owner, held if kind == "primary_key" else _named(held, name))


def _table_steps(
    d: Difference, state: SchemaGraph, declared: SchemaGraph, removed_tables: set[str], hard: bool
) -> list[Step]:
    name = d.name
    if d.action == "added":
        table: Table = d.after
        bare = replace(table, foreign_keys=())
        create = CreateTable(bare, owned_sequences(declared, name))
        return [
            Step("create_table", lambda _g: create),
            *(fixed(AddForeignKey(name, fk, not_valid=not fk.validated)) for fk in table.foreign_keys),
        ]
    old: Table = d.before
    steps = [
        _drop_foreign_key(name, fk.name)
        for fk in old.foreign_keys
        if fk.ref_table in removed_tables and fk.ref_table != name
    ]
    if hard:
        # drops come last, unless the declared schema reuses a name the table holds (a key's index, a
        # sequence): then it must be gone before the table taking the name over is created
        ahead = "create_table" if _reused_names(old, state, declared) else None
        steps.append(Step("drop_table", lambda g: DropTable.from_graph(g, name), ahead_of=ahead))
    else:
        steps.append(Step("soft_drop_table", lambda g: SoftDropTable.from_graph(g, name)))
    return steps


def _column_steps(d: Difference, declared: SchemaGraph, hard: bool) -> list[Step]:
    table = d.table
    assert table is not None
    column = d.name
    if d.action == "added":
        return [_add_column(table, d.after, declared)]
    if d.action == "removed":
        if hard:
            return [Step("drop_column", lambda g: DropColumn.from_graph(g, table, column))]
        return [Step("soft_drop_column", lambda g: SoftDropColumn.from_graph(g, table, column))]
    if d.attribute == "nullable":
        return [fixed(DropNotNull(table, column) if d.after else SetNotNull(table, column))]
    if d.after is None:
        return [Step("drop_default", lambda g: DropDefault(table, column, _default(g, table, column)))]
    default: str = d.after
    return [Step("set_default", lambda g: SetDefault(table, column, default, _default(g, table, column)))]


def _enum_steps(d: Difference) -> list[Step]:
    if d.action == "added":
        return [fixed(CreateEnum(d.after))]
    if d.action == "removed":
        old: Enum = d.before
        return [fixed(DropEnum(old))]
    before: tuple[str, ...] = d.before
    after: tuple[str, ...] = d.after
    steps: list[Step] = []
    for i, value in enumerate(after):
        if value in before:
            continue
        if i:
            steps.append(fixed(AddEnumValue(d.name, value, after=after[i - 1])))
        else:
            steps.append(fixed(AddEnumValue(d.name, value, before=before[0] if before else None)))
    return steps


_CONSTRAINTS = {
    "primary_key": "primary_key",
    "index": "indexes",
    "foreign_key": "foreign_keys",
    "unique": "uniques",
    "check": "checks",
    "exclusion": "exclusions",
}
"""Object types of the diff that are table constraints or indexes, and the Table field holding them."""


def _constraint_steps(changes: Sequence[Difference], declared: SchemaGraph) -> list[Step]:
    """Steps for one index or constraint (all its differences): validate a NOT VALID one that is now
    declared valid, else drop and add (a changed one once, whatever number of attributes changed)."""
    d = changes[0]
    table = d.table
    assert table is not None
    if d.action == "changed" and all(c.attribute == "validated" and c.after for c in changes):
        return [fixed(ValidateConstraint(table, d.name))]
    if d.action == "removed":
        return [_drop_constraint(d.object_type, table, d.name)]
    add = [] if d.action == "added" else [_drop_constraint(d.object_type, table, d.name)]
    return [*add, *_rebuild_add(table, d.object_type, d.name, declared)]


def _drop_constraint(object_type: str, table: str, name: str) -> Step:
    """A drop recording the object as it is when the drop runs (earlier steps may have renamed parts)."""
    if object_type == "foreign_key":
        return _drop_foreign_key(table, name)
    if object_type == "primary_key":
        return Step("drop_primary_key", lambda g: DropPrimaryKey(table, _pk(g, table)))
    if object_type == "index":
        return Step("drop_index", lambda g: DropIndex(table, _named(table_of(g, table).indexes, name)))
    if object_type == "unique":
        return Step("drop_unique", lambda g: DropUnique(table, _named(table_of(g, table).uniques, name)))
    if object_type == "exclusion":
        return Step("drop_exclusion", lambda g: DropExclusion(table, _named(table_of(g, table).exclusions, name)))
    return Step("drop_check", lambda g: DropCheck(table, _named(table_of(g, table).checks, name)))


def _add_constraint(table: str, wanted: Any) -> list[Step]:
    """The safe add of the declared ``wanted``: NOT VALID then validate for foreign keys and checks,
    concurrent builds for indexes, unique constraints and primary keys (the table already exists);
    exclusion constraints have no safer form than the plain one."""
    if isinstance(wanted, PrimaryKey):
        return [fixed(AddPrimaryKey(table, wanted))]
    if isinstance(wanted, Index):
        return [fixed(AddIndex(table, wanted))]
    if isinstance(wanted, UniqueConstraint):
        return [fixed(AddUnique(table, wanted))]
    if isinstance(wanted, ExclusionConstraint):
        return [fixed(AddExclusion(table, wanted))]
    added: Operation = AddForeignKey(table, wanted) if isinstance(wanted, ForeignKey) else AddCheck(table, wanted)
    validate = [fixed(ValidateConstraint(table, wanted.name))] if wanted.validated else []
    return [fixed(added), *validate]


def _drop_foreign_key(table: str, name: str) -> Step:
    return Step("drop_foreign_key", lambda g: DropForeignKey(table, _named(table_of(g, table).foreign_keys, name)))


def _named(items: Iterable[Any], name: str) -> Any:
    found = next((i for i in items if i.name == name), None)
    if found is None:
        raise NotApplicable(f"{name} does not exist")
    return found


def _pk(graph: SchemaGraph, table: str) -> PrimaryKey:
    pk = table_of(graph, table).primary_key
    if pk is None:
        raise NotApplicable(f"table {table} has no primary key")
    return pk


def _default(graph: SchemaGraph, table: str, column: str) -> Any:
    return column_of(table_of(graph, table), column).default


# -- what generate cannot express ------------------------------------------------------------------

_HANDLED = frozenset({"table", "column", "enum", "sequence", *_CONSTRAINTS})
"""Object types of the diff generate maps to ops (definitions never get here)."""


def refuse_unsupported(
    differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph, hard: bool
) -> None:
    problems = [d.render() for d in differences if _unsupported(d)]
    if problems:
        raise GenerateError(
            "zanith generate cannot express these changes (no operation kind for them): "
            + "; ".join(problems)
            + ". Write them by hand with `zanith new --name NAME --sql SQL`, then generate again"
        )
    kept = [] if hard else [*_enums_kept_alive(differences, state), *_names_kept_aside(differences, state, declared)]
    if kept:
        raise GenerateError("; ".join(kept))


def _unsupported(d: Difference) -> bool:
    if d.object_type not in _HANDLED:
        return True
    if d.object_type == "table":
        return d.action == "changed"
    if d.object_type == "column":
        return d.action == "changed" and d.attribute not in ("nullable", "default", *_RETYPING, *_REPLACING)
    if d.object_type == "enum" and d.action == "changed":
        before, after = d.before, d.after
        return [v for v in after if v in before] != list(before)
    return False


def _enums_kept_alive(differences: Sequence[Difference], state: SchemaGraph) -> list[str]:
    """Enums the declared schema drops while a soft-dropped column would still use them."""
    dropped_tables = {d.name for d in differences if d.object_type == "table" and d.action == "removed"}
    aside = [(d.table, d.name) for d in differences if d.object_type == "column" and d.action == "removed"]
    aside += [(t.qualified_name, c.name) for t in state.tables if t.qualified_name in dropped_tables for c in t.columns]
    kept_aside = {f"column {table}.{column}" for table, column in aside}
    problems = []
    for d in differences:
        if d.object_type != "enum" or d.action != "removed":
            continue
        users = [u[len("column ") :] for u in type_users(state, d.before.schema, d.before.name) if u in kept_aside]
        if users:
            problems.append(
                f"enum {d.name} cannot be dropped: soft-dropped {', '.join(users)} would still use it "
                "(pass --hard-drop to drop the column data too, or keep the enum in the declared schema)"
            )
    return problems


def _names_kept_aside(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph) -> list[str]:
    """Names a soft-dropped table keeps (its indexes, keys, owned sequences) that the declared schema
    uses again: PostgreSQL would refuse to create them while the table sits aside."""
    problems = []
    for d in differences:
        if d.object_type != "table" or d.action != "removed":
            continue
        clash = _reused_names(d.before, state, declared)
        if clash:
            problems.append(
                f"table {d.name} would be soft-dropped but keeps the names {', '.join(sorted(clash))}, which the "
                f"declared schema uses again (pass --rename {short_name(d.name)}=NEW if it was renamed, or --hard-drop)"
            )
    return problems


def _reused_names(table: Table, state: SchemaGraph, declared: SchemaGraph) -> frozenset[str]:
    """Relation names ``table`` holds besides its own (its keys' indexes, owned sequences) that the
    declared schema uses again."""
    alone = SchemaGraph(tables=(table,), sequences=owned_sequences(state, table.qualified_name))
    return (relation_names(alone, table.schema) - {table.name}) & relation_names(declared, table.schema)
