"""Migration: an id, a name and an ordered tuple of operations, with a checksum of its rendered SQL."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import InvalidValue
from ..ops.base import Operation

MAX_FILE_NAME = 255
"""Bytes in a file name on the usual file systems (ext4, APFS, NTFS's UTF-16 units)."""
MAX_SLUG = MAX_FILE_NAME - len("20261124_134500_") - len("_contract") - len(".py")
"""The longest slug a name may make: the timestamp, an expand/contract pair's suffix and ``.py`` around it."""


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
    slug = slugify(check_name(name))
    return f"{stamp}_{slug}" if slug else stamp


def check_name(name: str, origin: str = "--name") -> str:
    """``name``, or :class:`InvalidValue` when the file name it makes would be too long for a file system."""
    slug = slugify(name)
    if len(slug) > MAX_SLUG:
        raise InvalidValue(
            f"{origin}: a name of {len(slug)} file-name characters is too long for a migration file name "
            f"(at most {MAX_SLUG}, so the file name stays within {MAX_FILE_NAME} bytes); shorten it"
        )
    return name


def slugify(name: str) -> str:
    """``Add e-mail to Users`` → ``add_e_mail_to_users``: safe in a file name and an identifier."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
