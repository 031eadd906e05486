"""The collected ``zanith verify`` item: the shadow verify as an ordinary test in the user's pytest run.

It is added when the rootdir's pyproject.toml has ``[tool.zanith]`` and the run asks for zanith checks
(a budget — ``--zanith-budget=N`` or ini ``zanith_budget`` — or ini ``zanith_verify = true``). It runs
:func:`zanith_core.verify.verify_on_shadow` on a fresh database of the session's shadow server and
fails with the verdict's text. This module also remembers the session's shadow server choice, so
``assert_no_drift(schema)`` uses the same server as the ``zanith_shadow`` fixture. zanith_core is
imported only when the item runs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .fixtures import shadow_url_option

if TYPE_CHECKING:
    from zanith_core.servers import Server
    from zanith_core.verify import Verdict

ITEM_NAME = "zanith-verify"

_shadow_urls: list[str | None] = []
"""The shadow server URL of each configured session (a stack: pytester nests sessions)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "zanith_verify",
        type="bool",
        default=False,
        help="zanith: add the shadow verify item even without --zanith-budget",
    )


def pytest_configure(config: pytest.Config) -> None:
    _shadow_urls.append(shadow_url_option(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _shadow_urls:
        _shadow_urls.pop()


def session_server() -> Server:
    """The server the ``zanith_shadow`` fixture uses in this run (embedded unless a URL is set)."""
    from zanith_core.servers import resolve_server

    url = _shadow_urls[-1] if _shadow_urls else None
    return resolve_server(url or os.environ.get("ZANITH_SHADOW_URL") or None)


def zanith_checks_requested(config: pytest.Config) -> bool:
    """A budget (option or ini) asks for every zanith check; ``zanith_verify = true`` for this one alone."""
    from .budget import budget_option

    return budget_option(config) is not None or bool(config.getini("zanith_verify"))


def project_pyproject(config: pytest.Config) -> Path | None:
    """The rootdir's pyproject.toml when it configures a zanith project."""
    path = config.rootpath / "pyproject.toml"
    try:
        table = tomllib.loads(path.read_text()).get("tool", {}) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return path  # let the item report the syntax error, with the file name
    return path if "zanith" in table else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the item before ``-k``/``-m`` deselection runs, so those select it like any test."""
    pyproject = project_pyproject(config)
    if pyproject is None or not zanith_checks_requested(config):
        return
    nodeid = f"{pyproject.relative_to(config.rootpath)}::{ITEM_NAME}"
    items.append(VerifyItem.from_parent(session, name=ITEM_NAME, path=pyproject, nodeid=nodeid))


class VerdictFailed(Exception):
    """The shadow verify did not say ``ok``."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.verdict)
        self.verdict = verdict


class VerifyItem(pytest.Item):
    """Replay the project's migrations on a fresh shadow database; fail unless the verdict is ``ok``."""

    def runtest(self) -> None:
        from zanith_core.config import load_config
        from zanith_core.verify import verify_on_shadow

        verdict = verify_on_shadow(load_config(self.path.parent), server=session_server())
        if not verdict.ok:
            raise VerdictFailed(verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from zanith_core.errors import ZanithError

        if isinstance(excinfo.value, VerdictFailed):
            return excinfo.value.verdict.render()
        if isinstance(excinfo.value, ZanithError):
            return f"error: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, "zanith shadow verify"
