"""``zanith recover list | show | restore | verify | extend | purge | export``.

Exit codes: 0 done; 1 errors (bad URL, unknown id, purge of an unexpired artifact without --force);
2 a value out of range (``extend --days`` outside 1..36500, or an expiry past 36500 days from now);
3 a restore refused because the original name is taken again (nothing was changed); 4 ``verify`` found
an artifact tampered or missing. JSON shapes are documented in docs/recover.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg

from .. import recovery
from ..config import EXTEND_DAYS, Config
from ..ledger import artifacts as art
from ..ledger.artifacts import Artifact
from ..servers import connect
from .apply import database_url_option
from .common import config_from, emit_json, json_option, wait_option

EXIT_TAMPERED = 4


@contextmanager
def _target(ctx: click.Context, database_url: str | None) -> Iterator[tuple[psycopg.Connection, Config]]:
    config = config_from(ctx, database_url=database_url)
    with connect(config.require_database_url()) as conn:
        recovery.open_ledger(conn, config.ledger_schema)
        yield conn, config


@click.group("recover")
def recover() -> None:
    """Inspect, restore and purge what migrations kept instead of dropping."""


@recover.command("list")
@database_url_option
@json_option
@click.pass_context
def list_command(ctx: click.Context, database_url: str | None, as_json: bool) -> None:
    """Artifacts with their age, expiry, size and status."""
    with _target(ctx, database_url) as (conn, config):
        found = art.list_artifacts(conn, config.ledger_schema)
        sizes = {a.id: recovery.size_bytes(conn, a) for a in found}
    if as_json:
        emit_json({"artifacts": [a.to_dict() for a in found]})
        return
    if not found:
        click.echo("no recovery artifacts")
        return
    now = datetime.now(UTC)
    header = f"{'id':>4}  {'kind':<19} {'source':<36} {'age':>6} {'expires':>8} {'size':>9}  status"
    click.echo(header)
    for a in found:
        expires = _days(a.expires_at - now) if a.expires_at else "never"
        click.echo(
            f"{a.id:>4}  {a.kind:<19} {a.source:<36} {_days(now - a.created_at):>6} {expires:>8} "
            f"{_size(sizes[a.id]):>9}  {a.status}"
        )


@recover.command("show")
@click.argument("artifact_id", type=int)
@database_url_option
@json_option
@click.pass_context
def show_command(ctx: click.Context, artifact_id: int, database_url: str | None, as_json: bool) -> None:
    """Everything about one artifact, including its recovery SQL."""
    with _target(ctx, database_url) as (conn, config):
        a = recovery.require(conn, config.ledger_schema, artifact_id)
    if as_json:
        emit_json(_full(a))
        return
    for key, value in _full(a).items():
        if key != "recovery_sql":
            click.echo(f"{key:>18}: {value}")
    click.echo("      recovery_sql:")
    click.echo("\n".join(f"    {line}" for line in a.recovery_sql.splitlines()))


@recover.command("restore")
@click.argument("artifact_id", type=int)
@database_url_option
@wait_option
@json_option
@click.pass_context
def restore_command(ctx: click.Context, artifact_id: int, database_url: str | None, wait: float, as_json: bool) -> None:
    """Put an artifact back under its original name."""
    with _target(ctx, database_url) as (conn, config):
        a = recovery.restore(conn, config.ledger_schema, artifact_id, wait=wait)
    if as_json:
        emit_json({"restored": a.to_dict()})
    else:
        click.echo(f"restored {a.kind} {a.source} (artifact {a.id})")


@recover.command("verify")
@click.argument("artifact_id", type=int, required=False)
@database_url_option
@json_option
@click.pass_context
def verify_command(ctx: click.Context, artifact_id: int | None, database_url: str | None, as_json: bool) -> None:
    """Recompute checksums; exit 4 if any artifact is tampered or missing."""
    with _target(ctx, database_url) as (conn, config):
        checks = recovery.verify(conn, config.ledger_schema, artifact_id)
    bad = [c for c in checks if c.state != "intact"]
    if as_json:
        emit_json({"ok": not bad, "artifacts": [c.to_dict() for c in checks]})
    else:
        for c in checks:
            click.echo(f"{c.artifact.id:>4}  {c.state:<8}  {c.artifact.kind:<19} {c.artifact.source}: {c.detail}")
        click.echo(f"{len(checks) - len(bad)} intact, {len(bad)} tampered or missing")
    ctx.exit(EXIT_TAMPERED if bad else 0)


@recover.command("extend")
@click.argument("artifact_id", type=int)
@click.option("--days", type=int, required=True, help="Push the expiry this many days further (1 to 36500).")
@database_url_option
@json_option
@click.pass_context
def extend_command(ctx: click.Context, artifact_id: int, days: int, database_url: str | None, as_json: bool) -> None:
    """Keep an artifact longer."""
    EXTEND_DAYS.check("--days", days, "recover extend")  # before connecting: nothing read, nothing written
    with _target(ctx, database_url) as (conn, config):
        a = recovery.extend(conn, config.ledger_schema, artifact_id, days)
    if as_json:
        emit_json({"extended": a.to_dict()})
    else:
        click.echo(f"artifact {a.id} now expires {a.expires_at:%Y-%m-%d %H:%M %Z}")


@recover.command("purge")
@click.argument("artifact_id", type=int, required=False)
@click.option("--expired", is_flag=True, help="Purge every kept artifact whose expiry has passed.")
@click.option("--force", is_flag=True, help="Purge the given artifact even though it has not expired.")
@wait_option
@database_url_option
@json_option
@click.pass_context
def purge_command(
    ctx: click.Context,
    artifact_id: int | None,
    expired: bool,
    force: bool,
    wait: float,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Drop kept artifacts for good (never unexpired ones unless forced)."""
    with _target(ctx, database_url) as (conn, config):
        purged = recovery.purge(
            conn, config.ledger_schema, artifact_id=artifact_id, expired=expired, force=force, wait=wait
        )
    if as_json:
        emit_json({"purged": [a.to_dict() for a in purged]})
    else:
        click.echo(f"purged {len(purged)} artifact(s)" + "".join(f"\n  {a.id} {a.kind} {a.source}" for a in purged))


@recover.command("export")
@click.argument("artifact_id", type=int, required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to FILE instead of stdout.")
@database_url_option
@json_option
@click.pass_context
def export_command(
    ctx: click.Context, artifact_id: int | None, output: str | None, database_url: str | None, as_json: bool
) -> None:
    """Write recovery SQL as a script for a person to review and run."""
    with _target(ctx, database_url) as (conn, config):
        chosen = (
            (recovery.require(conn, config.ledger_schema, artifact_id),)
            if artifact_id is not None
            else tuple(a for a in art.list_artifacts(conn, config.ledger_schema) if a.status == "kept")
        )
    script = recovery.export_script(chosen)
    if output:
        Path(output).write_text(script)
    if as_json:
        emit_json({"artifacts": [a.id for a in chosen], "path": output, "script": script})
    elif not output:
        click.echo(script, nl=False)
    else:
        click.echo(f"wrote recovery SQL for {len(chosen)} artifact(s) to {output}")


def _full(a: Artifact) -> dict[str, object]:
    return {
        **a.to_dict(),
        "migration_id": a.migration_id,
        "step_index": a.step_index,
        "row_count": a.row_count,
        "status_changed_at": a.status_changed_at.isoformat() if a.status_changed_at else None,
        "recovery_sql": a.recovery_sql,
    }


def _days(delta: object) -> str:
    seconds = getattr(delta, "total_seconds", lambda: 0.0)()
    if seconds < 0:
        return "expired"
    return f"{seconds / 86400:.1f}d" if seconds >= 3600 else f"{seconds / 60:.0f}m"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n //= 1024
    return f"{n} TB"
