"""Who may do what: row-level security policies and granted privileges.

Values of the schema graph (:class:`~zanith_core.schema.graph.SchemaGraph` holds them and re-exports
them), kept apart so the graph module stays readable; like every graph value they are frozen and
compare structurally.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """A row-level security policy on a table."""

    table: str
    name: str
    command: str = "ALL"
    """``ALL``, ``SELECT``, ``INSERT``, ``UPDATE`` or ``DELETE``."""
    permissive: bool = True
    roles: tuple[str, ...] = ("public",)
    """Role names, sorted; ``public`` is every role."""
    using: str | None = None
    with_check: str | None = None

    @property
    def identity(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class Privilege:
    """One granted privilege: ``GRANT <privilege> ON <object_type> <names> TO <grantee>``.

    Only read when the project turns privileges on (``[tool.zanith] privileges = true``): role sets differ
    between environments. The owner's own privileges are never listed; ``grantee`` ``PUBLIC`` is every role
    (functions grant ``EXECUTE`` to ``PUBLIC`` unless it was revoked).
    """

    object_type: str
    """``table`` (also views and sequences' tables), ``sequence``, ``function``, ``procedure``, ``schema``."""
    names: tuple[str, ...]
    arguments: str | None = None
    grantee: str = "PUBLIC"
    privilege: str = "SELECT"
    grantable: bool = False

    @property
    def identity(self) -> str:
        args = f"({self.arguments})" if self.arguments is not None else ""
        return f"{self.object_type} {'.'.join(self.names)}{args}"
