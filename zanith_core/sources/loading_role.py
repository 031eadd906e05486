"""The role declared SQL runs as: on a superuser's connection, a throwaway role that cannot act on the server.

The guard (:mod:`.guard`) refuses statements that act outside the database, but it reads statements, not
what a function called while an object is created does (a materialized view's query, a non-volatile
default). So when zanith's connection to the scratch database is a superuser's, the declared statements
run as a fresh ``NOLOGIN`` role with no attribute (not superuser, no ``CREATEDB``, ``CREATEROLE``,
``REPLICATION`` or ``BYPASSRLS``), named ``zanith_load_<pid>_<random>``. For the load it owns the scratch
database and its existing schemas, so it can create anything inside them; it cannot read server files,
create roles or databases, or touch another database. On a connection that is not a superuser's the
statements run as that role, which already cannot do more than it was given.

Three kinds of statement are not the role's:

- **extensions** (``CREATE``/``ALTER``/``DROP EXTENSION``, ``COMMENT ON EXTENSION``) run as the connecting
  role: most extensions need a superuser, and their scripts are the server's installed files, not
  declared code;
- **ownership changes** (``ALTER ... OWNER TO``, every command of an ``ALTER TABLE`` one) are collected
  and run as the connecting role once every other statement ran: the role cannot give an object away to
  a role it is not a member of, and until the end it stays the owner, so later statements still may
  alter the object;
- nothing else: a function in an untrusted language, a base type, a foreign-data wrapper or an access
  method needs a superuser and fails to load under the role (use ``shadow_url`` with a role that may).

When the load ends — also when it fails — everything the role owns passes to the connecting role, the
database and schemas go back to their owners, and the role is dropped (only a process killed during the
load leaves its ``zanith_load_*`` role behind: ``DROP OWNED BY`` it, then ``DROP ROLE``). Objects then
look exactly as if the connecting role had created them (owners and the grantors of privileges included).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from pglast import ast
from pglast.enums.parsenodes import AlterTableType, ObjectType
from psycopg import sql

from ..errors import SourceError
from ..servers import connect
from .guard import Statement

ROLE_PREFIX = "zanith_load_"
CHUNK = 100
"""Declared statements per round trip (see :meth:`LoadingSession.run_script`): few enough that one
chunk's locks fit a default server's lock table."""

#: What a statement whose execution failed becomes: the caller's error for it (it raises).
Failure = Callable[[Statement, psycopg.Error], None]

_INSUFFICIENT_PRIVILEGE = "42501"
_EXTENSION = (ast.CreateExtensionStmt, ast.AlterExtensionStmt, ast.AlterExtensionContentsStmt)


@dataclass
class LoadingSession:
    """Runs vetted statements on an autocommit connection, as :attr:`role` when there is one."""

    conn: psycopg.Connection
    role: str | None
    deferred: list[tuple[Statement, Failure]] = field(default_factory=list)

    def run(self, statement: Statement, failed: Failure) -> None:
        """Execute ``statement`` (or, for an ownership change under the role, keep it for :meth:`finish`);
        on an error call ``failed``."""
        if self.role is not None and _changes_owner(statement.node):
            self.deferred.append((statement, failed))
            return
        if self.role is not None and _extension(statement.node):
            self.conn.execute("RESET ROLE")
            try:
                _execute(self.conn, statement, failed)
            finally:
                self.conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self.role)))
            return
        _execute(self.conn, statement, failed)

    def run_script(self, statements: Sequence[Statement], failed: Failure) -> None:
        """:meth:`run` every statement in order, sending up to :data:`CHUNK` at a time in one round trip.

        A chunk runs as one implicit transaction. When any of its statements fails, the chunk is rolled
        back whole and its statements run again one by one, so the error names the statement that failed
        and a statement that cannot share a transaction (``CREATE INDEX CONCURRENTLY``, a new enum value
        used at once) still loads, as if the script had been sent statement by statement.
        """
        chunk: list[Statement] = []
        for statement in statements:
            if self.role is not None and (_changes_owner(statement.node) or _extension(statement.node)):
                self._flush(chunk, failed)
                chunk = []
                self.run(statement, failed)
                continue
            chunk.append(statement)
            if len(chunk) == CHUNK:
                self._flush(chunk, failed)
                chunk = []
        self._flush(chunk, failed)

    def _flush(self, chunk: Sequence[Statement], failed: Failure) -> None:
        if len(chunk) > 1:
            try:
                self.conn.execute("\n;\n".join(s.text for s in chunk).encode())
                return
            except psycopg.Error:
                pass  # rolled back as a whole: run it again statement by statement, below
        for statement in chunk:
            _execute(self.conn, statement, failed)

    def advice(self, exc: psycopg.Error) -> str | None:
        """What to do about a statement the role was not allowed to run (None for any other error)."""
        if self.role is None or exc.sqlstate != _INSUFFICIENT_PRIVILEGE:
            return None
        return (
            "declared SQL runs as a role that is not a superuser (see 'The role declared SQL runs as' in "
            "docs/declaring.md): declare only objects that role may create"
        )

    def finish(self) -> None:
        """Run the collected ownership changes as the connecting role, in their order."""
        if self.role is not None:
            self.conn.execute("RESET ROLE")
        for statement, failed in self.deferred:
            _execute(self.conn, statement, failed)


@contextmanager
def loading_session(conn: psycopg.Connection, url: str) -> Iterator[LoadingSession]:
    """A :class:`LoadingSession` on ``conn``, an autocommit connection to the scratch database at ``url``:
    under a throwaway role when ``conn`` is a superuser's, else as ``conn``'s own role (see module doc)."""
    if conn.info.parameter_status("is_superuser") != "on":
        yield LoadingSession(conn, None)
        return
    role = f"{ROLE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    owners = _owners(conn)
    try:
        conn.execute(
            sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS").format(
                sql.Identifier(role)
            )
        )
    except psycopg.Error as exc:
        raise SourceError(
            f"cannot create the role declared SQL is loaded as on the scratch server: {_message(exc)}"
        ) from None
    try:
        for statement in _hand_over(owners, role):
            conn.execute(statement)
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        yield LoadingSession(conn, role)
    finally:
        _drop_role(conn, url, role, owners)


@dataclass(frozen=True)
class _Owners:
    """The scratch database's owner and its existing schemas' owners, to give back after the load."""

    database: str
    owner: str
    schemas: tuple[tuple[str, str], ...]


def _owners(conn: psycopg.Connection) -> _Owners:
    row = conn.execute(
        "SELECT current_database(), datdba::regrole::text FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    schemas = conn.execute(
        "SELECT nspname, nspowner::regrole::text FROM pg_namespace WHERE nspname !~ '^pg_' "
        "AND nspname <> 'information_schema' AND nspowner::regrole::text <> 'pg_database_owner' ORDER BY nspname"
    ).fetchall()
    return _Owners(row[0], row[1], tuple((s, o) for s, o in schemas))


def _hand_over(owners: _Owners, role: str) -> list[sql.Composed]:
    """The database and its schemas to ``role`` (a schema owned by ``pg_database_owner`` follows the database)."""
    to = sql.Identifier(role)
    statements = [sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(owners.database), to)]
    statements += [sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(s), to) for s, _ in owners.schemas]
    return statements


def _drop_role(conn: psycopg.Connection, url: str, role: str, owners: _Owners) -> None:
    """Give everything ``role`` owns to the connecting role, the database and schemas back to their owners,
    and drop ``role``: on ``conn``, or on a new connection to the same database when ``conn`` broke."""
    name = sql.Identifier(role)
    statements = [
        sql.SQL("REASSIGN OWNED BY {} TO SESSION_USER").format(name),
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(owners.database), sql.Identifier(owners.owner)),
        *(
            sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(s), sql.Identifier(o))
            for s, o in owners.schemas
        ),
        sql.SQL("DROP OWNED BY {}").format(name),
        sql.SQL("DROP ROLE {}").format(name),
    ]
    if conn.closed or conn.broken:
        with connect(url) as fresh:
            for statement in statements:
                fresh.execute(statement)
        return
    conn.execute("RESET ROLE")
    for statement in statements:
        conn.execute(statement)


def _message(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or str(exc).strip().splitlines()[0]


def _execute(conn: psycopg.Connection, statement: Statement, failed: Failure) -> None:
    try:
        conn.execute(statement.text.encode())
    except psycopg.Error as exc:
        failed(statement, exc)


def _extension(node: object) -> bool:
    """An extension statement: the server's installed script runs, as the connecting role."""
    if isinstance(node, _EXTENSION):
        return True
    if isinstance(node, ast.DropStmt):
        return node.removeType == ObjectType.OBJECT_EXTENSION
    return isinstance(node, ast.CommentStmt) and node.objtype == ObjectType.OBJECT_EXTENSION


def _changes_owner(node: object) -> bool:
    """``ALTER <object> ... OWNER TO``, or an ``ALTER TABLE`` all of whose commands are ``OWNER TO``."""
    if isinstance(node, ast.AlterOwnerStmt):
        return True
    if isinstance(node, ast.AlterTableStmt) and node.cmds:
        return all(getattr(cmd, "subtype", None) == AlterTableType.AT_ChangeOwner for cmd in node.cmds)
    return False


__all__ = ["ROLE_PREFIX", "LoadingSession", "loading_session"]
