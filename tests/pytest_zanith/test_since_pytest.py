"""``--zanith-since REF``: without a target, the budget items gate only the migrations a branch adds or edits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import write_source_migration
from verify_support import ORDERS, USERS, make_project

pytest_plugins = ["pytester"]

DROP_NAME = 'DropColumn(table="public.users", column=Column(name="name", type="text"))'
INI = '[tool.pytest.ini_options]\nzanith_budget = "35"\nzanith_since = "main"\n'


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def branch(pytester: pytest.Pytester) -> Path:
    """main holds 0001 and the risky 0002, merged long ago; the checked-out branch starts from it."""
    make_project(pytester.path, migrations={"0001_users": [USERS], "0002_drop_name": [DROP_NAME]}, extra_toml=INI)
    _git(pytester.path, "init", "-q", "-b", "main")
    _git(pytester.path, "add", "-A")
    _git(pytester.path, "commit", "-q", "-m", "merged")
    _git(pytester.path, "checkout", "-q", "-b", "feature")
    return pytester.path


def test_only_the_branchs_migrations_are_gated(pytester: pytest.Pytester, branch: Path) -> None:
    write_source_migration(branch / "migrations", "0003_orders", [ORDERS])  # untracked
    result = pytester.runpytest("-v", "-k", "budget")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-budget[[]0003[]] PASSED*"])

    _git(branch, "add", "-A")
    _git(branch, "commit", "-q", "-m", "orders")  # committed on the branch: still the branch's
    pytester.runpytest("-k", "budget").assert_outcomes(passed=1, deselected=1)

    without = pytester.runpytest("-k", "budget", "--zanith-since=HEAD")  # nothing changed since HEAD
    without.assert_outcomes(deselected=1)


def test_an_edited_merged_migration_is_gated_again(pytester: pytest.Pytester, branch: Path) -> None:
    path = branch / "migrations" / "0002_drop_name.py"
    path.write_text(path.read_text() + "# edited\n")
    result = pytester.runpytest("-v", "-k", "budget")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-budget[[]0002[]] FAILED*", "*verdict: refused (budget)*"])


def test_without_since_every_migration_is_gated(pytester: pytest.Pytester, branch: Path) -> None:
    (branch / "pyproject.toml").write_text((branch / "pyproject.toml").read_text().replace('zanith_since = "main"', ""))
    pytester.runpytest("-k", "budget").assert_outcomes(passed=1, failed=1, deselected=1)


def test_an_unknown_ref_fails_one_item_in_one_line(pytester: pytest.Pytester, branch: Path) -> None:
    result = pytester.runpytest("-v", "-rN", "-k", "budget", "--zanith-since=no-such-branch")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*pyproject.toml::zanith-budget FAILED*", "error: zanith_since = 'no-such-branch': git merge-base failed*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
