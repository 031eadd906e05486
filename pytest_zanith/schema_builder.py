"""Building blocks of :mod:`pytest_zanith.strategies`: canonical columns, tables and constraints.

Everything here draws from Hypothesis and produces graph values whose text is exactly what PostgreSQL
prints for them (a ``Kind`` pairs a type with the canonical text of its defaults, checks and index
keys), so a generated graph survives ``schema_ddl`` → ``introspect`` unchanged. Names come from small
vocabularies of words that are neither keywords nor function or type names; derived names
(``invoice_i1``, ``invoice_pkey``) always contain an underscore, table names never do, so they cannot
clash. Not public API: use :func:`~pytest_zanith.strategies.schema_graphs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, replace
from typing import TypeVar

from hypothesis import strategies as st

from zanith_core.schema.expressions import quote_ident
from zanith_core.schema.graph import (
    CheckConstraint,
    Column,
    Enum,
    ExclusionConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    SchemaGraph,
    Sequence,
    Table,
    UniqueConstraint,
)

SCHEMA = "public"

# None of these words is a PostgreSQL keyword, a type or a function name used in generated text: names
# read as names wherever they appear.
TABLE_WORDS: tuple[str, ...] = (
    *("account", "invoice", "parcel", "widget", "ledger", "voucher", "shipment", "gadget", "course"),
    *("ticket", "planet", "garden", "recipe", "author", "sensor"),
)
COLUMN_WORDS: tuple[str, ...] = (
    *("amount", "remark", "email", "city", "total", "quantity", "weight", "price", "rating", "nickname"),
    *("born", "score", "flag", "payload", "slug", "color", "balance", "summary", "badge"),
)
ENUM_WORDS = ("mood", "tone", "shade", "grade", "flavor", "tier")
LABEL_WORDS = ("happy", "sad", "calm", "bright", "dim", "red", "green", "blue", "topaz", "amber", "draft", "paid")
SEQUENCE_WORDS = ("counter", "ticker", "stamp")

INT_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- column kinds: a type with the canonical text Postgres prints for its defaults, checks, keys -------


@dataclass(frozen=True)
class Kind:
    type: str
    defaults: tuple[str, ...]
    checks: tuple[str, ...] = ("({c} IS NOT NULL)",)
    """Check expressions, ``{c}`` standing for the quoted column."""
    keys: tuple[str, ...] = ("{c}",)
    """Btree index key elements."""
    hashable: bool = False
    collatable: bool = False
    gin: bool = False


BASE_KINDS = (
    Kind(
        "integer",
        ("0", "42", "'-3'::integer"),
        ("({c} > 0)", "({c} >= 0)", "({c} <> 5)"),
        ("{c}", "{c} DESC", "{c} NULLS FIRST", "{c} DESC NULLS LAST"),
        hashable=True,
    ),
    Kind("bigint", ("0", "42"), ("({c} > 0)",), ("{c}", "{c} DESC"), hashable=True),
    Kind("smallint", ("7",), ("({c} >= 0)",)),
    Kind(
        "text",
        ("'hello'::text", "'it''s'::text", "''::text"),
        ("(length({c}) > 0)", "({c} IS NOT NULL)"),
        ("{c}", "lower({c})", "{c} text_pattern_ops", "{c} DESC"),
        hashable=True,
        collatable=True,
    ),
    *(
        Kind(
            f"character varying({n})",
            ("'ab'::character varying",),
            ("(length(({c})::text) > 0)",),
            ("{c}", "lower(({c})::text)", "{c} varchar_pattern_ops"),
            collatable=True,
        )
        for n in (10, 50, 255)
    ),
    Kind("boolean", ("true", "false"), ("{c}", "({c} IS NOT NULL)")),
    Kind("numeric(10,2)", ("0", "1.5", "12.25"), ("({c} >= (0)::numeric)",)),
    Kind("timestamp with time zone", ("now()", "CURRENT_TIMESTAMP"), keys=("{c}", "{c} DESC")),
    Kind("date", ("CURRENT_DATE", "'2024-01-02'::date")),
    Kind("uuid", ("gen_random_uuid()",), hashable=True),
    Kind("jsonb", ("'{}'::jsonb", "'[]'::jsonb"), keys=(), gin=True),
)

#: Retypes Postgres does without USING, each to a wider type.
WIDENINGS = {
    "smallint": ("integer", "bigint"),
    "integer": ("bigint", "numeric(10,2)"),
    "character varying(10)": ("character varying(50)", "text"),
    "character varying(50)": ("character varying(255)", "text"),
    "character varying(255)": ("text",),
    "date": ("timestamp with time zone",),
}


def enum_type(enum: Enum) -> str:
    return f"{SCHEMA}.{quote_ident(enum.name)}"


def enum_kind(enum: Enum) -> Kind:
    defaults = tuple(f"{quote_literal(v)}::{enum_type(enum)}" for v in enum.values)
    return Kind(enum_type(enum), defaults)


def kinds(graph: SchemaGraph) -> dict[str, Kind]:
    """Every kind usable in ``graph``, by type text."""
    return {k.type: k for k in (*BASE_KINDS, *(enum_kind(e) for e in graph.enums))}


# -- names --------------------------------------------------------------------------------------------


def variants(words: tuple[str, ...], *, spaced: bool = True) -> tuple[str, ...]:
    """Names from ``words``, simplest first (what Hypothesis shrinks to): the plain words, then with
    a digit, capitalised, and (``spaced``) two words with a space; the last two need quotes."""
    names = [*words, *(f"{w}{n}" for n in (2, 3) for w in words), *(w.capitalize() for w in words)]
    if spaced:
        names += [f"{a} {b}" for a in words for b in words if a != b]
    return tuple(names)


TABLE_NAMES = variants(TABLE_WORDS)
COLUMN_NAMES = variants(COLUMN_WORDS)
ENUM_NAMES = variants(ENUM_WORDS, spaced=False)
LABELS = variants(LABEL_WORDS)

T = TypeVar("T")


def pick(draw: st.DrawFn, options: SequenceOf[T]) -> T:
    """One of ``options``, shrinking towards the first (cheaper than building a strategy per draw)."""
    return options[draw(st.integers(0, len(options) - 1))]


def maybe(draw: st.DrawFn, options: SequenceOf[T]) -> T | None:
    if not options or not draw(st.booleans()):
        return None
    return pick(draw, options)


def pick_some(draw: st.DrawFn, options: SequenceOf[T], max_size: int) -> list[T]:
    """One to ``max_size`` distinct elements of ``options``."""
    pool = list(options)
    return [
        pool.pop(draw(st.integers(0, len(pool) - 1))) for _ in range(draw(st.integers(1, min(max_size, len(pool)))))
    ]


def unused(draw: st.DrawFn, names: tuple[str, ...], free: Callable[[str], bool]) -> str:
    return pick(draw, [n for n in names if free(n)])


def taken_names(graph: SchemaGraph) -> set[str]:
    """Every name in the schema's shared namespaces (relations, types, constraints)."""
    names = {e.name for e in graph.enums} | {s.name for s in graph.sequences}
    for t in graph.tables:
        names.add(t.name)
        names.update(i.name for i in t.indexes)
        if t.primary_key:
            names.add(t.primary_key.name)
        for group in (t.foreign_keys, t.uniques, t.checks, t.exclusions):
            names.update(c.name for c in group)
    return names


def fresh(taken: set[str], prefix: str) -> str:
    """The first unused ``prefix1``, ``prefix2``, ...; derived names all contain an underscore."""
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    taken.add(f"{prefix}{n}")
    return f"{prefix}{n}"


def table_name_free(taken: set[str], name: str) -> bool:
    """A table name owns every derived name starting ``name_``, so it must clash with none."""
    return not any(n == name or n.startswith(name + "_") for n in taken)


# -- columns ------------------------------------------------------------------------------------------


@dataclass
class Builder:
    """A graph being built or evolved: its enums, sequences, tables and the names already in use."""

    enums: list[Enum]
    sequences: list[Sequence]
    tables: list[Table]
    taken: set[str]
    nulls_not_distinct: bool

    @classmethod
    def of(cls, graph: SchemaGraph, nulls_not_distinct: bool) -> Builder:
        return cls(list(graph.enums), list(graph.sequences), list(graph.tables), taken_names(graph), nulls_not_distinct)

    def graph(self) -> SchemaGraph:
        return SchemaGraph(
            schemas=(SCHEMA,), enums=tuple(self.enums), sequences=tuple(self.sequences), tables=tuple(self.tables)
        )

    def kinds(self) -> dict[str, Kind]:
        return kinds(SchemaGraph(enums=tuple(self.enums)))

    def put(self, table: Table) -> None:
        self.tables = [table if t.qualified_name == table.qualified_name else t for t in self.tables]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.qualified_name == name)


def column_name(draw: st.DrawFn, existing: Iterable[str]) -> str:
    used = set(existing)
    return unused(draw, COLUMN_NAMES, lambda n: n not in used)


def plain_column(draw: st.DrawFn, b: Builder, name: str, *, allow_not_null_without_default: bool = True) -> Column:
    kind = pick(draw, list(b.kinds().values()))
    default = maybe(draw, kind.defaults)
    nullable = draw(st.booleans()) if default is not None or allow_not_null_without_default else True
    collation = maybe(draw, ('"C"', '"POSIX"')) if kind.collatable else None
    return Column(name, kind.type, nullable, default, collation=collation)


def key_column(draw: st.DrawFn, b: Builder, table: str, name: str) -> tuple[Column, Sequence | None]:
    """A primary-key column: identity, serial (with its owned sequence) or a plain typed column."""
    style = pick(draw, ("identity", "serial", "plain"))
    type_ = pick(draw, ("integer", "bigint"))
    if style == "identity":
        return Column(name, type_, False, identity=pick(draw, ("always", "by default"))), None
    if style == "serial":
        seq_name = fresh(b.taken, f"{table}_s")
        seq = Sequence(SCHEMA, seq_name, type_, max_value=INT_MAX[type_], owned_by=f"{SCHEMA}.{table}.{name}")
        default = f"nextval('{SCHEMA}.{quote_ident(seq_name)}'::regclass)"
        return Column(name, type_, False, default), seq
    kind_type = pick(draw, ("integer", "text", "uuid", "character varying(50)"))
    return Column(name, kind_type, False), None


def generated_column(draw: st.DrawFn, columns: list[Column], name: str) -> Column | None:
    sources = [c for c in columns if c.generated is None and c.type in ("integer", "bigint", "text")]
    if not sources:
        return None
    src = pick(draw, sources)
    expr = f"lower({quote_ident(src.name)})" if src.type == "text" else f"({quote_ident(src.name)} * 2)"
    return Column(name, src.type, True, generated=expr)


# -- tables -------------------------------------------------------------------------------------------


def new_table(draw: st.DrawFn, b: Builder, max_columns: int) -> Table:
    name = unused(draw, TABLE_NAMES, lambda n: table_name_free(b.taken, n))
    b.taken.add(name)
    columns: list[Column] = []
    pk: PrimaryKey | None = None
    pk_style = pick(draw, ("single", "single", "composite", "none"))
    if pk_style != "none":
        key, seq = key_column(draw, b, name, column_name(draw, []))
        columns.append(key)
        if seq is not None:
            b.sequences.append(seq)
        if pk_style == "composite":
            second = Column(column_name(draw, [key.name]), pick(draw, ("integer", "text", "date")), False)
            columns.append(second)
        pk = PrimaryKey(f"{name}_pkey", tuple(c.name for c in columns))
    for _ in range(draw(st.integers(1 if pk is None else 0, max_columns))):
        col_name = column_name(draw, (c.name for c in columns))
        generated = generated_column(draw, columns, col_name) if draw(st.integers(0, 7)) == 0 else None
        columns.append(generated or plain_column(draw, b, col_name))
    table = Table(SCHEMA, name, tuple(columns), pk, unlogged=draw(st.integers(0, 9)) == 0)
    b.tables.append(table)
    for _ in range(draw(st.integers(0, 2))):
        add_unique(draw, b, table.qualified_name)
    for _ in range(draw(st.integers(0, 2))):
        add_check(draw, b, table.qualified_name)
    for _ in range(draw(st.integers(0, 2))):
        add_index(draw, b, table.qualified_name)
    if draw(st.integers(0, 7)) == 0:
        add_exclusion(draw, b, table.qualified_name)
    return b.table(table.qualified_name)


def eligible(columns: Iterable[Column], kinds: dict[str, Kind], test: Callable[[Kind], bool]) -> list[Column]:
    return [c for c in columns if c.type in kinds and test(kinds[c.type])]


def add_unique(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    candidates = eligible(t.columns, b.kinds(), lambda k: not k.gin)
    if not candidates:
        return
    cols = pick_some(draw, candidates, 2)
    deferrable = draw(st.booleans())
    uq = UniqueConstraint(
        fresh(b.taken, f"{t.name}_u"),
        tuple(c.name for c in cols),
        nulls_not_distinct=b.nulls_not_distinct and draw(st.booleans()),
        deferrable=deferrable,
        initially_deferred=deferrable and draw(st.booleans()),
    )
    b.put(replace(t, uniques=(*t.uniques, uq)))


def add_check(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    kinds = b.kinds()
    candidates = eligible(t.columns, kinds, lambda k: bool(k.checks))
    if not candidates:
        return
    col = pick(draw, candidates)
    expression = pick(draw, kinds[col.type].checks).format(c=quote_ident(col.name))
    chk = CheckConstraint(
        fresh(b.taken, f"{t.name}_c"),
        expression,
        validated=draw(st.integers(0, 4)) > 0,
        no_inherit=draw(st.integers(0, 4)) == 0,
        columns=(col.name,),
    )
    b.put(replace(t, checks=(*t.checks, chk)))


def add_exclusion(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    candidates = eligible(t.columns, b.kinds(), lambda k: k.hashable)
    if not candidates:
        return
    col = pick(draw, candidates)
    definition = f"EXCLUDE USING btree ({quote_ident(col.name)} WITH =)"
    ex = ExclusionConstraint(fresh(b.taken, f"{t.name}_x"), definition, (col.name,))
    b.put(replace(t, exclusions=(*t.exclusions, ex)))


def add_index(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    t = b.table(table_q)
    kinds = b.kinds()
    method = pick(draw, ("btree", "btree", "btree", "hash", "gin"))
    test: Callable[[Kind], bool] = {
        "btree": lambda k: bool(k.keys),
        "hash": lambda k: k.hashable,
        "gin": lambda k: k.gin,
    }[method]
    candidates = eligible(t.columns, kinds, test)
    if not candidates:
        return
    max_keys = 2 if method == "btree" else 1
    cols = pick_some(draw, candidates, max_keys)
    if method == "btree":
        keys = tuple(pick(draw, kinds[c.type].keys).format(c=quote_ident(c.name)) for c in cols)
    else:
        keys = tuple(quote_ident(c.name) for c in cols)
    used = {c.name for c in cols}
    include: tuple[str, ...] = ()
    others = [c for c in t.columns if c.name not in used]
    if method == "btree" and others and draw(st.integers(0, 3)) == 0:
        include = (pick(draw, others).name,)
    predicate = None
    if draw(st.integers(0, 3)) == 0:
        where = pick(draw, t.columns)
        predicate = f"({quote_ident(where.name)} IS NOT NULL)"
        used.add(where.name)
    unique = method == "btree" and draw(st.booleans())
    index = Index(
        fresh(b.taken, f"{t.name}_i"),
        keys,
        unique=unique,
        method=method,
        predicate=predicate,
        include=include,
        nulls_not_distinct=unique and b.nulls_not_distinct and draw(st.booleans()),
        columns=tuple(sorted(used | set(include))),
    )
    b.put(replace(t, indexes=(*t.indexes, index)))


def add_foreign_key(draw: st.DrawFn, b: Builder, table_q: str) -> None:
    """A new FK (with new columns typed like the target's) to a primary key or unique constraint."""
    t = b.table(table_q)
    targets = [
        (r, cols)
        for r in b.tables
        if not (r.unlogged and not t.unlogged)  # permanent tables may reference only permanent ones
        for cols in ([r.primary_key.columns] if r.primary_key else [])
        + [u.columns for u in r.uniques if not u.deferrable]
    ]
    if not targets:
        return
    ref, ref_cols = pick(draw, targets)
    names = [c.name for c in t.columns]
    fk_cols: list[Column] = []
    for ref_col_name in ref_cols:
        ref_col = ref.column(ref_col_name)
        assert ref_col is not None
        name = column_name(draw, names)
        names.append(name)
        fk_cols.append(Column(name, ref_col.type, draw(st.booleans())))
    deferrable = draw(st.booleans())
    actions = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")
    fk = ForeignKey(
        fresh(b.taken, f"{t.name}_f"),
        tuple(c.name for c in fk_cols),
        ref.qualified_name,
        tuple(ref_cols),
        on_delete=pick(draw, actions),
        on_update=pick(draw, actions),
        match=pick(draw, ("SIMPLE", "FULL")),
        deferrable=deferrable,
        initially_deferred=deferrable and draw(st.booleans()),
        validated=draw(st.integers(0, 4)) > 0,
    )
    t = b.table(table_q)  # ref may be t itself; it is unchanged so far
    b.put(replace(t, columns=(*t.columns, *fk_cols), foreign_keys=(*t.foreign_keys, fk)))


def new_enum(draw: st.DrawFn, b: Builder) -> None:
    name = unused(draw, ENUM_NAMES, lambda n: n not in b.taken)
    b.taken.add(name)
    labels = pick_some(draw, LABELS, 4)
    b.enums.append(Enum(SCHEMA, name, tuple(labels)))


def new_sequence(draw: st.DrawFn, b: Builder) -> None:
    type_ = pick(draw, ("smallint", "integer", "bigint"))
    seq = Sequence(
        SCHEMA,
        fresh(b.taken, f"{pick(draw, SEQUENCE_WORDS)}_n"),
        type_,
        start=draw(st.integers(1, 1000)),
        increment=draw(st.integers(1, 10)),
        max_value=INT_MAX[type_],
        cache=draw(st.integers(1, 20)),
        cycle=draw(st.booleans()),
    )
    b.sequences.append(seq)


@st.composite
def graphs(draw: st.DrawFn, max_tables: int, max_columns: int, nulls_not_distinct: bool) -> SchemaGraph:
    b = Builder.of(SchemaGraph(), nulls_not_distinct)
    for _ in range(draw(st.integers(0, 2))):
        new_enum(draw, b)
    for _ in range(draw(st.integers(0, 1))):
        new_sequence(draw, b)
    for _ in range(draw(st.integers(1, max_tables))):
        new_table(draw, b, max_columns)
    for table in list(b.tables):
        for _ in range(draw(st.integers(0, 2))):
            add_foreign_key(draw, b, table.qualified_name)
    return b.graph()
