"""Values at the edge of what a command accepts: refused with one line and exit 2 before anything is
written, never a traceback. (Settings in pyproject.toml: tests/cli/test_refused_inputs.py.)"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from support import LEDGER, apply_ops, live, project, zanith, zanith_process

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core import recovery
from zanith_core.ledger import artifacts as art
from zanith_core.ops.columns import SoftDropColumn


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in text, text
    return lines[0]


@pytest.mark.parametrize("command", ["generate", "new"])
def test_a_name_too_long_for_a_file_name_exits_2_and_writes_nothing(tmp_path: Path, command: str) -> None:
    folder = project(tmp_path, schema_sql="CREATE TABLE t (id int);")
    done = zanith_process(command, "--name", "n" * 300, project=folder)
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        "error: --name: a name of 300 file-name characters is too long for a migration file name (at most 227, "
        "so the file name stays within 255 bytes); shorten it"
    )
    assert list((folder / "migrations").iterdir()) == []


@pytest.mark.parametrize("command", ["baseline", "adopt"])
def test_baseline_and_adopt_check_the_name_before_connecting(
    zanith_db: ZanithDatabase, tmp_path: Path, command: str
) -> None:
    folder = project(tmp_path, schema_sql="CREATE TABLE t (id int);")
    zanith_db.conn.execute("CREATE TABLE t (id int)")
    result = zanith(command, "--name", "n" * 300, "--database-url", zanith_db.url, project=folder)
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("error: --name: a name of 300 file-name characters is too long")
    assert list((folder / "migrations").iterdir()) == []
    assert zanith_db.conn.execute("SELECT to_regclass('_zanith_migrations')").fetchone() == (None,)


def test_the_longest_accepted_name_makes_a_file_the_file_system_takes(tmp_path: Path) -> None:
    folder = project(tmp_path)
    result = zanith("new", "--name", "n" * 227, "--sql", "SELECT 1", project=folder)
    assert result.exit_code == 0, result.output
    (written,) = (folder / "migrations").iterdir()
    assert len(written.name.encode()) <= 255


@pytest.fixture
def artifact(zanith_db: ZanithDatabase, tmp_path: Path) -> art.Artifact:
    """One kept recovery artifact (a soft-dropped column) in the test database's ledger."""
    zanith_db.conn.execute("CREATE TABLE items (id int PRIMARY KEY, note text)")
    apply_ops(zanith_db.url, [SoftDropColumn.from_graph(live(zanith_db.url), "public.items", "note")])
    (found,) = art.list_artifacts(zanith_db.conn, LEDGER)
    return found


@pytest.mark.parametrize(
    ("days", "shown"), [("99999999999", "99999999999"), ("100000000", "100000000"), ("0", "0"), ("-3", "-3")]
)
def test_recover_extend_days_out_of_range_exit_2_and_change_nothing(
    zanith_db: ZanithDatabase, artifact: art.Artifact, days: str, shown: str
) -> None:
    url = ["--database-url", zanith_db.url]
    result = zanith("recover", "extend", str(artifact.id), "--days", days, *url)
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        f"error: recover extend: --days must be a whole number of days from 1 to 36500, not {shown}"
    )
    (after,) = art.list_artifacts(zanith_db.conn, LEDGER)
    assert after.expires_at == artifact.expires_at
    assert zanith("recover", "list", "--json", *url).exit_code == 0


def test_extensions_never_reach_past_a_hundred_years(zanith_db: ZanithDatabase, artifact: art.Artifact) -> None:
    url = ["--database-url", zanith_db.url]
    assert zanith("recover", "extend", str(artifact.id), "--days", "36000", *url).exit_code == 0
    (extended,) = art.list_artifacts(zanith_db.conn, LEDGER)
    result = zanith("recover", "extend", str(artifact.id), "--days", "1000", *url)
    assert result.exit_code == 2
    assert "would then expire more than 36500 days from now" in one_line(result.stderr)
    (after,) = art.list_artifacts(zanith_db.conn, LEDGER)
    assert after.expires_at == extended.expires_at
    assert extended.expires_at is not None and artifact.expires_at is not None
    assert extended.expires_at - artifact.expires_at >= timedelta(days=35999)
    listed = json.loads(zanith("recover", "list", "--json", *url).stdout)
    assert [a["id"] for a in listed["artifacts"]] == [artifact.id]


def test_the_core_extend_holds_the_same_range(zanith_db: ZanithDatabase, artifact: art.Artifact) -> None:
    from zanith_core.errors import InvalidValue

    with pytest.raises(InvalidValue, match="--days must be a whole number of days from 1 to 36500"):
        recovery.extend(zanith_db.conn, LEDGER, artifact.id, 100000000)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ZANITH_LOCK_TIMEOUT", "nan", "lock_timeout must be a number of seconds above 0 and at most 3600, not 'nan'"),
        ("ZANITH_LOCK_TIMEOUT", "-1", "lock_timeout must be a number of seconds above 0 and at most 3600, not '-1'"),
        ("ZANITH_STATEMENT_TIMEOUT", "inf", "statement_timeout must be a number of seconds from 0 to 86400"),
        ("ZANITH_RETENTION_DAYS", "1e9", "retention_days must be a whole number of days from 0 to 36500"),
    ],
)
def test_a_variable_out_of_range_exits_2_before_connecting(
    zanith_db: ZanithDatabase, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    folder = project(tmp_path)
    result = zanith("apply", "--database-url", zanith_db.url, project=folder, env={variable: value})
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith(f"error: {variable}: {message}")
    assert zanith_db.conn.execute("SELECT to_regclass('_zanith_migrations')").fetchone() == (None,)
