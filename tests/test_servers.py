"""Servers: URL handling, connection errors, scratch databases, the embedded default."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import zanith_core
from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.errors import ConnectionFailed
from zanith_core.servers import Server, connect, lost_connection, mask_url, with_database


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


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes them) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "form", ["postgresql://app@127.0.0.1:{port}/db?connect_timeout=2", "host=127.0.0.1 port={port} connect_timeout=2"]
)
def test_a_connect_timeout_in_the_url_wins_over_the_default(silent_port: int, form: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailed, match="cannot connect to"):
        connect(form.format(port=silent_port))
    assert 1.5 <= time.monotonic() - started < 6  # the URL's 2 s, not the default 10 s
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


def test_lost_connection_tells_a_lost_session_from_other_operational_errors(zanith_db: ZanithDatabase) -> None:
    victim = connect(zanith_db.url)
    pid = victim.info.backend_pid
    zanith_db.conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError) as terminated:
        victim.execute("SELECT 1")
    assert lost_connection(terminated.value) in (
        "terminating connection due to administrator command",  # 57P01, as a server shutdown sends
        "server closed the connection unexpectedly",  # no SQLSTATE: the FATAL message was not read
    )
    with pytest.raises(psycopg.OperationalError) as closed:
        victim.execute("SELECT 1")
    assert lost_connection(closed.value) == "the connection is closed"

    # A cancelled statement and a lock timeout are operational errors too, but the session lives on.
    conn = zanith_db.conn
    conn.execute("CREATE TABLE t (id int)")
    with psycopg.connect(zanith_db.url) as holder:
        holder.execute("LOCK TABLE t")
        for setting, statement in (("statement_timeout", "SELECT pg_sleep(5)"), ("lock_timeout", "SELECT * FROM t")):
            conn.execute(f"SET {setting} = '50ms'")
            with pytest.raises(psycopg.OperationalError) as timed_out:
                conn.execute(statement)
            conn.execute(f"RESET {setting}")
            assert timed_out.value.sqlstate in ("57014", "55P03")
            assert lost_connection(timed_out.value) is None
    assert lost_connection(ValueError("server closed the connection unexpectedly")) is None


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


def _nobody_can_run_python() -> bool:
    """Root can switch to nobody only where nobody can reach this interpreter (not under a private /root)."""
    if os.geteuid() != 0:
        return False
    probe = ["runuser", "-u", "nobody", "--", sys.executable, "-c", "pass"]
    return subprocess.run(probe, capture_output=True, cwd="/tmp").returncode == 0


@pytest.mark.skipif(
    not _nobody_can_run_python(),
    reason="needs root and an interpreter nobody can run; as an ordinary user the test above covers this",
)
def test_embedded_server_starts_for_an_ordinary_user() -> None:
    # nobody: an unprivileged user every Linux has, so the test creates no OS user. It imports a
    # world-readable copy of the package: the checkout may live in a folder only its owner can read.
    code = Path(tempfile.mkdtemp(prefix="zanith_nobody_"))
    try:
        code.chmod(0o755)
        shutil.copytree(
            Path(zanith_core.__file__).parent, code / "zanith_core", ignore=shutil.ignore_patterns("__pycache__")
        )
        env = {"PATH": os.environ["PATH"], "HOME": "/tmp", "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
        out = subprocess.run(
            ["runuser", "-u", "nobody", "--", sys.executable, "-c", EMBEDDED_PROBE],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd="/tmp",
        )
    finally:
        shutil.rmtree(code)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 140000
