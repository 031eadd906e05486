"""Rename detection: a removed and an added column (or table) with the same shape may be one rename.

A structural diff only sees that ``users.name`` went away and ``users.full_name`` appeared; turning that
into drop + add would lose the data, so generate asks here first. A *candidate* is a removed/added pair
in the same scope (columns of one table, tables of one schema) whose shape matches: for columns the
type, collation, identity and generation expression (nullability and default may differ: they become
their own steps after the rename); for tables, at least half of the (column name, type) pairs in
common, a shared index or constraint name, or a serial sequence that moved from the old table to the
new one (a table renamed *and* changed is still one table). Within a table the likelier pairings (same
nullability and default, nearest position) come first, so a prompt asks about them first.

A candidate is *unambiguous* when neither side has another candidate. Who decides, in order:

1. hints (``--rename users.name=full_name``, ``--rename old_table=new_table``) settle their pair outright,
   even across shapes (a column hinted across types is renamed by copy, see ``zanith_core.generate``);
2. ``accept_detected`` (``--yes``) accepts every unambiguous candidate left;
3. ``confirm`` (the terminal prompt) is asked about each candidate left, in a stable order;
4. anything still undecided is a :class:`RenameUndecided` error naming the candidates and the flag to
   pass, so a non-interactive run never guesses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import ZanithError
from ..schema.graph import Column, SchemaGraph, Table, qualified, split_qualified


class RenameUndecided(ZanithError):
    """Rename candidates were found and nothing (hint, --yes, prompt) decided them."""


class InvalidRenameHint(ZanithError):
    """A ``--rename`` hint is malformed or names nothing the diff removes and adds."""


@dataclass(frozen=True)
class RenameCandidate:
    """One possible rename: ``old`` → ``new``, a table (qualified names) or a column of ``table``."""

    object_type: str
    """``table`` or ``column``."""
    table: str | None
    """For a column: the qualified table holding it (its declared name); None for a table."""
    old: str
    new: str
    compatible: bool = True
    """Same shape on both sides; False only for a hinted pair (a column then gets copied, not renamed)."""

    @property
    def hint(self) -> str:
        """The ``--rename`` argument that selects this candidate."""
        if self.table is None:
            return f"{short_name(self.old)}={split_qualified(self.new)[1]}"
        return f"{short_name(self.table)}.{self.old}={self.new}"

    def describe(self) -> str:
        if self.table is None:
            return f"table {self.old} → {self.new}"
        return f"column {self.table}.{self.old} → {self.new}"


@dataclass(frozen=True)
class RenameHint:
    """A user's ``SOURCE=TARGET``: ``users.name=full_name`` (a column) or ``old_table=new_table``."""

    source: str
    target: str

    @classmethod
    def parse(cls, text: str) -> RenameHint:
        source, eq, target = (part.strip() for part in text.partition("="))
        if not eq or not source or not target:
            raise InvalidRenameHint(f"invalid --rename {text!r}: expected TABLE.COLUMN=NEW_COLUMN or TABLE=NEW_TABLE")
        return cls(source, target)

    def __str__(self) -> str:
        return f"{self.source}={self.target}"


@dataclass(frozen=True)
class RenameHints:
    hints: tuple[RenameHint, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> RenameHints:
        return cls(tuple(RenameHint.parse(t) for t in texts))

    def split(self, current: SchemaGraph) -> tuple[tuple[RenameHint, ...], tuple[RenameHint, ...]]:
        """(table hints, column hints): ``a=b`` names tables, ``s.t.c=d`` a column, and ``x.y=z`` a
        table when ``current`` has a table ``x.y``, else column ``y`` of table ``x``."""
        tables = tuple(
            h for h in self.hints if "." not in h.source or (h.source.count(".") == 1 and current.table(h.source))
        )
        return tables, tuple(h for h in self.hints if h not in tables)


Confirm = Callable[[RenameCandidate], bool]


def resolve_table_renames(
    current: SchemaGraph,
    declared: SchemaGraph,
    hints: Sequence[RenameHint],
    *,
    accept_detected: bool = False,
    confirm: Confirm | None = None,
) -> tuple[RenameCandidate, ...]:
    """The table renames to make (``hints``: the table hints), decided as the module docstring says."""
    removed = {t.qualified_name: t for t in current.tables if declared.table(t.qualified_name) is None}
    added = {t.qualified_name: t for t in declared.tables if current.table(t.qualified_name) is None}
    chosen: list[RenameCandidate] = []
    for hint in hints:
        old = qualified(*split_qualified(hint.source))
        schema = split_qualified(old)[0]
        new = qualified(schema, split_qualified(hint.target, schema)[1])
        if old not in removed:
            raise InvalidRenameHint(f"--rename {hint}: table {old} is not removed by the declared schema")
        if new not in added:
            raise InvalidRenameHint(
                f"--rename {hint}: table {new} is not added by the declared schema"
                f"{_listing('added tables', [n for n in added if n.startswith(schema + '.')])}"
            )
        chosen.append(RenameCandidate("table", None, old, new, _same_table_shape(removed[old], added[new])))
        del removed[old], added[new]
    pairs = [
        RenameCandidate("table", None, o, n)
        for o, ot in sorted(removed.items())
        for n, nt in sorted(added.items())
        if ot.schema == nt.schema and _similar_tables(ot, nt, current, declared)
    ]
    return (*chosen, *_decide(pairs, accept_detected, confirm))


def resolve_column_renames(
    current: SchemaGraph,
    declared: SchemaGraph,
    hints: Sequence[RenameHint],
    *,
    table_renames: tuple[RenameCandidate, ...] = (),
    accept_detected: bool = False,
    confirm: Confirm | None = None,
) -> tuple[RenameCandidate, ...]:
    """The column renames to make (``hints``: the column hints); ``current`` already has
    ``table_renames`` applied, and a hint may name a renamed table by its old or its new name."""
    renamed_to = {c.old: c.new for c in table_renames}
    tables = {t.qualified_name: (t, declared.table(t.qualified_name)) for t in current.tables}
    removed: dict[str, dict[str, Column]] = {}
    added: dict[str, dict[str, Column]] = {}
    for name, (old, new) in tables.items():
        if new is None or old.partition_of is not None:  # a partition's columns are renamed with its parent's
            continue
        removed[name] = {c.name: c for c in old.columns if new.column(c.name) is None}
        added[name] = {c.name: c for c in new.columns if old.column(c.name) is None}
    chosen: list[RenameCandidate] = []
    for hint in hints:
        table_part, _, column = hint.source.rpartition(".")
        if "." in hint.target:
            raise InvalidRenameHint(f"invalid --rename {hint}: the new column name must be bare (TABLE.COLUMN=NEW)")
        table = qualified(*split_qualified(table_part))
        table = renamed_to.get(table, table)
        if table not in removed:
            raise InvalidRenameHint(f"--rename {hint}: no table {table} on both sides of the diff")
        if column not in removed[table]:
            raise InvalidRenameHint(
                f"--rename {hint}: column {table}.{column} is not removed by the declared schema"
                f"{_listing('removed columns', list(removed[table]))}"
            )
        if hint.target not in added[table]:
            raise InvalidRenameHint(
                f"--rename {hint}: column {table}.{hint.target} is not added by the declared schema"
                f"{_listing('added columns', list(added[table]))}"
            )
        old_col, new_col = removed[table].pop(column), added[table].pop(hint.target)
        chosen.append(RenameCandidate("column", table, column, hint.target, _shape(old_col) == _shape(new_col)))
    scored = [
        (_likeness(tables[table][0], oc, tables[table][1], nc), RenameCandidate("column", table, o, n))
        for table in sorted(removed)
        for o, oc in removed[table].items()
        for n, nc in added[table].items()
        if _shape(oc) == _shape(nc)
    ]
    pairs = [c for _, c in sorted(scored, key=lambda sc: (sc[1].table or "", sc[0], sc[1].old, sc[1].new))]
    return (*chosen, *_decide(pairs, accept_detected, confirm))


def _decide(pairs: list[RenameCandidate], accept_detected: bool, confirm: Confirm | None) -> list[RenameCandidate]:
    """Settle detected candidates: ``--yes`` takes unambiguous ones, ``confirm`` is asked the rest."""
    accepted: list[RenameCandidate] = []
    taken: set[tuple[str | None, str]] = set()
    undecided: list[RenameCandidate] = []
    ambiguous = _ambiguous(pairs)
    for cand in pairs:
        if (cand.table, cand.old) in taken or (cand.table, "+" + cand.new) in taken:
            continue
        if (accept_detected and cand not in ambiguous) or (confirm is not None and confirm(cand)):
            accepted.append(cand)
            taken.update({(cand.table, cand.old), (cand.table, "+" + cand.new)})
        elif confirm is None:
            undecided.append(cand)
    if undecided:
        raise RenameUndecided(_undecided_message(undecided, ambiguous))
    return accepted


def _ambiguous(pairs: list[RenameCandidate]) -> set[RenameCandidate]:
    olds: dict[tuple[str | None, str], int] = {}
    news: dict[tuple[str | None, str], int] = {}
    for c in pairs:
        olds[(c.table, c.old)] = olds.get((c.table, c.old), 0) + 1
        news[(c.table, c.new)] = news.get((c.table, c.new), 0) + 1
    return {c for c in pairs if olds[(c.table, c.old)] > 1 or news[(c.table, c.new)] > 1}


def _undecided_message(undecided: list[RenameCandidate], ambiguous: set[RenameCandidate]) -> str:
    parts = [f"{c.describe()}{' (ambiguous)' if c in ambiguous else ''} [--rename {c.hint}]" for c in undecided]
    advice = "pass --rename for each rename you mean"
    if any(c not in ambiguous for c in undecided):
        advice += ", or --yes to accept the unambiguous ones"
    return (
        f"possible rename{'s' if len(parts) > 1 else ''} found: {'; '.join(parts)}. "
        f"To rename instead of dropping and adding, {advice}; run at a terminal to be asked"
    )


def _likeness(old_table: Table, old: Column, new_table: Table | None, new: Column) -> tuple[int, int]:
    """Sort key putting the likelier pairing of an old column first (it is asked about first): the same
    nullability and default, then the nearest position."""
    same = int(old.nullable == new.nullable) + int(old.default == new.default)
    distance = abs(old_table.columns.index(old) - (new_table.columns.index(new) if new_table else 0))
    return (-same, distance)


def _shape(column: Column) -> tuple[str, str | None, str | None, str | None]:
    return (column.type, column.collation, column.identity, column.generated)


def _same_table_shape(a: Table, b: Table) -> bool:
    return sorted((c.name, c.type) for c in a.columns) == sorted((c.name, c.type) for c in b.columns)


def _similar_tables(old: Table, new: Table, current: SchemaGraph, declared: SchemaGraph) -> bool:
    """A table renamed *and* changed is still a candidate: at least half of all the (name, type) column
    pairs are shared, an index or constraint name is (renames keep them), or a sequence the old table's
    column owns is owned by the new table's."""
    a = {(c.name, c.type) for c in old.columns}
    b = {(c.name, c.type) for c in new.columns}
    if a | b and 2 * len(a & b) >= len(a | b):
        return True
    if set(_relation_names(old)) & set(_relation_names(new)):
        return True
    old_owned = {s.qualified_name for s in current.sequences if (s.owned_by or "").startswith(old.qualified_name + ".")}
    return any(
        s.qualified_name in old_owned
        for s in declared.sequences
        if (s.owned_by or "").startswith(new.qualified_name + ".")
    )


def _relation_names(table: Table) -> tuple[str, ...]:
    """Names of the table's indexes and constraints: PostgreSQL keeps them when a table is renamed."""
    keys = (table.primary_key,) if table.primary_key else ()
    return tuple(o.name for o in (*keys, *table.indexes, *table.uniques, *table.checks, *table.foreign_keys))


def short_name(name: str) -> str:
    """``users`` for ``public.users``, else the qualified name: how hints and messages name a table."""
    schema, bare = split_qualified(name)
    return bare if schema == "public" else name


def _listing(label: str, names: list[str]) -> str:
    return f" ({label}: {', '.join(sorted(names))})" if names else f" (no {label})"
