"""The Operation contract: a frozen value that knows its SQL, lock, reversal and effect on a graph.

Like Django's operations, an op is data plus three verbs: ``statements()`` (forward SQL, identifiers
always composed through :mod:`psycopg.sql`), ``reverse()`` (another op, or :class:`Irreversible` with
the reason) and ``apply_to(graph)`` (its effect on a :class:`SchemaGraph`, without a database). Executing
an op is the runner's job; most ops are executed by running their statements, a few (``backfill``, soft
drops that record recovery artifacts) have an executor registered by the module that owns that logic.

Every concrete op class registers itself in :data:`CATALOG` under its stable snake_case ``kind``; the
kind appears in JSON, plans, migration files and the ledger, so it never changes once released. The
class also says what the rest of the pipeline needs to know about the kind without an instance: its
``stage`` (where generate puts it) and its ``default_lock`` (what its default form locks, which the risk
catalog renders rather than repeats); a kind that leaves one out fails when its module is imported.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from psycopg import sql

from ..errors import Irreversible, MigrationFileError, ZanithError
from ..schema.codec import decode, encode
from ..schema.graph import SchemaGraph

#: One SQL statement, composed with :mod:`psycopg.sql` so identifiers are always quoted.
Statement = sql.SQL | sql.Composed


class InvalidOperation(ZanithError):
    """An operation's fields are inconsistent (a name PostgreSQL would truncate, a claimed but empty
    reversal, ...); the message names the field."""


class Lock(enum.StrEnum):
    """PostgreSQL table lock modes, weakest first: the ones an op takes on its target, and every mode
    ``pg_locks`` may show a step holding (ROW SHARE, EXCLUSIVE), so an observed lock is one of these too."""

    NONE = "NONE"
    ACCESS_SHARE = "ACCESS SHARE"
    ROW_SHARE = "ROW SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

    @property
    def pg_mode(self) -> str:
        """The mode as ``pg_locks.mode`` spells it: ``ACCESS EXCLUSIVE`` is ``AccessExclusiveLock``."""
        return self.value.title().replace(" ", "") + "Lock"

    @property
    def blocks(self) -> str:
        """What the mode does to other clients: ``reads`` (ACCESS EXCLUSIVE conflicts even with the ACCESS
        SHARE of a SELECT), ``writes`` (SHARE and stronger conflict with the ROW EXCLUSIVE of INSERT, UPDATE
        and DELETE) or ``nothing`` (weaker modes conflict with no ordinary read or write)."""
        if self is Lock.ACCESS_EXCLUSIVE:
            return "reads"
        order = list(Lock)
        return "writes" if order.index(self) >= order.index(Lock.SHARE) else "nothing"

    @classmethod
    def of_pg_mode(cls, mode: str) -> Lock:
        """The mode ``pg_locks`` calls ``mode``; ValueError for a name that is not a table lock mode."""
        found = next((lock for lock in cls if lock is not cls.NONE and lock.pg_mode == mode), None)
        if found is None:
            raise ValueError(f"{mode!r} is not a pg_locks table lock mode")
        return found


class Stage(enum.IntEnum):
    """Where generate puts an op of a kind: a fixed sequence of stages, lowest first.

    :mod:`zanith_core.generate.ordering` sorts by stage and keeps the diff's own order inside a stage.
    Each rule the sequence encodes, and why:

    - enums (and new enum values) are created first, before the columns and defaults that use them;
    - renames next: every later step names objects by their declared names;
    - references are dropped before their targets: foreign keys, then other constraints and indexes,
      before the columns, keys and tables they depend on are changed or dropped;
    - NOT NULL and defaults are relaxed before types change and before data is copied, and tightened
      after;
    - a table whose column order must change is rebuilt once its columns are added and changed, before
      new keys and indexes are built on it (the rebuild would build them twice) and before the columns
      it still carries are dropped (a soft-dropped column must be carried, not lost);
    - tables and columns are created before their keys, indexes, backfills and the foreign keys that
      point at them; a backfill comes after its column exists and before the column's index is built
      (building an index once over filled rows is cheaper than maintaining it through the backfill);
    - foreign keys come after every table, primary key and unique constraint they may reference, and a
      validation after the constraint it validates;
    - a partition's bounds change after the partitions dropped next to it (they go ``ahead_of`` it) and
      before the new ones are created, so no two ever overlap;
    - drops come last, soft drops after hard ones (a soft drop only renames aside, so it can wait until
      every step that might still read the old object has run), and enums are dropped after the
      columns using them.

    Kinds generate never emits (``raw_sql``, restores, dual-write triggers) keep their place relative
    to each other in the middle stage; hand-written migrations are ordered by their author. The
    definition family (functions, views, triggers, policies ...) is placed by
    :mod:`zanith_core.generate.definitions`: its kinds start a stage (``ahead_of``) or share the middle
    stage, after the table steps; only dropped schemas and extensions have a stage of their own, the
    last one, once nothing in them or using them is left.
    """

    CREATE_ENUM = enum.auto()
    ADD_ENUM_VALUE = enum.auto()
    RENAME_TABLE = enum.auto()
    RENAME_COLUMN = enum.auto()
    RENAME_INDEX = enum.auto()
    DROP_FOREIGN_KEY = enum.auto()
    DROP_CONSTRAINT = enum.auto()
    """Indexes, and the constraints other than primary and foreign keys."""
    DROP_PRIMARY_KEY = enum.auto()
    RELAX_COLUMN = enum.auto()
    """``DROP DEFAULT``, ``DROP NOT NULL``."""
    PARTITION_BOUND = enum.auto()
    """A partition's bounds change after a dropped partition made room, before a new one takes it."""
    CREATE_TABLE = enum.auto()
    ADD_COLUMN = enum.auto()
    ALTER_COLUMN_TYPE = enum.auto()
    BACKFILL = enum.auto()
    TIGHTEN_COLUMN = enum.auto()
    """``SET DEFAULT``, ``SET NOT NULL``."""
    REORDER_COLUMNS = enum.auto()
    """A table rebuilt in the declared column order: after its columns are added and changed, before
    the keys, indexes and constraints that are new (the rebuild recreates the ones it holds)."""
    ADD_PRIMARY_KEY = enum.auto()
    ADD_CONSTRAINT = enum.auto()
    """Indexes, and the constraints other than primary and foreign keys."""
    ADD_FOREIGN_KEY = enum.auto()
    VALIDATE = enum.auto()
    MIDDLE = enum.auto()
    """Kinds generate never emits, and the definition family."""
    DROP_COLUMN = enum.auto()
    DROP_TABLE = enum.auto()
    SOFT_DROP_COLUMN = enum.auto()
    SOFT_DROP_TABLE = enum.auto()
    DROP_ENUM = enum.auto()
    DROP_NAMESPACE = enum.auto()
    """Schemas and extensions."""


CATALOG: dict[str, type[Operation]] = {}


@dataclass(frozen=True)
class Operation:
    """Base of every op kind. Subclasses are frozen dataclasses with JSON-able fields."""

    kind: ClassVar[str] = ""
    nested_operations: ClassVar[tuple[str, ...]] = ()
    """Fields holding ops (``raw_sql``'s ``state_operations``): JSON spells each with its own ``kind``."""
    stage: ClassVar[Stage]
    """Where generate puts ops of this kind (see :class:`Stage`)."""
    default_lock: ClassVar[Lock]
    """The table lock the kind's default form takes: what :attr:`lock` returns unless the op's fields
    change it, and the mode the risk catalog states for the kind (``tests/risk`` checks it on a server)."""
    other_tables_lock: ClassVar[Lock | None] = None
    """The lock the kind takes on its other :attr:`tables`, when it is not the foreign-key lock (see
    :attr:`other_lock`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            if kind in CATALOG and CATALOG[kind].__qualname__ != cls.__qualname__:
                raise TypeError(f"op kind {kind!r} registered twice ({CATALOG[kind].__name__}, {cls.__name__})")
            for name, kind_of in (("stage", Stage), ("default_lock", Lock)):
                if not isinstance(getattr(cls, name, None), kind_of):
                    raise TypeError(f"op kind {kind!r} ({cls.__name__}) declares no {name} ({kind_of.__name__})")
            CATALOG[kind] = cls

    # -- what every op kind implements ---------------------------------------------------------

    @property
    def transactional(self) -> bool:
        """False when PostgreSQL refuses the op inside a transaction block (CONCURRENTLY, ...).

        The runner then executes each statement on its own in autocommit mode. A property rather than
        a class constant because it may depend on the op's fields: ``add_index(concurrently=False)``
        runs in a transaction, ``raw_sql`` says so itself. Read it on an op, never on a class.
        """
        return True

    @property
    def opaque(self) -> bool:
        """True when ``apply_to`` cannot know what the op does to the schema (``raw_sql`` that declares no
        state operations): a planner takes the schema after it from a replay instead."""
        return False

    @property
    def tables(self) -> tuple[str, ...]:
        """The qualified tables whose locks the op takes, its own table first (``()`` for none).

        What context-aware scoring looks up live statistics for: ``add_foreign_key`` also locks the
        referenced table.
        """
        return ()

    def validate(self) -> None:
        """Raise :class:`InvalidOperation` when the op is malformed beyond what its field types say.

        The loader calls it for every op of a migration file; a reversal claimed but missing
        (``raw_sql`` with an empty ``reverse_sql``) is the typical case.
        """

    def statements(self) -> tuple[Statement, ...]:
        raise NotImplementedError

    @property
    def lock(self) -> Lock:
        """The strongest table lock the op takes: the kind's :attr:`default_lock`, unless a subclass
        says how the op's fields change it (``add_index(concurrently=True)``)."""
        return self.default_lock

    @property
    def other_lock(self) -> Lock:
        """The lock the op takes on its :attr:`tables` after the first (a referenced table, a partition's
        parent): the foreign-key lock, SHARE ROW EXCLUSIVE (never more than :attr:`lock`), unless the kind's
        :attr:`other_tables_lock` says otherwise — removing a foreign key removes its triggers on the
        referenced table, which takes ACCESS EXCLUSIVE there (observed on the server:
        ``tests/ops/test_ops_observed.py``)."""
        if self.other_tables_lock is not None:
            return self.other_tables_lock
        return min(self.lock, Lock.SHARE_ROW_EXCLUSIVE, key=list(Lock).index)

    @property
    def target(self) -> str:
        """What the op acts on, for humans: ``public.users`` or ``public.users.email``."""
        raise NotImplementedError

    def reverse(self) -> Operation:
        """The op that undoes this one, or raise :class:`Irreversible` saying why there is none."""
        raise Irreversible(f"{self.kind} has no automatic reversal")

    def apply_to(self, graph: SchemaGraph) -> SchemaGraph:
        raise NotImplementedError

    # -- derived -------------------------------------------------------------------------------

    def sql(self) -> str:
        """The forward SQL as text, one statement per line, each ending in ``;``.

        Kept on the op after the first call: an op is frozen, so its SQL cannot change, and plan, apply
        and the ledger each ask for it (rendering a wide ``create_table`` is not free). The cache lives in
        the instance's ``__dict__``, outside the dataclass fields, so equality and encoding ignore it.
        """
        cached = self.__dict__.get("_sql")
        if cached is None:
            cached = "\n".join(stmt.as_string(None) + ";" for stmt in self.statements())
            object.__setattr__(self, "_sql", cached)
        return str(cached)

    @property
    def reversible(self) -> bool:
        try:
            self.reverse()
        except Irreversible:
            return False
        return True

    def describe(self) -> str:
        return f"{self.kind} {self.target}"

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, **encode(self)}
        for name in self.nested_operations:
            data[name] = [op.to_dict() for op in getattr(self, name)]
        return data


def operation_from_dict(data: dict[str, Any], *, origin: str = "<data>") -> Operation:
    """Rebuild an op from :meth:`Operation.to_dict` output; unknown kinds are a clear error."""
    kind = data.get("kind")
    cls = CATALOG.get(str(kind))
    if cls is None:
        raise MigrationFileError(f"{origin}: unknown operation kind {kind!r} (see `zanith explain` for the list)")
    body = {k: v for k, v in data.items() if k != "kind"}
    nested = {
        name: tuple(operation_from_dict(item, origin=origin) for item in body.pop(name))
        for name in cls.nested_operations
        if name in body
    }
    try:
        return replace(decode(cls, body), **nested) if nested else decode(cls, body)
    except (TypeError, ValueError) as exc:
        raise MigrationFileError(f"{origin}: invalid {kind} operation: {exc}") from None
