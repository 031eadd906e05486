"""The suite's shared setup: this folder is on ``sys.path`` (pytest's rootdir conftest rule), so the test
modules in the package folders below import the shared helpers as plain modules (``import support``).

Test folders mirror ``zanith_core``'s packages; tests of the top-level modules (config, servers, diff,
hooks) and of the repository as a whole (README, fresh clone, example shop, benchmarks) sit here.

Hypothesis runs under the profile ``HYPOTHESIS_PROFILE`` names: ``ci`` (the default, so a plain
``python -m pytest`` keeps the full example counts) or ``dev``, a fifth of them for quick local runs.
Tests state their counts in ``ci`` terms through ``support.examples``, which scales them by the profile.

The ``sentinel`` fixture is a database of the test's own that hostile declared SQL names, to prove it survives.
Roles a test grants privileges to come from the ``grantee_roles`` fixture, which drops them at the end
of the session: tests leave no role behind.

The CLI's warm server (one embedded server per project, kept running between commands) is off for the
suite's commands, in process and in subprocesses: thousands of temporary projects must not each leave a
server running. tests/test_warm.py turns it on for its own commands, and stops what it started.
"""

import os
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import settings
from psycopg import sql
from support import READER, WRITER

from zanith_core.servers import Server, connect

os.environ["ZANITH_WARM_SERVER"] = "0"
os.environ["ZANITH_CACHE"] = "0"  # tests that want the declared-graph cache turn it on themselves

settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def grantee_roles(zanith_shadow: Server) -> Iterator[tuple[str, str]]:
    """Two roles to grant privileges to, named for this process (xdist workers share a server) and
    dropped when the session ends — after every test database holding grants to them is gone."""
    with connect(zanith_shadow.url) as conn:
        for role in (READER, WRITER):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    yield READER, WRITER
    with connect(zanith_shadow.url) as conn:
        for role in (READER, WRITER):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def sentinel(zanith_shadow: Server) -> Iterator[str]:
    """A database of the test's own that the hostile SQL names: it must still exist afterwards."""
    name = f"zanith_sentinel_{os.getpid()}_{secrets.token_hex(3)}"
    zanith_shadow.create_database(name)
    yield name
    zanith_shadow.drop_database(name)
