"""Whether PostgreSQL can convert a value of one type to another, asked of the server itself.

``ALTER COLUMN ... TYPE new USING col::new`` fails at apply when there is no cast at all (``bigint`` to
``timestamp``): generate asks first, so such a change is refused with a message instead of written as a
migration that fails. The question is a cast of ``NULL``, parsed and run in a transaction that is rolled
back: it resolves casts exactly as the ``USING`` clause will, I/O conversions through text included.
"""

from __future__ import annotations

import psycopg
from psycopg import errors, sql


def castable(conn: psycopg.Connection, old_type: str, new_type: str) -> bool | None:
    """True when ``value::new_type`` resolves for a value of ``old_type``, False when PostgreSQL has no
    such cast, None when a type is unknown on this server (a user type it does not hold)."""
    statement = sql.SQL("SELECT CAST(CAST(NULL AS {}) AS {})").format(sql.SQL(old_type), sql.SQL(new_type))
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
    except errors.CannotCoerce:
        return False
    except (errors.UndefinedObject, errors.SyntaxError, errors.InvalidSchemaName):
        return None
    return True
