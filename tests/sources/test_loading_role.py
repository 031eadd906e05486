"""On a superuser's connection, declared SQL runs as a throwaway role that cannot act on the server
(zanith_core.sources.loading_role); the role is gone afterwards, whatever happened, and what was created
looks as if the connecting role had created it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support import live
from verify_support import make_project, project_config

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.errors import SourceError
from zanith_core.servers import Server, connect
from zanith_core.sources import load_schema
from zanith_core.sources.guard import schema_statements
from zanith_core.sources.loading_role import ROLE_PREFIX, loading_session
from zanith_core.verify import verify_on_shadow


def loading_roles(server: Server) -> list[str]:
    with connect(server.url) as conn:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{ROLE_PREFIX}{os.getpid()}_%",))
        return [r[0] for r in rows]


@pytest.fixture
def no_role_left(zanith_shadow: Server) -> Iterator[None]:
    """The test leaves no loading role of this process behind (none exists before it either)."""
    assert loading_roles(zanith_shadow) == []
    yield
    assert loading_roles(zanith_shadow) == []


def error_of(tmp_path: Path, server: Server, text: str) -> str:
    path = tmp_path / "schema.sql"
    path.write_text(text)
    with pytest.raises(SourceError) as info:
        load_schema(path, server=server)
    return str(info.value).removeprefix(f"{path}:")


def test_declared_sql_runs_as_a_throwaway_role_that_is_dropped_after(
    tmp_path: Path, zanith_shadow: Server, no_role_left: None
) -> None:
    # A query run while a table is created reveals who runs it (in the error its cast raises).
    message = error_of(tmp_path, zanith_shadow, "CREATE TABLE who AS SELECT ('user=' || current_user)::int;\n")
    assert message.startswith(f'1:1: invalid input syntax for type integer: "user={ROLE_PREFIX}{os.getpid()}_')


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("PERFORM pg_read_file('/etc/hostname')", "permission denied for function pg_read_file"),
        ("EXECUTE 'CREATE ROLE zanith_evil SUPERUSER'", "permission denied to create role|must be superuser to create"),
        ("EXECUTE format('ALTER DATABASE %I RENAME TO zanith_gone', '{db}')", "must be owner of database {db}"),
        ("EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 0', '{db}')", "must be owner of database {db}"),
        ("EXECUTE 'ALTER ROLE CURRENT_USER SUPERUSER'", "permission denied to alter role|must be superuser to alter"),
    ],
    ids=["read-server-file", "create-role", "rename-database", "limit-database", "become-superuser"],
)
def test_a_function_run_at_load_cannot_act_on_the_server(
    tmp_path: Path, zanith_shadow: Server, sentinel: str, no_role_left: None, body: str, error: str
) -> None:
    """What the guard cannot see — a function called while a table is created — meets the role's limits.
    (``a|b``: the wording of PostgreSQL 16 and later, or of 15.)"""
    schema = (
        "CREATE FUNCTION sneaky() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN\n"
        f"    {body.format(db=sentinel)}; RETURN 1;\nEND $f$;\n"
        "CREATE TABLE t AS SELECT sneaky();\n"
    )
    message = error_of(tmp_path, zanith_shadow, schema)
    assert message.startswith("4:1: ") and any(e in message for e in error.format(db=sentinel).split("|")), message
    with connect(zanith_shadow.url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (sentinel,)).fetchone() == (1,)
        assert conn.execute("SELECT datconnlimit FROM pg_database WHERE datname = %s", (sentinel,)).fetchone() == (-1,)
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'zanith_evil'").fetchone() == (0,)


def test_objects_and_privileges_look_as_if_the_connecting_role_made_them(
    zanith_shadow: Server, grantee_roles: tuple[str, str], tmp_path: Path, no_role_left: None
) -> None:
    reader, writer = grantee_roles
    statements = [
        "CREATE SCHEMA app",
        "CREATE TABLE app.t (id int PRIMARY KEY, note text)",
        f'GRANT SELECT ON app.t TO "{reader}"',
        f'GRANT USAGE ON SCHEMA app TO "{writer}"',
        "CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC",
        f'GRANT EXECUTE ON FUNCTION app.f() TO "{writer}"',
        f'CREATE POLICY p ON app.t TO "{reader}" USING (id > 0)',
    ]
    path = tmp_path / "schema.sql"
    path.write_text("".join(f"{s};\n" for s in statements))
    declared = load_schema(path, server=zanith_shadow, schemas=("app",), privileges=True)
    with zanith_shadow.scratch_database(prefix="zanith_direct") as url:
        with connect(url) as conn:
            for statement in statements:
                conn.execute(statement.encode())
        direct = live(url, ("app",), privileges=True)
    assert declared == direct
    assert {p.grantee for p in declared.privileges} == {reader, writer}


def test_extensions_run_as_the_connecting_role_and_owner_changes_after_the_load(
    zanith_db: ZanithDatabase, grantee_roles: tuple[str, str], no_role_left: None
) -> None:
    reader, writer = grantee_roles
    text = (
        "CREATE EXTENSION dblink;\n"  # not trusted: a superuser's only
        "COMMENT ON EXTENSION dblink IS 'links';\n"
        "CREATE TABLE t (id int);\n"
        f'ALTER TABLE t OWNER TO "{reader}";\n'  # the role is no member of reader: run at the end
        "ALTER TABLE t ADD COLUMN note text;\n"  # so the role still owns t here
        f'GRANT SELECT ON t TO "{writer}";\n'
    )
    with loading_session(zanith_db.conn, zanith_db.url) as session:
        assert session.role is not None and session.role.startswith(ROLE_PREFIX)
        for statement in schema_statements(text, "schema.sql"):
            session.run(statement, lambda s, exc: pytest.fail(f"{s.text}: {exc}"))
        session.finish()
    conn = zanith_db.conn
    owner = conn.execute("SELECT relowner::regrole::text, relacl::text FROM pg_class WHERE relname = 't'").fetchone()
    all_of_a_table = "arwdDxtm" if conn.info.server_version >= 170000 else "arwdDxt"  # MAINTAIN came in 17
    assert owner == (reader, f"{{{reader}={all_of_a_table}/{reader},{writer}=r/{reader}}}")
    assert conn.execute("SELECT current_user = session_user").fetchone() == (True,)
    datdba = conn.execute("SELECT datdba::regrole::text FROM pg_database WHERE datname = current_database()")
    public = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'")
    assert (datdba.fetchone(), public.fetchone()) == (("postgres",), ("pg_database_owner",))


def test_the_role_is_dropped_after_a_failed_statement_and_after_a_broken_connection(
    zanith_shadow: Server, zanith_db: ZanithDatabase, no_role_left: None
) -> None:
    with pytest.raises(RuntimeError), loading_session(zanith_db.conn, zanith_db.url) as session:
        session.run(schema_statements("CREATE TABLE t (id int)", "s.sql")[0], lambda s, exc: None)
        raise RuntimeError("the load failed")
    assert zanith_db.conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 't'").fetchone() == (1,)
    with connect(zanith_db.url) as conn, pytest.raises(Exception), loading_session(conn, zanith_db.url) as session:  # noqa: B017
        session.run(schema_statements("CREATE TABLE u (id int)", "s.sql")[0], lambda s, exc: None)
        with connect(zanith_shadow.url) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        conn.execute("SELECT 1")


def test_a_shadow_database_lent_to_the_load_gets_its_owners_back(
    tmp_path: Path, zanith_db: ZanithDatabase, no_role_left: None
) -> None:
    """verify normalises the declared schema in the shadow itself (reset: public is the superuser's, not
    pg_database_owner's); the role borrows the database and public for the load and gives them back."""
    folder = make_project(tmp_path)
    verdict = verify_on_shadow(project_config(folder), shadow_url=zanith_db.url)
    assert verdict.ok, verdict.render()
    conn = zanith_db.conn
    datdba = conn.execute("SELECT datdba::regrole::text FROM pg_database WHERE datname = current_database()")
    public = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'")
    assert (datdba.fetchone(), public.fetchone()) == (("postgres",), ("postgres",))


def test_a_connection_that_is_not_a_superusers_runs_declared_sql_as_itself(
    tmp_path: Path, zanith_shadow: Server, no_role_left: None
) -> None:
    role = f"zanith_plain_{os.getpid()}_{secrets.token_hex(3)}"
    with connect(zanith_shadow.url) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(role)))
    try:
        plain = Server(url=make_conninfo(zanith_shadow.url, user=role), kind="url")
        message = error_of(tmp_path, plain, "CREATE TABLE who AS SELECT ('user=' || current_user)::int;\n")
    finally:
        with connect(zanith_shadow.url) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert message == f'1:1: invalid input syntax for type integer: "user={role}"'


def test_what_only_a_superuser_may_declare_is_refused_by_the_server_with_advice(
    tmp_path: Path, zanith_shadow: Server, no_role_left: None
) -> None:
    text = (
        "CREATE TABLE t (id int);\nALTER DEFAULT PRIVILEGES FOR ROLE SESSION_USER GRANT SELECT ON TABLES TO PUBLIC;\n"
    )
    denied = ("permission denied to change default privileges", 'must be member of role "postgres"')  # 16+, 15
    advice = (
        ": declared SQL runs as a role that is not a superuser "
        "(see 'The role declared SQL runs as' in docs/declaring.md): declare only objects that role may create"
    )
    assert error_of(tmp_path, zanith_shadow, text) in {f"2:1: {d}{advice}" for d in denied}
