"""Servers: URL handling, connection errors, scratch databases, the embedded default."""

import os
import subprocess
import sys
import textwrap

import pytest

from zanith_core.errors import ConnectionFailed
from zanith_core.servers import Server, connect, mask_url, with_database


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/prod", "postgresql://app:***@db:5432/prod"),
        ("postgres://app:p%40ss@db/prod", "postgres://app:***@db/prod"),
        ("host=db user=app password=s3cret dbname=prod", "host=db user=app password=*** dbname=prod"),
        ("postgresql://app@db/prod", "postgresql://app@db/prod"),
    ],
)
def test_mask_url_hides_passwords(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_with_database_keeps_server_and_credentials() -> None:
    out = with_database("postgresql://app:pw@db:6543/prod", "other")
    assert "dbname=other" in out and "port=6543" in out and "password=pw" in out


def test_unreachable_url_is_one_line_and_masked() -> None:
    with pytest.raises(ConnectionFailed) as info:
        connect("postgresql://app:s3cret@127.0.0.1:1/nope")
    message = str(info.value)
    assert "\n" not in message and "s3cret" not in message and "127.0.0.1" in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:s3cret@127..0.1:1/nope",  # a host IDNA cannot encode
        "postgresql://app:s3cret@127.0.0.1:1/%db",  # a %-escape that is not UTF-8
        "host=127.0.0.1 port=1 user=app passwrod=s3cret dbname=nope",  # a misspelt key
    ],
)
def test_odd_urls_are_one_masked_line_too(url: str) -> None:
    with pytest.raises(ConnectionFailed) as info:
        connect(url)
    assert "\n" not in str(info.value) and "s3cret" not in str(info.value)
    try:
        with_database(url, "other")  # parses only: a host is not resolved here
    except ConnectionFailed as exc:
        assert "\n" not in str(exc) and "s3cret" not in str(exc)


def test_malformed_url_is_a_clear_error() -> None:
    with pytest.raises(ConnectionFailed, match="invalid database URL"):
        connect("this is not a url")


def test_scratch_database_is_dropped_even_when_the_body_fails(zanith_shadow: Server) -> None:
    names: list[str] = []
    with pytest.raises(RuntimeError), zanith_shadow.scratch_database("zanith_t_scratch") as url:
        with connect(url) as conn:
            names.append(conn.info.dbname)
        raise RuntimeError("boom")
    with connect(zanith_shadow.url) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (names[0],)).fetchone()
    assert left == (0,)


EMBEDDED_PROBE = textwrap.dedent(
    """
    from zanith_core.servers import connect, embedded_server
    server = embedded_server()
    with connect(server.url) as conn:
        print(conn.execute("select current_setting('server_version_num')").fetchone()[0])
    """
)


def test_embedded_server_starts_for_the_current_user() -> None:
    out = subprocess.run([sys.executable, "-c", EMBEDDED_PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 140000


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary user")
def test_embedded_server_starts_for_an_ordinary_user(tmp_path) -> None:
    # nobody: an unprivileged user every Linux has, so the test creates no OS user
    env = {"PATH": os.environ["PATH"], "HOME": "/tmp", "PYTHONPATH": os.getcwd()}
    out = subprocess.run(
        ["runuser", "-u", "nobody", "--", sys.executable, "-c", EMBEDDED_PROBE],
        capture_output=True, text=True, timeout=120, env=env, cwd="/tmp",
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 140000
