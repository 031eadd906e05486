"""The ``zanith`` command: a thin click layer over zanith_core.

Each command module registers itself on :data:`main`. Expected failures are :class:`ZanithError`s: they
print ``error: <message>`` on one line and exit with the error's code (1 unless it says otherwise);
click's own usage errors exit 2.
"""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from ..errors import ZanithError


class ZanithGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZanithError as exc:
            click.echo(f"error: {exc}", err=True)
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


from . import apply as _apply  # noqa: E402,F401
from . import demo as _demo  # noqa: E402,F401
from . import diff as _diff  # noqa: E402,F401  (each import registers its commands on ``main``)
from . import generate as _generate  # noqa: E402,F401
from . import plan as _plan  # noqa: E402,F401
from . import recover as _recover  # noqa: E402,F401
from . import verify as _verify  # noqa: E402,F401
