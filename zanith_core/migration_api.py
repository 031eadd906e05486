"""What a migration file imports: ``from zanith_core.migration_api import *``.

Every op class and every schema value type an op's fields hold, so the ``repr`` of any op — which is
how :mod:`zanith_core.migrations.writer` spells operations — is valid Python inside a migration file.

Nothing here is a hand-kept list: the op classes are those :mod:`zanith_core.ops` and
:mod:`zanith_core.ops.definitions` export, and the value types are found by walking their fields'
types (a :class:`~zanith_core.schema.graph.Table` holds columns, keys, indexes ...). Adding an op kind
to the ``ops`` export is what makes it available to migration files.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable

from . import ops
from .ops import definitions
from .schema import graph, security, text, types


def _op_classes() -> dict[str, type[ops.Operation]]:
    exported = (getattr(module, name) for module in (ops, definitions) for name in module.__all__)
    return {
        cls.__name__: cls for cls in exported if isinstance(cls, type) and issubclass(cls, ops.Operation) and cls.kind
    }


def _types_in(hint: object) -> Iterable[object]:
    """``hint`` and every type inside it (``tuple[Column, ...]``, ``Function | None`` ...)."""
    yield hint
    for arg in typing.get_args(hint):
        yield from _types_in(arg)


_VALUE_MODULES = frozenset({graph.__name__, text.__name__, types.__name__, security.__name__})
"""Where schema values live: the graph, and the values it re-exports (collations and text search, domains
and composite types, policies and privileges)."""


def _value_types(classes: Iterable[type]) -> dict[str, type]:
    """The schema value types (:data:`_VALUE_MODULES` dataclasses) the fields of ``classes`` hold,
    directly or inside another value type."""
    found: dict[str, type] = {}
    pending = list(classes)
    while pending:
        for hint in typing.get_type_hints(pending.pop()).values():
            for t in _types_in(hint):
                if not isinstance(t, type) or t.__module__ not in _VALUE_MODULES or t.__name__ in found:
                    continue
                if dataclasses.is_dataclass(t):
                    found[t.__name__] = t
                    pending.append(t)
    return found


_OPS = _op_classes()
_EXPORTS: dict[str, type] = {**_OPS, **_value_types(_OPS.values())}
globals().update(_EXPORTS)

__all__ = sorted(_EXPORTS)
