"""`zanith generate` and `zanith new`: files written, JSON shape, renames, nothing-to-do, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import graph_of, project, zanith

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.cli import generate as cli_generate
from zanith_core.migrations.loader import load_migrations
from zanith_core.ops import RawSql
from zanith_core.sql.script import schema_ddl

USERS = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n"


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "migrations").glob("*.py"))


def test_first_generate_writes_a_migration_and_prints_json(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    result = zanith("generate", "--name", "init", "--json", project=folder)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"migration", "path", "operations"}
    assert data["migration"].endswith("_init") and Path(data["path"]).name == data["migration"] + ".py"
    (op,) = data["operations"]
    assert set(op) == {"kind", "sql", "reversible"}
    assert (op["kind"], op["reversible"]) == ("create_table", True)
    assert op["sql"].startswith('CREATE TABLE "public"."users"')
    (migration,) = load_migrations(folder / "migrations")
    assert migration.id == data["migration"]


def test_nothing_to_do_writes_no_file_and_exits_0(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    assert zanith("generate", "--name", "init", project=folder).exit_code == 0
    result = zanith("generate", "--name", "again", project=folder)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "nothing to do: the current state already matches the declared schema (no file written)"
    )
    data = json.loads(zanith("generate", "--name", "again", "--json", project=folder).output)
    assert data == {"migration": None, "path": None, "operations": []}
    assert len(files(folder)) == 1


def test_generate_continues_from_the_replayed_migrations_and_prints_a_table(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    zanith("generate", "--name", "init", project=folder)
    (folder / "schema.sql").write_text(USERS + "CREATE INDEX users_email_idx ON users (email);\n")
    result = zanith("generate", "--name", "email index", project=folder)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["#", "kind", "target", "reversible"]
    assert lines[1].split() == ["1", "add_index", "public.users.users_email_idx", "yes"]
    assert lines[-1].startswith("wrote ") and lines[-1].endswith("_email_index.py")
    assert [m.id[16:] for m in load_migrations(folder / "migrations")] == ["init", "email_index"]


def test_an_undecided_rename_is_a_one_line_error_naming_the_flag(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    zanith("generate", "--name", "init", project=folder)
    (folder / "schema.sql").write_text(USERS.replace("email", "mail"))
    result = zanith("generate", "--name", "rename", project=folder)
    assert result.exit_code == 1
    assert result.output.startswith("error: possible rename found: column public.users.email → mail")
    assert "--rename users.email=mail" in result.output
    assert len(files(folder)) == 1

    renamed = zanith("generate", "--name", "rename", "--rename", "users.email=mail", "--json", project=folder)
    assert [op["kind"] for op in json.loads(renamed.output)["operations"]] == ["rename_column"]


def test_yes_accepts_the_detected_rename(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    zanith("generate", "--name", "init", project=folder)
    (folder / "schema.sql").write_text(USERS.replace("email", "mail"))
    result = zanith("generate", "--name", "rename", "--yes", "--json", project=folder)
    assert [op["kind"] for op in json.loads(result.output)["operations"]] == ["rename_column"]


@pytest.mark.parametrize(("answer", "kinds"), [("y\n", ["rename_column"]), ("n\n", ["add_column", "soft_drop_column"])])
def test_at_a_terminal_renames_are_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, kinds: list[str]
) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    zanith("generate", "--name", "init", project=folder)
    (folder / "schema.sql").write_text(USERS.replace("email", "mail"))
    monkeypatch.setattr(cli_generate, "_interactive", lambda: True)
    result = zanith("generate", "--name", "rename", project=folder, stdin=answer)
    assert result.exit_code == 0, result.output
    assert "Rename column public.users.email → mail? (no: drop and add)" in result.output
    assert [op.kind for op in load_migrations(folder / "migrations")[-1].operations] == kinds


def test_hard_drop_drops(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    zanith("generate", "--name", "init", project=folder)
    (folder / "schema.sql").write_text("CREATE TABLE users (id integer PRIMARY KEY);\n")
    soft = json.loads(zanith("generate", "--name", "drop", "--json", project=folder).output)
    assert [op["kind"] for op in soft["operations"]] == ["soft_drop_column"]
    Path(soft["path"]).unlink()
    hard = json.loads(zanith("generate", "--name", "drop", "--hard-drop", "--json", project=folder).output)
    assert [(op["kind"], op["sql"]) for op in hard["operations"]] == [
        ("drop_column", 'ALTER TABLE "public"."users" DROP COLUMN "email";')
    ]


def test_from_a_sql_file_or_a_live_database_adopts_it(tmp_path: Path, zanith_db: ZanithDatabase) -> None:
    folder = project(tmp_path, schema_sql=USERS + "CREATE TABLE logs (line text);\n")
    (tmp_path / "legacy.sql").write_text(USERS)
    adopted = zanith("generate", "--name", "adopt", "--from", "legacy.sql", "--json", project=folder)
    from_file = json.loads(adopted.output)
    assert [op["kind"] for op in from_file["operations"]] == ["create_table"]

    for statement in schema_ddl(graph_of(zanith_db.server, USERS)):
        zanith_db.conn.execute(statement)
    from_url = zanith("generate", "--name", "adopt live", "--from", zanith_db.url, "--json", project=folder)
    assert from_url.exit_code == 0, from_url.output
    assert [op["kind"] for op in json.loads(from_url.output)["operations"]] == ["create_table"]


def test_refused_changes_and_missing_schema_are_errors(tmp_path: Path) -> None:
    view = "CREATE VIEW v AS SELECT * FROM t;"
    folder = project(tmp_path, schema_sql="CREATE TABLE t (a integer, b text);" + view)
    zanith("generate", "--name", "init", project=folder)
    # another column order, while a view reads the row: only a rebuild gets there, and the view forbids it
    (folder / "schema.sql").write_text("CREATE TABLE t (b text, a integer);" + view)
    result = zanith("generate", "--name", "x", project=folder)
    assert result.exit_code == 1
    assert result.output.startswith("error: table public.t: the declared column order (b, a) is reached only by")
    (folder / "pyproject.toml").write_text("[tool.zanith]\n")
    result = zanith("generate", "--name", "x", project=folder)
    assert (result.exit_code, result.output.strip()) == (
        1,
        "error: no declared schema to generate from: set schema in [tool.zanith] (or ZANITH_SCHEMA)",
    )


def test_new_writes_one_raw_sql_operation(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    fix = ["--sql", "UPDATE users SET email = lower(email)"]
    result = zanith("new", "--name", "fix emails", *fix, "--json", project=folder)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["operations"] == [
        {"kind": "raw_sql", "sql": "UPDATE users SET email = lower(email);", "reversible": False}
    ]
    (migration,) = load_migrations(folder / "migrations")
    assert migration.operations == (RawSql("UPDATE users SET email = lower(email)"),)
    assert "reverse_sql" in Path(data["path"]).read_text()  # the docstring says how to declare a reversal


def test_new_without_sql_leaves_a_todo_the_loader_refuses_until_edited(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    result = zanith("new", "--name", "data fix", project=folder)
    assert result.exit_code == 0 and result.output.splitlines()[-1].startswith("wrote ")
    listing = zanith("generate", "--name", "next", project=folder)
    assert listing.exit_code == 1
    assert "raw_sql has no SQL to run" in listing.output


def test_new_ids_sort_after_existing_ones(tmp_path: Path) -> None:
    folder = project(tmp_path, schema_sql=USERS)
    first = json.loads(zanith("new", "--name", "a", "--sql", "SELECT 1", "--json", project=folder).output)["migration"]
    second = json.loads(zanith("new", "--name", "b", "--sql", "SELECT 2", "--json", project=folder).output)["migration"]
    assert first < second
