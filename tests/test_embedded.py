"""The embedded server changes nothing outside its own folder: no OS user, no permission, no process left."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg
import pytest

from zanith_core import embedded

PROBE = textwrap.dedent(
    """
    import sys
    from zanith_core.servers import connect, embedded_server
    server = embedded_server()
    with connect(server.url) as conn:
        row = conn.execute("SELECT current_setting('data_directory'), current_setting('fsync')")
        print(*row.fetchone())
    """
)

pytestmark = pytest.mark.embedded_only  # the embedded server itself


def _modes(path: Path) -> dict[Path, int]:
    """The mode of ``path`` and of every folder above it."""
    return {p: p.stat().st_mode for p in (path, *path.parents)}


def test_starting_and_stopping_it_leaves_the_machine_as_it_was() -> None:
    users = {u.pw_name for u in pwd.getpwall()}
    modes = _modes(embedded.binaries())
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=180, check=True)
    folder, fsync = out.stdout.split()
    data = Path(folder)
    assert fsync == "off"  # a throwaway server: its drops and checkpoints do not wait for the disk
    ram = os.statvfs(embedded.RAM)
    in_ram = ram.f_bavail * ram.f_frsize >= embedded.RAM_FREE
    assert data.is_relative_to(embedded.RAM) == in_ram  # and its files are in RAM when there is room

    assert {u.pw_name for u in pwd.getpwall()} == users  # no OS user was created for the server
    assert _modes(embedded.binaries()) == modes  # nor a folder above the binaries opened up
    assert not data.parents[0].exists()  # its folder went with the process that started it
    running = subprocess.run(["pgrep", "-f", str(data)], capture_output=True, text=True)
    assert running.stdout == ""  # and so did the server


def test_as_root_the_server_runs_as_nobody_from_binaries_inside_its_own_folder() -> None:
    folder = Path(tempfile.mkdtemp(prefix="zanith-pg-test-"))  # not tmp_path: nobody cannot reach into it
    cluster = embedded.start(folder)
    try:
        owner = pwd.getpwuid(cluster.data.stat().st_uid).pw_name
        expected = embedded.SERVER_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        assert owner == expected
        assert cluster.bin.is_relative_to(cluster.root) == (os.geteuid() == 0)
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        assert pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == expected
        with psycopg.connect(cluster.url) as conn:  # a kept server (the warm one) is durable
            assert conn.execute("SELECT current_setting('fsync')").fetchone() == ("on",)
    finally:
        embedded.remove(cluster)
    assert not folder.exists()
