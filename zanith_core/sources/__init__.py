"""Declared schema sources → one normalisation path: DDL, run on a scratch database, introspected.

Whatever the source (a ``.sql`` file or folder, the Python DSL, SQLAlchemy ``MetaData``, SQL text held
by a module), it becomes DDL that a real PostgreSQL server executes on a throwaway database; the result
is read back with :func:`~zanith_core.read.introspect`. Postgres itself therefore normalises
types, defaults and expressions, and no source needs a hand-kept alias table; expressions it reprints
differently once executed are taken to their fixed point (:mod:`.fixed_point`). Live databases (a URL)
and saved graphs (``.json``) are read directly.

Declared SQL is vetted before any of it runs (:mod:`.guard`): a statement that acts outside the
database (``DROP DATABASE``, ``CREATE ROLE``, ``COPY ... PROGRAM``, ...) is refused with its file and line.
Every failure is a :class:`SourceError` with one line a user can act on; an SQL error in a declared file
names the file, line and column (``schema.sql:12:1: syntax error at or near "TABL"``).
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NoReturn

import psycopg

from ..config import Config, is_project
from ..errors import SourceError
from ..read import introspect
from ..schema.graph import SchemaGraph
from ..schema.scope import scope, scoped
from ..servers import Server, connect, mask_url, resolve_server
from ..warm import CACHE
from .cache import GraphCache
from .dsl import DeclarationError, Schema
from .fixed_point import fixed_point
from .guard import Statement, position, schema_statements, snippet
from .loading_role import LoadingSession, loading_session
from .prerequisites import missing_prerequisite

_URL_PREFIXES = ("postgres://", "postgresql://")
_CONNINFO = re.compile(r"^\s*[a-z_]+\s*=")
_ANY_SCHEME = re.compile(r"\s*[A-Za-z][\w+.-]+:/")
_MODULE_ATTR = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_EXPECTED = "expected a .sql file, a folder of .sql files, a .json schema, a postgres URL or module:attribute"
_OBJECTS = "a zanith_core.declare.Schema, an SQLAlchemy MetaData, a SchemaGraph or a str of SQL"


@dataclass(frozen=True)
class Script:
    """DDL to run on the scratch database, with where it came from for error messages."""

    origin: str
    """The file as the user named it, ``module:attr``, or a description of a declared object."""
    text: str
    generated: bool = False
    """True for DDL zanith rendered (DSL, SQLAlchemy): errors quote the statement instead of a line."""


def is_database(source: str) -> bool:
    """Whether a schema source names a live database (a postgres URL or a conninfo string). Any
    ``scheme:/`` counts, so a misspelt one (``POSTGRESQL://``, ``postgresql:/``) is refused as a URL, with
    its mistake named, instead of being looked up as a file."""
    return bool(source.startswith(_URL_PREFIXES) or _CONNINFO.match(source) or _ANY_SCHEME.match(source))


def load_schema(
    source: object,
    *,
    server: Server | None = None,
    schemas: Sequence[str] = ("public",),
    project_dir: Path | None = None,
    ignore: Sequence[str] = (),
    privileges: bool = False,
    cache: GraphCache | None = None,
) -> SchemaGraph:
    """Load any declared or live schema source as a canonical :class:`SchemaGraph`.

    ``source`` is a ``.sql`` file, a folder of ``.sql`` files (run in sorted path order), a ``.json``
    file holding ``SchemaGraph.to_json()``, a postgres URL or ``key=value`` conninfo (introspected
    directly), ``module:attribute`` (imported with ``project_dir`` on ``sys.path``), or an object: a
    :class:`~zanith_core.sources.dsl.Schema`, an SQLAlchemy ``MetaData`` or a :class:`SchemaGraph`.
    Relative paths are looked up in the working directory, then in ``project_dir``. DDL runs on a
    scratch database of ``server`` (default: the embedded server), which is always dropped.
    ``ignore`` and ``privileges`` are the project's settings (:mod:`zanith_core.schema.scope`).
    ``cache`` keeps graphs of declared DDL between calls (:mod:`.cache`; :func:`declared_cache` gives a
    project's).
    """
    if isinstance(source, SchemaGraph):
        return scoped(source, ignore, privileges)
    if isinstance(source, str) and is_database(source):
        with connect(source) as conn:
            return introspect(conn, tuple(schemas), ignore=ignore, privileges=privileges)
    resolved = _resolve(source, project_dir) if isinstance(source, str | Path) else _object_source(source, origin=None)
    if isinstance(resolved, SchemaGraph):
        return scoped(resolved, ignore, privileges)
    graph = _cached(resolved, server or resolve_server(None), tuple(schemas), privileges, cache)
    return scoped(graph, ignore, privileges)


def declared_cache(config: Config) -> GraphCache | None:
    """The project's cache of declared graphs, unless ``cache`` is off or the folder holds no project."""
    if not (config.cache and is_project(config.project_dir)):
        return None
    return GraphCache(config.project_dir / CACHE / "declared")


def load_declared(source: object, config: Config, *, server: Server | None = None) -> SchemaGraph:
    """:func:`load_schema` with the project's settings: its schemas, folder, scope and cache."""
    return load_schema(
        source,
        server=server,
        schemas=config.schemas,
        project_dir=config.project_dir,
        cache=declared_cache(config),
        **scope(config),
    )


# -- sources → scripts -----------------------------------------------------------------------------


def _resolve(source: str | Path, project_dir: Path | None) -> SchemaGraph | list[Script]:
    """A path or ``module:attr`` as either a finished graph (``.json``) or the scripts to run."""
    path = _find_path(Path(source), project_dir)
    if path is not None:
        if path.is_dir():
            return _folder_scripts(path, shown=str(source))
        if path.suffix == ".json":
            return _read_json(path, shown=str(source))
        return [Script(origin=str(source), text=_read_text(path, shown=str(source)))]
    if isinstance(source, str) and _MODULE_ATTR.match(source):
        return _object_source(_import_attribute(source, project_dir), origin=source)
    shown = mask_url(str(source))  # a mistyped URL lands here: never echo its password
    if Path(source).suffix in (".sql", ".json") or "/" in str(source):
        raise SourceError(f"schema file not found: {shown}")
    raise SourceError(f"schema source not found: {shown} ({_EXPECTED})")


def _find_path(path: Path, project_dir: Path | None) -> Path | None:
    candidates = [path]
    if project_dir is not None and not path.is_absolute():
        candidates.append(project_dir / path)
    return next((p for p in candidates if p.exists()), None)


def _read_text(path: Path, *, shown: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot read {shown}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    except OSError as exc:
        raise SourceError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if "\0" in text:  # the server reads a statement up to its first NUL: the rest would silently vanish
        where = text_position(text, text.index("\0"))
        raise SourceError(f"{shown}:{where}: NUL byte in the file; remove it")
    return text


def _folder_scripts(folder: Path, *, shown: str) -> list[Script]:
    files = sorted((p for p in folder.rglob("*.sql") if p.is_file()), key=lambda p: p.relative_to(folder).parts)
    if not files:
        raise SourceError(f"no .sql files in folder {shown}")
    scripts = []
    for file in files:
        name = str(Path(shown) / file.relative_to(folder))
        scripts.append(Script(origin=name, text=_read_text(file, shown=name)))
    return scripts


def _read_json(path: Path, *, shown: str) -> SchemaGraph:
    text = _read_text(path, shown=shown)
    try:
        return SchemaGraph.from_json(text)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SourceError(f"{shown}: not a zanith schema JSON document: {_one_line(exc)}") from None


def _import_attribute(spec: str, project_dir: Path | None) -> object:
    """Import ``module:attr.path`` with the project folder first on ``sys.path``."""
    module_name, _, attr_path = spec.partition(":")
    with _on_sys_path(project_dir):
        try:
            obj: object = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise SourceError(f"{spec}: no module named {exc.name!r}") from None
            raise SourceError(f"{spec}: error while importing {module_name}: {_one_line(exc)}") from None
        except Exception as exc:
            raise SourceError(f"{spec}: error while importing {module_name}: {_one_line(exc)}") from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise SourceError(f"{spec}: module {module_name!r} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:
            raise SourceError(f"{spec}: calling {attr_path}() failed: {_one_line(exc)}") from None
    return obj


@contextmanager
def _on_sys_path(folder: Path | None) -> Iterator[None]:
    entry = str(folder.resolve()) if folder is not None else None
    added = entry is not None and entry not in sys.path
    if added:
        sys.path.insert(0, str(entry))
    try:
        yield
    finally:
        if added:
            sys.path.remove(str(entry))


def _object_source(obj: object, *, origin: str | None) -> SchemaGraph | list[Script]:
    """A declared object as its DDL (or itself, if a graph); ``origin`` is its ``module:attr``."""
    if isinstance(obj, SchemaGraph):
        return obj
    if isinstance(obj, Schema):
        label = origin or "declared Schema"
        try:
            statements = obj.ddl()
        except DeclarationError as exc:
            raise DeclarationError(f"{label}: {exc}") from None
        return [Script(origin=label, text=stmt, generated=True) for stmt in statements]
    if isinstance(obj, str) and origin is not None:
        return [Script(origin=origin, text=obj)]
    if _is_sqlalchemy_metadata(obj):
        from .sqlalchemy import metadata_ddl

        return [Script(origin=origin or "SQLAlchemy MetaData", text=stmt, generated=True) for stmt in metadata_ddl(obj)]
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    where = f"{origin}: " if origin else ""
    raise SourceError(f"{where}unsupported schema source of type {kind} (expected {_OBJECTS})")


def _is_sqlalchemy_metadata(obj: object) -> bool:
    """True for SQLAlchemy ``MetaData`` without importing SQLAlchemy (it is an optional extra)."""
    return any(cls.__name__ == "MetaData" and cls.__module__.startswith("sqlalchemy") for cls in type(obj).__mro__)


# -- scripts → graph -------------------------------------------------------------------------------


def _cached(
    scripts: Sequence[Script], server: Server, schemas: tuple[str, ...], privileges: bool, cache: GraphCache | None
) -> SchemaGraph:
    """:func:`_normalise`, or the graph it made before for the same key (see :mod:`.cache`)."""
    if cache is None:
        return _normalise(scripts, server, schemas, privileges)
    key = cache.key(((s.origin, s.text) for s in scripts), schemas, privileges, server.url)
    graph = cache.get(key)
    if graph is None:
        graph = _normalise(scripts, server, schemas, privileges)
        cache.put(key, graph)
    return graph


def _normalise(scripts: Sequence[Script], server: Server, schemas: tuple[str, ...], privileges: bool) -> SchemaGraph:
    """Vet ``scripts`` as schema SQL (:mod:`.guard`), then run them on a scratch database of ``server``, as
    a role that cannot act on the server (:mod:`.loading_role`), and introspect the result. Nothing runs,
    not even the scratch database's creation, unless every statement of every script passed."""
    vetted = [(script, schema_statements(script.text, script.origin, generated=script.generated)) for script in scripts]
    with server.scratch_database(template="template0") as url:
        with connect(url) as conn, loading_session(conn, url) as session:
            for script, statements in vetted:  # a configured schema the scripts do not create is not declared
                session.run_script(statements, partial(_failed, script, session))
            session.finish()
        # A fresh session: the scripts may have changed search_path, which changes how types print.
        with connect(url) as conn:
            graph = introspect(conn, schemas, privileges=privileges)
            return fixed_point(conn, graph, lambda: introspect(conn, schemas, privileges=privileges))


def _failed(script: Script, session: LoadingSession, statement: Statement, exc: psycopg.Error) -> NoReturn:
    """An error of ``statement`` as one line naming where it is (``Failure`` of :mod:`.loading_role`)."""
    raise SourceError(_sql_error(script, statement, exc, session.advice(exc))) from None


def _sql_error(script: Script, statement: Statement, exc: psycopg.Error, advice: str | None) -> str:
    """One line: ``file:line:col: message`` (the statement's start when Postgres gives no position);
    a role or collation the server lacks (:mod:`.prerequisites`), or a privilege the loading role lacks
    (``advice``), says what to do about it."""
    message = exc.diag.message_primary or _one_line(exc)
    advice = missing_prerequisite(exc) or advice
    if advice:
        message = f"{message}: {advice}"
    if script.generated:
        return f"{script.origin}: {message} (in: {snippet(statement.text)})"
    server_position = exc.diag.statement_position
    offset = statement.start + (int(server_position) - 1 if server_position else 0)
    return f"{script.origin}:{text_position(script.text, offset)}: {message}"


def text_position(text: str, offset: int) -> str:
    """``line:column`` (both from 1) of ``offset`` in ``text``: how a message points into a file."""
    line, column = position(text, offset)
    return f"{line}:{column}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
