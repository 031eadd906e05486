"""Safe order for generated operations: every step finds what it needs, and nothing it breaks.

Each op kind says which stage it runs in (``stage`` on its class, a :class:`~zanith_core.ops.base.Stage`,
whose docstring lists the rules the stages encode and why); a stable sort keeps the diff's own order
inside a stage. The stage lives on the class so that a new kind cannot be left out of the order: it
does not import without one.
"""

from __future__ import annotations

from ..ops import CATALOG, Stage


def stage_of(kind: str) -> Stage:
    """The stage ops of ``kind`` run in (lower first)."""
    return CATALOG[kind].stage


def slot(kind: str, ahead_of: str | None = None) -> tuple[int, int]:
    """Sort key of an op of ``kind``: its stage; ``ahead_of`` moves it to the start of that kind's stage
    instead (a column dropped to be re-added under the same name must go before the add)."""
    return (stage_of(ahead_of), 0) if ahead_of else (stage_of(kind), 1)
