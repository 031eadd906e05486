"""``pytest --zanith-budget``: one check per pending migration, the error item, and ``assert_within_budget``."""

from __future__ import annotations

import pytest
from verify_support import ORDERS, USERS, make_project

pytest_plugins = ["pytester"]

DROP_NAME = 'DropColumn(table="public.users", column=Column(name="name", type="text"))'
RISKY = {"0001_users": [USERS], "0002_drop_name": [DROP_NAME], "0003_orders": [ORDERS]}
SAFE = {"0001_users": [USERS], "0003_orders": [ORDERS]}


def test_a_risky_migration_fails_with_its_plan_table(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=RISKY)
    result = pytester.runpytest("-v", "--zanith-budget=35", "-k", "budget")
    result.assert_outcomes(passed=2, failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*pyproject.toml::zanith-budget[[]0001[]] PASSED*",
            "*pyproject.toml::zanith-budget[[]0002[]] FAILED*",
            "*pyproject.toml::zanith-budget[[]0003[]] PASSED*",
        ]
    )
    failure = result.stdout.str().split("FAILURES")[1]
    assert "migration 0002" in failure and "migration 0001" not in failure and "migration 0003" not in failure
    assert any(line.startswith("!") and "drop_column" in line and "80" in line for line in failure.splitlines())
    assert "verdict: refused (budget)" in failure
    assert "Traceback" not in failure


def test_a_safe_project_passes_and_the_ini_sets_the_budget(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=SAFE, extra_toml='[tool.pytest.ini_options]\nzanith_budget = "35"\n')
    result = pytester.runpytest("-v", "-k", "budget")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-budget[[]0001[]] PASSED*"])


def test_the_option_wins_over_the_ini(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=RISKY, extra_toml='[tool.pytest.ini_options]\nzanith_budget = "35"\n')
    pytester.runpytest("--zanith-budget=80", "-k", "budget").assert_outcomes(passed=3, deselected=1)


def test_the_projects_budget_gates_the_items(pytester: pytest.Pytester) -> None:
    """``[tool.zanith] budget`` is the one budget setting: the pytest items use it too."""
    make_project(pytester.path, migrations=RISKY, budget=35)
    result = pytester.runpytest("-v", "-k", "budget")
    result.assert_outcomes(passed=2, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-budget[[]0002[]] FAILED*"])


@pytest.mark.parametrize(
    ("tool", "ini", "option", "failed"),
    [
        (80, "35", None, 1),  # the ini key overrides [tool.zanith]
        (35, "80", None, 0),
        (80, "35", "80", 0),  # the option overrides both
        (80, "80", "35", 1),
    ],
)
def test_the_option_overrides_the_ini_which_overrides_the_project(
    pytester: pytest.Pytester, tool: int, ini: str, option: str | None, failed: int
) -> None:
    make_project(
        pytester.path, migrations=RISKY, budget=tool, extra_toml=f'[tool.pytest.ini_options]\nzanith_budget = "{ini}"\n'
    )
    args = ["-k", "budget", *([f"--zanith-budget={option}"] if option else [])]
    pytester.runpytest(*args).assert_outcomes(passed=3 - failed, failed=failed, deselected=1)


def test_without_a_budget_there_are_no_checks(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=RISKY)
    pytester.makepyfile(test_nothing="def test_x():\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_broken_migration_file_fails_one_item_in_one_line(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, migrations=SAFE)
    (pytester.path / "migrations" / "0009_bad.py").write_text("id = '0009'\noperations = [Nope()]\n")
    result = pytester.runpytest("-v", "--zanith-budget=35", "-k", "budget")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-budget FAILED*", "error: *0009_bad.py*unknown operation*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_bad_config_fails_the_checks_rather_than_erroring_them(pytester: pytest.Pytester) -> None:
    """The config is a fixture, set up inside the check: its error is the check's one-line failure."""
    make_project(pytester.path, migrations=SAFE, no_such_key=1)
    # -rN: no short summary, whose lines pytest truncates locally but prints whole under CI=1
    result = pytester.runpytest("-v", "-rN", "--zanith-budget=35")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-verify FAILED*", "*pyproject.toml::zanith-budget FAILED*"])
    assert result.stdout.str().count("unknown key 'no_such_key'") == 2
    result.stdout.no_fnmatch_line("*Traceback*")


def test_assert_within_budget_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mine="""
        from zanith_core.schema.graph import Column
        from zanith_core.migrations import Migration
        from zanith_core.ops import AddColumn, DropColumn
        from pytest_zanith import assert_within_budget

        def test_soft():
            assert_within_budget(Migration("a", (AddColumn("public.t", Column("c", "text")),)), 35)

        def test_hard():
            assert_within_budget(Migration("b", (DropColumn("public.t", Column("c", "text")),)), 35)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: plan: 1 migration(s), 1 step(s), budget 35*"])


@pytest.mark.parametrize(
    ("option", "ini", "message"),
    [
        ("--zanith-budget=101", None, "--zanith-budget: budget must be an integer from 0 to 100, not 101"),
        ("--zanith-budget=-1", None, "--zanith-budget: budget must be an integer from 0 to 100, not -1"),
        (None, "lots", "zanith_budget (ini): budget must be an integer from 0 to 100, not 'lots'"),
    ],
)
def test_a_budget_out_of_range_is_a_usage_error(
    pytester: pytest.Pytester, option: str | None, ini: str | None, message: str
) -> None:
    toml = f'[tool.pytest.ini_options]\nzanith_budget = "{ini}"\n' if ini else ""
    make_project(pytester.path, migrations=SAFE, extra_toml=toml)
    result = pytester.runpytest(*([option] if option else []), "-k", "budget")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
