"""Clones of a template made ahead: the next test's database is created while the current test runs.

``CREATE DATABASE … TEMPLATE`` costs 50 to 150 ms even for a small schema (PostgreSQL copies every block of
the template, its catalogs included, through the WAL); a suite paying it per test spends most of a short
test's time on it. :class:`Clones` keeps one clone ready: taking it starts the creation of the next one
on a background thread. A test that runs longer than a clone takes waits only for its connection.

A used clone is dropped at once, in the test's teardown, not in the background: when a test's teardown
ends its database is gone, so a session fixture that drops a role or a tablespace the tests used (torn
down before this one) never finds a test database still holding it.

Each template has its own :class:`Clones` per pytest process (pytest-xdist workers each keep theirs);
:meth:`Clones.close` at the end of the session waits for the thread and drops the clone made for a test
that never came. Databases are created by pytest-postgresql's ``DatabaseJanitor``, as before. An error
of a background creation is raised by the :meth:`Clones.take` that needed its result.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zanith_core.servers import Server


class Clones:
    """Databases cloned from ``template`` on ``server``, named ``<prefix>_<pid>_<random>``, one made ahead."""

    def __init__(self, server: Server, template: str, prefix: str, janitor: Any) -> None:
        self.server = server
        self.template = template
        self.prefix = prefix
        self._janitor = janitor
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"zanith-{prefix}")
        self._next: Future[str] | None = None

    def take(self) -> str:
        """A fresh clone's name; the next one is started at once, in the background."""
        name = self._next.result() if self._next is not None else self._create()
        self._next = self._maker.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        """Drop a used clone now, disconnecting whoever is left on it (see the module doc)."""
        self.server.drop_database(name)

    def close(self) -> None:
        """Wait for the background creation and drop the clone made ahead for a test that never came."""
        ahead, self._next = self._next, None
        if ahead is not None and ahead.exception() is None:
            self.server.drop_database(ahead.result())
        self._maker.shutdown(wait=True)

    def _create(self) -> str:
        name = f"{self.prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        self._janitor(self.server, name, template=self.template).init()
        return name
