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
        help="zanith: add one item per pending migration, failing when a step scores above N",
    )
    parser.addini("zanith_budget", default=None, help="zanith: default for --zanith-budget")
    parser.addini(
        "zanith_verify",
        type="bool",
        default=False,
        help="zanith: add the shadow verify item even without --zanith-budget",
    )


def budget_option(config: pytest.Config) -> int | None:
    """``--zanith-budget`` if given, else the ``zanith_budget`` ini value, else None."""
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


def zanith_checks_requested(config: pytest.Config) -> bool:
    """A budget (option or ini) asks for every zanith check; ``zanith_verify = true`` for the shadow verify."""
    return budget_option(config) is not None or bool(config.getini("zanith_verify"))


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
