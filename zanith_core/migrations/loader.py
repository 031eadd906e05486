"""Load the project's migration files: ``migrations/<id>.py`` modules, in id order.

A migration file is Python (see :mod:`zanith_core.migrations.writer` for the shape zanith writes): it sets ``id``
(equal to the file stem, or a prefix of it ending where an ``_`` starts the name), optionally ``name``
and ``phase`` (``expand`` / ``contract``), and ``operations``: a list of op values (or their
``to_dict()`` form). Every problem is a :class:`MigrationFileError` whose message starts with the file
(and line, when there is one), because the person who has to fix it is looking at that file:

- a syntax error or a NUL byte, or an exception while the file runs (a misspelt op class reads as an
  unknown kind), ``sys.exit()`` included: it would end zanith with the file's exit code and nothing applied;
- an unknown op kind, a malformed op, or an entry of ``operations`` that is not an operation;
- a missing reversal where one is claimed (an op whose ``validate()`` says so);
- an id that does not match the file name, is used twice, or does not sort the way the file names do
  (``1_init.py`` / ``10_more.py``: ids and file names must agree on the order, so zero-pad numbers);
- a ``.sql`` file among them: it would never run, and "nothing pending" would be a lie.
"""

from __future__ import annotations

import builtins
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import migration_api
from ..errors import MigrationFileError, ZanithError
from ..ops.base import CATALOG, Operation, operation_from_dict
from ..sources import text_position
from .migration import Migration

PHASES = ("expand", "contract")


def migration_files(folder: Path) -> tuple[Path, ...]:
    """The migration files in ``folder``, by file name (``_``-prefixed helpers and ``__init__`` skipped)."""
    if not folder.is_dir():
        return ()
    stray = sorted(p for p in folder.glob("*.sql") if not p.name.startswith(("_", ".")))
    if stray:
        raise MigrationFileError(
            f"{stray[0]}: a .sql file is not a migration here: zanith runs migrations/<id>.py files only; put the "
            f"SQL in one with `zanith new --name {stray[0].stem} --sql \"...\"` and remove (or _-prefix) the .sql file"
        )
    return tuple(sorted(p for p in folder.glob("*.py") if not p.name.startswith(("_", "."))))


def load_migrations(folder: Path) -> tuple[Migration, ...]:
    """Every migration in ``folder``, sorted by id; an empty tuple when the folder does not exist."""
    migrations: list[Migration] = []
    seen: dict[str, Path] = {}
    for path in migration_files(folder):
        migration = load_migration_file(path)
        if migration.id in seen:
            raise MigrationFileError(f"{path}: duplicate migration id {migration.id!r} (also in {seen[migration.id]})")
        if migrations and migration.id < migrations[-1].id:
            prev = migrations[-1]
            raise MigrationFileError(
                f"{path}: id {migration.id!r} sorts before {prev.id!r} of {prev.path}, but its file name sorts "
                "after it; ids must increase with file names (zero-pad numeric ids: 0001, 0002, ...)"
            )
        seen[migration.id] = path
        migrations.append(migration)
    return tuple(migrations)


def load_migration_file(path: Path) -> Migration:
    """Run one migration file and check what it defines."""
    namespace = _execute(path)
    stem = path.stem
    mid = namespace.get("id", stem)
    if not isinstance(mid, str) or not mid:
        raise MigrationFileError(f"{path}: `id` must be a non-empty string, not {mid!r}")
    if stem != mid and not stem.startswith(mid + "_"):
        raise MigrationFileError(
            f"{path}: id {mid!r} does not match the file name; the file must be named {mid}.py or {mid}_<name>.py"
        )
    name = namespace.get("name", "")
    phase = namespace.get("phase")
    if not isinstance(name, str):
        raise MigrationFileError(f"{path}: `name` must be a string, not {name!r}")
    if phase is not None and phase not in PHASES:
        raise MigrationFileError(f"{path}: `phase` must be one of {', '.join(PHASES)} (or absent), not {phase!r}")
    return Migration(id=mid, operations=_operations(path, namespace), name=name, path=path, phase=phase)


def _operations(path: Path, namespace: Mapping[str, Any]) -> tuple[Operation, ...]:
    if "operations" not in namespace:
        raise MigrationFileError(f"{path}: defines no `operations` list")
    raw = namespace["operations"]
    if not isinstance(raw, list | tuple):
        raise MigrationFileError(f"{path}: `operations` must be a list, not {type(raw).__name__}")
    ops: list[Operation] = []
    for i, item in enumerate(raw):
        where = f"{path}: operations[{i}]"
        if isinstance(item, dict):
            item = operation_from_dict(item, origin=where)
        if not isinstance(item, Operation) or not item.kind:
            raise MigrationFileError(f"{where} is {item!r}, not an operation (e.g. RawSql(\"UPDATE ...\"))")
        try:
            item.validate()
        except ZanithError as exc:
            raise MigrationFileError(f"{where} ({item.kind}): {exc}") from None
        ops.append(item)
    return tuple(ops)


def _execute(path: Path) -> dict[str, Any]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError(f"{path}: cannot read: {exc}") from None
    if "\0" in source:
        where = text_position(source, source.index("\0"))
        raise MigrationFileError(f"{path}:{where}: NUL byte in the file; remove it")
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise MigrationFileError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    namespace: dict[str, Any] = {"__name__": f"zanith_migration_{path.stem}", "__file__": str(path)}
    try:
        exec(code, namespace)
    except NameError as exc:
        raise MigrationFileError(f"{path}:{_line(exc, path)}: {_unknown_name(exc)}") from None
    except MigrationFileError as exc:
        raise MigrationFileError(f"{path}:{_line(exc, path)}: {exc}") from None
    except SystemExit as exc:  # would end zanith itself with this code, the apply silently not done
        raise MigrationFileError(
            f"{path}:{_line(exc, path)}: calls sys.exit({exc.code!r}) while it is loaded; a migration file "
            "may only define id, operations and helpers"
        ) from None
    except Exception as exc:
        raise MigrationFileError(f"{path}:{_line(exc, path)}: {type(exc).__name__}: {exc}") from None
    return namespace


def _unknown_name(exc: NameError) -> str:
    name = exc.name or ""
    if name in migration_api.__all__:
        return f"{name} is not defined: the file needs `from zanith_core.migration_api import *`"
    if name[:1].isupper() and not hasattr(builtins, name):
        return f"unknown operation kind {name!r} (known: {', '.join(_class_names())})"
    return f"NameError: {exc}"


def _class_names() -> list[str]:
    return sorted(cls.__name__ for cls in CATALOG.values())


def _line(exc: BaseException, path: Path) -> int | str:
    """The line of ``path`` the exception came from (the innermost frame in that file)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno or "?" if frames else "?"
