"""Spare databases on the warm server: a command takes a ready one instead of waiting for ``CREATE DATABASE``.

Every verify needs a fresh shadow database, and every generate a scratch database for the replay and one
for the declared schema; on the warm server each ``CREATE DATABASE`` took 0.1 to 0.3 s, and ``DROP DATABASE``
more, of a loop whose commands take about a second each. So the warm server's watcher
(:mod:`zanith_core.warm`) keeps :data:`SPARES` fresh databases of each template ready, named
``zanith_spare_<template>_<random>``, and drops the used ones:

- a command that needs a database of ``template0`` or ``template1`` **claims** a spare by renaming it to
  the name it wanted (``ALTER DATABASE … RENAME``: atomic, so two commands never get the same one; a
  rename that loses the race fails and the next spare is tried). No spare left: it creates one itself,
  as before;
- a command done with a database **discards** it by renaming it ``zanith_trash_<random>``, which is
  instant; the watcher drops it. A database still in use cannot be renamed and is dropped at once.

A spare is made by ``CREATE DATABASE … TEMPLATE`` like any database, so it is exactly as fresh; only
when it is made changes. Nothing but zanith connects to the warm server.
"""

from __future__ import annotations

import secrets

import psycopg
from psycopg import sql

PREFIX = "zanith_spare_"
TRASH = "zanith_trash_"
SPARES = 2
"""Ready databases per template: a generate takes two (a template1 replay, a template0 declared load)."""
TEMPLATES = {"template0": "t0", "template1": "t1"}
"""The templates spares are kept for, and their short name in a spare's name."""


def claim(conn: psycopg.Connection, name: str, template: str | None) -> bool:
    """Rename a spare of ``template`` (default ``template1``, as ``CREATE DATABASE``) to ``name``; False
    when none is left (or ``template`` is one spares are not kept for)."""
    short = TEMPLATES.get(template or "template1")
    if short is None:
        return False
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname", (f"{PREFIX}{short}_",)
    ).fetchall()
    for (spare,) in rows:
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(spare), sql.Identifier(name)))
        except psycopg.errors.InvalidCatalogName:
            continue  # another command claimed it first
        return True
    return False


def discard(conn: psycopg.Connection, name: str) -> bool:
    """Rename ``name`` into the trash for the watcher to drop (True also when there is no ``name``); False
    when someone is still connected to it."""
    trash = f"{TRASH}{secrets.token_hex(6)}"
    try:
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(name), sql.Identifier(trash)))
    except psycopg.errors.ObjectInUse:
        return False
    except psycopg.errors.InvalidCatalogName:
        return True
    return True


def replenish(conn: psycopg.Connection) -> None:
    """Drop the trash, then make spares up to :data:`SPARES` per template (the watcher's work)."""
    names = [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]
    for trash in (n for n in names if n.startswith(TRASH)):
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(trash)))
    for template, short in TEMPLATES.items():
        have = sum(n.startswith(f"{PREFIX}{short}_") for n in names)
        for _ in range(SPARES - have):
            spare = f"{PREFIX}{short}_{secrets.token_hex(6)}"
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(spare), sql.Identifier(template))
            )
