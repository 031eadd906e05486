"""The ``zanith`` command: a thin click layer over zanith_core.

Each command lives in the module :data:`COMMANDS` names and is imported when used. Expected failures
are :class:`ZanithError`s: they print ``error: <message>`` on one line and exit with the error's code (1
unless it says otherwise); click's own usage errors exit 2. So do faults from outside, wherever a command
is when they strike: a lost database connection (a server restart, ``pg_terminate_backend``, the
network) is a one-line :class:`ConnectionFailed` (exit 1), and Ctrl-C or SIGTERM unwinds (rolling back
the open transaction) into a one-line ``interrupted`` and exit 130 or 143.

Colour (``click.style``) reaches a terminal only, and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import ConnectionFailed, ZanithError
from ..interrupts import Terminated, sigterm_interrupts
from ..redaction import mask_url

#: Each command, and where it lives: loaded when the command line names it (or ``--help`` lists it).
COMMANDS: dict[str, str] = {
    "adopt": "adopt:adopt_command",
    "apply": "apply:apply_command",
    "baseline": "adopt:baseline_command",
    "demo": "demo:demo_command",
    "diff": "diff:diff_command",
    "explain": "plan:explain_command",
    "generate": "generate:generate_command",
    "history": "apply:history_command",
    "new": "generate:new_command",
    "plan": "plan:plan_command",
    "recover": "recover:recover",
    "resolve": "resolve:resolve_command",
    "server": "server:server",
    "show": "apply:show_command",
    "status": "apply:status_command",
    "verify": "verify:verify_command",
}


#: The first line of each command's docstring, for ``zanith --help``: listing the commands must not import
#: them (and psycopg, pglast and the core with them). A test keeps this table equal to the docstrings.
SUMMARIES: dict[str, str] = {
    "adopt": "Write down changes made by hand on the target since the last migration; record them applied, unrun.",
    "apply": "Apply pending migrations, one audited step at a time.",
    "baseline": "Adopt an existing database: write its schema as a migration and record it applied, unrun.",
    "demo": "Watch generate, plan, verify, apply, resume, backfill, recover and history on the example shop.",
    "diff": "Show every difference between two schemas.",
    "explain": "Explain the risk catalog: every level, reason code, gate and op kind, or just CODE.",
    "generate": "Generate a migration from the current state to the declared schema.",
    "history": "Every migration the ledger knows, with its steps' risk and durations.",
    "new": "Write a hand-editable migration holding one raw SQL operation.",
    "plan": "Score every pending step (level, 0-100 score, reasons) and run the gates.",
    "recover": "Inspect, restore and purge what migrations kept instead of dropping.",
    "resolve": "Settle a failed migration (rolled back or applied), or forget one whose file was deleted.",
    "server": "The project's warm embedded server: what state it is in, and stopping it.",
    "show": "One migration's steps, SQL, errors and a summary of the schema after it.",
    "status": "Applied and pending migrations, the step a failed apply stopped at, open contract windows.",
    "verify": "Prove the migrations produce exactly the declared schema, on a throwaway database.",
}

#: psycopg logs what it ignores while it closes a connection a fault broke (on stderr, by logging's last
#: resort, as no handler is configured); the command's one-line message already says what happened.
_UNHEARD = logging.NullHandler()


class ZanithGroup(click.Group):
    """The command group: commands are imported when used, so a command module never imports this one
    to register itself (and ``zanith diff`` does not load what ``zanith apply`` needs)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from :data:`SUMMARIES`: nothing is imported to print it."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.utils.make_default_short_help(SUMMARIES[name], limit)) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(  # type: ignore[override]  # click declares it twice (overloads on standalone_mode)
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        """The command line itself (``args`` not given) is first offered to the project's resident, which
        runs it with zanith already imported (:mod:`.handoff`, :mod:`.resident`); a caller passing ``args``
        (CliRunner, a script) always runs here."""
        try:
            os.getcwd()
        except FileNotFoundError:  # deleted under the shell: every relative path would fail, in a traceback
            click.echo("error: the working folder no longer exists; cd to the project and run again", err=True)
            sys.exit(1)
        if args is None:
            from .handoff import handoff

            code = handoff(sys.argv[1:])
            if code is not None:
                sys.exit(code)
        return super().main(args, prog_name, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        logging.getLogger("psycopg").addHandler(_UNHEARD)  # the same handler again is not added twice
        try:
            with sigterm_interrupts():
                return super().invoke(ctx)
        except ZanithError as exc:
            _fail(ctx, exc)
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
            how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            click.echo(
                f"interrupted by {how} during `{_command(ctx)}`: its open transaction rolled back, "
                "so the ledger is consistent; run it again to resume",
                err=True,
            )
            ctx.exit(128 + signum)  # as a shell reports a process the signal ended: 130, 143
        except Exception as exc:
            from ..servers import lost_connection  # loaded already if a connection was lost

            reason = lost_connection(exc)
            if reason is None:
                raise
            _fail(
                ctx,
                ConnectionFailed(
                    f"lost the connection to the database during `{_command(ctx)}` ({reason}); "
                    "run it again once the server is reachable"
                ),
            )


def _command(ctx: click.Context) -> str:
    return f"zanith {ctx.invoked_subcommand}" if ctx.invoked_subcommand else "zanith"


def _fail(ctx: click.Context, error: ZanithError) -> None:
    click.echo(f"error: {mask_url(str(error))}", err=True)  # masked again: a quoted URL never shows its password
    ctx.exit(error.exit_code)


@click.group(cls=ZanithGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zanith")
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Project folder (holds pyproject.toml with [tool.zanith]); default: nearest one upwards.",
)
@click.pass_context
def main(ctx: click.Context, project_dir: str | None) -> None:
    """zanith: test-driven schema safety for PostgreSQL."""
    ctx.obj = {"project_dir": project_dir}
    if os.environ.get("NO_COLOR"):  # https://no-color.org: set and not empty
        ctx.color = False  # every command's context inherits it: click.echo strips the styles, even at a terminal
