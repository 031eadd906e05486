"""The identity of an existing column, changed in place: ``ADD`` / ``DROP IDENTITY``, ``SET GENERATED``,
the identity sequence's options and name.

Dropping a column and adding it again would lose its data; ``ALTER COLUMN`` changes every part of an
identity in place. The op records the effective options on both sides (never the graph's "defaults"
shorthand, see :mod:`zanith_core.schema.identity`), so its statements and its reversal need nothing
else. Adding an identity to a column that holds rows moves the new sequence past the largest value, so
the next insert does not collide with a row the column already has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from ..schema.graph import IdentityOptions, SchemaGraph, Table, split_qualified
from ..schema.identity import effective, stored
from ..schema.queries import NotApplicable, column_of
from ..sql.identifiers import qualified_identifier
from ..sql.sequences import into_bounds
from ..sql.tables import identity_clause, identity_option_clauses
from .altering import ColumnOperation
from .base import InvalidOperation, Operation, Stage, Statement
from .effects import require_recorded, update_column, update_table

_KINDS = ("always", "by default")


@dataclass(frozen=True)
class AlterIdentity(ColumnOperation):
    """``ALTER COLUMN ... ADD GENERATED ... AS IDENTITY`` / ``DROP IDENTITY`` / ``SET GENERATED`` /
    ``SET <sequence option>``, and ``ALTER SEQUENCE ... RENAME`` for the identity sequence's name.

    ``identity`` and ``options`` are the column's identity after the op (None: not an identity column),
    ``old_identity`` and ``old_options`` before it; options are always the effective ones.
    """

    kind = "alter_identity"
    stage = Stage.TIGHTEN_COLUMN
    identity: str | None = None
    old_identity: str | None = None
    options: IdentityOptions | None = None
    old_options: IdentityOptions | None = None

    def validate(self) -> None:
        for label, kind, options in (("", self.identity, self.options), ("old_", self.old_identity, self.old_options)):
            if kind is not None and kind not in _KINDS:
                raise InvalidOperation(f"alter_identity {self.target}: {label}identity must be one of {_KINDS}")
            if (kind is None) != (options is None):
                raise InvalidOperation(f"alter_identity {self.target}: {label}options go with {label}identity")
        if (self.identity, self.options) == (self.old_identity, self.old_options):
            raise InvalidOperation(f"alter_identity {self.target} changes nothing")

    def statements(self) -> tuple[Statement, ...]:
        new, old = self.options, self.old_options
        if new is None:
            return (self.alter_column(sql.SQL("DROP IDENTITY")),)
        assert self.identity is not None
        if old is None:
            return (self.alter_column(sql.SQL("ADD {}").format(identity_clause(self.identity, new))), self._past_rows())
        statements: list[Statement] = []
        if old.sequence != new.sequence:
            statements.append(
                sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(
                    qualified_identifier(old.sequence), sql.Identifier(split_qualified(new.sequence)[1])
                )
            )
        if (old.min_value, old.max_value) != (new.min_value, new.max_value):
            statements.append(into_bounds(new.sequence, new.start, new.min_value, new.max_value))
        clauses = [sql.SQL("SET {}").format(c) for c in identity_option_clauses(old, new)]
        if self.identity != self.old_identity:
            clauses.insert(0, sql.SQL("SET GENERATED {}").format(sql.SQL(self.identity.upper())))
        if clauses:
            statements.append(self.alter_column(sql.SQL(" ").join(clauses)))
        return tuple(statements)

    def _past_rows(self) -> Statement:
        """``setval`` of the new sequence to the column's largest value, when rows already use its range."""
        assert self.options is not None
        column = sql.Identifier(self.column)
        past = sql.SQL(">=") if self.options.increment > 0 else sql.SQL("<=")
        edge = sql.SQL("max" if self.options.increment > 0 else "min")
        return sql.SQL(
            "SELECT pg_catalog.setval({seq}, v) FROM (SELECT {edge}({col}) AS v FROM {table}) AS used "
            "WHERE v {past} {start}"
        ).format(
            seq=sql.Literal(qualified_identifier(self.options.sequence).as_string(None)),
            edge=edge,
            col=column,
            table=qualified_identifier(self.table),
            past=past,
            start=sql.Literal(self.options.start),
        )

    def reverse(self) -> Operation:
        return AlterIdentity(self.table, self.column, self.old_identity, self.identity, self.old_options, self.options)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        def change(table: Table) -> Table:
            column = column_of(table, self.column)
            require_recorded(f"identity of {self.target}", self.old_identity, column.identity)
            require_recorded(
                f"identity sequence of {self.target}", self.old_options, effective(table.schema, table.name, column)
            )
            if self.old_identity is None:
                if column.nullable:
                    raise NotApplicable(f"column {self.target} must be NOT NULL before it becomes an identity column")
                if column.default is not None:
                    raise NotApplicable(f"column {self.target} has a default; drop it before adding an identity")
            changed = replace(column, identity=self.identity)
            return update_column(table, self.column, lambda _c: stored(table.schema, table.name, changed, self.options))

        return update_table(graph, self.table, change)


__all__ = ["AlterIdentity"]
