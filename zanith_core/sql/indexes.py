"""``CREATE INDEX``: indexes of tables and of materialized views are built the same way."""

from __future__ import annotations

from psycopg import sql

from ..schema.graph import Index
from .identifiers import identifier_list, qualified_identifier, spaced


def create_index(
    table_qualified: str, index: Index, *, concurrently: bool = False, only: bool = False, if_not_exists: bool = False
) -> sql.Composed:
    """``CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY] table USING method (keys) ...``.

    ``only``: on a partitioned table, the index of the parent alone (its partitions' are attached to it)."""
    parts: list[sql.Composable] = [sql.SQL("CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX")]
    if concurrently:
        parts.append(sql.SQL("CONCURRENTLY"))
    if if_not_exists:
        parts.append(sql.SQL("IF NOT EXISTS"))
    parts.append(
        sql.SQL("{} ON {}{} USING {} ({})").format(
            sql.Identifier(index.name),
            sql.SQL("ONLY " if only else ""),
            qualified_identifier(table_qualified),
            sql.SQL(index.method),
            sql.SQL(", ").join(sql.SQL(k) for k in index.keys),
        )
    )
    if index.include:
        parts.append(sql.SQL("INCLUDE ({})").format(identifier_list(index.include)))
    if index.nulls_not_distinct:
        parts.append(sql.SQL("NULLS NOT DISTINCT"))
    if index.options:
        parts.append(storage_parameters(index.options))
    if index.predicate is not None:
        parts.append(sql.SQL("WHERE {}").format(sql.SQL(index.predicate)))
    return spaced(parts)


def storage_parameters(options: tuple[str, ...]) -> sql.Composed:
    """``WITH (fillfactor = '70', ...)`` of ``reloptions`` entries (``name=value``), in their order."""
    return sql.SQL("WITH ({})").format(parameter_list(options))


def parameter_list(options: tuple[str, ...]) -> sql.Composed:
    """``fillfactor = '70', ...``: ``reloptions`` entries as ``WITH (...)`` and ``SET (...)`` take them."""
    return sql.SQL(", ").join(_parameter(o) for o in options)


def _parameter(option: str) -> sql.Composed:
    name, _, value = option.partition("=")
    return sql.SQL("{} = {}").format(sql.SQL(".").join(sql.Identifier(n) for n in name.split(".")), sql.Literal(value))


def parameter_names(options: tuple[str, ...]) -> sql.Composed:
    """The names of ``reloptions`` entries, as ``RESET (...)`` takes them."""
    names = (o.partition("=")[0] for o in options)
    return sql.SQL(", ").join(sql.SQL(".").join(sql.Identifier(n) for n in name.split(".")) for name in names)
