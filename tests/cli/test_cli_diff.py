"""`zanith diff`: exit codes 0 / 4 / 1 / 2, one-line errors, JSON output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import apply_ops, live, zanith

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core import __version__
from zanith_core.ops import SoftDropColumn, SoftDropTable

EXAMPLES = Path(__file__).parents[2] / "examples" / "diff"


def test_version() -> None:
    result = zanith("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_equal_schemas_exit_0(tmp_path: Path) -> None:
    result = zanith("diff", "--from", str(EXAMPLES / "before.sql"), "--to", str(EXAMPLES / "before.sql"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no differences"


def test_different_schemas_exit_4_with_readable_lines() -> None:
    result = zanith("diff", "--from", str(EXAMPLES / "before.sql"), "--to", str(EXAMPLES / "after.sql"))
    assert result.exit_code == 4, result.output
    lines = result.output.splitlines()
    assert "table public.customers: column email: type character varying(100) → text" in lines
    assert "+ enum public.order_status (pending, paid, shipped)" in lines
    assert any(line.startswith("table public.orders: - column legacy_code") for line in lines)


def test_json_output(tmp_path: Path) -> None:
    result = zanith("diff", "--from", str(EXAMPLES / "before.sql"), "--to", str(EXAMPLES / "after.sql"), "--json")
    assert result.exit_code == 4
    data = json.loads(result.output)
    assert data["equal"] is False
    assert {"action", "object_type", "table", "name", "attribute", "before", "after", "text"} <= set(
        data["differences"][0]
    )


def test_live_database_against_declared_file(zanith_db) -> None:  # type: ignore[no-untyped-def]
    zanith_db.conn.execute((EXAMPLES / "before.sql").read_text())
    same = zanith("diff", "--from", zanith_db.url, "--to", str(EXAMPLES / "before.sql"))
    assert same.exit_code == 0, same.output
    other = zanith("diff", "--from", zanith_db.url, "--to", str(EXAMPLES / "after.sql"))
    assert other.exit_code == 4


def test_bad_url_is_one_line_exit_1() -> None:
    result = zanith("diff", "--from", "postgresql://u:secret@127.0.0.1:1/x", "--to", str(EXAMPLES / "before.sql"))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: cannot connect")
    assert "secret" not in result.output and "Traceback" not in result.output


def test_sql_error_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "schema.sql"
    bad.write_text("CREATE TABLE a (id int);\n\nCREAT TABLE b (id int);\n")
    result = zanith("diff", "--from", str(bad), "--to", str(EXAMPLES / "before.sql"))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "schema.sql:3:" in result.output and "syntax error" in result.output


def test_missing_file_exit_1(tmp_path: Path) -> None:
    result = zanith("diff", "--from", str(tmp_path / "nope.sql"), "--to", str(EXAMPLES / "before.sql"))
    assert result.exit_code == 1 and result.output.startswith("error:") and "nope.sql" in result.output


@pytest.mark.parametrize("args", [("diff", "--from", "x.sql"), ("diff", "--bogus")])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    assert zanith(*args).exit_code == 2


def test_soft_dropped_objects_are_listed_as_parked_not_hidden(zanith_db: ZanithDatabase, tmp_path: Path) -> None:
    zanith_db.conn.execute("CREATE TABLE t (id int PRIMARY KEY, email text); CREATE TABLE old (id int)")
    apply_ops(
        zanith_db.url,
        [
            SoftDropColumn.from_graph(live(zanith_db.url), "public.t", "email"),
            SoftDropTable.from_graph(live(zanith_db.url), "public.old"),
        ],
    )
    declared = tmp_path / "schema.sql"
    declared.write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    result = zanith("diff", "--from", zanith_db.url, "--to", str(declared))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "no differences" and lines[1].startswith("parked"), result.output
    assert any(
        re.fullmatch(r"  table public.t: column email parked as _zanith_[0-9a-f]{8}_email .*artifact \d+\)", ln)
        for ln in lines
    )
    assert any(
        re.fullmatch(r"  table public.old parked as _zanith_[0-9a-f]{8}_old .*artifact \d+\)", ln) for ln in lines
    )
    data = json.loads(zanith("diff", "--from", zanith_db.url, "--to", str(declared), "--json").output)
    assert data["equal"] is True and {p["object_type"] for p in data["parked"]} == {"column", "table"}
