"""The pytest11 entry point: options and fixtures. Kept cheap to import; the work is in zanith_core."""

from __future__ import annotations

import pytest

from .budget import pytest_collection_modifyitems
from .fixtures import zanith_db, zanith_shadow, zanith_template

__all__ = ["pytest_collection_modifyitems", "zanith_db", "zanith_shadow", "zanith_template"]

pytest_plugins = ["pytest_zanith.verify_item"]


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
