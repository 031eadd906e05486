"""Score hand-written SQL: parse it with PostgreSQL's own parser (pglast) and map each statement.

Every statement becomes one or more :class:`~zanith_core.risk.subject.Subject` values — the same facts a
generated op yields — so ``CREATE INDEX CONCURRENTLY`` scores exactly like ``add_index(concurrently=True)``
and ``ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`` like ``add_foreign_key(not_valid=True)``. Forms no
op kind covers (TRUNCATE, UPDATE/DELETE, SET, transaction control) get a direct score here. A statement
the catalog has no rule for scores ``unclassified_sql``; text the parser rejects scores
``unparseable_sql``. Nothing is waved through unscored.

The step takes the highest statement score and the union of the statements' reasons, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pglast import ast, parse_sql
from pglast.enums.parsenodes import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError
from pglast.stream import RawStream

from ..ops.base import Operation
from ..schema.expressions import quote_ident
from ..schema.graph import qualified
from .subject import Risk, RiskContext, Rules, Subject, in_context, score_subject

UNPARSEABLE_SCORE = 70
UNCLASSIFIED_SCORE = 60


@dataclass(frozen=True)
class Direct:
    """A statement form no op kind covers, scored here."""

    table: str | None
    score: int
    reasons: tuple[str, ...]


Mapped = Subject | Direct


@dataclass(frozen=True)
class StatementRisk:
    sql: str
    """The statement's text."""
    kinds: tuple[str, ...]
    """The op kinds it was mapped onto (empty for a directly scored form)."""
    risk: Risk


def raw_sql_rule(op: Operation, ctx: RiskContext, rules: Rules) -> Risk:
    """The ``raw_sql`` kind's rule: its text, parsed and scored statement by statement."""
    return classify_sql(op.sql(), ctx, rules)


def classify_sql(text: str, ctx: RiskContext, rules: Rules) -> Risk:
    """The risk of a raw-SQL step: its riskiest statement's score, every statement's reasons."""
    statements = analyse(text, ctx, rules)
    if not statements:
        return Risk.of(0, ())
    score = max(s.risk.score for s in statements)
    return Risk.of(score, (r for s in statements for r in s.risk.reasons))


def analyse(text: str, ctx: RiskContext, rules: Rules) -> tuple[StatementRisk, ...]:
    """Each statement of ``text`` with the op kinds it maps onto and its risk in ``ctx``."""
    try:
        parsed = parse_sql(text)
    except ParseError:
        return (StatementRisk(text.strip(), (), Risk.of(UNPARSEABLE_SCORE, ("unparseable_sql",))),)
    results = []
    context = ctx
    for item in parsed:
        start: int = item.stmt_location or 0
        end = start + item.stmt_len if item.stmt_len else len(text)
        mapped = tuple(_map(item.stmt, context))
        risks = [_score(m, context, rules) for m in mapped]
        risk = Risk.of(max(r.score for r in risks), (x for r in risks for x in r.reasons))
        kinds = tuple(dict.fromkeys(m.kind for m in mapped if isinstance(m, Subject)))
        results.append(StatementRisk(text[start:end].strip(), kinds, risk))
        created = {m.table for m in mapped if isinstance(m, Subject) and m.kind == "create_table" and m.table}
        context = replace(context, new_tables=context.new_tables | created)
    return tuple(results)


def tables(text: str) -> frozenset[str]:
    """The tables the statements of ``text`` act on — and the tables a foreign key they add references,
    which PostgreSQL locks too — for the live-statistics query and the locks; none if unparseable."""
    try:
        parsed = parse_sql(text)
    except ParseError:
        return frozenset()
    mapped = [m for item in parsed for m in _map(item.stmt, RiskContext())]
    referenced = (t for m in mapped if isinstance(m, Subject) for t in m.references)
    return frozenset([*(m.table for m in mapped if m.table), *referenced])


def _score(mapped: Mapped, ctx: RiskContext, rules: Rules) -> Risk:
    if isinstance(mapped, Subject):
        return score_subject(mapped, ctx, rules)
    return in_context(mapped.table, None, Risk.of(mapped.score, mapped.reasons), ctx)


def _unclassified(table: str | None = None) -> Direct:
    return Direct(table, UNCLASSIFIED_SCORE, ("unclassified_sql",))


# -- statement → subjects -------------------------------------------------------------------------------


def _map(stmt: Any, ctx: RiskContext) -> Iterator[Mapped]:
    if isinstance(stmt, ast.AlterTableStmt):
        yield from _storage(stmt) if _only_storage(stmt) else _alter_table(stmt, ctx)
        return
    handler = _HANDLERS.get(type(stmt))
    if handler is None:
        yield _unclassified()
    else:
        yield from handler(stmt)


_STORAGE = {
    AlterTableType.AT_SetRelOptions: "set_storage_parameters",
    AlterTableType.AT_ResetRelOptions: "set_storage_parameters",
    AlterTableType.AT_SetLogged: "set_persistence",
    AlterTableType.AT_SetUnLogged: "set_persistence",
}
"""``ALTER TABLE/INDEX`` subcommands that amount to ``set_storage_parameters`` or ``set_persistence``."""


def _only_storage(stmt: Any) -> bool:
    return stmt.objtype in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX) and all(
        cmd.subtype in _STORAGE for cmd in stmt.cmds
    )


def _storage(stmt: Any) -> Iterator[Mapped]:
    """Storage parameters of a table or an index (whose table the statement does not name: no statistics
    to look up), or a table's persistence."""
    table = _table(stmt.relation) if stmt.objtype == ObjectType.OBJECT_TABLE else None
    for kind in dict.fromkeys(_STORAGE[cmd.subtype] for cmd in stmt.cmds):
        yield Subject(kind, table)


def _table(rv: Any) -> str:
    return qualified(rv.schemaname or "public", rv.relname)


def _dotted(names: Any) -> str:
    parts = [n.sval for n in names]
    return qualified(*parts) if len(parts) == 2 else qualified("public", parts[-1])


def _sql(node: Any) -> str:
    return str(RawStream()(node))


def _collation(clause: Any) -> str | None:
    """A COLLATE clause's name as introspection prints it (``"C"``, ``app."de-x-icu"``)."""
    if clause is None:
        return None
    names = [n.sval for n in clause.collname]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    return ".".join(quote_ident(n) for n in names)


def _create(stmt: Any) -> Iterator[Mapped]:
    refs = []
    for element in stmt.tableElts or ():
        constraints = element.constraints or () if isinstance(element, ast.ColumnDef) else (element,)
        refs += [_table(c.pktable) for c in constraints if _contype(c) == ConstrType.CONSTR_FOREIGN]
    yield Subject("create_table", _table(stmt.relation), references=tuple(refs))


def _create_as(stmt: Any) -> Iterator[Mapped]:
    yield Subject("create_table", _table(stmt.into.rel))


def _drop(stmt: Any) -> Iterator[Mapped]:
    kind = {
        ObjectType.OBJECT_TABLE: "drop_table",
        ObjectType.OBJECT_INDEX: "drop_index",
        ObjectType.OBJECT_TYPE: "drop_enum",
    }.get(stmt.removeType)
    for obj in stmt.objects or ():
        names = obj.names if isinstance(obj, ast.TypeName) else obj
        target = _dotted(names)
        if kind is None:
            yield _unclassified()
        else:
            yield Subject(kind, target if kind == "drop_table" else None, concurrently=bool(stmt.concurrent))


def _rename(stmt: Any) -> Iterator[Mapped]:
    table = _table(stmt.relation) if stmt.relation else None
    kind = {
        ObjectType.OBJECT_TABLE: "rename_table",
        ObjectType.OBJECT_COLUMN: "rename_column",
        ObjectType.OBJECT_INDEX: "rename_index",
    }.get(stmt.renameType)
    if kind is not None:
        yield Subject(kind, None if kind == "rename_index" else table, column=stmt.subname)
    elif stmt.renameType == ObjectType.OBJECT_TABCONSTRAINT:
        yield Direct(table, 10, ("lock_brief",))
    else:
        yield _unclassified(table)


def _index(stmt: Any) -> Iterator[Mapped]:
    yield Subject("add_index", _table(stmt.relation), concurrently=bool(stmt.concurrent), unique=bool(stmt.unique))


def _truncate(stmt: Any) -> Iterator[Mapped]:
    """TRUNCATE empties the table by giving it a new, empty file: a rewrite, as PostgreSQL counts them."""
    for rv in stmt.relations:
        yield Direct(_table(rv), 90, ("lock_brief", "data_loss", "table_rewrite"))


def _cluster(stmt: Any) -> Iterator[Mapped]:
    """CLUSTER writes the table anew in index order, under ACCESS EXCLUSIVE (a database-wide CLUSTER
    names no table)."""
    if stmt.relation is None:
        yield _unclassified()
        return
    yield Direct(_table(stmt.relation), 60, ("lock_blocks_reads", "table_rewrite"))


def _delete(stmt: Any) -> Iterator[Mapped]:
    score = 45 if stmt.whereClause is not None else 85
    yield Direct(_table(stmt.relation), score, ("data_loss",))


def _update(stmt: Any) -> Iterator[Mapped]:
    yield Direct(_table(stmt.relation), 20 if stmt.whereClause is not None else 50, ("backfill_required",))


def _harmless(stmt: Any) -> Iterator[Mapped]:
    yield Direct(None, 0, ())


def _insert(stmt: Any) -> Iterator[Mapped]:
    yield Direct(_table(stmt.relation), 5, ())


def _transaction(stmt: Any) -> Iterator[Mapped]:
    yield Direct(None, 30, ("non_transactional",))


def _create_enum(stmt: Any) -> Iterator[Mapped]:
    yield Subject("create_enum")


def _alter_enum(stmt: Any) -> Iterator[Mapped]:
    yield Subject("add_enum_value") if stmt.oldVal is None else Direct(None, 15, ("breaks_old_readers",))


def _alter_table(stmt: Any, ctx: RiskContext) -> Iterator[Mapped]:
    table = _table(stmt.relation)
    if stmt.objtype == ObjectType.OBJECT_INDEX and all(
        c.subtype == AlterTableType.AT_AttachPartition for c in stmt.cmds
    ):
        yield Direct(None, 10, ("lock_brief",))  # a partition's index attached to its parent's: catalog only
        return
    if stmt.objtype != ObjectType.OBJECT_TABLE:
        yield _unclassified(table)
        return
    for cmd in stmt.cmds:
        yield from _subcommand(table, cmd, ctx)


def _subcommand(table: str, cmd: Any, ctx: RiskContext) -> Iterator[Mapped]:
    t = cmd.subtype
    simple = {
        AlterTableType.AT_DropColumn: "drop_column",
        AlterTableType.AT_SetNotNull: "set_not_null",
        AlterTableType.AT_DropNotNull: "drop_not_null",
        AlterTableType.AT_ValidateConstraint: "validate_constraint",
    }
    if t in simple:
        yield Subject(simple[t], table, column=cmd.name)
    elif t == AlterTableType.AT_ColumnDefault:
        yield Subject("drop_default" if cmd.def_ is None else "set_default", table, column=cmd.name)
    elif t == AlterTableType.AT_AlterColumnType:
        using = _sql(cmd.def_.raw_default) if cmd.def_.raw_default is not None else None
        yield Subject(
            "alter_column_type",
            table,
            column=cmd.name,
            new_type=_sql(cmd.def_.typeName),
            using=using,
            collation=_collation(cmd.def_.collClause),
        )
    elif t == AlterTableType.AT_AddColumn:
        yield from _add_column(table, cmd.def_)
    elif t == AlterTableType.AT_AddConstraint:
        yield from _add_constraint(table, cmd.def_)
    elif t == AlterTableType.AT_DropConstraint:
        yield Subject(_dropped_constraint_kind(table, cmd.name, ctx), table)
    elif t == AlterTableType.AT_AttachPartition:
        # SHARE UPDATE EXCLUSIVE on the parent; the table attached is scanned under ACCESS EXCLUSIVE
        yield Direct(table, 40, ("locks_parent", "scan_under_lock", "validation_may_fail"))
    elif t == AlterTableType.AT_DetachPartition:
        concurrent = bool(cmd.def_.concurrent)
        yield (
            Direct(table, 15, ("locks_parent", "non_transactional"))
            if concurrent
            else Direct(table, 30, ("locks_parent", "lock_brief"))
        )
    else:
        yield _unclassified(table)


def _add_column(table: str, col: Any) -> Iterator[Mapped]:
    constraints = col.constraints or ()
    default = next((c.raw_expr for c in constraints if _contype(c) == ConstrType.CONSTR_DEFAULT), None)
    yield Subject(
        "add_column",
        table,
        column=col.colname,
        new_type=col.typeName.names[-1].sval,
        default=_sql(default) if default is not None else None,
        not_null=bool(col.is_not_null) or any(_contype(c) == ConstrType.CONSTR_NOTNULL for c in constraints),
        identity=any(_contype(c) == ConstrType.CONSTR_IDENTITY for c in constraints),
        generated=any(_contype(c) == ConstrType.CONSTR_GENERATED and c.generated_kind == "s" for c in constraints),
    )
    for constraint in constraints:
        if _contype(constraint) in _CONSTRAINT_KINDS:
            yield from _add_constraint(table, constraint, (col.colname,))


_CONSTRAINT_KINDS = {
    ConstrType.CONSTR_PRIMARY: "add_primary_key",
    ConstrType.CONSTR_UNIQUE: "add_unique",
    ConstrType.CONSTR_EXCLUSION: "add_unique",
    ConstrType.CONSTR_FOREIGN: "add_foreign_key",
    ConstrType.CONSTR_CHECK: "add_check",
}


def _add_constraint(table: str, c: Any, columns: tuple[str, ...] = ()) -> Iterator[Mapped]:
    """A table constraint (or an inline column constraint, whose key is the column) as its op kind."""
    contype = _contype(c)
    if contype == ConstrType.CONSTR_NOTNULL:
        column = c.keys[0].sval if c.keys else None
        yield Direct(table, 15, ("lock_brief",)) if c.skip_validation else Subject("set_not_null", table, column=column)
        return
    kind = _CONSTRAINT_KINDS.get(contype)
    if kind is None:
        yield _unclassified(table)
        return
    yield Subject(
        kind,
        table,
        columns=tuple(k.sval for k in c.keys or ()) or columns,
        not_valid=bool(c.skip_validation),
        using_index=bool(c.indexname),
        references=(_table(c.pktable),) if c.pktable is not None else (),
    )


def _dropped_constraint_kind(table: str, name: str | None, ctx: RiskContext) -> str:
    """Which drop_* kind a DROP CONSTRAINT is, from the schema before it (unknown: the riskiest one)."""
    found = ctx.table(table)
    if found is not None:
        for kind, names in (
            ("drop_foreign_key", [c.name for c in found.foreign_keys]),
            ("drop_unique", [c.name for c in found.uniques] + [c.name for c in found.exclusions]),
            ("drop_check", [c.name for c in found.checks]),
        ):
            if name in names:
                return kind
    return "drop_primary_key"


def _contype(node: Any) -> Any:
    return getattr(node, "contype", None)


_HANDLERS: dict[type, Any] = {
    ast.CreateStmt: _create,
    ast.CreateTableAsStmt: _create_as,
    ast.DropStmt: _drop,
    ast.RenameStmt: _rename,
    ast.IndexStmt: _index,
    ast.TruncateStmt: _truncate,
    ast.ClusterStmt: _cluster,
    ast.DeleteStmt: _delete,
    ast.UpdateStmt: _update,
    ast.InsertStmt: _insert,
    ast.SelectStmt: _harmless,
    ast.VariableSetStmt: _harmless,
    ast.CommentStmt: _harmless,
    ast.CreateSeqStmt: _harmless,
    ast.TransactionStmt: _transaction,
    ast.CreateEnumStmt: _create_enum,
    ast.AlterEnumStmt: _alter_enum,
}
