"""The shadow database: a disposable copy where migrations take the hit before production does.

Three topologies, chosen from the config (``shadow``, ``shadow_url``) or the ``--shadow-url`` flag:

- ``embedded`` — a fresh database on the embedded PostgreSQL server (the default, nothing to set up);
- ``url`` — the database a URL names (a CI service container, a docker-compose database), used in place
  and reset before use, so it needs no CREATEDB privilege;
- ``ephemeral`` — a uniquely named database created on the target's own cluster (``database_url``), so
  the shadow runs the production server's version and extensions.

:func:`open_shadow` is the one way in: it yields a reset database and always cleans up. A database it
created is dropped on success, on failure and on interruption (Ctrl-C, SIGTERM), because leaving
``zanith_shadow_*`` databases behind on a production cluster is the worst kind of litter.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..config import Config
from ..errors import ConfigError, ConnectionFailed
from ..hooks import plugin_manager
from ..interrupts import signals_deferred, sigterm_interrupts
from ..servers import Server, connect, embedded_server, mask_url

TOPOLOGIES = ("embedded", "url", "ephemeral")
MAINTENANCE = ("postgres", "template0", "template1")
"""Databases a URL shadow is never taken to be: a URL naming one names its *server*, and verify makes a
fresh database there (a reset would empty the database every tool connects to first)."""
DATABASE_PREFIX = "zanith_shadow"


@dataclass(frozen=True)
class Topology:
    """Where the shadow database comes from. ``url`` is None only for the not-yet-started embedded server."""

    kind: str
    """``embedded``, ``url``, ``ephemeral`` or ``server`` (a fresh database on a given server, as pytest does)."""
    url: str | None = None
    """``url``: the shadow database itself; ``ephemeral``/``server``: the server to create it on."""

    def describe(self) -> str:
        return f"{self.kind} ({mask_url(self.url)})" if self.url else self.kind


@dataclass(frozen=True)
class Shadow:
    """A reset shadow database, ready for migrations."""

    url: str
    topology: Topology

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)


def choose_topology(config: Config, shadow_url: str | None = None) -> Topology:
    """The topology the config asks for; an explicit ``shadow_url`` (the CLI flag) overrides it."""
    if shadow_url:
        return _url(shadow_url)
    kind = config.shadow
    if kind == "auto":
        return _url(config.shadow_url) if config.shadow_url else Topology("embedded")
    if kind == "embedded":
        return Topology("embedded")
    if kind == "url":
        if not config.shadow_url:
            raise ConfigError(
                'shadow = "url" needs a shadow database: set shadow_url in [tool.zanith], '
                "ZANITH_SHADOW_URL, or pass --shadow-url"
            )
        return _url(config.shadow_url)
    if kind == "ephemeral":
        if not config.database_url:
            raise ConfigError(
                'shadow = "ephemeral" creates the shadow on the target\'s server, so it needs database_url '
                "(--database-url, ZANITH_DATABASE_URL or [tool.zanith] database_url)"
            )
        return Topology("ephemeral", config.database_url)
    raise ConfigError(f"unknown shadow topology {kind!r} (expected auto, {', '.join(TOPOLOGIES)})")


def _url(url: str) -> Topology:
    """A shadow URL: the database used in place — unless it names a maintenance database
    (:data:`MAINTENANCE`), which stands for its server: a fresh database is made there."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return Topology("url", url)  # malformed: the first connection reports it, URL masked
    database = info.get("dbname") or info.get("user") or os.environ.get("PGDATABASE") or os.environ.get("PGUSER")
    return Topology("server", url) if database in MAINTENANCE else Topology("url", url)


@contextlib.contextmanager
def open_shadow(config: Config, *, shadow_url: str | None = None, server: Server | None = None) -> Iterator[Shadow]:
    """Yield a freshly reset shadow database; drop it afterwards if this call created it.

    ``server`` (the pytest session server) means: a fresh database on that server, whatever the config
    says. Otherwise the topology comes from :func:`choose_topology`. Connection problems, and a role
    that may not create databases, raise :class:`ConnectionFailed` with a one-line message.
    """
    topology = Topology("server", server.url) if server is not None else choose_topology(config, shadow_url)
    if topology.kind == "url":
        assert topology.url is not None
        reset_shadow(topology.url, config)  # first contact: errors name the URL as the user wrote it
        yield Shadow(disposable(topology.url), topology)
        return
    if server is None:
        # ephemeral: the target's own cluster, reached through the target database itself — managed
        # services often refuse the maintenance database, and CREATE DATABASE works from any database.
        server = embedded_server() if topology.kind == "embedded" else Server(url=str(topology.url), kind="url")
        # (a "server" topology chosen from a URL naming a maintenance database lands here too)
        if topology.url is None:
            topology = Topology("embedded", server.url)
    with _fresh_database(server) as url:
        reset_shadow(url, config)
        yield Shadow(disposable(url), topology)


def disposable(url: str) -> str:
    """``url`` with ``synchronous_commit`` off for every session on it (runner, introspection, sources).

    Nothing written to a shadow has to survive a server crash, and a replay is hundreds of small
    transactions: without this, most of verify's time is spent waiting for WAL flushes. Set through the
    connection's ``options``, it needs no privilege and leaves the database's own settings alone.
    """
    options = str(conninfo_to_dict(url).get("options") or "")
    return make_conninfo(url, options=f"{options} -c synchronous_commit=off".strip())


def reset_shadow(url: str, config: Config) -> None:
    """Run the ``reset_shadow`` hook on the database at ``url``; plugins may replace the default."""
    with connect(url, application_name="zanith shadow") as conn:
        try:
            plugin_manager(config).hook.reset_shadow(conn=conn, config=config)
        except psycopg.Error as exc:
            raise ConnectionFailed(
                f"cannot reset the shadow database {mask_url(url)}: {_one_line(exc)}; its role must own the "
                "schemas the project uses (or a reset_shadow hook must empty it another way)"
            ) from None


@contextlib.contextmanager
def _fresh_database(server: Server) -> Iterator[str]:
    """A uniquely named database on ``server``, dropped on exit even on Ctrl-C or SIGTERM."""
    name = f"{DATABASE_PREFIX}_{os.getpid()}_{secrets.token_hex(4)}"
    with sigterm_interrupts():
        try:
            url = server.create_database(name)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ConnectionFailed(_no_createdb_message(server, exc)) from None
        except psycopg.Error as exc:
            raise ConnectionFailed(
                f"cannot create the shadow database on {server.masked_url}: {_one_line(exc)}"
            ) from None
        try:
            yield url
        finally:
            with signals_deferred():
                server.drop_database(name)


def _no_createdb_message(server: Server, exc: psycopg.Error) -> str:
    role = _role(server.url)
    return (
        f"cannot create the shadow database on {server.masked_url}: role {role!r} lacks the CREATEDB "
        f"privilege ({_one_line(exc)}). Either grant it (ALTER ROLE {role} CREATEDB) or point the shadow "
        "at a disposable database with shadow_url (--shadow-url, ZANITH_SHADOW_URL)"
    )


def _role(url: str) -> str:
    try:
        with connect(url) as conn:
            row = conn.execute("SELECT current_user").fetchone()
    except ConnectionFailed:
        row = None
    return str(row[0]) if row else str(conninfo_to_dict(url).get("user") or "<role>")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
