"""The ``zanith`` command: a thin click layer over zanith_core.

Each command lives in the module :data:`COMMANDS` names and is imported when used. Expected failures
are :class:`ZanithError`s: they print ``error: <message>`` on one line and exit with the error's code (1
unless it says otherwise); click's own usage errors exit 2.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from .. import __version__
from ..errors import ZanithError
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
    "show": "apply:show_command",
    "status": "apply:status_command",
    "verify": "verify:verify_command",
}


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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZanithError as exc:  # masked again: a message quoting a URL never shows its password
            click.echo(f"error: {mask_url(str(exc))}", err=True)
            ctx.exit(exc.exit_code)


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
