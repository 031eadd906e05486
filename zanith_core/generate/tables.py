"""Generate for tables: every difference the definitions half leaves becomes steps.

:func:`table_steps` maps table, column, enum, key, index and constraint differences (the definitions
half, :mod:`zanith_core.generate.definitions`, takes the rest out first) to steps: tables here (drops
are soft — renamed aside, data kept — unless ``hard_drop``), columns in :mod:`.columns`, indexes and
constraints in :mod:`.constraints`, enums in :mod:`.enums`. It also rebuilds what a changed column or key
takes down with it: the indexes and constraints involving a replaced column, the foreign keys relying
on a changed key.

What has no op kind (removing or reordering enum values, partitioning changes, and
any object type the diff learns later) is refused by
:func:`refuse_unsupported` with one :class:`~zanith_core.generate.steps.GenerateError` listing it all,
pointing at ``zanith new --sql``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..diff import Difference
from ..ops import (
    AddForeignKey,
    CreateTable,
    DropTable,
    SetPartitionBound,
    SetPersistence,
    SetStorageParameters,
    SoftDropTable,
)
from ..schema.graph import (
    SchemaGraph,
    Table,
)
from ..schema.queries import (
    column_of,
    column_users,
    descendants,
    owned_sequences,
    parents_first,
    relation_names,
    table_of,
)
from .columns import (
    REPLACING,
    RETYPING,
    column_steps,
    enum_conversion,
    replace_column,
    retype,
    reused_sequence_names,
)
from .constraints import CONSTRAINTS, constraint_steps, drop_constraint, drop_foreign_key, rebuild, relying_on_key
from .enums import enum_steps, enums_kept_alive, replaced_columns, replacement_blockers
from .identity import IDENTITY, alter_identity, serial_sequence_steps
from .renames import short_name
from .steps import GenerateError, Step, fixed


def table_steps(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph, hard: bool) -> list[Step]:
    differences = [d for d in differences if not _follows_parent(d, state)]
    removed_tables = {d.name for d in differences if d.object_type == "table" and d.action == "removed"}
    replaced = sorted({(d.table, d.name) for d in differences if d.attribute in REPLACING and d.table})
    retyped = sorted(
        {(d.table, d.name) for d in differences if d.object_type == "column" and d.attribute in RETYPING and d.table}
        - set(replaced)
    )
    touched = {(d.table, d.object_type, d.name) for d in differences if d.action in ("removed", "changed")}
    steps: list[Step] = []
    involved: list[tuple[str, str, str]] = []
    for table, column in replaced:
        steps += replace_column(table, column, declared, hard)
        involved += column_users(state, table, column)  # foreign keys of other tables pointing at it too
    steps += [retype(table, column, declared) for table, column in retyped]
    identity = dict.fromkeys(
        (d.table, d.name) for d in differences if d.object_type == "column" and d.attribute in IDENTITY and d.table
    )
    steps += [alter_identity(table, column, declared) for table, column in identity if (table, column) not in replaced]
    steps += serial_sequence_steps(differences, state, declared)
    for d in differences:
        if d.object_type in ("primary_key", "unique") and d.action != "added" and d.table:
            involved += relying_on_key(state, d.table, d.name)
    for owner, kind, name in dict.fromkeys(involved):
        if (owner, kind, name) in touched:
            continue
        if owner in removed_tables:  # going away anyway: only out of the way first
            steps.append(drop_constraint(kind, owner, name))
        else:
            steps += rebuild(owner, kind, name, declared)
    folded = {(t, c) for t, c in retyped if _default_goes_with_type(state, declared, t, c)}
    folded |= replaced_columns(differences, state)
    grouped: dict[tuple[str | None, str, str], list[Difference]] = {}
    for d in _parents_first(differences, state, declared):
        if d.attribute == "default" and (d.table, d.name) in folded:
            continue  # the type change or enum replacement sets the declared default
        if d.object_type == "table":
            steps += _table_steps(d, state, declared, removed_tables, hard)
        elif (
            d.object_type == "column"
            and (d.table, d.name) not in replaced
            and d.attribute not in (*RETYPING, *IDENTITY)
        ):
            steps += column_steps(d, state, declared, hard)
        elif d.object_type == "enum":
            steps += enum_steps(d, declared)
        elif d.object_type in CONSTRAINTS:
            grouped.setdefault((d.table, d.object_type, d.name), []).append(d)
    for changes in grouped.values():
        steps += constraint_steps(changes, declared)
    return steps


def _parents_first(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph) -> list[Difference]:
    """``differences`` with the tables added in an order creating every parent before its children, and
    those removed dropping every ``INHERITS`` child before its parent (PostgreSQL refuses the parent);
    added columns in their declared order, so columns added at the end need no rebuild of the table."""
    added = {t.qualified_name: n for n, t in enumerate(parents_first(declared.tables))}
    removed = {t.qualified_name: -n for n, t in enumerate(parents_first(state.tables))}

    def rank(d: Difference) -> tuple[int, int]:
        if d.object_type == "column" and d.action == "added" and d.table is not None:
            return 0, [c.name for c in table_of(declared, d.table).columns].index(d.name)
        if d.object_type != "table" or d.action == "changed":
            return 0, -1
        return (added[d.name] if d.action == "added" else removed[d.name]), -1

    return sorted(differences, key=rank)
def _default_goes_with_type(state: SchemaGraph, declared: SchemaGraph, table: str, column: str) -> bool:
    have = column_of(table_of(state, table), column)
    return have.default is not None and have.type != column_of(table_of(declared, table), column).type


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
    if d.action == "changed":  # refuse_unsupported let only the IN_PLACE changes through
        if d.attribute == "partition_bound":
            parent = table_of(declared, name).partition_of
            assert parent is not None
            return [fixed(SetPartitionBound(name, parent, d.after, d.before))]
        if d.attribute == "options":
            return [fixed(SetStorageParameters(name, d.after, d.before))]
        assert d.attribute == "unlogged", d
        return [fixed(SetPersistence(name, unlogged=d.after))]
    old: Table = d.before
    if hard and _ancestor_removed(old, state, removed_tables):
        return []  # dropped with the partitioned table it belongs to
    steps = [
        drop_foreign_key(name, fk.name)
        for fk in old.foreign_keys
        if fk.ref_table in removed_tables and fk.ref_table != name
    ]
    if hard:
        # drops come last, unless the declared schema reuses a name the table holds (a key's index, a
        # sequence): then it must be gone before the table taking the name over is created
        ahead = "create_table" if _reused_names(old, state, declared) else None
        if old.partition_of is not None:  # make room before bounds move into its range
            ahead = "set_partition_bound"
        steps.append(Step("drop_table", lambda g: DropTable.from_graph(g, name), ahead_of=ahead))
    else:
        steps.append(Step("soft_drop_table", lambda g: SoftDropTable.from_graph(g, name)))
    return steps


def _ancestor_removed(table: Table, state: SchemaGraph, removed_tables: set[str]) -> bool:
    """Whether a partitioned table ``table`` is a partition of (at any level) goes away too."""
    parent = table.partition_of
    while parent is not None:
        if parent in removed_tables:
            return True
        above = state.table(parent)
        parent = above.partition_of if above is not None else None
    return False


IN_PLACE = ("options", "unlogged", "partition_bound")
"""Table attributes changed by an op of their own (``set_storage_parameters``, ``set_persistence``,
``set_partition_bound``)."""

_HANDLED = frozenset({"table", "column", "column_order", "enum", "sequence", *CONSTRAINTS})
"""Object types of the diff generate maps to ops (definitions never get here)."""


CastCheck = Callable[[str, str], bool | None]
"""Whether a value of the first type converts to the second (None: unknown), asked of a server
(:func:`zanith_core.read.casts.castable`)."""


def refuse_unsupported(
    differences: Sequence[Difference],
    state: SchemaGraph,
    declared: SchemaGraph,
    hard: bool,
    castable: CastCheck | None = None,
) -> None:
    problems = [d.render() for d in differences if _unsupported(d) or _partition_column(d, state, declared)]
    problems += _overridden_by_partitions(differences, declared)
    if problems:
        moved = [d for d in differences if d.object_type == "table" and d.attribute in _REPARTITIONING]
        raise GenerateError(
            "zanith generate cannot express these changes (no operation kind for them): "
            + "; ".join(problems)
            + (_REPARTITIONING_HINT if moved else "")
            + ". Write them by hand with `zanith new --name NAME --sql SQL`, then generate again"
        )
    blocked = replacement_blockers(differences, state)
    if blocked:
        raise GenerateError("; ".join(blocked))
    uncastable = _uncastable(differences, state, declared, castable) if castable is not None else []
    if uncastable:
        raise GenerateError(
            "zanith generate cannot convert the values of "
            + "; ".join(uncastable)
            + ". Say how: `zanith new --name NAME --sql \"ALTER TABLE ... ALTER COLUMN ... TYPE ... USING "
            "<expression>\"` (or an expand/contract pair: `zanith generate --name NAME --online-retype "
            "TABLE.COLUMN=TYPE --using EXPRESSION`), then generate again"
        )
    kept = [] if hard else [*enums_kept_alive(differences, state), *_names_kept_aside(differences, state, declared)]
    kept += [] if hard else _partitions_kept_attached(differences, state)
    if kept:
        raise GenerateError("; ".join(kept))


def _follows_parent(d: Difference, state: SchemaGraph) -> bool:
    """A partition's column whose type changes with its parent's: PostgreSQL changes it with the parent."""
    table = state.table(d.table) if d.object_type == "column" and d.table else None
    return table is not None and table.partition_of is not None and d.attribute in RETYPING


def _partition_column(d: Difference, state: SchemaGraph, declared: SchemaGraph) -> bool:
    """A partition's own default or NOT NULL (what it overrides of its parent's column): no op changes
    one alone yet (``ALTER TABLE partition ALTER COLUMN ...`` by hand)."""
    if d.object_type != "column" or d.table is None or _follows_parent(d, state):
        return False
    return any(t is not None and t.partition_of is not None for t in (state.table(d.table), declared.table(d.table)))
def _uncastable(
    differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph, castable: CastCheck
) -> list[str]:
    """Type changes PostgreSQL has no cast for (an enum's go through text: :func:`.columns.conversion`)."""
    found = []
    for d in differences:
        if d.object_type != "column" or d.attribute != "type" or d.table is None:
            continue
        if declared.table(d.table) is None or enum_conversion(d.before, d.after, state, declared):
            continue
        if castable(d.before, d.after) is False:
            found.append(f"column {d.table}.{d.name}: PostgreSQL has no cast from {d.before} to {d.after}")
    return found


def _overridden_by_partitions(differences: Sequence[Difference], declared: SchemaGraph) -> list[str]:
    """A parent's default or NOT NULL change that partitions keep overriding: PostgreSQL carries the
    change to every partition, overwriting what they override."""
    problems = []
    for d in differences:
        if d.object_type != "column" or d.action != "changed" or d.attribute not in ("default", "nullable"):
            continue
        keeping = [t.qualified_name for t in descendants(declared, d.table or "") if t.column(d.name) is not None]
        if keeping:
            problems.append(
                f"{d.render()} (PostgreSQL would carry it to the partitions {', '.join(keeping)}, which override it)"
            )
    return problems


def _unsupported(d: Difference) -> bool:
    if d.object_type not in _HANDLED:
        return True
    if d.object_type == "table":
        return d.action == "changed" and d.attribute not in IN_PLACE
    if d.object_type == "column":
        return d.action == "changed" and d.attribute not in ("nullable", "default", *RETYPING, *REPLACING, *IDENTITY)
    return False


_REPARTITIONING = frozenset({"partition_by", "partition_of", "inherits"})
_REPARTITIONING_HINT = (
    " (turning a table into a partitioned one or back, attaching or detaching a partition and changing a "
    "table's INHERITS parents move its rows and its indexes and keys between tables: create the new table, "
    "copy the rows and swap the names, or ALTER TABLE ... ATTACH/DETACH PARTITION, as you decide)"
)


def _partitions_kept_attached(differences: Sequence[Difference], state: SchemaGraph) -> list[str]:
    """A soft drop renames aside, but a partition renamed aside stays attached: its parent would still
    route rows to it. Only a partition whose parent goes away too can be soft-dropped."""
    removed = {d.name for d in differences if d.object_type == "table" and d.action == "removed"}
    return [
        f"table {d.name} is a partition of {d.before.partition_of}, which it would stay attached to (receiving "
        "its rows) if soft-dropped: pass --hard-drop, or detach it first with `zanith new --sql`"
        for d in differences
        if d.object_type == "table"
        and d.action == "removed"
        and d.before.partition_of is not None
        and not _ancestor_removed(d.before, state, removed)
    ]


def _names_kept_aside(differences: Sequence[Difference], state: SchemaGraph, declared: SchemaGraph) -> list[str]:
    """Names a soft-dropped table keeps (its indexes, keys, owned sequences) that the declared schema
    uses again: PostgreSQL would refuse to create them while the table sits aside."""
    problems = []
    for d in differences:
        if d.object_type == "column" and d.action == "removed" and d.table:
            clash = reused_sequence_names(d.table, d.before, state, declared)
            if clash:
                problems.append(
                    f"column {d.table}.{d.name} would be soft-dropped but its sequence keeps the name "
                    f"{', '.join(sorted(clash))}, which the declared schema uses again (pass "
                    f"--rename {short_name(d.table)}.{d.name}=NEW if it was renamed, or --hard-drop)"
                )
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
