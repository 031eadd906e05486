"""Schemas, extensions, comments, privileges and row-level security switches.

These are not families of named definition values: each op carries exactly what its SQL names, and
its reversal is the opposite op.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from psycopg import sql

from ...errors import Irreversible
from ...schema.graph import (
    Comment,
    Extension,
    Privilege,
    SchemaGraph,
)
from ...schema.queries import NotApplicable, schema_objects
from ...sql.definitions import (
    create_extension,
    create_schema,
    drop_extension,
    drop_schema,
    grant,
    revoke,
    update_extension,
)
from ...sql.tables import row_security
from ..altering import TableOperation, check_identifier
from ..base import Lock, Operation, Stage, Statement
from ..effects import require_recorded, update_table
from .family import (
    comment_statement,
    comment_text,
    with_comment,
    without_attached,
)


@dataclass(frozen=True)
class CreateSchema(Operation):
    kind = "create_schema"
    stage = Stage.MIDDLE
    default_lock = Lock.NONE
    name: str
    comment: str | None = None

    @property
    def target(self) -> str:
        return self.name

    def validate(self) -> None:
        check_identifier("schema name", self.name)

    def statements(self) -> tuple[Statement, ...]:
        create = sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.name))
        return (create, *((comment_statement(("schema", (self.name,), None), self.comment),) if self.comment else ()))

    def reverse(self) -> Operation:
        return DropSchema(self.name, self.comment)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.name in graph.schemas:
            raise NotApplicable(f"schema {self.name} already exists")
        return with_comment(
            replace(graph, schemas=(*graph.schemas, self.name)), ("schema", (self.name,), None), self.comment
        )


@dataclass(frozen=True)
class DropSchema(CreateSchema):
    """``DROP SCHEMA`` (never CASCADE: everything in it is dropped by its own op first)."""

    kind = "drop_schema"
    stage = Stage.DROP_NAMESPACE

    def statements(self) -> tuple[Statement, ...]:
        return (drop_schema(self.name),)

    def reverse(self) -> Operation:
        return CreateSchema(self.name, self.comment)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.name not in graph.schemas:
            raise NotApplicable(f"schema {self.name} does not exist")
        require_recorded(
            f"comment on schema {self.name}", self.comment, comment_text(graph, ("schema", (self.name,), None))
        )
        held = schema_objects(graph, self.name)
        if held:
            raise NotApplicable(f"schema {self.name} still holds {', '.join(held[:5])}; drop those first")
        graph = without_attached(graph, "schema", (self.name,), None)
        return replace(graph, schemas=tuple(s for s in graph.schemas if s != self.name))


@dataclass(frozen=True)
class CreateExtension(Operation):
    """``CREATE EXTENSION IF NOT EXISTS ... WITH SCHEMA``; the objects it brings are never drift.

    ``create_schema``: the extension goes into a schema the project does not manage (not among its
    ``schemas``, so no ``create_schema`` op makes it), e.g. pg_dump's ``CREATE SCHEMA extensions``:
    ``CREATE SCHEMA IF NOT EXISTS`` runs first. Its reversal leaves that schema in place.
    """

    kind = "create_extension"
    stage = Stage.MIDDLE
    default_lock = Lock.NONE
    extension: Extension
    create_schema: bool = False

    @property
    def target(self) -> str:
        return self.extension.name

    def statements(self) -> tuple[Statement, ...]:
        schema = (create_schema(self.extension.schema),) if self.create_schema else ()
        return (*schema, create_extension(self.extension))

    def reverse(self) -> Operation:
        return DropExtension(self.extension)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if any(e.name == self.extension.name for e in graph.extensions):
            raise NotApplicable(f"extension {self.extension.name} already exists")
        return replace(graph, extensions=(*graph.extensions, self.extension))


@dataclass(frozen=True)
class DropExtension(CreateExtension):
    """``DROP EXTENSION`` (never CASCADE: columns of its types are changed first)."""

    kind = "drop_extension"
    stage = Stage.DROP_NAMESPACE

    def statements(self) -> tuple[Statement, ...]:
        return (drop_extension(self.extension),)

    def reverse(self) -> Operation:
        return CreateExtension(self.extension)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        if self.extension not in graph.extensions:
            raise NotApplicable(f"extension {self.extension.name} is not installed as recorded")
        return replace(graph, extensions=tuple(e for e in graph.extensions if e != self.extension))


@dataclass(frozen=True)
class UpdateExtension(Operation):
    """``ALTER EXTENSION ... UPDATE [TO version]``: runs the extension's update scripts from ``previous``
    to ``version`` (None: the server's default version). Generate refuses a version the server has no
    update path to. It has no automatic reversal: extensions ship upgrade scripts, almost never downgrade
    ones, so going back is a drop and a ``CREATE EXTENSION ... VERSION`` with what uses it, by hand."""

    kind = "update_extension"
    stage = Stage.MIDDLE
    default_lock = Lock.NONE
    name: str
    version: str | None = None
    previous: str | None = None

    @property
    def target(self) -> str:
        return self.name

    def validate(self) -> None:
        check_identifier("extension name", self.name)

    def statements(self) -> tuple[Statement, ...]:
        return (update_extension(self.name, self.version),)

    def reverse(self) -> Operation:
        raise Irreversible(
            f"update_extension {self.name}: extensions ship no downgrade scripts as a rule; going back to "
            f"version {self.previous or 'default'} is a DROP EXTENSION and CREATE EXTENSION ... VERSION, by hand"
        )

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        current = next((e for e in graph.extensions if e.name == self.name), None)
        if current is None:
            raise NotApplicable(f"extension {self.name} is not installed")
        require_recorded(f"extension {self.name}'s version", self.previous, current.version)
        updated = replace(current, version=self.version, updates=())
        return replace(graph, extensions=(*(e for e in graph.extensions if e.name != self.name), updated))


@dataclass(frozen=True)
class SetComment(Operation):
    """``COMMENT ON <object> IS <text>`` (``text`` None removes it); ``previous`` is the text it replaces."""

    kind = "set_comment"
    stage = Stage.MIDDLE
    default_lock = Lock.SHARE_UPDATE_EXCLUSIVE
    """On a table, column or view; a comment on any other object locks no table."""
    object_type: str
    names: tuple[str, ...]
    arguments: str | None = None
    text: str | None = None
    previous: str | None = None

    @property
    def target(self) -> str:
        return Comment(self.object_type, self.names, self.arguments).identity

    @property
    def lock(self) -> Lock:
        return self.default_lock if self.object_type in ("table", "column", "view", "materialized view") else Lock.NONE

    def statements(self) -> tuple[Statement, ...]:
        return (comment_statement((self.object_type, self.names, self.arguments), self.text),)

    def reverse(self) -> Operation:
        return SetComment(self.object_type, self.names, self.arguments, self.previous, self.text)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        target = (self.object_type, self.names, self.arguments)
        require_recorded(f"comment on {self.target}", self.previous, comment_text(graph, target))
        return with_comment(graph, target, self.text)


@dataclass(frozen=True)
class Grant(Operation):
    """``GRANT <privilege> ON <object> TO <grantee>`` (only generated when privileges are managed)."""

    kind = "grant"
    stage = Stage.MIDDLE
    default_lock = Lock.NONE
    privilege: Privilege

    @property
    def target(self) -> str:
        return f"{self.privilege.identity}: {self.privilege.privilege} to {self.privilege.grantee}"

    def statements(self) -> tuple[Statement, ...]:
        return (grant(self.privilege),)

    def reverse(self) -> Operation:
        return Revoke(self.privilege)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        """Granting what is granted changes nothing (a new routine's implicit ``PUBLIC`` ``EXECUTE``)."""
        return replace(graph, privileges=(*_other_privileges(graph, self.privilege), self.privilege))


@dataclass(frozen=True)
class Revoke(Grant):
    kind = "revoke"
    stage = Stage.MIDDLE

    def statements(self) -> tuple[Statement, ...]:
        return (revoke(self.privilege),)

    def reverse(self) -> Operation:
        return Grant(self.privilege)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        """Revoking what is not granted changes nothing, like in Postgres (a warning at most)."""
        return replace(graph, privileges=_other_privileges(graph, self.privilege))


def _other_privileges(graph: SchemaGraph, privilege: Privilege) -> tuple[Privilege, ...]:
    same = (privilege.object_type, privilege.names, privilege.arguments, privilege.grantee, privilege.privilege)
    return tuple(p for p in graph.privileges if (p.object_type, p.names, p.arguments, p.grantee, p.privilege) != same)


@dataclass(frozen=True)
class _RowSecurity(TableOperation):
    stage = Stage.MIDDLE
    flag: ClassVar[str]
    value: ClassVar[bool]
    opposite: ClassVar[str]

    def statements(self) -> tuple[Statement, ...]:
        return row_security(self.target, **{self.flag.removeprefix("rls_"): self.value})

    def reverse(self) -> Operation:
        return OPPOSITES[self.opposite](self.table)

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        table = graph.table(self.target)
        if table is None:
            raise NotApplicable(f"table {self.target} does not exist")
        if getattr(table, self.flag) == self.value:
            raise NotApplicable(f"{self.kind} {self.target}: row-level security is already in that state")
        flags = {self.flag: self.value}
        return update_table(graph, self.target, lambda t: replace(t, **flags))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EnableRls(_RowSecurity):
    """``ENABLE ROW LEVEL SECURITY``: from then on a role sees only the rows a policy lets it see —
    none when the table has no policy (owners excepted unless the table also forces it)."""

    kind = "enable_rls"
    flag, value, opposite = "rls_enabled", True, "disable_rls"


@dataclass(frozen=True)
class DisableRls(_RowSecurity):
    kind = "disable_rls"
    flag, value, opposite = "rls_enabled", False, "enable_rls"


@dataclass(frozen=True)
class ForceRls(_RowSecurity):
    """``FORCE ROW LEVEL SECURITY``: the table's owner is subject to its policies too."""

    kind = "force_rls"
    flag, value, opposite = "rls_forced", True, "no_force_rls"


@dataclass(frozen=True)
class NoForceRls(_RowSecurity):
    kind = "no_force_rls"
    flag, value, opposite = "rls_forced", False, "force_rls"


OPPOSITES: dict[str, type[_RowSecurity]] = {c.kind: c for c in (EnableRls, DisableRls, ForceRls, NoForceRls)}
