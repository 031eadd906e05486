"""Generate for enum types: created, dropped, and values added where the declared order puts them.

Removing or reordering values has no op kind of its own yet (it takes a new type and a rewrite of every
column using it) and is refused by :func:`zanith_core.generate.tables.refuse_unsupported`; a declared
drop of an enum that a soft-dropped column would still use is refused here, before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diff import Difference
from ..ops import (
    AddEnumValue,
    CreateEnum,
    DropEnum,
)
from ..schema.graph import (
    Enum,
    SchemaGraph,
)
from ..schema.queries import type_users
from .steps import Step, fixed


def enum_steps(d: Difference) -> list[Step]:
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


def enums_kept_alive(differences: Sequence[Difference], state: SchemaGraph) -> list[str]:
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
