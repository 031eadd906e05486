"""Clones made ahead (:mod:`pytest_zanith.clones`): the next test's database exists before it is asked for,
a used one is gone when its test's teardown ends, and nothing is left on the server when the session ends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from support import wait_until

from pytest_zanith.clones import Clones
from pytest_zanith.fixtures import cloned_database, janitor
from zanith_core.servers import Server, connect


@pytest.fixture
def template(zanith_shadow: Server) -> Iterator[str]:
    """A template holding one table with one row, so a clone can be told from an empty database."""
    name = f"zanith_ctpl_{os.getpid()}_{secrets.token_hex(3)}"
    url = zanith_shadow.create_database(name)
    with connect(url) as conn:
        conn.execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (7)")
    yield name
    zanith_shadow.drop_database(name)


def clones_of(server: Server, prefix: str) -> set[str]:
    with connect(server.url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,))
        return {r[0] for r in rows.fetchall()}


def test_the_next_clone_is_made_while_a_test_runs(zanith_shadow: Server, template: str) -> None:
    prefix = f"zanith_c{secrets.token_hex(3)}"
    clones = Clones(zanith_shadow, template, prefix, janitor)
    try:
        with cloned_database(clones) as db:
            assert db.conn.execute("SELECT id FROM marker").fetchone() == (7,)
            db.conn.execute("INSERT INTO marker VALUES (8)")  # this test's change, for no other test to see
            # While this test runs, the next test's database appears, without anyone asking for it.
            made = wait_until(lambda: clones_of(zanith_shadow, prefix) - {db.name}, what="the clone made ahead")
        (ahead,) = made
        with cloned_database(clones) as second:
            assert second.name == ahead
            assert second.conn.execute("SELECT count(*) FROM marker").fetchone() == (1,)
        assert db.name not in clones_of(zanith_shadow, prefix)  # gone when its test's teardown ends
    finally:
        clones.close()
    assert clones_of(zanith_shadow, prefix) == set()  # used ones and the one made ahead: all gone


def test_a_clone_that_cannot_be_made_fails_the_test_that_needs_it(zanith_shadow: Server, template: str) -> None:
    prefix = f"zanith_c{secrets.token_hex(3)}"
    clones = Clones(zanith_shadow, template, prefix, janitor)
    with cloned_database(clones) as db:
        wait_until(lambda: clones_of(zanith_shadow, prefix) - {db.name}, what="the clone made ahead")
    with connect(zanith_shadow.url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(template)))
    with cloned_database(clones) as db:  # made before the template went: still good
        assert db.conn.execute("SELECT id FROM marker").fetchone() == (7,)
    with pytest.raises(psycopg.Error, match="does not exist"), cloned_database(clones):
        pass
    clones.close()
    assert clones_of(zanith_shadow, prefix) == set()
