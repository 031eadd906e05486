"""A declared schema that needs a role or a collation the loading server lacks fails with what to do,
not with the raw error of a failed load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zanith_core.errors import SourceError
from zanith_core.servers import Server
from zanith_core.sources import load_schema

ABSENT = f"zanith_absent_{os.getpid()}"

CASES = [
    ("policy_role", f"CREATE TABLE t (id int); CREATE POLICY p ON t TO {ABSENT} USING (true);", f"role '{ABSENT}'"),
    ("grant_role", f"CREATE TABLE t (id int);\nGRANT SELECT ON t TO {ABSENT};", f'CREATE ROLE "{ABSENT}" NOLOGIN'),
    ("column_collation", 'CREATE TABLE t (id int, name text COLLATE "zz_ZZ");', "collation or locale 'zz_ZZ'"),
    ("libc_locale", "CREATE COLLATION odd (provider = libc, locale = 'zz_ZZ.UTF-8');", "locale 'zz_ZZ.UTF-8'"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_missing_role_or_collation_says_what_to_do(
    zanith_shadow: Server, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(text)
    with pytest.raises(SourceError) as raised:
        load_schema(str(path), server=zanith_shadow)
    message = str(raised.value)
    assert message.startswith(f"{path}:")  # still where, in the file
    assert expected in message
    assert "shadow_url" in message  # and what to do


def test_other_errors_are_left_as_postgres_wrote_them(zanith_shadow: Server, tmp_path: Path) -> None:
    path = tmp_path / "schema.sql"
    path.write_text("CREATE TABLE t (id int REFERENCES nowhere);")
    with pytest.raises(SourceError, match=r'schema.sql:1:\d+: relation "nowhere" does not exist$'):
        load_schema(str(path), server=zanith_shadow)
