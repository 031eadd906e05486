"""Render a Migration as a reviewable, hand-editable Python file: ``migrations/<id>.py``.

The file is plain Python that the loader executes: a docstring saying what it does, one star import of
:mod:`zanith_core.migration_api` (every op class and schema value type), the ``id``, an optional
``phase`` and ``operations``, a list of constructor calls. Each call spells only the fields that differ
from their defaults, one per line when it does not fit on one, so a diff in review shows what changed
and an edit by hand is an edit of a keyword argument. Rendering then loading gives back an equal
Migration (tests/migrations/test_writer.py holds it to that).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MigrationFileError
from .migration import Migration

LINE_WIDTH = 100
INDENT = "    "


def render_migration(migration: Migration, *, summary: Sequence[str] = ()) -> str:
    """The file text for ``migration``; ``summary`` lines go into the docstring (e.g. the diff)."""
    title = migration.name or migration.id
    doc = [title, ""]
    if summary:
        doc += ["Changes:", *(f"  {line}" for line in summary), ""]
    doc.append("Written by zanith; review it and edit freely (raw SQL, custom backfills) before applying.")
    lines = ['"""' + _docstring("\n".join(doc)) + '\n"""', "", "from zanith_core.migration_api import *", ""]
    lines.append(f"id = {_string(migration.id)}")
    if migration.name:
        lines.append(f"name = {_string(migration.name)}")
    if migration.phase:
        lines.append(f"phase = {_string(migration.phase)}")
    lines.append("")
    if migration.operations:
        lines.append("operations = [")
        lines += [f"{INDENT}{render_value(op, 1)}," for op in migration.operations]
        lines.append("]")
    else:
        lines.append("operations = []")
    return "\n".join(lines) + "\n"


def write_migration(migration: Migration, folder: Path, *, summary: Sequence[str] = ()) -> Path:
    """Write ``folder/<id>.py`` (creating the folder); refuse to overwrite an existing file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{migration.id}.py"
    if path.exists():
        raise MigrationFileError(f"{path}: already exists; choose another --name or wait a second")
    path.write_text(render_migration(migration, summary=summary), encoding="utf-8")
    return path


def render_value(value: Any, depth: int) -> str:
    """Python source for ``value`` (dataclass trees of str/int/bool/None/tuples), indented for ``depth``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        args = [
            f"{f.name}={render_value(getattr(value, f.name), depth + 1)}"
            for f in dataclasses.fields(value)
            if f.init and not _is_default(f, getattr(value, f.name))
        ]
        return _call(type(value).__name__, args, depth)
    if isinstance(value, tuple | list):
        items = [render_value(v, depth + 1) for v in value]
        single = f"({items[0]},)" if len(items) == 1 else ""
        if single and "\n" not in single and len(INDENT * depth) + len(single) <= LINE_WIDTH:
            return single
        return _call("", items, depth)
    if isinstance(value, str):
        return _string(value)
    return repr(value)


def _call(head: str, args: list[str], depth: int) -> str:
    flat = f"{head}({', '.join(args)})"
    if "\n" not in flat and len(INDENT * depth) + len(flat) <= LINE_WIDTH:
        return flat
    inner = INDENT * (depth + 1)
    return f"{head}(\n" + "".join(f"{inner}{a},\n" for a in args) + f"{INDENT * depth})"


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


def _string(text: str) -> str:
    """Double quotes as the formatter would write them; multi-line SQL triple-quoted; anything else
    (quotes, backslashes, control characters) through ``repr``."""
    if "\n" in text and not any(bad in text for bad in ('"""', "\\", "\r")) and not text.endswith('"'):
        return '"""' + text + '"""'
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return repr(text)


def _docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
