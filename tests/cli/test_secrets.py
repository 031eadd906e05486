"""Passwords are never printed: every command that takes a URL, fed URLs no parser accepts, prints one
masked line and exits 1 (a bad URL, docs/apply.md). The URLs that fail to parse are the ones whose
messages used to echo the password: a typo'd or upper-case scheme twice, a bad %-escape once, an
unquoted space the part after it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg.conninfo import make_conninfo
from support import project, zanith, zanith_process

from zanith_core.servers import Server

SECRET = "Hunter2xyzzy"

#: (label, URL) — each holds SECRET (or SECRET with a space in it: then each piece is a secret too).
MALFORMED = [
    ("one slash", f"postgresql:/bob:{SECRET}@127.0.0.1/db"),
    ("upper-case scheme", f"POSTGRESQL://bob:{SECRET}@127.0.0.1/db"),
    ("mixed-case scheme", f"Postgres://bob:{SECRET}@127.0.0.1/db"),
    ("no colon after the scheme", f"postgresql//bob:{SECRET}@127.0.0.1/db"),
    ("no slashes", f"postgresql:bob:{SECRET}@127.0.0.1/db"),
    ("typo'd scheme", f"postgersql://bob:{SECRET}@127.0.0.1/db"),
    ("another driver's scheme", f"mysql://bob:{SECRET}@127.0.0.1/db"),
    ("bad %-escape", f"postgresql://bob:{SECRET}%ZZ@127.0.0.1/db"),
    ("truncated %-escape", f"postgresql://bob:{SECRET}%4@127.0.0.1/db"),
    ("space in the password", f"postgresql://bob:{SECRET} more@127.0.0.1/db"),
    ("unencoded @ in the password", f"postgresql://bob:{SECRET}@x@127.0.0.1:1/db"),
    ("forgotten @ (password read as a port)", f"postgresql://bob:{SECRET}/db"),
    ("missing host", f"postgresql://bob:{SECRET}@:notaport/db"),
    ("bad port", f"postgresql://bob:{SECRET}@127.0.0.1:99999/db"),
    ("password query parameter", f"postgresql://bob@127.0.0.1/db?password={SECRET}&sslmode=bogus"),
    ("unknown query parameter", f"postgresql://bob:{SECRET}@127.0.0.1/db?nosuch=1"),
    ("key=value, unquoted space", f"host=127.0.0.1 password={SECRET} more dbname=db"),
    ("key=value, quoted", f"host=127.0.0.1 password='{SECRET} more' dbname=db nosuch=1"),
    ("key=value, unterminated quote", f"host=127.0.0.1 password='{SECRET} dbname=db"),
    ("key=value, upper-case key", f"HOST=127.0.0.1 password={SECRET}"),
    ("key=value, spaces around =", f"host=127.0.0.1 password = {SECRET} port=99999"),
    ("sslpassword", f"host=127.0.0.1 sslpassword={SECRET} sslmode=bogus"),
    ("nothing listening", f"postgresql://bob:{SECRET}@127.0.0.1:1/db"),
]

#: Every command that takes a URL: the ones with --database-url, and the schema sources of diff and generate.
COMMANDS = [
    ("status", "--database-url"),
    ("plan", "--database-url"),
    ("apply", "--database-url"),
    ("history", "--database-url"),
    ("recover", "list", "--database-url"),
    ("diff", "--to", "schema.sql", "--from"),
    ("generate", "--name", "x", "--from"),
]


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("secrets"), schema_sql="CREATE TABLE t (id int);")


def _pieces(url: str) -> list[str]:
    """SECRET, and the word after it when the password goes on past a space."""
    return [SECRET, quote(SECRET), *([f"{SECRET} more", "more"] if f"{SECRET} more" in url else [])]


def assert_masked_one_line(stdout: str, stderr: str, url: str) -> None:
    for piece in _pieces(url):
        assert piece not in stdout and piece not in stderr, (piece, stdout, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:-1]) for c in COMMANDS])
@pytest.mark.parametrize("url", [u for _, u in MALFORMED], ids=[label for label, _ in MALFORMED])
def test_a_malformed_url_never_prints_its_password(proj: Path, command: tuple[str, ...], url: str) -> None:
    result = zanith(*command, url, project=proj)
    assert result.exit_code == 1, result.output
    assert_masked_one_line(result.stdout, result.stderr, url)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:-1]) for c in COMMANDS])
def test_the_scheme_mistake_is_named(proj: Path, command: tuple[str, ...]) -> None:
    result = zanith(*command, f"POSTGRESQL://bob:{SECRET}@127.0.0.1/db", project=proj)
    assert result.stderr.strip() == (
        "error: invalid database URL POSTGRESQL://bob:***@127.0.0.1/db: "
        "the scheme must be postgresql:// or postgres://, not POSTGRESQL://"
    )


def test_a_refusal_from_a_real_server_is_masked(zanith_shadow: Server, proj: Path) -> None:
    url = make_conninfo(zanith_shadow.url, dbname="zanith_no_such_database", password=SECRET)
    result = zanith("status", "--database-url", url, project=proj)
    assert result.exit_code == 1
    assert_masked_one_line(result.stdout, result.stderr, url)
    assert "zanith_no_such_database" in result.stderr


def test_the_real_entry_point_prints_no_password_either(proj: Path) -> None:
    url = f"host=127.0.0.1 password={SECRET} more dbname=db"
    done = zanith_process("apply", "--database-url", url, project=proj)
    assert done.returncode == 1
    assert_masked_one_line(done.stdout, done.stderr, url)


def test_the_configured_url_is_masked_like_a_flag(tmp_path: Path) -> None:
    folder = project(tmp_path, database_url=f"postgresql:/bob:{SECRET}@127.0.0.1/db")
    result = zanith("status", project=folder)
    assert result.exit_code == 1
    assert_masked_one_line(result.stdout, result.stderr, f"postgresql:/bob:{SECRET}@127.0.0.1/db")
