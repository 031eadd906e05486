"""nox sessions: tests on the embedded server, tests against ZANITH_TEST_DATABASE_URL, lint, types, bench."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@nox.session
def tests(session: nox.Session) -> None:
    """The suite on the embedded PostgreSQL server (no setup needed)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"ZANITH_TEST_DATABASE_URL": ""})


@nox.session(name="tests-url")
def tests_url(session: nox.Session) -> None:
    """The suite against an existing server (ZANITH_TEST_DATABASE_URL, default the local one)."""
    session.install("-e", ".[test]")
    url = os.environ.get("ZANITH_TEST_DATABASE_URL") or DEFAULT_URL
    session.run("pytest", *session.posargs, env={"ZANITH_TEST_DATABASE_URL": url})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the layer contract of pyproject.toml (import-linter: stages import only earlier stages)."""
    session.install("-e", ".", "ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (the ``dev`` extra), over the packages with every dependency they import installed."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark, as ratios against baselines measured in the same run."""
    session.install("-e", ".[test,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)
