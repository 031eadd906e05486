"""The plugin's command-line options and ini keys, and the helpers that read them.

One module for every knob, so the fixtures and the checks read the same values and neither imports the
other. Nothing here imports zanith_core at module level: pytest loads this on every run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Generator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from zanith_core.servers import Server


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zanith", "zanith schema safety")
    group.addoption(
        "--zanith-shadow-url",
        dest="zanith_shadow_url",
        default=None,
        help="PostgreSQL server for shadow and per-test databases (default: embedded server)",
    )
    group.addoption(
        "--zanith-budget",
        dest="zanith_budget",
        type=int,
        default=None,
        help="zanith: add one item per pending migration, failing when a step scores above N "
        "(overrides the ini key and [tool.zanith] budget)",
    )
    group.addoption(
        "--zanith-checks",
        dest="zanith_checks",
        action="store_true",
        default=False,
        help="zanith: collect the built-in checks even when the selection is narrower than the project's tests",
    )
    group.addoption(
        "--zanith-since",
        dest="zanith_since",
        default=None,
        metavar="REF",
        help="zanith: without a target database, gate only the migration files added or changed since the "
        "merge-base of HEAD and the git REF",
    )
    parser.addini("zanith_budget", default=None, help="zanith: default for --zanith-budget")
    parser.addini(
        "zanith_verify",
        type="bool",
        default=False,
        help="zanith: add the shadow verify item even without a budget",
    )
    parser.addini("zanith_checks", type="bool", default=False, help="zanith: default for --zanith-checks")
    parser.addini("zanith_since", default=None, help="zanith: default for --zanith-since")


def budget_option(config: pytest.Config) -> int | None:
    """``--zanith-budget`` if given, else the ``zanith_budget`` ini value, else None (then ``[tool.zanith]
    budget`` applies: :func:`zanith_core.plan.plan_project` falls back to the project's)."""
    value, origin = config.getoption("zanith_budget", default=None), "--zanith-budget"
    if value is None:
        value, origin = config.getini("zanith_budget") or None, "zanith_budget (ini)"
    if value is None:
        return None
    from zanith_core.config import check_value  # the range the CLI and [tool.zanith] accept
    from zanith_core.errors import ConfigError

    try:
        budget: int = check_value("budget", value, origin)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    return budget


def since_option(config: pytest.Config) -> str | None:
    """``--zanith-since`` if given, else the ``zanith_since`` ini value; None gates every pending migration."""
    return config.getoption("zanith_since", default=None) or config.getini("zanith_since") or None


def checks_asked_for(config: pytest.Config) -> bool:
    """This run asks for the checks whatever its selection: ``--zanith-checks``, ``--zanith-budget`` on the
    command line, or ``zanith_checks = true``."""
    return (
        bool(config.getoption("zanith_checks", default=False))
        or config.getoption("zanith_budget", default=None) is not None
        or bool(config.getini("zanith_checks"))
    )


def selection_covers_project(config: pytest.Config) -> bool:
    """The run collects the project's whole test suite, not a part of it.

    True when pytest was given no paths and ran its ``testpaths``, or ran from the rootdir or above it;
    or when a path given is a folder (not a file, not a node id) that is the rootdir or holds it, or is
    or holds one of the ``testpaths``. ``pytest tests/test_x.py``, ``pytest tests/test_x.py::test_y`` and
    ``pytest tests/unit`` (a part of ``testpaths = ["tests"]``) do not.
    """
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    root = config.rootpath
    suites = [root.resolve(), *((root / entry).resolve() for entry in config.getini("testpaths"))]
    for arg in config.args:
        if "::" in arg:
            continue
        path = (config.invocation_params.dir / arg).resolve()
        if path.is_dir() and any(suite == path or path in suite.parents for suite in suites):
            return True
    return False


def project_pyproject(config: pytest.Config) -> Path | None:
    """The rootdir's pyproject.toml when it configures a zanith project (a ``[tool.zanith]`` table)."""
    path = config.rootpath / "pyproject.toml"
    try:
        table = tomllib.loads(path.read_text()).get("tool", {}) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return path  # let the checks report the syntax error, with the file name
    return path if isinstance(table, dict) and "zanith" in table else None  # `tool = 5` is no zanith project


def shadow_url_option(config: pytest.Config | None) -> str | None:
    """``--zanith-shadow-url`` if given, else ``ZANITH_SHADOW_URL``; None means the embedded server."""
    option = config.getoption("zanith_shadow_url", default=None) if config is not None else None
    return option or os.environ.get("ZANITH_SHADOW_URL") or None


_running_config: ContextVar[pytest.Config | None] = ContextVar("pytest_zanith_running_config", default=None)
"""The config of the pytest run whose test is running now: set around each test, reset after it."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Let :func:`session_server` read the running test's options (a nested pytester run sets its own)."""
    token = _running_config.set(item.config)
    try:
        return (yield)
    finally:
        _running_config.reset(token)


def session_server() -> Server:
    """The server ``zanith_shadow`` resolves to in the running test's session, for code without fixtures.

    It is resolved from the same options as the fixture, so it ignores an override of ``zanith_shadow``:
    code that can take fixtures should take ``zanith_shadow`` instead.
    """
    from zanith_core.servers import resolve_server

    return resolve_server(shadow_url_option(_running_config.get()))
