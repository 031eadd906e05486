"""``zanith_migrated_db``: a clone per test of a template the project's migrations were applied to once.

The inner sessions run on this session's server (``--zanith-shadow-url``), so these tests can look at
its ``pg_database``. Templates are kept for the next run by design; each test here drops the ones it
made (the ``cleanup`` fixture), so the server is left as it was found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql
from support import write_source_migration
from verify_support import CLEAN_MIGRATIONS, make_project

from pytest_zanith.templates import project_prefix
from zanith_core.config import load_config
from zanith_core.servers import Server, connect

pytest_plugins = ["pytester"]

PHONE = 'AddColumn(table="public.users", column=Column(name="phone", type="text"))'

# Each test records what it saw in a file of its own: the clone's name, the xdist worker, the columns of
# users, and when the ledger says the migrations were applied (the template's build time, copied).
USERS_TESTS = """
import json, os, pathlib
import pytest

def _record(db, test):
    columns = [r[0] for r in db.conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position"
    )]
    applied = db.conn.execute("SELECT min(applied_at)::text FROM zanith._zanith_migrations").fetchone()[0]
    seen = {"db": db.name, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "columns": columns,
            "applied": applied}
    pathlib.Path("seen", test).write_text(json.dumps(seen))

@pytest.mark.parametrize("n", range(4))
def test_users_start_empty(zanith_migrated_db, n):
    _record(zanith_migrated_db, f"t{n}")
    assert zanith_migrated_db.conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    zanith_migrated_db.conn.execute("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@example.com')")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, zanith_shadow: Server) -> Iterator[Path]:
    """A migrated project whose inner runs' templates are dropped from the server at the end."""
    make_project(pytester.path, migrations=CLEAN_MIGRATIONS)
    pytester.makepyfile(test_users=USERS_TESTS)
    (pytester.path / "seen").mkdir()
    yield pytester.path
    for name in _templates(zanith_shadow, pytester.path):
        with connect(zanith_shadow.url) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))


def _templates(server: Server, folder: Path) -> list[str]:
    """The project's zanith templates (and half-built ones) on ``server``."""
    prefix = project_prefix(load_config(folder, environ={}))
    with connect(server.url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname", (prefix,)
        ).fetchall()
    return [name for (name,) in rows]


def _seen(folder: Path) -> list[dict[str, object]]:
    return [json.loads(path.read_text()) for path in sorted((folder / "seen").iterdir())]


def _existing(server: Server, names: list[str]) -> list[str]:
    with connect(server.url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    return [name for (name,) in rows]


def _run(pytester: pytest.Pytester, server: Server, *args: str) -> pytest.RunResult:
    return pytester.runpytest(f"--zanith-shadow-url={server.url}", *args)


def test_each_test_gets_its_own_clone_of_the_migrated_schema(
    pytester: pytest.Pytester, project: Path, zanith_shadow: Server
) -> None:
    _run(pytester, zanith_shadow).assert_outcomes(passed=4)
    seen = _seen(project)
    assert [s["columns"] for s in seen] == [["id", "name", "email"]] * 4
    assert len({s["db"] for s in seen}) == 4
    assert len({s["applied"] for s in seen}) == 1  # one template, migrated once
    assert _existing(zanith_shadow, [str(s["db"]) for s in seen]) == []  # every clone dropped
    [template] = _templates(zanith_shadow, project)
    with connect(zanith_shadow.url) as conn:
        flags = conn.execute(
            "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = %s", (template,)
        ).fetchone()
    assert flags == (True, False)


def test_a_changed_migration_file_builds_a_new_template_and_drops_the_old(
    pytester: pytest.Pytester, project: Path, zanith_shadow: Server
) -> None:
    _run(pytester, zanith_shadow).assert_outcomes(passed=4)
    [first] = _templates(zanith_shadow, project)
    _run(pytester, zanith_shadow).assert_outcomes(passed=4)
    assert _templates(zanith_shadow, project) == [first]  # unchanged files: the template is reused

    zanith_shadow.create_database(first + "_building")  # what a build killed by an earlier run left
    write_source_migration(project / "migrations", "0004_phone", [PHONE])
    _run(pytester, zanith_shadow).assert_outcomes(passed=4)
    [second] = _templates(zanith_shadow, project)  # the old template and the leftover are gone
    assert second != first
    assert {tuple(s["columns"]) for s in _seen(project)} == {("id", "name", "email", "phone")}


def test_xdist_workers_share_one_template_built_once(
    pytester: pytest.Pytester, project: Path, zanith_shadow: Server
) -> None:
    _run(pytester, zanith_shadow, "-n", "2").assert_outcomes(passed=4)
    seen = _seen(project)
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert len({s["applied"] for s in seen}) == 1  # both workers cloned the one template
    assert len(_templates(zanith_shadow, project)) == 1
    assert _existing(zanith_shadow, [str(s["db"]) for s in seen]) == []


def test_a_failing_migration_errors_the_tests_in_one_line_and_leaves_no_template(
    pytester: pytest.Pytester, project: Path, zanith_shadow: Server
) -> None:
    write_source_migration(project / "migrations", "0004_bad", ['RawSql(forward_sql="INSERT INTO nowhere VALUES (1)")'])
    result = _run(pytester, zanith_shadow)
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*zanith_migrated_db: migration 0004 step 1/1 (raw_sql*failed: *nowhere*"])
    result.stdout.no_fnmatch_line("*resumes*")
    result.stdout.no_fnmatch_line("*Traceback*")
    assert _templates(zanith_shadow, project) == []
