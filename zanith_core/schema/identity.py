"""Identity columns' sequences: what a bare ``GENERATED ... AS IDENTITY`` gets, and what a column has.

A graph keeps :class:`~zanith_core.schema.graph.IdentityOptions` on an identity column only when they
differ from the defaults Postgres picks (``<table>_<column>_seq`` in the table's schema, start 1,
increment 1, bounds of the column's type, cache 1, no cycle), so that hand-made and DSL graphs need not
spell them out and a plain identity column reads back as it was written. :func:`effective` is the one
place the two forms meet: ops and generate compare effective options, and :func:`stored` turns them
back into what a graph holds.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .graph import Column, IdentityOptions, qualified
from .naming import make_object_name

#: The largest value of each type an identity column may have.
_TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


@lru_cache(maxsize=8192)
def default_options(schema: str, table: str, column: str, type_: str) -> IdentityOptions:
    """The sequence Postgres gives ``GENERATED ... AS IDENTITY`` without options (no name clash).

    Cached: every relation-name check asks it for every identity column of the schema, and computing
    the sequence's name the way Postgres does is not cheap; the options are frozen, so sharing is safe."""
    maximum = _TYPE_MAX.get(type_, _TYPE_MAX["bigint"])
    return IdentityOptions(qualified(schema, make_object_name(table, column, "seq")), 1, 1, 1, maximum)


def effective(schema: str, table: str, column: Column) -> IdentityOptions | None:
    """The identity sequence of ``column`` as it is (None when it is not an identity column)."""
    if column.identity is None:
        return None
    return column.identity_options or default_options(schema, table, column.name, column.type)


def stored(schema: str, table: str, column: Column, options: IdentityOptions | None) -> Column:
    """``column`` holding ``options`` the way a graph keeps them (None when they are the defaults)."""
    if options is not None and options == default_options(schema, table, column.name, column.type):
        options = None
    return replace(column, identity_options=options)


def pinned(schema: str, table: str, column: Column) -> Column:
    """``column`` with its identity options spelled out: a rename of the table or column keeps the
    sequence's name, which then is no longer the default one for the new names."""
    return replace(column, identity_options=effective(schema, table, column))
