"""The pytest11 entry point, loaded on every pytest run where zanith is installed: registration only.

Options live in :mod:`.options`, fixtures in :mod:`.fixtures`, the built-in checks in :mod:`.checks`.
None of them imports psycopg or zanith_core at module level, so loading the plugin stays cheap (a test
holds it to that); the work happens in zanith_core when a fixture or check runs.
"""

from __future__ import annotations

from .checks import pytest_collection_modifyitems, pytest_configure
from .fixtures import (
    _zanith_migrated_clones,
    _zanith_template_clones,
    zanith_config,
    zanith_db,
    zanith_migrated_db,
    zanith_migrated_template,
    zanith_plan,
    zanith_shadow,
    zanith_template,
)
from .options import pytest_addoption, pytest_runtest_protocol

__all__ = [
    "_zanith_migrated_clones",
    "_zanith_template_clones",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_protocol",
    "zanith_config",
    "zanith_db",
    "zanith_migrated_db",
    "zanith_migrated_template",
    "zanith_plan",
    "zanith_shadow",
    "zanith_template",
]
