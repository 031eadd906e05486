"""What a declared schema needs from the server it loads on, and what to do when that server lacks it.

A schema is loaded on a scratch database (:func:`zanith_core.sources.load_schema`), but some of what it
names lives outside any database: roles (``GRANT ... TO reporting``, ``CREATE POLICY ... TO app_user``,
``OWNER TO``) belong to the server, and collations come from the server's locales or its ICU build. A
corpus written against a production cluster fails to load on a scratch server without them; the raw
error (``role "app_user" does not exist``) says what broke, not what to do. :func:`missing_prerequisite`
turns those errors into the sentence that does.
"""

from __future__ import annotations

import re

import psycopg

_ROLE = re.compile(r'^role "(?P<name>.+)" does not exist$')
_COLLATION = re.compile(r'^collation "(?P<name>.+?)"(?: for encoding "[^"]+")? does not exist$')
_LOCALE = re.compile(r'^could not create locale "(?P<name>.+)"')


def missing_prerequisite(exc: psycopg.Error) -> str | None:
    """What to do about an error that names a role or collation the loading server lacks, or None."""
    message = exc.diag.message_primary or ""
    role = _ROLE.match(message)
    if role:
        name = role["name"]
        return (
            f"the declared schema needs role {name!r}, which the server it is loaded on (the shadow server) "
            f"does not have: roles belong to a server, not to a schema — create it there first "
            f'(CREATE ROLE "{name}" NOLOGIN), or point shadow_url at a server that has it'
        )
    collation = _COLLATION.match(message)
    locale = _LOCALE.match(message)
    if collation or locale:
        name = (collation or locale)["name"]  # type: ignore[index]
        return (
            f"the declared schema needs collation or locale {name!r}, which the server it is loaded on (the "
            "shadow server) does not have: install the locale there (or use an ICU collation it lists in "
            "pg_collation), declare it with CREATE COLLATION in the schema, or point shadow_url at a server "
            "that has it"
        )
    if "ICU is not supported" in message:
        return (
            "the declared schema creates an ICU collation, and the server it is loaded on (the shadow server) "
            "was built without ICU: point shadow_url at a server with ICU, or use a libc collation"
        )
    return None


__all__ = ["missing_prerequisite"]
