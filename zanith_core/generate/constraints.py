"""Generate for indexes and constraints: keys, foreign keys, uniques, checks, exclusions.

A changed index or constraint is dropped and added (once, whatever number of attributes changed), a NOT
VALID one declared valid is validated, one whose storage parameters alone changed has them set in
place, and added ones take the safe path: NOT VALID then validate for foreign keys and checks,
concurrent builds for indexes, unique constraints and primary keys. Drops record the object as it is
when the drop runs (earlier steps may have renamed parts of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..diff import Difference
from ..ops import (
    AddCheck,
    AddExclusion,
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AddUnique,
    DropCheck,
    DropExclusion,
    DropForeignKey,
    DropIndex,
    DropPrimaryKey,
    DropUnique,
    NotApplicable,
    Operation,
    SetStorageParameters,
    ValidateConstraint,
)
from ..schema.graph import (
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    UniqueConstraint,
)
from ..schema.queries import table_of
from .steps import Step, fixed

CONSTRAINTS = {
    "primary_key": "primary_key",
    "index": "indexes",
    "foreign_key": "foreign_keys",
    "unique": "uniques",
    "check": "checks",
    "exclusion": "exclusions",
}
"""Object types of the diff that are table constraints or indexes, and the Table field holding them."""


def relying_on_key(state: SchemaGraph, table: str, key: str) -> list[tuple[str, str, str]]:
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


def rebuild(owner: str, kind: str, name: str, declared: SchemaGraph) -> list[Step]:
    """Drop an index or constraint the diff leaves alone, and add it back as declared."""
    return [drop_constraint(kind, owner, name), *rebuild_add(owner, kind, name, declared)]


def rebuild_add(owner: str, kind: str, name: str, declared: SchemaGraph) -> list[Step]:
    table = table_of(declared, owner)
    held = getattr(table, CONSTRAINTS[kind])
    return add_constraint(owner, held if kind == "primary_key" else named(held, name), table.partition_by is not None)


def constraint_steps(changes: Sequence[Difference], declared: SchemaGraph) -> list[Step]:
    """Steps for one index or constraint (all its differences): validate a NOT VALID one that is now
    declared valid, else drop and add (a changed one once, whatever number of attributes changed)."""
    d = changes[0]
    table = d.table
    assert table is not None
    if d.action == "changed" and all(c.attribute == "validated" and c.after for c in changes):
        return [fixed(ValidateConstraint(table, d.name))]
    if d.action == "changed" and all(c.attribute == "options" for c in changes):
        return [fixed(SetStorageParameters(table, d.after, d.before, d.name))]
    if d.action == "removed":
        return [drop_constraint(d.object_type, table, d.name)]
    add = [] if d.action == "added" else [drop_constraint(d.object_type, table, d.name)]
    return [*add, *rebuild_add(table, d.object_type, d.name, declared)]


def drop_constraint(object_type: str, table: str, name: str) -> Step:
    """A drop recording the object as it is when the drop runs (earlier steps may have renamed parts)."""
    if object_type == "foreign_key":
        return drop_foreign_key(table, name)
    if object_type == "primary_key":
        return Step("drop_primary_key", lambda g: DropPrimaryKey.on(g, table))
    if object_type == "index":
        return Step("drop_index", lambda g: DropIndex.on(g, table, name))
    if object_type == "unique":
        return Step("drop_unique", lambda g: DropUnique.on(g, table, name))
    if object_type == "exclusion":
        return Step("drop_exclusion", lambda g: DropExclusion(table, named(table_of(g, table).exclusions, name)))
    return Step("drop_check", lambda g: DropCheck(table, named(table_of(g, table).checks, name)))


def add_constraint(table: str, wanted: Any, partitioned: bool = False) -> list[Step]:
    """The safe add of the declared ``wanted``: NOT VALID then validate for foreign keys and checks,
    concurrent builds for indexes, unique constraints and primary keys (the table already exists);
    exclusion constraints have no safer form than the plain one. PostgreSQL refuses a NOT VALID foreign
    key on a ``partitioned`` table: there it is added validated (each partition scanned)."""
    if isinstance(wanted, PrimaryKey):
        return [Step("add_primary_key", lambda g: AddPrimaryKey.on(g, table, wanted))]
    if isinstance(wanted, Index):
        return [Step("add_index", lambda g: AddIndex.on(g, table, wanted))]
    if isinstance(wanted, UniqueConstraint):
        return [Step("add_unique", lambda g: AddUnique.on(g, table, wanted))]
    if isinstance(wanted, ExclusionConstraint):
        return [fixed(AddExclusion(table, wanted))]
    if isinstance(wanted, ForeignKey) and partitioned:
        return [fixed(AddForeignKey(table, wanted, not_valid=False))]
    added: Operation = AddForeignKey(table, wanted) if isinstance(wanted, ForeignKey) else AddCheck(table, wanted)
    validate = [fixed(ValidateConstraint(table, wanted.name))] if wanted.validated else []
    return [fixed(added), *validate]


def drop_foreign_key(table: str, name: str) -> Step:
    return Step("drop_foreign_key", lambda g: DropForeignKey(table, named(table_of(g, table).foreign_keys, name)))


def named(items: Iterable[Any], name: str) -> Any:
    found = next((i for i in items if i.name == name), None)
    if found is None:
        raise NotApplicable(f"{name} does not exist")
    return found
