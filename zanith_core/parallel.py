"""Independent loads at once: each one's work is mostly PostgreSQL's, on its own connection.

Introspecting a database is dominated by the server evaluating ``pg_get_indexdef`` and friends, and
loading a declared schema by the server executing its DDL; while one side waits on its server the other
can run. Both callables always run to the end (a scratch database is always dropped); the first
failure, in argument order, is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")


def both(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())``, run concurrently."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="zanith-load") as pool:
        a, b = pool.submit(first), pool.submit(second)
        errors = [f.exception() for f in (a, b)]
    error = next((e for e in errors if e is not None), None)
    if error is not None:
        raise error
    return a.result(), b.result()


def each(work: Callable[[T], A], items: Iterable[T], parallel: int, name: str = "zanith-each") -> list[A]:
    """``[work(item) for item in items]``, at most ``parallel`` at a time (a fleet's targets: never more
    connections than that), in the items' order; the first failure, in that order, is raised."""
    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix=name) as pool:
        return list(pool.map(work, items))
