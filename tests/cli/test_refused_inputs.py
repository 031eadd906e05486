"""Inputs that must be refused, not obeyed: each was once done as asked (or silently half-done). Every
refusal is one line, exits with its documented code, and leaves the files and the database as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import applied_ids, project, step_rows, write_sql_migration, zanith, zanith_process

from pytest_zanith.fixtures import ZanithDatabase

USERS = "CREATE TABLE users (id integer PRIMARY KEY);\n"


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.py"))


def no_ledger(db: ZanithDatabase) -> bool:
    return db.conn.execute("SELECT to_regclass('_zanith_migrations')").fetchone() == (None,)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    return lines[0]


@pytest.fixture
def users(tmp_path: Path) -> Path:
    """A project whose one migration creates users, declaring users."""
    folder = project(tmp_path / "app", schema_sql=USERS)
    write_sql_migration(folder / "migrations", "0001_users", USERS)
    return folder


# -- generate ----------------------------------------------------------------------------------------


def test_an_empty_declared_schema_does_not_drop_every_table_without_allow_empty(users: Path) -> None:
    (users / "schema.sql").write_text("-- emptied by mistake\n")
    before = files(users)
    result = zanith("generate", "--name", "oops", project=users)
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "error: the declared schema (schema.sql) has no table, but the current state has 1 (the migration would "
        "drop every one); check the schema setting and the file, or pass --allow-empty if dropping everything "
        "is what you mean"
    )
    assert files(users) == before
    allowed = zanith("generate", "--name", "drop_all", "--allow-empty", "--yes", project=users)
    assert allowed.exit_code == 0, allowed.output
    assert len(files(users)) == 2 and "drop_table" in allowed.stdout


def test_a_nul_byte_in_the_declared_sql_is_refused_with_its_position(users: Path) -> None:
    (users / "schema.sql").write_text(USERS + "CREATE TABLE a (\0id int);\nCREATE TABLE b (id int);\n")
    result = zanith("generate", "--name", "more", project=users)
    assert result.exit_code == 1
    assert one_line(result.stderr) == "error: schema.sql:2:17: NUL byte in the file; remove it"
    assert files(users) == ["0001_users.py"]


def test_a_nul_byte_in_a_migration_file_is_refused_with_its_position(users: Path, zanith_db: ZanithDatabase) -> None:
    (users / "migrations" / "0002_x.py").write_text("id = '0002'\noperations = []  # \0\n")
    result = zanith("apply", "--database-url", zanith_db.url, project=users)
    assert result.exit_code == 1
    assert one_line(result.stderr).endswith("0002_x.py:2:20: NUL byte in the file; remove it")
    assert no_ledger(zanith_db)


def test_an_empty_schemas_list_is_refused(users: Path) -> None:
    project(users, schema_sql=USERS, schemas=[])
    result = zanith("generate", "--name", "x", project=users)
    assert result.exit_code == 2
    assert one_line(result.stderr).endswith(
        'pyproject.toml: schemas must name at least one schema the project owns (e.g. ["public"])'
    )
    assert files(users) == ["0001_users.py"]
    assert zanith("diff", "--from", "schema.sql", "--to", "schema.sql", project=users).exit_code == 2


# -- the migrations folder -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["apply", "status", "plan", "verify"])
def test_a_configured_migrations_folder_that_is_missing_is_refused(
    users: Path, zanith_db: ZanithDatabase, command: str
) -> None:
    project(users, schema_sql=USERS, migrations="migratoins", database_url=zanith_db.url)
    (users / "migratoins").rmdir()
    result = zanith(command, project=users)
    assert result.exit_code == 6
    assert one_line(result.stderr) == (
        f"error: the migrations folder {users / 'migratoins'} does not exist (migrations = 'migratoins'); fix "
        "`migrations` in [tool.zanith] (or ZANITH_MIGRATIONS), or run `zanith generate` to start one"
    )
    assert no_ledger(zanith_db)


def test_generate_does_not_create_a_configured_folder_that_is_missing(users: Path) -> None:
    project(users, schema_sql=USERS, migrations="migratoins")
    (users / "migratoins").rmdir()
    result = zanith("generate", "--name", "x", project=users)
    assert result.exit_code == 6
    assert "or create the folder if this project has no migrations yet" in one_line(result.stderr)
    assert not (users / "migratoins").exists()
    assert zanith("new", "--name", "x", project=users).exit_code == 6
    assert not (users / "migratoins").exists()


def test_generate_creates_the_default_folder_of_a_new_project(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "schema.sql").write_text(USERS)
    (folder / "pyproject.toml").write_text('[tool.zanith]\nschema = "schema.sql"\n')
    result = zanith("generate", "--name", "init", project=folder)
    assert result.exit_code == 0, result.output
    assert len(list((folder / "migrations").glob("*_init.py"))) == 1


# -- migration files ------------------------------------------------------------------------------------


def test_a_migration_that_calls_sys_exit_is_an_error_naming_it(users: Path, zanith_db: ZanithDatabase) -> None:
    path = users / "migrations" / "0002_quit.py"
    path.write_text("import sys\n\nsys.exit(0)\nid = '0002'\noperations = []\n")
    done = zanith_process("apply", "--database-url", zanith_db.url, project=users)
    assert done.returncode == 1, done.stdout
    assert one_line(done.stderr) == (
        f"error: {path}:3: calls sys.exit(0) while it is loaded; a migration file may only define id, "
        "operations and helpers"
    )
    assert no_ledger(zanith_db)


def test_an_out_of_order_migration_is_refused_without_the_flag(users: Path, zanith_db: ZanithDatabase) -> None:
    url = ["--database-url", zanith_db.url]
    write_sql_migration(users / "migrations", "0003_orders", "CREATE TABLE orders (id int)")
    assert zanith("apply", *url, project=users).exit_code == 0
    write_sql_migration(users / "migrations", "0002_merged", "CREATE TABLE merged (id int)")
    rows = step_rows(zanith_db.conn)

    result = zanith("apply", *url, project=users)
    assert result.exit_code == 3
    assert one_line(result.stderr).startswith(
        "error: not applied yet but older than migrations the target has applied (merged from another branch?): "
        "0002_merged; applying them now runs them after newer ones."
    )
    assert step_rows(zanith_db.conn) == rows
    assert zanith_db.conn.execute("SELECT to_regclass('merged')").fetchone() == (None,)

    status = zanith("status", *url, project=users)
    assert status.exit_code == 0
    assert "pending: 0002_merged" in status.stdout
    assert status.stderr == (
        "warning: pending but older than the newest applied migration (apply needs --allow-out-of-order): 0002_merged\n"
    )
    assert json.loads(zanith("status", "--json", *url, project=users).stdout)["out_of_order"] == ["0002_merged"]

    assert zanith("apply", "--allow-out-of-order", *url, project=users).exit_code == 0
    assert applied_ids(zanith_db.conn) == ["0001_users", "0002_merged", "0003_orders"]
    assert json.loads(zanith("status", "--json", *url, project=users).stdout)["out_of_order"] == []


# -- settings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"budget": 101}, "budget must be an integer from 0 to 100, not 101"),
        ({"budget": -5}, "budget must be an integer from 0 to 100, not -5"),
        ({"retention_days": -1}, "retention_days must be a whole number of days from 0 to 36500, not -1"),
        ({"privileges": "maybe"}, "privileges must be true or false, not 'maybe'"),
        ({"lock_timeout": "nan"}, "lock_timeout must be a number of seconds above 0 and at most 3600, not 'nan'"),
        ({"statement_timeout": "inf"}, "statement_timeout must be a number of seconds from 0 to 86400, not 'inf'"),
    ],
)
def test_a_setting_out_of_range_exits_2_before_anything_is_written(
    users: Path, zanith_db: ZanithDatabase, setting: dict[str, object], message: str
) -> None:
    project(users, schema_sql=USERS, database_url=zanith_db.url, **setting)
    done = zanith_process("apply", project=users)
    assert done.returncode == 2
    assert one_line(done.stderr) == f"error: {users / 'pyproject.toml'}: {message}"
    assert no_ledger(zanith_db)


def test_a_budget_flag_out_of_range_exits_2(users: Path, zanith_db: ZanithDatabase) -> None:
    result = zanith("apply", "--database-url", zanith_db.url, "--budget", "101", project=users)
    assert result.exit_code == 2
    assert one_line(result.stderr) == "error: --budget: budget must be an integer from 0 to 100, not 101"
    assert no_ledger(zanith_db)


def test_a_tool_zanith_that_is_not_a_table_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\nzanith = 5\n")
    result = zanith("status", "--database-url", "postgresql://nobody@127.0.0.1:1/db", project=tmp_path)
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        f"error: {tmp_path / 'pyproject.toml'}: tool.zanith = 5: [tool.zanith] must be a table of settings "
        "(a [tool.zanith] section)"
    )


def test_an_unknown_baseline_exits_2(users: Path) -> None:
    project(users, schema_sql=USERS, baseline="0009_nope")
    result = zanith("plan", project=users)
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "error: baseline '0009_nope' (in [tool.zanith] or ZANITH_BASELINE) names no migration in the migrations "
        "folder; set it to the id `zanith baseline` printed, or remove it"
    )
