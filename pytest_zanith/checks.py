"""The built-in checks: plain test functions over the plugin's fixtures, collected into the user's run.

When the rootdir's pyproject.toml has ``[tool.zanith]`` and the run asks for zanith checks (a budget:
``--zanith-budget=N`` or ini ``zanith_budget``; or ini ``zanith_verify = true``), these items are
appended after the project's own tests, before ``-k``/``-m`` deselection, so those select them like any
test:

- ``pyproject.toml::zanith-budget[<migration id>]``, one per pending migration: :func:`zanith_budget`
  fails with that migration's plan table when a step scores above the budget. Which migrations are
  pending is planned once at collection; if that planning fails, a single ``pyproject.toml::zanith-budget``
  item judges the whole plan, and so reports the error.
- ``pyproject.toml::zanith-verify``: :func:`zanith_verify` replays the migrations on a fresh database of
  the shadow server and fails with the verdict's text.

The functions take fixtures (``zanith_plan``, ``zanith_config``, ``zanith_shadow``), so a user who
overrides one in the conftest.py beside pyproject.toml changes what the checks use. Fixtures are set up
inside the test call, as pytest-alembic does, so that a project error (a bad config, a broken migration
file) fails the check with ``error: <message>`` rather than erroring its setup with a traceback.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from .options import budget_option, project_pyproject, zanith_checks_requested

if TYPE_CHECKING:
    from collections.abc import Iterator

    from zanith_core.config import Config
    from zanith_core.plan import Plan
    from zanith_core.servers import Server

BUDGET = "zanith-budget"
VERIFY = "zanith-verify"


def zanith_budget(zanith_plan: Plan, *, budget: int, migration_id: str | None = None) -> None:
    """Every step of the pending migration ``migration_id`` (all pending ones if None) scores at most ``budget``."""
    from zanith_core.plan import check_budget

    message = check_budget(zanith_plan if migration_id is None else zanith_plan.only(migration_id), budget)
    if message is not None:
        pytest.fail(message, pytrace=False)


def zanith_verify(zanith_config: Config, zanith_shadow: Server) -> None:
    """The migrations, replayed on a fresh database of the shadow server, give exactly the declared schema."""
    from zanith_core.verify import verify_on_shadow

    verdict = verify_on_shadow(zanith_config, server=zanith_shadow)
    if not verdict.ok:
        pytest.fail(verdict.render(), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the checks before ``-k``/``-m`` deselection runs, so those select them like any test."""
    pyproject = project_pyproject(config)
    if pyproject is not None and zanith_checks_requested(config):
        items.extend(ProjectChecks.from_parent(session, path=pyproject).collect())


class ProjectChecks(pytest.File):
    """The rootdir's pyproject.toml as the parent of the checks, which gives them their node ids."""

    def collect(self) -> Iterator[Check]:
        yield Check.from_parent(self, name=VERIFY, callobj=zanith_verify)
        budget = budget_option(self.config)
        if budget is not None:
            yield from self._budget_checks(budget)

    def _budget_checks(self, budget: int) -> Iterator[Check]:
        from zanith_core.config import load_config
        from zanith_core.errors import ZanithError
        from zanith_core.plan import plan_project

        try:
            pending = plan_project(load_config(self.path.parent), budget=budget).migrations
        except ZanithError:
            yield Check.from_parent(self, name=BUDGET, callobj=partial(zanith_budget, budget=budget))
            return
        for mid in pending:
            check = partial(zanith_budget, budget=budget, migration_id=mid)
            yield Check.from_parent(self, name=f"{BUDGET}[{mid}]", callobj=check, originalname=BUDGET)


class Check(pytest.Function):
    """One built-in check: a test function whose fixtures are set up in the call, and whose zanith_core
    errors read ``error: <message>``."""

    def setup(self) -> None:
        """Nothing: the fixtures are set up in :meth:`runtest`, where their errors are the check's failure."""

    def runtest(self) -> None:
        super().setup()
        super().runtest()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from zanith_core.errors import ZanithError

        if isinstance(excinfo.value, ZanithError):
            return f"error: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"zanith check: {self.name}"
