"""Declared SQL is schema SQL: a statement that acts outside the database is refused with its file and line
before anything ran (zanith_core.sources.guard), and the server it would have harmed is untouched."""

from __future__ import annotations

import inspect
import secrets
from pathlib import Path

import pytest
from pglast import ast
from psycopg import sql
from support import FIXTURES, project, scratch_databases, zanith

from zanith_core.errors import SourceError
from zanith_core.servers import Server, connect
from zanith_core.sources import load_schema
from zanith_core.sources.guard import (
    CLUSTER,
    IDENTITY,
    RUNS,
    SCHEMA_STATEMENTS,
    TRANSACTION,
    UNKNOWN,
    NotSchemaSql,
    refused,
    schema_statements,
)

PREAMBLE = "-- a schema with one table first\nCREATE TABLE users (id integer PRIMARY KEY);\n\n"
#: The hostile statement sits on this line of the file (after the preamble).
LINE = 4


def exists(server: Server, catalog: str, column: str, name: str) -> bool:
    with connect(server.url) as conn:
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(sql.Identifier(catalog), sql.Identifier(column))
        row = conn.execute(query, (name,)).fetchone()
    return row == (1,)


#: (hostile statement with {db} for the sentinel and {role} for a role name, what the message calls it, why)
REFUSED = [
    ("CREATE DATABASE {db}_twin", "CREATE DATABASE", CLUSTER),
    ("DROP DATABASE {db}", "DROP DATABASE", CLUSTER),
    ("DROP DATABASE IF EXISTS {db} WITH (FORCE)", "DROP DATABASE", CLUSTER),
    ("ALTER DATABASE {db} RENAME TO {db}_gone", "ALTER DATABASE ... RENAME TO", CLUSTER),
    ("ALTER DATABASE {db} SET work_mem = '1GB'", "ALTER DATABASE", CLUSTER),
    ("COMMENT ON DATABASE {db} IS 'mine now'", "COMMENT ON DATABASE", CLUSTER),
    ("GRANT CONNECT ON DATABASE {db} TO PUBLIC", "GRANT ... ON DATABASE", CLUSTER),
    ("CREATE ROLE {role} SUPERUSER LOGIN", "CREATE ROLE", CLUSTER),
    ("CREATE USER {role} PASSWORD 'x'", "CREATE USER", CLUSTER),
    ("CREATE GROUP {role}", "CREATE GROUP", CLUSTER),
    ("ALTER ROLE CURRENT_USER SET work_mem = '1GB'", "ALTER ROLE", CLUSTER),
    ("DROP ROLE IF EXISTS {role}", "DROP ROLE", CLUSTER),
    ("GRANT pg_read_server_files TO PUBLIC", "GRANT role TO role", CLUSTER),
    ("REASSIGN OWNED BY CURRENT_USER TO {role}", "REASSIGN OWNED", CLUSTER),
    ("CREATE TABLESPACE {role} LOCATION '/tmp'", "CREATE TABLESPACE", CLUSTER),
    ("ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM", CLUSTER),
    ("CREATE SUBSCRIPTION {role} CONNECTION 'host=x' PUBLICATION p", "CREATE SUBSCRIPTION", CLUSTER),
    ("LOAD 'auto_explain'", "LOAD", CLUSTER),
    ("CHECKPOINT", "CHECKPOINT", CLUSTER),
    ("SET ROLE pg_read_server_files", "SET ROLE", IDENTITY),
    ("SET SESSION AUTHORIZATION DEFAULT", "SET SESSION AUTHORIZATION", IDENTITY),
    ("RESET ROLE", "RESET ROLE", IDENTITY),
    (
        "SELECT pg_catalog.set_config('role', 'pg_read_server_files', false)",
        "SELECT set_config('role' or 'session_authorization', ...)",
        IDENTITY,
    ),
    ("BEGIN", "BEGIN", TRANSACTION),
    ("COMMIT", "COMMIT", TRANSACTION),
    ("SAVEPOINT s", "SAVEPOINT", TRANSACTION),
    ("SET TRANSACTION READ ONLY", "SET TRANSACTION", TRANSACTION),
    ("LOCK users", "LOCK", TRANSACTION),
    ("DO $$ BEGIN EXECUTE 'DROP DATABASE {db}'; END $$", "DO", RUNS),
    ("CALL pg_catalog.pg_reload_conf()", "CALL", RUNS),
    ("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'", "SELECT", RUNS),
    ("SELECT pg_catalog.set_config('search_path', current_setting('data_directory'), false)", "SELECT", RUNS),
    ("COPY users FROM PROGRAM 'psql -c \"DROP DATABASE {db}\"'", "COPY ... PROGRAM", RUNS),
    ("COPY users TO '/tmp/zanith_guard_copy'", "COPY ... TO/FROM a file", RUNS),
    ("INSERT INTO users VALUES (1)", "INSERT", RUNS),
    ("VACUUM users", "VACUUM", RUNS),
    ("NOTIFY zanith", "NOTIFY", RUNS),
    (
        "CREATE EVENT TRIGGER {role} ON ddl_command_start EXECUTE FUNCTION pg_catalog.pg_reload_conf()",
        "CREATE EVENT TRIGGER",
        RUNS,
    ),
]


@pytest.mark.parametrize(("statement", "label", "reason"), REFUSED, ids=[r[0][:40] for r in REFUSED])
def test_a_statement_outside_the_database_is_refused_with_file_and_line_before_anything_ran(
    tmp_path: Path, zanith_shadow: Server, sentinel: str, statement: str, label: str, reason: str
) -> None:
    role = f"zanith_hostile_{secrets.token_hex(3)}"
    path = tmp_path / "schema.sql"
    path.write_text(PREAMBLE + statement.format(db=sentinel, role=role) + ";\nCREATE TABLE later (id int);\n")
    before = scratch_databases(zanith_shadow)
    with pytest.raises(NotSchemaSql) as info:
        load_schema(path, server=zanith_shadow)
    assert str(info.value) == f"{path}:{LINE}: {label} is not schema SQL: {reason} (refused before anything ran)"
    assert exists(zanith_shadow, "pg_database", "datname", sentinel)
    assert not exists(zanith_shadow, "pg_database", "datname", f"{sentinel}_twin")
    assert not exists(zanith_shadow, "pg_roles", "rolname", role)
    assert scratch_databases(zanith_shadow) == before  # not even a scratch database was made


def test_the_cli_refuses_a_hostile_schema_with_exit_1_and_writes_nothing(
    tmp_path: Path, zanith_shadow: Server, sentinel: str
) -> None:
    folder = project(tmp_path, schema_sql=f"{PREAMBLE}DROP DATABASE {sentinel};\n")
    result = zanith("generate", "--name", "init", project=folder)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: schema.sql:{LINE}: DROP DATABASE is not schema SQL: {CLUSTER} (refused before anything ran)"
    )
    assert list((folder / "migrations").iterdir()) == []
    assert exists(zanith_shadow, "pg_database", "datname", sentinel)


def test_a_folder_names_the_file_holding_the_statement(tmp_path: Path, zanith_shadow: Server, sentinel: str) -> None:
    folder = tmp_path / "schema"
    folder.mkdir()
    (folder / "1_tables.sql").write_text(PREAMBLE)
    (folder / "2_evil.sql").write_text(f"\n\nDROP DATABASE {sentinel};\n")
    with pytest.raises(NotSchemaSql, match=rf"^{folder}/2_evil.sql:3: DROP DATABASE is not schema SQL"):
        load_schema(folder, server=zanith_shadow)
    assert exists(zanith_shadow, "pg_database", "datname", sentinel)


def test_raw_sql_of_a_dsl_schema_is_vetted_too(zanith_shadow: Server, sentinel: str) -> None:
    from zanith_core.declare import Schema, column

    schema = Schema()
    schema.table("users", column("id", "integer", primary_key=True))
    schema.sql(f"DROP DATABASE {sentinel}")
    with pytest.raises(NotSchemaSql) as info:
        load_schema(schema, server=zanith_shadow)
    assert str(info.value) == (
        f"declared Schema: DROP DATABASE is not schema SQL: {CLUSTER} (refused before anything ran) "
        f"(in: DROP DATABASE {sentinel})"
    )
    assert exists(zanith_shadow, "pg_database", "datname", sentinel)


def test_unparseable_text_is_refused_with_its_syntax_error_and_nothing_runs(
    tmp_path: Path, zanith_shadow: Server, sentinel: str
) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(f"{PREAMBLE}CREAT TABLE t (id int);\nDROP DATABASE {sentinel};\n")
    with pytest.raises(SourceError) as info:
        load_schema(path, server=zanith_shadow)
    assert str(info.value) == f'{path}:{LINE}:1: syntax error at or near "CREAT"'
    assert exists(zanith_shadow, "pg_database", "datname", sentinel)
    path.write_text(f"DROP DATABASE {sentinel};\nCREATE TABLE t (id int\n\n")
    with pytest.raises(SourceError) as info:
        load_schema(path, server=zanith_shadow)
    assert str(info.value) == f"{path}:2:23: syntax error at end of input"


def test_what_pg_dump_writes_around_a_schema_is_allowed(tmp_path: Path, zanith_shadow: Server) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(
        "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n"
        "SET default_tablespace = '';\nCREATE SCHEMA app;\nCREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA app;\n"
        "CREATE TABLE app.users (id integer PRIMARY KEY, email app.citext);\n"
        "COMMENT ON TABLE app.users IS 'people';\nGRANT SELECT ON app.users TO PUBLIC;\nRESET search_path;\n"
        "CREATE MATERIALIZED VIEW app.emails AS SELECT email FROM app.users WITH NO DATA;\n"
        "ALTER TABLE app.users OWNER TO CURRENT_USER;\nCREATE SCHEMA extra CREATE TABLE t (id int);\n"
    )
    graph = load_schema(path, server=zanith_shadow, schemas=("app",))
    assert [t.name for t in graph.tables] == ["users"]
    assert [e.name for e in graph.extensions] == ["citext"]


def test_every_statement_kind_the_parser_knows_is_either_schema_or_refused() -> None:
    """A statement kind a newer pglast adds is refused until someone decides what it is."""
    kinds = {c for n, c in inspect.getmembers(ast, inspect.isclass) if n.endswith("Stmt")}
    undecided = {k.__name__ for k in kinds - SCHEMA_STATEMENTS if refused(k()) == (f"{k.__name__[:-4]} (a statement "
                 "kind zanith does not know)", UNKNOWN)}  # fmt: skip
    assert undecided == set()


def test_a_statement_kind_zanith_does_not_know_is_refused() -> None:
    class FutureStmt:
        pass

    assert refused(FutureStmt()) == ("Future (a statement kind zanith does not know)", UNKNOWN)


@pytest.mark.parametrize(
    "fixture", ["pgdump_shop.sql", "partitioned_dump.sql", "definitions_dump.sql", "shape_schema.sql",
                "realworld_schema.sql", "shop_schema.sql"],
)  # fmt: skip
def test_the_real_schema_fixtures_are_schema_sql(fixture: str) -> None:
    text = (FIXTURES / fixture).read_text()
    assert len(schema_statements(text, fixture)) > 5
