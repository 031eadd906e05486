"""Migration: an id, a name and an ordered tuple of operations, with a checksum of its rendered SQL."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..ops.base import Operation


@dataclass(frozen=True)
class Migration:
    id: str
    """Sortable id, also the file name stem: ``20261124_134500_add_email``."""
    operations: tuple[Operation, ...]
    name: str = ""
    path: Path | None = field(default=None, compare=False)
    phase: str | None = None
    """``expand`` / ``contract`` for zero-downtime pairs; a contract waits for ``apply --contract``."""

    @property
    def checksum(self) -> str:
        """SHA-256 of the rendered SQL, insensitive to line endings and trailing whitespace."""
        text = "\n".join(op.sql() for op in self.operations)
        norm = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        return hashlib.sha256(norm.encode()).hexdigest()


def migration_id(name: str, now: datetime | None = None) -> str:
    """A sortable id and file stem: ``20261124_134500_add_email`` (UTC timestamp, then the name)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")
    slug = slugify(name)
    return f"{stamp}_{slug}" if slug else stamp


def slugify(name: str) -> str:
    """``Add e-mail to Users`` → ``add_e_mail_to_users``: safe in a file name and an identifier."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
