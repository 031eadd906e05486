"""Sequences: created with every option spelled out, altered option by option, owned by a column or not.

Both halves use them: a serial column's sequence is created with its table, a standalone one is a
definition (``create_sequence`` / ``alter_sequence`` / ``drop_sequence`` ops).
"""

from __future__ import annotations

from psycopg import sql

from ..schema.graph import Sequence, split_qualified
from .identifiers import qualified_identifier

Statement = sql.Composed


def create_sequence(seq: Sequence) -> sql.Composed:
    """``CREATE SEQUENCE`` with every option spelled out; ownership is :func:`set_sequence_owner`."""
    return sql.SQL("CREATE SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}").format(
        qualified_identifier(seq.qualified_name),
        sql.SQL(seq.data_type),
        sql.Literal(seq.increment),
        sql.Literal(seq.min_value),
        sql.Literal(seq.max_value),
        sql.Literal(seq.start),
        sql.Literal(seq.cache),
        sql.SQL("CYCLE" if seq.cycle else "NO CYCLE"),
    )


def set_sequence_owner(seq: Sequence) -> sql.Composed:
    """``ALTER SEQUENCE ... OWNED BY schema.table.column`` (or ``OWNED BY NONE``)."""
    owner: sql.Composable = sql.SQL("NONE")
    if seq.owned_by is not None:
        table_q, _, column = seq.owned_by.rpartition(".")
        owner = sql.Identifier(*split_qualified(table_q), column)
    return sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(qualified_identifier(seq.qualified_name), owner)


def alter_sequence(old: Sequence, new: Sequence) -> tuple[Statement, ...]:
    """``ALTER SEQUENCE`` with every option that differs (``START`` only sets what RESTART goes back to)."""
    options: list[sql.Composable] = []
    if old.data_type != new.data_type:
        options.append(sql.SQL("AS {}").format(sql.SQL(new.data_type)))
    for label, attr in (("INCREMENT BY", "increment"), ("MINVALUE", "min_value"), ("MAXVALUE", "max_value"),
                        ("START WITH", "start"), ("CACHE", "cache")):  # fmt: skip
        if getattr(old, attr) != getattr(new, attr):
            options.append(sql.SQL(label + " {}").format(sql.Literal(getattr(new, attr))))
    if old.cycle != new.cycle:
        options.append(sql.SQL("CYCLE" if new.cycle else "NO CYCLE"))
    statements: list[Statement] = []
    if (old.min_value, old.max_value) != (new.min_value, new.max_value):
        statements.append(into_bounds(new.qualified_name, new.start, new.min_value, new.max_value))
    if options:
        statements.append(
            sql.SQL("ALTER SEQUENCE {} {}").format(
                qualified_identifier(new.qualified_name), sql.SQL(" ").join(options)
            )
        )
    if old.owned_by != new.owned_by:
        statements.append(set_sequence_owner(new))
    return tuple(statements)


def into_bounds(sequence: str, start: int, low: int, high: int) -> Statement:
    """Move ``sequence`` to ``start`` when its current value lies outside ``[low, high]``: ``ALTER`` refuses
    bounds that leave the value it would restart from outside them. A value inside is left alone."""
    return sql.SQL(
        "SELECT pg_catalog.setval({seq}, {start}, false) FROM {rel} WHERE last_value < {low} OR last_value > {high}"
    ).format(
        seq=sql.Literal(qualified_identifier(sequence).as_string(None)),
        start=sql.Literal(start),
        rel=qualified_identifier(sequence),
        low=sql.Literal(low),
        high=sql.Literal(high),
    )


def drop_sequence(sequence: Sequence) -> sql.Composed:
    return sql.SQL("DROP SEQUENCE {}").format(qualified_identifier(sequence.qualified_name))
