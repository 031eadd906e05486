"""Spare databases (:mod:`zanith_core.spares`): claimed atomically, fresh, and never the same one twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from zanith_core import spares
from zanith_core.servers import Server, connect


@pytest.fixture
def spare_server(zanith_shadow: Server) -> Iterator[Server]:
    """The session server with spares made on it; every spare, claimed or not, dropped afterwards."""
    with connect(zanith_shadow.url) as conn:
        spares.replenish(conn)
    yield Server(url=zanith_shadow.url, kind=zanith_shadow.kind, spares=True)
    with connect(zanith_shadow.url) as conn:
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'zanith_spare_')"
            " OR starts_with(datname, 'zanith_trash_') OR starts_with(datname, 'zanith_claimed_')"
        ).fetchall():
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_concurrent_claims_never_get_the_same_spare(spare_server: Server) -> None:
    barrier = threading.Barrier(spares.SPARES + 1)
    won: list[bool] = []

    def claim(n: int) -> None:
        with connect(spare_server.url) as conn:
            barrier.wait()
            won.append(spares.claim(conn, f"zanith_claimed_{n}", "template1"))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(spares.SPARES + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] + [True] * spares.SPARES  # one more claim than spares: it creates its own


def test_a_database_from_a_spare_is_fresh_and_goes_to_the_trash(spare_server: Server) -> None:
    url = spare_server.create_database("zanith_claimed_x", template="template0")
    with psycopg.connect(url) as conn:
        objects = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone()
        assert objects == (0,)
        conn.execute("CREATE TABLE left_behind (id int)")
    with connect(spare_server.url) as conn:
        left = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
        assert "zanith_claimed_x" in left
        assert sum(n.startswith(f"{spares.PREFIX}t0_") for n in left) == spares.SPARES - 1  # one was taken
    spare_server.drop_database("zanith_claimed_x")
    with connect(spare_server.url) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
        assert "zanith_claimed_x" not in names and any(n.startswith(spares.TRASH) for n in names)
        spares.replenish(conn)
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert not any(n.startswith(spares.TRASH) for n in names)
    assert sum(n.startswith(spares.PREFIX) for n in names) == 2 * spares.SPARES


def test_a_database_in_use_is_dropped_at_once(spare_server: Server) -> None:
    url = spare_server.create_database("zanith_claimed_busy")
    with psycopg.connect(url):  # still connected: it cannot be renamed into the trash
        spare_server.drop_database("zanith_claimed_busy")
    with connect(spare_server.url) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'zanith_claimed_busy'").fetchone() is None
