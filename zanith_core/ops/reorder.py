"""``reorder_columns``: put a table's columns in another order by rebuilding it, rows kept.

``ALTER TABLE`` can only append a column, yet the order is part of a table's shape: ``SELECT *``,
``INSERT`` without a column list, ``COPY`` and ``RETURNS SETOF t`` all see it. The one way to another
order is a new table: under an ACCESS EXCLUSIVE lock the op creates ``_zanith_<hash>_<name>`` with the
columns in the new order (identity and NOT NULL left for later), copies every row, hands the serial
sequences over, drops the old table, renames the new one into place, and then gives back what the drop
took: NOT NULL (once the table has its own name, which PostgreSQL 18 names the constraints after),
identity (its sequence set past the highest value), keys, exclusions, NOT VALID checks, foreign
keys, indexes, row-level security, triggers, policies, comments and grants — all recorded in the op,
so the reversal is the same rebuild back to the old order.

What the drop would take from *outside* the table — foreign keys of other tables pointing at it, views,
functions and columns using its row type — is not the op's: ``apply_to`` refuses while foreign keys
point at the table (generate drops and re-adds them around the op), and generate refuses a rebuild
while anything uses the row type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..schema.expressions import quote_qualified
from ..schema.graph import Column, Comment, Policy, Privilege, SchemaGraph, Sequence, Table, Trigger
from ..schema.queries import NotApplicable, outside_references, owned_sequences, table_of
from ..sql.definitions import comment_on, create_policy, create_trigger, grant
from ..sql.identifiers import qualified_identifier
from ..sql.indexes import create_index
from ..sql.sequences import set_sequence_owner
from ..sql.tables import (
    add_check,
    add_exclusion,
    add_foreign_keys,
    add_primary_key,
    add_unique,
    create_table,
    identity_clause,
    row_security,
)
from .altering import aside_name
from .base import InvalidOperation, Lock, Operation, Stage, Statement
from .effects import require_recorded
from .tables import TableValueOperation


@dataclass(frozen=True)
class ReorderColumns(TableValueOperation):
    """Rebuild ``table`` with its columns in ``order``, rows and everything attached to it kept."""

    kind = "reorder_columns"
    stage = Stage.REORDER_COLUMNS
    default_lock = Lock.ACCESS_EXCLUSIVE
    # ``table``: the table as it is before the op (in its current order)
    order: tuple[str, ...]
    """The new order: every column of ``table``, once."""
    sequences: tuple[Sequence, ...] = ()
    """Sequences the table's columns own (serial): handed over to the new table."""
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    comments: tuple[Comment, ...] = ()
    """Comments on the table, its columns, constraints, indexes, triggers and policies."""
    privileges: tuple[Privilege, ...] = ()
    """Grants on the table."""
    other_tables_lock = Lock.ACCESS_EXCLUSIVE
    """The old table's foreign keys go with it, and their triggers on the referenced tables."""

    @classmethod
    def from_graph(cls, graph: SchemaGraph, table: str, order: tuple[str, ...]) -> ReorderColumns:
        """The op for ``table`` as ``graph`` holds it, recording what the rebuild must give back."""
        current = table_of(graph, table)
        t = current.qualified_name
        index_names = {i.name for i in current.indexes} | {u.name for u in current.uniques}
        index_names |= {x.name for x in current.exclusions} | (
            {current.primary_key.name} if current.primary_key else set()
        )
        own = (current.schema, current.name)

        def attached(c: Comment) -> bool:
            if c.object_type == "index":
                return c.names[0] == current.schema and c.names[-1] in index_names
            return c.object_type in ("table", "column", "constraint", "trigger", "policy") and c.names[:2] == own

        return cls(
            current,
            order,
            owned_sequences(graph, t),
            tuple(x for x in graph.triggers if x.table == t),
            tuple(p for p in graph.policies if p.table == t),
            tuple(c for c in graph.comments if attached(c)),
            tuple(p for p in graph.privileges if p.object_type == "table" and p.names == own),
        )

    @property
    def reordered(self) -> Table:
        """The table after the op: the same table, its columns in ``order``."""
        by_name = {c.name: c for c in self.table.columns}
        return replace(self.table, columns=tuple(by_name[n] for n in self.order))

    @property
    def _aside(self) -> str:
        return aside_name(self.target, "reorder", *self.order)

    def validate(self) -> None:
        names = [c.name for c in self.table.columns]
        if sorted(self.order) != sorted(names):
            raise InvalidOperation(
                f"order {', '.join(self.order)} must name every column of {self.target} once ({', '.join(names)})"
            )

    def statements(self) -> tuple[Statement, ...]:
        final = self.reordered
        name = self.target
        new = replace(
            final,
            name=self._aside,
            columns=tuple(replace(c, identity=None, nullable=True) for c in final.columns),
            primary_key=None,
            indexes=(),
            foreign_keys=(),
            uniques=(),
            exclusions=(),
            checks=tuple(c for c in final.checks if c.validated),
            rls_enabled=False,
            rls_forced=False,
        )
        copied = [c.name for c in final.columns if c.generated is None]
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in copied)
        statements: list[Statement] = [
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(qualified_identifier(name)),
            _no_parked_columns(final),
            *create_table(new, foreign_keys=False),
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                qualified_identifier(new.qualified_name), columns, columns, qualified_identifier(name)
            ),
            *(set_sequence_owner(replace(s, owned_by=_moved(s, new.qualified_name))) for s in self.sequences),
            sql.SQL("DROP TABLE {}").format(qualified_identifier(name)),
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                qualified_identifier(new.qualified_name), sql.Identifier(final.name)
            ),
        ]
        required = [c.name for c in final.columns if not c.nullable]
        if required:  # now, under the table's own name: PostgreSQL 18 names NOT NULL constraints after it
            statements.append(
                sql.SQL("ALTER TABLE {} {}").format(
                    qualified_identifier(name),
                    sql.SQL(", ").join(
                        sql.SQL("ALTER COLUMN {} SET NOT NULL").format(sql.Identifier(c)) for c in required
                    ),
                )
            )
        for column in final.columns:
            if column.identity is not None:
                statements += _identity(final, column)
        statements += [add_primary_key(name, final.primary_key)] if final.primary_key else []
        statements += [add_unique(name, u) for u in final.uniques]
        statements += [add_exclusion(name, x) for x in final.exclusions]
        statements += [add_check(name, c, not_valid=True) for c in final.checks if not c.validated]
        statements += add_foreign_keys(final)
        statements += [create_index(name, i) for i in final.indexes]
        statements += row_security(name, enabled=final.rls_enabled or None, forced=final.rls_forced or None)
        for trigger in self.triggers:
            statements += create_trigger(trigger)
        statements += [create_policy(p) for p in self.policies]
        statements += [comment_on(c, c.text) for c in self.comments]
        statements += [grant(p) for p in self.privileges]
        return tuple(statements)

    def reverse(self) -> Operation:
        old = tuple(c.name for c in self.table.columns)
        return replace(self, table=self.reordered, order=old)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        require_recorded(f"table {self.target}", self.table, table_of(graph, self.target))
        referencing = outside_references(graph, self.target)
        if referencing:
            raise NotApplicable(
                f"table {self.target} is referenced by {', '.join(referencing)}; drop those foreign keys "
                "before the rebuild and add them back after it"
            )
        return graph.with_table(self.reordered)


def _no_parked_columns(table: Table) -> Statement:
    """Fail the op when the table holds soft-dropped columns: the rebuild copies only the table's own
    columns, so their data (and the recovery artifacts pointing at it) would be lost."""
    check = (
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = {}::regclass"
        r" AND attname LIKE '\_zanith\_%' AND NOT attisdropped) THEN RAISE EXCEPTION"
        " 'reorder_columns: table % holds soft-dropped columns; purge or restore them first', {}; END IF; END $$"
    )
    name = sql.Literal(quote_qualified(table.schema, table.name))
    return sql.SQL(check).format(name, name)


def _moved(sequence: Sequence, table: str) -> str:
    """The sequence's owning column, on the new table."""
    column = (sequence.owned_by or "").rpartition(".")[2]
    return f"{table}.{column}"


def _identity(table: Table, column: Column) -> tuple[Statement, ...]:
    """``ADD GENERATED ... AS IDENTITY`` (with the column's sequence name and options) on the rebuilt
    table, its new sequence set past the copied rows."""
    assert column.identity is not None
    name = table.qualified_name
    ident = sql.Identifier(column.name)
    return (
        sql.SQL("ALTER TABLE {} ALTER COLUMN {} ADD {}").format(
            qualified_identifier(name), ident, identity_clause(column.identity, column.identity_options)
        ),
        sql.SQL(
            "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence({}, {}), max({})) FROM {} "
            "HAVING max({}) IS NOT NULL"
        ).format(
            sql.Literal(quote_qualified(table.schema, table.name)),
            sql.Literal(column.name),
            ident,
            qualified_identifier(name),
            ident,
        ),
    )


__all__ = ["ReorderColumns"]
