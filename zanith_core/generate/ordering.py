"""Safe order for generated operations: every step finds what it needs, and nothing it breaks.

The order is a fixed sequence of stages, one per op kind, and a stable sort keeps the diff's own order
inside a stage. Each rule the stages encode, and why:

- enums (and new enum values) are created first, before the columns and defaults that use them;
- renames next: every later step names objects by their declared names;
- references are dropped before their targets: foreign keys, then other constraints and indexes,
  before the columns, keys and tables they depend on are changed or dropped;
- NOT NULL and defaults are relaxed before types change and before data is copied, and tightened after;
- tables and columns are created before their keys, indexes, backfills and the foreign keys that point
  at them; a backfill comes after its column exists and before the column's index is built (building an
  index once over filled rows is cheaper than maintaining it through the backfill);
- foreign keys come after every table, primary key and unique constraint they may reference, and a
  validation after the constraint it validates;
- drops come last, soft drops after hard ones (a soft drop only renames aside, so it can wait until every
  step that might still read the old object has run), and enums are dropped after the columns using them.

Kinds generate never emits (``raw_sql``, restores, dual-write triggers) keep their place relative to each
other in a middle stage; hand-written migrations are ordered by their author. The definition family
(functions, views, triggers, policies ...) is placed by :mod:`zanith_core.generate.definitions`: its
kinds start a stage (``ahead_of``) or share that middle stage, after the table steps; only schemas and
extensions have a stage of their own, the last one, once nothing in them or using them is left.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.base import Operation

STAGES: tuple[tuple[str, ...], ...] = (
    ("create_enum",),
    ("add_enum_value",),
    ("rename_table",),
    ("rename_column",),
    ("rename_index",),
    ("drop_foreign_key",),
    ("drop_check", "drop_unique", "drop_index"),
    ("drop_primary_key",),
    ("drop_default", "drop_not_null"),
    ("create_table",),
    ("add_column",),
    ("alter_column_type",),
    ("backfill",),
    ("set_default", "set_not_null"),
    ("add_primary_key",),
    ("add_unique", "add_check", "add_index"),
    ("add_foreign_key",),
    ("validate_constraint",),
    ("raw_sql",),
    ("drop_column",),
    ("drop_table",),
    ("soft_drop_column",),
    ("soft_drop_table",),
    ("drop_enum",),
    ("drop_schema", "drop_extension"),
)

STAGE_OF: dict[str, int] = {kind: i for i, kinds in enumerate(STAGES) for kind in kinds}
_OTHER = STAGE_OF["raw_sql"]


def stage_of(kind: str) -> int:
    """The stage ops of ``kind`` run in (lower first)."""
    return STAGE_OF.get(kind, _OTHER)


def slot(kind: str, ahead_of: str | None = None) -> tuple[int, int]:
    """Sort key of an op of ``kind``: its stage; ``ahead_of`` moves it to the start of that kind's stage
    instead (a column dropped to be re-added under the same name must go before the add)."""
    return (stage_of(ahead_of), 0) if ahead_of else (stage_of(kind), 1)


def order_operations(ops: Iterable[Operation]) -> tuple[Operation, ...]:
    """``ops`` in a safe order (see the module docstring), stable within a stage."""
    return tuple(sorted(ops, key=lambda op: slot(op.kind)))
