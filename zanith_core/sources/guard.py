"""Declared SQL is schema SQL: every statement is vetted with PostgreSQL's parser before any of it runs.

A declared schema runs on a scratch database of a real server (the shadow server, maybe a shared one),
as the role zanith connects with — often a superuser. So a ``schema.sql`` holding ``DROP DATABASE
other_db``, ``CREATE ROLE``, ``ALTER SYSTEM`` or ``COPY ... PROGRAM`` would act on the whole server. The
whole text is parsed first (pglast) and each top-level statement is classified by its parse tree; a
statement outside the database's own objects is refused with its file and line, before anything ran.

What is refused, and why (docs/declaring.md keeps the same list):

- **the cluster** (*may only create objects inside the database*): databases, roles, users and groups,
  role membership (``GRANT role TO role``), ``REASSIGN OWNED``, ``DROP OWNED``, tablespaces,
  ``ALTER SYSTEM``, subscriptions, ``LOAD``, ``CHECKPOINT``, and comments, labels, owners, names and
  grants *on* a database, role, tablespace, parameter or subscription;
- **the session's identity** (*may not change the role it runs as*): ``SET ROLE``, ``SET SESSION
  AUTHORIZATION``, their ``RESET``, and ``set_config`` of either;
- **transactions** (*runs statement by statement*): ``BEGIN`` … ``COMMIT``, savepoints, prepared
  transactions, ``SET TRANSACTION``, ``SET CONSTRAINTS``, ``LOCK``;
- **running things at load** (*may only declare objects*): queries and data statements (``SELECT``,
  ``INSERT``, ``UPDATE``, ``DELETE``, ``MERGE``, ``TRUNCATE``, ``COPY``), ``DO``, ``CALL``, prepared
  statements and cursors, ``EXPLAIN``, maintenance (``VACUUM``, ``ANALYZE``, ``CLUSTER``, ``REINDEX``,
  ``REFRESH MATERIALIZED VIEW``), ``LISTEN``/``NOTIFY``/``DISCARD``, event triggers (they would run on
  the rest of the load) and ``IMPORT FOREIGN SCHEMA`` (it reads another server).

``SELECT pg_catalog.set_config('search_path', '', false)`` as ``pg_dump`` writes it (a ``set_config``
of constants, nothing else) is a setting, not a query, and is allowed like ``SET`` of any other
parameter. Everything else — tables, types, functions, views, materialized views, policies, grants on
objects, ``OWNER TO``, extensions, comments, publications, foreign servers — is schema and runs. Text
the parser cannot read is refused with its syntax error, and a statement kind this module does not list
(a newer parser's) is refused too: what cannot be read cannot be vetted.

What PostgreSQL itself evaluates while creating an object — the query of ``CREATE MATERIALIZED VIEW`` or
``CREATE TABLE ... AS``, a non-volatile default of ``ADD COLUMN`` — is part of declaring it and runs; a
parser cannot see what a function called there does. That is the loading role's job
(:mod:`.loading_role`): on a superuser's connection, declared SQL runs as a role without those powers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums.parsenodes import ObjectType, RoleStmtType, TransactionStmtKind, VariableSetKind
from pglast.parser import ParseError

from ..errors import SourceError

CLUSTER = "declared SQL may only create objects inside the database"
IDENTITY = "declared SQL may not change the role it runs as"
TRANSACTION = "declared SQL runs statement by statement and may not control transactions or locks"
RUNS = "declared SQL may only declare objects, not run code, queries or data statements when it is loaded"
UNKNOWN = "zanith cannot tell whether it stays inside the database"

#: Statement kinds refused whatever their details: (what the message calls it, why).
_REFUSED: dict[type[ast.Node], tuple[str, str]] = {
    ast.CreatedbStmt: ("CREATE DATABASE", CLUSTER),
    ast.DropdbStmt: ("DROP DATABASE", CLUSTER),
    ast.AlterDatabaseStmt: ("ALTER DATABASE", CLUSTER),
    ast.AlterDatabaseSetStmt: ("ALTER DATABASE", CLUSTER),
    ast.AlterDatabaseRefreshCollStmt: ("ALTER DATABASE", CLUSTER),
    ast.AlterRoleStmt: ("ALTER ROLE", CLUSTER),
    ast.AlterRoleSetStmt: ("ALTER ROLE", CLUSTER),
    ast.DropRoleStmt: ("DROP ROLE", CLUSTER),
    ast.ReassignOwnedStmt: ("REASSIGN OWNED", CLUSTER),
    ast.DropOwnedStmt: ("DROP OWNED", CLUSTER),
    ast.CreateTableSpaceStmt: ("CREATE TABLESPACE", CLUSTER),
    ast.DropTableSpaceStmt: ("DROP TABLESPACE", CLUSTER),
    ast.AlterTableSpaceOptionsStmt: ("ALTER TABLESPACE", CLUSTER),
    ast.AlterTableMoveAllStmt: ("ALTER ... ALL IN TABLESPACE", CLUSTER),
    ast.AlterSystemStmt: ("ALTER SYSTEM", CLUSTER),
    ast.CreateSubscriptionStmt: ("CREATE SUBSCRIPTION", CLUSTER),
    ast.AlterSubscriptionStmt: ("ALTER SUBSCRIPTION", CLUSTER),
    ast.DropSubscriptionStmt: ("DROP SUBSCRIPTION", CLUSTER),
    ast.LoadStmt: ("LOAD", CLUSTER),
    ast.CheckPointStmt: ("CHECKPOINT", CLUSTER),
    ast.LockStmt: ("LOCK", TRANSACTION),
    ast.ConstraintsSetStmt: ("SET CONSTRAINTS", TRANSACTION),
    ast.InsertStmt: ("INSERT", RUNS),
    ast.UpdateStmt: ("UPDATE", RUNS),
    ast.DeleteStmt: ("DELETE", RUNS),
    ast.MergeStmt: ("MERGE", RUNS),
    ast.TruncateStmt: ("TRUNCATE", RUNS),
    ast.DoStmt: ("DO", RUNS),
    ast.CallStmt: ("CALL", RUNS),
    ast.ExecuteStmt: ("EXECUTE", RUNS),
    ast.PrepareStmt: ("PREPARE", RUNS),
    ast.DeallocateStmt: ("DEALLOCATE", RUNS),
    ast.DeclareCursorStmt: ("DECLARE CURSOR", RUNS),
    ast.FetchStmt: ("FETCH", RUNS),
    ast.ClosePortalStmt: ("CLOSE", RUNS),
    ast.ExplainStmt: ("EXPLAIN", RUNS),
    ast.ClusterStmt: ("CLUSTER", RUNS),
    ast.ReindexStmt: ("REINDEX", RUNS),
    ast.RefreshMatViewStmt: ("REFRESH MATERIALIZED VIEW", RUNS),
    ast.DiscardStmt: ("DISCARD", RUNS),
    ast.ListenStmt: ("LISTEN", RUNS),
    ast.UnlistenStmt: ("UNLISTEN", RUNS),
    ast.NotifyStmt: ("NOTIFY", RUNS),
    ast.CreateEventTrigStmt: ("CREATE EVENT TRIGGER", RUNS),
    ast.AlterEventTrigStmt: ("ALTER EVENT TRIGGER", RUNS),
    ast.ImportForeignSchemaStmt: ("IMPORT FOREIGN SCHEMA", RUNS),
    # Only ever nested in another statement or a PL/pgSQL body, never a statement of a script:
    ast.PLAssignStmt: ("a PL/pgSQL assignment", RUNS),
    ast.ReturnStmt: ("RETURN", RUNS),
    ast.SetOperationStmt: ("SELECT", RUNS),
    ast.RawStmt: ("a nested statement", RUNS),
}

#: Statement kinds that create, change or drop objects of the database: schema SQL (those naming a
#: shared object are still refused, :func:`_on_shared_object`).
SCHEMA_STATEMENTS: frozenset[type[ast.Node]] = frozenset(
    {
        ast.AlterCollationStmt, ast.AlterDefaultPrivilegesStmt, ast.AlterDomainStmt, ast.AlterEnumStmt,
        ast.AlterExtensionContentsStmt, ast.AlterExtensionStmt, ast.AlterFdwStmt, ast.AlterForeignServerStmt,
        ast.AlterFunctionStmt, ast.AlterObjectDependsStmt, ast.AlterObjectSchemaStmt, ast.AlterOpFamilyStmt,
        ast.AlterOperatorStmt, ast.AlterOwnerStmt, ast.AlterPolicyStmt, ast.AlterPublicationStmt,
        ast.AlterSeqStmt, ast.AlterStatsStmt, ast.AlterTSConfigurationStmt, ast.AlterTSDictionaryStmt,
        ast.AlterTableStmt, ast.AlterTypeStmt, ast.AlterUserMappingStmt, ast.CommentStmt, ast.CompositeTypeStmt,
        ast.CreateAmStmt, ast.CreateCastStmt, ast.CreateConversionStmt, ast.CreateDomainStmt, ast.CreateEnumStmt,
        ast.CreateExtensionStmt, ast.CreateFdwStmt, ast.CreateForeignServerStmt, ast.CreateForeignTableStmt,
        ast.CreateFunctionStmt, ast.CreateOpClassStmt, ast.CreateOpFamilyStmt, ast.CreatePLangStmt,
        ast.CreatePolicyStmt, ast.CreatePublicationStmt, ast.CreateRangeStmt, ast.CreateSchemaStmt,
        ast.CreateSeqStmt, ast.CreateStatsStmt, ast.CreateStmt, ast.CreateTableAsStmt, ast.CreateTransformStmt,
        ast.CreateTrigStmt, ast.CreateUserMappingStmt, ast.DefineStmt, ast.DropStmt, ast.DropUserMappingStmt,
        ast.GrantStmt, ast.IndexStmt, ast.RenameStmt, ast.ReplicaIdentityStmt, ast.RuleStmt, ast.SecLabelStmt,
        ast.ViewStmt, ast.VariableShowStmt,
    }
)  # fmt: skip

#: Objects that belong to the server, not to a database: what the message calls them.
_SHARED_OBJECTS = {
    ObjectType.OBJECT_DATABASE: "DATABASE",
    ObjectType.OBJECT_ROLE: "ROLE",
    ObjectType.OBJECT_TABLESPACE: "TABLESPACE",
    ObjectType.OBJECT_PARAMETER_ACL: "PARAMETER",
    ObjectType.OBJECT_SUBSCRIPTION: "SUBSCRIPTION",
}

#: Settings that are the session's identity (``SET ROLE``, ``SET SESSION AUTHORIZATION``).
_IDENTITY_SETTINGS = {"role": "ROLE", "session_authorization": "SESSION AUTHORIZATION"}

_TRANSACTION_WORDS = {
    TransactionStmtKind.TRANS_STMT_START: "START TRANSACTION",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
}

#: The fields of a ``SELECT`` that are empty in a bare one (a pg_dump ``set_config`` line, ``SELECT (expr)``).
_SELECT_CLAUSES = (
    "distinctClause", "intoClause", "fromClause", "whereClause", "groupClause", "havingClause",
    "windowClause", "valuesLists", "sortClause", "limitOffset", "limitCount", "lockingClause",
    "withClause", "larg", "rarg",
)  # fmt: skip


class NotSchemaSql(SourceError):
    """Declared SQL holds a statement that acts outside the database's objects; nothing of it ran."""


@dataclass(frozen=True)
class Statement:
    """One statement of a declared script, as it will run."""

    start: int
    """Where its first token is in the script (characters)."""
    text: str
    node: Any = field(default=None, compare=False, repr=False)
    """Its parse tree (a pglast ``ast`` node)."""


def schema_statements(text: str, origin: str, *, generated: bool = False) -> tuple[Statement, ...]:
    """The statements of the declared script ``text``, each vetted as schema SQL.

    Raises :class:`NotSchemaSql` naming ``origin`` and the line (or, for DDL zanith generated, quoting
    the statement) for the first statement that is not schema SQL, and a :class:`SourceError` with the
    line and column of a syntax error for text the parser cannot read.
    """
    try:
        parsed = parse_sql(text)
    except ParseError as exc:
        message, index = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
        line, column = position(text, len(text.rstrip()) if index is None else int(index))  # None: at end of input
        raise SourceError(f"{origin}: {message}" if generated else f"{origin}:{line}:{column}: {message}") from None
    statements = []
    for raw in parsed:
        start: int = raw.stmt_location or 0
        body = text[start : start + raw.stmt_len] if raw.stmt_len else text[start:]
        refusal = refused(raw.stmt)
        if refusal is not None:
            label, reason = refusal
            where = f"{origin}: " if generated else f"{origin}:{position(text, start)[0]}: "
            quoted = f" (in: {snippet(body)})" if generated else ""
            raise NotSchemaSql(f"{where}{label} is not schema SQL: {reason} (refused before anything ran){quoted}")
        statements.append(Statement(start, body, raw.stmt))
    return tuple(statements)


def refused(stmt: Any) -> tuple[str, str] | None:
    """``(what, why)`` when the parsed top-level statement ``stmt`` is not schema SQL, else None."""
    kind = type(stmt)
    if kind in _REFUSED:
        return _REFUSED[kind]
    if isinstance(stmt, ast.CreateSchemaStmt):  # CREATE SCHEMA s CREATE TABLE ... GRANT ...
        return next((r for r in map(refused, stmt.schemaElts or ()) if r is not None), None)
    if isinstance(stmt, ast.VariableSetStmt):
        return _setting(stmt)
    if isinstance(stmt, ast.TransactionStmt):
        verb = TransactionStmtKind(stmt.kind or 0)
        return _TRANSACTION_WORDS.get(verb, verb.name.removeprefix("TRANS_STMT_").replace("_", " ")), TRANSACTION
    if isinstance(stmt, ast.SelectStmt):
        return _select(stmt)
    if isinstance(stmt, ast.CopyStmt):
        if stmt.is_program:
            return "COPY ... PROGRAM", RUNS
        return ("COPY ... TO/FROM a file" if stmt.filename else "COPY"), RUNS
    if isinstance(stmt, ast.VacuumStmt):
        return ("VACUUM" if stmt.is_vacuumcmd else "ANALYZE"), RUNS
    if isinstance(stmt, ast.CreateRoleStmt):  # CREATE ROLE, CREATE USER, CREATE GROUP
        return f"CREATE {RoleStmtType(stmt.stmt_type or 0).name.removeprefix('ROLESTMT_')}", CLUSTER
    if isinstance(stmt, ast.GrantRoleStmt):
        return ("GRANT role TO role" if stmt.is_grant else "REVOKE role FROM role"), CLUSTER
    if kind in SCHEMA_STATEMENTS:
        return _on_shared_object(stmt)
    return f"{kind.__name__.removesuffix('Stmt')} (a statement kind zanith does not know)", UNKNOWN


def _on_shared_object(stmt: Any) -> tuple[str, str] | None:
    """A comment, label, owner, name or grant on a database, role, tablespace, parameter or subscription."""
    forms: dict[type[ast.Node], tuple[str, str]] = {
        ast.CommentStmt: ("objtype", "COMMENT ON {}"),
        ast.SecLabelStmt: ("objtype", "SECURITY LABEL ON {}"),
        ast.AlterOwnerStmt: ("objectType", "ALTER {} ... OWNER TO"),
        ast.RenameStmt: ("renameType", "ALTER {} ... RENAME TO"),
        ast.GrantStmt: ("objtype", "GRANT ... ON {}"),
    }
    form = forms.get(type(stmt))
    if form is None:
        return None
    field, label = form
    kind = _SHARED_OBJECTS.get(getattr(stmt, field))
    if kind is None:
        return None
    if isinstance(stmt, ast.GrantStmt) and not stmt.is_grant:
        label = "REVOKE ... ON {}"
    return label.format(kind), CLUSTER


def _setting(stmt: ast.VariableSetStmt) -> tuple[str, str] | None:
    """``SET ROLE`` and kin are refused, as is ``SET TRANSACTION``; any other parameter is a setting."""
    name = (stmt.name or "").lower()
    if name in _IDENTITY_SETTINGS:
        verb = "RESET" if stmt.kind == VariableSetKind.VAR_RESET else "SET"
        return f"{verb} {_IDENTITY_SETTINGS[name]}", IDENTITY
    if stmt.kind == VariableSetKind.VAR_SET_MULTI:  # SET TRANSACTION, SET SESSION CHARACTERISTICS
        return f"SET {stmt.name}", TRANSACTION
    return None


def _select(stmt: ast.SelectStmt) -> tuple[str, str] | None:
    """A top-level query is refused, except ``SELECT set_config(<constants>)`` as pg_dump writes it."""
    if not is_bare_select(stmt):
        return "SELECT", RUNS
    for target in stmt.targetList or ():
        call = target.val
        if not isinstance(call, ast.FuncCall) or _function_name(call) not in ("set_config", "pg_catalog.set_config"):
            return "SELECT", RUNS
        args = call.args or ()
        if len(args) != 3 or not all(isinstance(a, ast.A_Const) for a in args):
            return "SELECT", RUNS
        if str(getattr(args[0].val, "sval", "")).lower() in _IDENTITY_SETTINGS:
            return "SELECT set_config('role' or 'session_authorization', ...)", IDENTITY
    return None


def is_bare_select(stmt: ast.SelectStmt) -> bool:
    """A ``SELECT`` of a target list and nothing else: no ``FROM``, ``WHERE``, ``WITH``, set operation, ..."""
    return bool(stmt.targetList) and not any(getattr(stmt, clause) for clause in _SELECT_CLAUSES)


def _function_name(call: ast.FuncCall) -> str:
    return ".".join(str(getattr(part, "sval", "")) for part in call.funcname or ())


def position(text: str, offset: int) -> tuple[int, int]:
    """``(line, column)`` of the character at ``offset`` in ``text``, both counted from 1."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def snippet(statement: str) -> str:
    """A statement on one line, at most 120 characters."""
    text = " ".join(statement.split())
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = [
    "CLUSTER",
    "IDENTITY",
    "RUNS",
    "SCHEMA_STATEMENTS",
    "TRANSACTION",
    "UNKNOWN",
    "NotSchemaSql",
    "Statement",
    "is_bare_select",
    "position",
    "refused",
    "schema_statements",
    "snippet",
]
