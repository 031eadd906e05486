"""The checks fit pytest's selection: a ``zanith`` marker, and no checks for a run narrower than the suite."""

from __future__ import annotations

import pytest
from verify_support import make_project

pytest_plugins = ["pytester"]

# The clean project's three migrations: three budget items and the verify item, all passing.
CHECKS = ["*pyproject.toml::zanith-verify PASSED*", "*pyproject.toml::zanith-budget[[]0001[]] PASSED*"]
SUITE = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\nzanith_budget = "50"\n'


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A clean project with a budget in its ini and two test files, in tests/ and tests/unit/."""
    make_project(pytester.path, extra_toml=SUITE)
    tests = pytester.mkpydir("tests")
    (tests / "test_mine.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    (tests / "unit").mkdir()
    (tests / "unit" / "test_unit.py").write_text("def test_c():\n    pass\n")
    return pytester


def test_the_whole_suite_collects_the_checks(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-v")
    result.assert_outcomes(passed=3 + 4)
    result.stdout.fnmatch_lines(CHECKS, consecutive=False)
    suite.runpytest("tests").assert_outcomes(passed=3 + 4)  # the testpaths folder, named
    suite.runpytest(".").assert_outcomes(passed=3 + 4)  # the rootdir, named


def test_not_zanith_deselects_the_checks_and_zanith_selects_only_them(suite: pytest.Pytester) -> None:
    suite.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.zanith: zanith's built-in checks*"])
    suite.runpytest("-m", "not zanith").assert_outcomes(passed=3, deselected=4)
    result = suite.runpytest("-v", "-m", "zanith")
    result.assert_outcomes(passed=4, deselected=3)
    result.stdout.fnmatch_lines(CHECKS, consecutive=False)


@pytest.mark.parametrize(
    ("selection", "passed"),
    [("tests/test_mine.py::test_a", 1), ("tests/test_mine.py", 2), ("tests/unit", 1)],
)
def test_a_narrower_selection_does_not_collect_the_checks(suite: pytest.Pytester, selection: str, passed: int) -> None:
    result = suite.runpytest("-v", selection)
    result.assert_outcomes(passed=passed)
    result.stdout.no_fnmatch_line("*pyproject.toml::zanith*")


def test_the_checks_asked_for_join_a_narrow_selection(suite: pytest.Pytester) -> None:
    suite.runpytest("--zanith-checks", "tests/test_mine.py::test_a").assert_outcomes(passed=1 + 4)
    suite.runpytest("--zanith-budget=50", "tests/test_mine.py::test_a").assert_outcomes(passed=1 + 4)
    (suite.path / "pyproject.toml").write_text((suite.path / "pyproject.toml").read_text() + "zanith_checks = true\n")
    suite.runpytest("tests/test_mine.py::test_a").assert_outcomes(passed=1 + 4)


def test_checks_asked_for_without_a_budget_are_the_verify_item(pytester: pytest.Pytester) -> None:
    make_project(pytester.path)
    pytester.makepyfile(test_mine="def test_a():\n    pass\n")
    result = pytester.runpytest("-v", "--zanith-checks", "test_mine.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*pyproject.toml::zanith-verify PASSED*"])
