"""``pytest --zanith-budget=N``: one collected item per pending migration, failing with the plan table.

When the rootdir's pyproject.toml configures a zanith project and a budget is given (``--zanith-budget``
or ini ``zanith_budget``), the project is planned once at collection (against ``database_url`` when one
is configured, statically otherwise) and each pending migration becomes an item
``pyproject.toml::zanith-budget[<migration id>]``. An item fails when a step of its migration scores above
the budget; the failure message is that migration's plan table. ``assert_within_budget`` is the same
check for users' own tests. zanith_core is imported only when a budget is actually requested.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .verify_item import project_pyproject

if TYPE_CHECKING:
    from zanith_core.migrations import Migration
    from zanith_core.plan import Plan

ITEM_NAME = "zanith-budget"


def assert_within_budget(migration_or_plan: Migration | Plan, budget: int) -> None:
    """Fail with the plan table unless every step of the migration (or plan) scores at most ``budget``."""
    from zanith_core.plan import check_budget

    message = check_budget(migration_or_plan, budget)
    if message is not None:
        raise AssertionError(message)


def budget_option(config: pytest.Config) -> int | None:
    """``--zanith-budget`` if given, else the ``zanith_budget`` ini value, else None."""
    value = config.getoption("zanith_budget", default=None)
    if value is None:
        value = config.getini("zanith_budget") or None
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"zanith_budget must be an integer, not {value!r}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append one budget item per pending migration (before ``-k``/``-m`` deselection runs)."""
    budget = budget_option(config)
    pyproject = project_pyproject(config)
    if budget is None or pyproject is None:
        return
    from zanith_core.config import load_config
    from zanith_core.errors import ZanithError
    from zanith_core.plan import plan_project

    prefix = pyproject.relative_to(config.rootpath)
    try:
        plan = plan_project(load_config(pyproject.parent), budget=budget)
    except ZanithError as exc:
        items.append(BudgetItem.from_parent(session, name=ITEM_NAME, path=pyproject, nodeid=f"{prefix}::{ITEM_NAME}"))
        items[-1].stash[_ERROR] = str(exc)
        return
    for mid in plan.migrations:
        name = f"{ITEM_NAME}[{mid}]"
        item = BudgetItem.from_parent(session, name=name, path=pyproject, nodeid=f"{prefix}::{name}")
        item.stash[_PLAN] = plan.only(mid)
        item.stash[_BUDGET] = budget
        items.append(item)


_PLAN = pytest.StashKey["Plan"]()
_BUDGET = pytest.StashKey[int]()
_ERROR = pytest.StashKey[str]()


class BudgetExceeded(Exception):
    """A step of the migration scores above the budget; the message is the plan table."""


class BudgetItem(pytest.Item):
    """Fail when any step of one pending migration scores above the budget."""

    def runtest(self) -> None:
        from zanith_core.errors import ZanithError
        from zanith_core.plan import check_budget

        if _ERROR in self.stash:
            raise ZanithError(self.stash[_ERROR])
        message = check_budget(self.stash[_PLAN], self.stash[_BUDGET])
        if message is not None:
            raise BudgetExceeded(message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from zanith_core.errors import ZanithError

        if isinstance(excinfo.value, BudgetExceeded):
            return str(excinfo.value)
        if isinstance(excinfo.value, ZanithError):
            return f"error: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"zanith budget: {self.name}"
