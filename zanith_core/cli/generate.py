"""``zanith generate`` and ``zanith new``: write the next migration file.

Both print the operations as a table and the file path; ``--json`` prints
``{"migration": id, "path": ..., "operations": [{"kind", "sql", "reversible"}, ...]}`` (documented in
docs/generate.md). Nothing to generate: a message (JSON: ``migration`` and ``path`` null, no
operations), exit 0, no file. Errors (an undecided rename, an unsupported change, a broken migration
file, a declared schema with no table against tables without ``--allow-empty``) exit 1 with one line; an
``--online-retype`` type or ``--using`` expression that is not exactly one type or expression, or does not
work on the current schema, exits 2 (``authoring.fragments``).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..authoring.expand_contract import write_online_pair
from ..authoring.scaffold import Written, generate_migration_file, new_migration_file
from ..generate.renames import RenameCandidate, RenameHints
from ..ops.base import Operation
from .common import checked_name, config_from, emit_json, json_option


@click.command("generate")
@click.option(
    "--name",
    required=True,
    callback=checked_name,
    help="What the migration does, e.g. add_email (goes into the file name).",
)
@click.option("--from", "source", metavar="SRC", default=None, help="Current state: URL or .sql (default: replay).")
@click.option("--rename", "renames", metavar="A=B", multiple=True, help="users.name=full_name or old=new table.")
@click.option("--hard-drop", is_flag=True, help="Drop removed tables and columns instead of soft-dropping them.")
@click.option("--yes", is_flag=True, help="Accept the detected (unambiguous) renames without asking.")
@click.option("--allow-empty", is_flag=True, help="Generate from a declared schema with no table (drops them all).")
# expand/contract pairs (zanith_core.authoring.expand_contract, docs/zero-downtime.md):
@click.option("--online-rename", "rename", metavar="TABLE.OLD=NEW", help="Rename a column with expand/contract.")
@click.option("--online-retype", "retype", metavar="TABLE.COL=TYPE", help="Change a type with expand/contract.")
@click.option("--using", "using", metavar="EXPR", help="With --online-retype: SQL converting an old value.")
@json_option
@click.pass_context
def generate_command(
    ctx: click.Context,
    name: str,
    source: str | None,
    renames: tuple[str, ...],
    hard_drop: bool,
    yes: bool,
    allow_empty: bool,
    as_json: bool,
    rename: str | None,
    retype: str | None,
    using: str | None,
) -> None:
    """Generate a migration from the current state to the declared schema."""
    if rename or retype or using:
        pair = write_online_pair(config_from(ctx), name=name, source=source, rename=rename, retype=retype, using=using)
        _report_pair(pair, as_json)
        return
    written = generate_migration_file(
        config_from(ctx),
        name=name,
        source=source,
        hints=RenameHints.parse(renames),
        hard_drop=hard_drop,
        accept_detected=yes,
        confirm=_ask if _interactive() and not as_json else None,
        allow_empty=allow_empty,
    )
    _report(written, as_json)


@click.command("new")
@click.option("--name", required=True, callback=checked_name, help="What the migration does (goes into the file name).")
@click.option("--sql", default=None, help="The SQL to run (else a TODO to edit in the file).")
@json_option
@click.pass_context
def new_command(ctx: click.Context, name: str, sql: str | None, as_json: bool) -> None:
    """Write a hand-editable migration holding one raw SQL operation."""
    _report(new_migration_file(config_from(ctx), name=name, sql=sql), as_json)


def _interactive() -> bool:
    """Renames are asked about only when a person is at the terminal."""
    return sys.stdin.isatty()


def _ask(candidate: RenameCandidate) -> bool:
    return click.confirm(f"Rename {candidate.describe()}? (no: drop and add)", default=True, err=True)


def _report(written: Written, as_json: bool) -> None:
    ops = written.migration.operations
    if as_json:
        emit_json(
            {
                "migration": written.migration.id if written.path else None,
                "path": str(written.path) if written.path else None,
                "operations": [_op_json(op) for op in ops] if written.path else [],
            }
        )
        return
    if written.path is None:
        click.echo("nothing to do: the current state already matches the declared schema (no file written)")
        return
    rows = [(str(i), op.kind, op.target, "yes" if op.reversible else "no") for i, op in enumerate(ops, 1)]
    widths = [max(len(r[c]) for r in [("#", "kind", "target", "reversible"), *rows]) for c in range(4)]
    for row in [("#", "kind", "target", "reversible"), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"wrote {written.path}")


def _op_json(op: Operation) -> dict[str, Any]:
    return {"kind": op.kind, "sql": op.sql(), "reversible": op.reversible}


# -- expand/contract pairs (zanith_core.authoring.expand_contract, docs/zero-downtime.md) ------------------------


def _report_pair(pair: tuple[Written, Written], as_json: bool) -> None:
    """Both files of an expand/contract pair; JSON: ``{"migrations": [<generate JSON + phase>, ...]}``."""
    if as_json:
        emit_json(
            {
                "migrations": [
                    {
                        "migration": w.migration.id,
                        "phase": w.migration.phase,
                        "path": str(w.path),
                        "operations": [_op_json(op) for op in w.migration.operations],
                    }
                    for w in pair
                ]
            }
        )
        return
    for written in pair:
        click.echo(f"{written.migration.phase}:")
        _report(written, as_json=False)
