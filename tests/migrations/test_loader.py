"""The migration loader: files in id order, and every malformed file rejected with its name (and line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zanith_core.errors import MigrationFileError
from zanith_core.migrations.loader import load_migration_file, load_migrations
from zanith_core.ops import RawSql

HEADER = "from zanith_core.migration_api import *\n"


def write(folder: Path, stem: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text(body)
    return path


def ok(folder: Path, stem: str, mid: str | None = None, sql: str = "SELECT 1") -> Path:
    return write(folder, stem, f"{HEADER}id = {mid or stem!r}\noperations = [RawSql({sql!r})]\n")


def test_loads_files_sorted_by_id_skipping_private_ones(tmp_path: Path) -> None:
    ok(tmp_path, "0002_b", "0002")
    ok(tmp_path, "0001_a")
    write(tmp_path, "__init__", "")
    write(tmp_path, "_helpers", "x = 1\n")
    migrations = load_migrations(tmp_path)
    assert [m.id for m in migrations] == ["0001_a", "0002"]
    assert migrations[1].operations == (RawSql("SELECT 1"),)
    assert migrations[1].path == tmp_path / "0002_b.py"


def test_a_sql_file_among_the_migrations_is_refused_not_ignored(tmp_path: Path) -> None:
    ok(tmp_path, "0001_a")
    (tmp_path / "0002_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    with pytest.raises(MigrationFileError, match=r"0002_orders\.sql: a \.sql file is not a migration here") as raised:
        load_migrations(tmp_path)
    assert "zanith new --name 0002_orders" in str(raised.value)
    (tmp_path / "0002_orders.sql").rename(tmp_path / "_0002_orders.sql")  # set aside on purpose: fine
    assert [m.id for m in load_migrations(tmp_path)] == ["0001_a"]


def test_a_missing_folder_has_no_migrations(tmp_path: Path) -> None:
    assert load_migrations(tmp_path / "nope") == ()


def test_operations_may_be_written_as_dicts_and_id_defaults_to_the_stem(tmp_path: Path) -> None:
    write(tmp_path, "0001_x", "operations = [{'kind': 'raw_sql', 'forward_sql': 'SELECT 1'}]\nphase = 'expand'\n")
    (migration,) = load_migrations(tmp_path)
    assert (migration.id, migration.phase, migration.operations) == ("0001_x", "expand", (RawSql("SELECT 1"),))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", f"{HEADER}id = '0001_x'\noperations = [RawSql('SELECT 1')\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value).startswith(f"{path}:3: syntax error:")


def test_unknown_op_class_names_file_line_and_the_known_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", f"{HEADER}id = '0001_x'\n\noperations = [AddColum('t', 'c')]\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path}:4: unknown operation kind 'AddColum' (known: ")
    assert "AddColumn" in message


def test_a_missing_import_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", "operations = [RawSql('SELECT 1')]\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value) == (
        f"{path}:1: RawSql is not defined: the file needs `from zanith_core.migration_api import *`"
    )


def test_unknown_op_kind_in_a_dict(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", "operations = [{'kind': 'add_colum'}]\n")
    with pytest.raises(MigrationFileError, match=r"operations\[0\]: unknown operation kind 'add_colum'") as err:
        load_migrations(tmp_path)
    assert str(path) in str(err.value)


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    first = ok(tmp_path, "0001_a", "0001")
    second = ok(tmp_path, "0001_b", "0001")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value) == f"{second}: duplicate migration id '0001' (also in {first})"


def test_non_monotonic_ids_are_refused(tmp_path: Path) -> None:
    ok(tmp_path, "1_init", "1")
    late = ok(tmp_path, "10_more", "10")  # sorts before 1_init by file name, after it by id
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / '1_init.py'}: id '1' sorts before '10' of {late}")
    assert "zero-pad" in message


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = ok(tmp_path, "0001_add_email", "0002")
    with pytest.raises(MigrationFileError) as err:
        load_migration_file(path)
    assert str(err.value).startswith(f"{path}: id '0002' does not match the file name")
    ok(tmp_path, "0003x", "0003")  # a prefix must end where an underscore starts the name
    with pytest.raises(MigrationFileError, match="does not match the file name"):
        load_migration_file(tmp_path / "0003x.py")


def test_claimed_reversal_that_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", f"{HEADER}operations = [RawSql('UPDATE t SET a = 1', reverse_sql='  ')]\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value) == (
        f"{path}: operations[0] (raw_sql): reverse_sql is given but empty; pass None to declare that there is no "
        "reversal"
    )


def test_entries_that_are_not_operations(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", f"{HEADER}operations = [RawSql('SELECT 1'), 'DROP TABLE users']\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value).startswith(f"{path}: operations[1] is 'DROP TABLE users', not an operation")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("id = '0001_x'\n", "defines no `operations` list"),
        (f"{HEADER}operations = RawSql\n", "`operations` must be a list, not type"),
        ("id = 1\noperations = []\n", "`id` must be a non-empty string, not 1"),
        ("phase = 'later'\noperations = []\n", "`phase` must be one of expand, contract (or absent), not 'later'"),
        ("name = 3\noperations = []\n", "`name` must be a string, not 3"),
    ],
)
def test_malformed_module_variables(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, "0001_x", body)
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value) == f"{path}: {message}"


def test_an_exception_while_the_file_runs_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "0001_x", f"{HEADER}\noperations = [RawSql()]\n")
    with pytest.raises(MigrationFileError) as err:
        load_migrations(tmp_path)
    assert str(err.value).startswith(f"{path}:3: TypeError:")
