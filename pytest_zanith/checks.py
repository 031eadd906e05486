"""The built-in checks: plain test functions over the plugin's fixtures, collected into the user's run.

When the rootdir's pyproject.toml has ``[tool.zanith]``, the run covers the project's whole suite or asks
for the checks (see :func:`pytest_collection_modifyitems`), and a check is wanted — a budget
(``--zanith-budget=N``, else ini ``zanith_budget``, else ``[tool.zanith] budget``), ini
``zanith_verify = true`` or ``--zanith-checks`` — these items are appended after the project's own
tests, before ``-k``/``-m`` deselection, so those select them like any test. Each carries the ``zanith``
marker (``-m "not zanith"`` deselects them all):

- ``pyproject.toml::zanith-budget[<migration id>]``, one per gated migration: :func:`zanith_budget`
  fails with that migration's plan table when a step scores above the budget. The gated migrations are
  the pending ones (planned once at collection), narrowed by ``--zanith-since`` to the files changed
  since a git reference (:mod:`.since`). If planning fails, a single ``pyproject.toml::zanith-budget``
  item judges the whole plan, and so reports the error.
- ``pyproject.toml::zanith-verify``: :func:`zanith_verify` replays the migrations on a fresh database of
  the shadow server and fails with the verdict's text; with ``[tool.zanith] check_risk`` (the default)
  it observes each step and also fails, listing them, when steps locked or rewrote more than the risk
  model predicted (``zanith verify --check-risk``).

The functions take fixtures (``zanith_plan``, ``zanith_config``, ``zanith_shadow``), so a user who
overrides one in the conftest.py beside pyproject.toml changes what the checks use. Fixtures are set up
inside the test call, as pytest-alembic does, so that a project error (a bad config, a broken migration
file) fails the check with ``error: <message>`` rather than erroring its setup with a traceback.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from .options import (
    budget_option,
    checks_asked_for,
    project_pyproject,
    selection_covers_project,
    since_option,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from zanith_core.config import Config
    from zanith_core.plan import Plan
    from zanith_core.servers import Server
    from zanith_core.verify.observed import Mismatch

BUDGET = "zanith-budget"
VERIFY = "zanith-verify"
MARKER = "zanith"


def zanith_budget(zanith_plan: Plan, *, budget: int, migration_id: str | None = None) -> None:
    """Every step of the pending migration ``migration_id`` (all pending ones if None) scores at most ``budget``."""
    from zanith_core.plan import check_budget

    message = check_budget(zanith_plan if migration_id is None else zanith_plan.only(migration_id), budget)
    if message is not None:
        pytest.fail(message, pytrace=False)


def zanith_verify(zanith_config: Config, zanith_shadow: Server) -> None:
    """The migrations, replayed on a fresh database of the shadow server, give exactly the declared schema;
    with ``check_risk``, no step locks or rewrites more than the risk model predicted."""
    from zanith_core.verify import verify_on_shadow

    verdict = verify_on_shadow(zanith_config, server=zanith_shadow, observe=zanith_config.check_risk)
    if not verdict.ok:
        # the verdict's own failure; every step's observation would bury it
        pytest.fail(replace(verdict, steps=(), mismatches=()).render(), pytrace=False)
    if verdict.risk == "mismatch":
        pytest.fail(_risk_mismatch(verdict.mismatches), pytrace=False)


def _risk_mismatch(mismatches: Sequence[Mismatch]) -> str:
    lines = [
        "the migrations reach the declared schema, but on the shadow these steps did more than the risk "
        "model predicted (risk: mismatch):",
        *(f"  {m.render()}" for m in mismatches),
        "fix the rule or catalog entry named (a plan scored with it understates the step), or set "
        "check_risk = false in [tool.zanith] to stop observing the replay",
    ]
    return "\n".join(lines)


def _raise(error: Exception) -> None:
    """A check that fails with the ``error`` found while collecting it."""
    raise error


def _changed_since(project: Config, pending: tuple[str, ...], ref: str) -> tuple[str, ...]:
    """The ``pending`` migrations whose files changed since the merge-base with ``ref`` (:mod:`.since`)."""
    from zanith_core.migrations import load_migrations

    from .since import changed_since

    changed = changed_since(project.migrations_dir, ref)
    paths = {m.id: m.path for m in load_migrations(project.migrations_dir)}
    return tuple(mid for mid in pending if (path := paths.get(mid)) is None or path.resolve() in changed)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: zanith's built-in checks (budget items, shadow verify)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append the checks before ``-k``/``-m`` deselection runs, so those select them like any test.

    Only when the run covers the project's whole suite or asks for them (:func:`selection_covers_project`,
    :func:`checks_asked_for`): running one test file or one test does not plan and verify the project.
    """
    pyproject = project_pyproject(config)
    if pyproject is not None and (checks_asked_for(config) or selection_covers_project(config)):
        items.extend(ProjectChecks.from_parent(session, path=pyproject).collect())


class ProjectChecks(pytest.File):
    """The rootdir's pyproject.toml as the parent of the checks, which gives them their node ids."""

    def collect(self) -> Iterator[Check]:
        from zanith_core.config import load_config
        from zanith_core.errors import ZanithError

        budget = budget_option(self.config)
        try:
            project = load_config(self.path.parent)
        except ZanithError:  # the checks report it: their fixtures load the same config
            project = None
        if budget is None and project is not None:
            budget = project.budget
        if budget is not None or self.config.getini("zanith_verify") or checks_asked_for(self.config):
            yield self._check(VERIFY, zanith_verify)
        if budget is not None:
            yield from self._budget_checks(budget, project)

    def _budget_checks(self, budget: int, project: Config | None) -> Iterator[Check]:
        from zanith_core.errors import ZanithError
        from zanith_core.plan import plan_project

        try:
            pending = plan_project(project, budget=budget).migrations if project is not None else None
        except ZanithError:
            pending = None
        if project is None or pending is None:  # a bad config, a broken migration: zanith_plan's error
            yield self._check(BUDGET, partial(zanith_budget, budget=budget))
            return
        since = since_option(self.config)
        if since is not None and pending:
            try:
                pending = _changed_since(project, pending, since)
            except ZanithError as exc:
                yield self._check(BUDGET, partial(_raise, exc))
                return
        for mid in pending:
            check = partial(zanith_budget, budget=budget, migration_id=mid)
            yield self._check(f"{BUDGET}[{mid}]", check, originalname=BUDGET)

    def _check(self, name: str, callobj: Callable[..., None], **kwargs: str) -> Check:
        check = Check.from_parent(self, name=name, callobj=callobj, **kwargs)
        check.add_marker(MARKER)
        return check


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
