"""Which migration files changed since a git reference: what the budget items gate without a target.

With a target database (``database_url``), a migration is pending until the target's ledger records it.
Without one, every migration newer than ``baseline`` is pending, so a risky migration that was reviewed,
merged and applied long ago would fail every later run. ``--zanith-since REF`` (ini ``zanith_since``)
narrows the budget items to the migration files this branch adds or changes: those that differ between
the merge-base of ``HEAD`` and ``REF`` and the working tree (committed, staged, edited or untracked). A
migration already merged is not gated again, unless its file is edited, which is what review should see.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def changed_since(folder: Path, ref: str) -> frozenset[Path]:
    """The files under ``folder`` added or changed since the merge-base of ``HEAD`` and ``ref``."""
    base = _git(folder, ref, "merge-base", "HEAD", ref).strip()
    changed = _git(folder, ref, "diff", "--name-only", "--relative", "--no-renames", "-z", base, "--", ".")
    untracked = _git(folder, ref, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    return frozenset((folder / name).resolve() for name in (changed + untracked).split("\0") if name)


def _git(folder: Path, ref: str, *args: str) -> str:
    from zanith_core.errors import ConfigError

    try:
        run = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"zanith_since = {ref!r} needs git: {exc}") from None
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines() or [f"exit {run.returncode}"]
        raise ConfigError(
            f"zanith_since = {ref!r}: git {args[0]} failed in {folder}: {lines[-1]} "
            "(is it a git checkout with that ref fetched? a shallow CI clone needs fetch-depth: 0)"
        )
    return run.stdout
