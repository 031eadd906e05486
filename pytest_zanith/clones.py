"""Clones of a template made ahead: the next test's database is created while the current test runs.

``CREATE DATABASE … TEMPLATE`` costs 50 to 150 ms even for a small schema (PostgreSQL copies every block of
the template, its catalogs included, through the WAL) and ``DROP DATABASE`` tens more; a suite paying
both per test spends most of a short test's time on them. :class:`Clones` keeps one clone ready: taking
it starts the creation of the next one on a background thread, and giving a used one back queues its
drop on another. A test that runs longer than a clone takes waits only for its connection.

Each template has its own :class:`Clones` per pytest process (pytest-xdist workers each keep theirs);
:meth:`Clones.close` at the end of the session waits for the threads and drops the clone made for a test
that never came. Databases are created and dropped by pytest-postgresql's ``DatabaseJanitor``, as
before. An error of a background creation is raised by the :meth:`Clones.take` that needed its result.
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
        # Two threads, so that dropping the last clone never delays making the next one.
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"zanith-{prefix}-make")
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"zanith-{prefix}-drop")
        self._next: Future[str] | None = None
        self._left: list[str] = []
        """Clones a background drop failed on, with why: reported by :meth:`close`."""

    def take(self) -> str:
        """A fresh clone's name; the next one is started at once, in the background."""
        name = self._next.result() if self._next is not None else self._create()
        self._next = self._maker.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        """Drop a used clone, in the background."""
        self._dropper.submit(self._drop, name)

    def close(self) -> None:
        """Wait for the background work and drop the clone made ahead for a test that never came; a clone
        that could not be dropped is an error here, at the end of the session, not a silent leftover."""
        ahead, self._next = self._next, None
        if ahead is not None and ahead.exception() is None:
            self._drop(ahead.result())
        self._maker.shutdown(wait=True)
        self._dropper.shutdown(wait=True)
        if self._left:
            raise RuntimeError(f"could not drop the test databases {'; '.join(self._left)}")

    def _create(self) -> str:
        name = f"{self.prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        self._janitor(self.server, name, template=self.template).init()
        return name

    def _drop(self, name: str) -> None:
        try:
            self._janitor(self.server, name).drop()
        except Exception as exc:  # on the background thread: kept for close() to report
            self._left.append(f"{name} ({' '.join(str(exc).split())})")
