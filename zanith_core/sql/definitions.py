"""DDL for definitions: functions, aggregates, triggers, domains, composite types, policies, comments,
privileges, collations, text search dictionaries and configurations, views, schemas and extensions.

Like :mod:`zanith_core.sql.tables`, text Postgres printed (``pg_get_functiondef``, ``pg_get_triggerdef``,
types, expressions) is used as is, and every name zanith composes goes through
:class:`psycopg.sql.Identifier`. The definition ops (:mod:`zanith_core.ops.definitions`) and the
whole-schema script (:mod:`zanith_core.sql.script`) both build on the functions here, so each object is
spelled in SQL in exactly one place; the order to create them in is :mod:`zanith_core.sql.order`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from psycopg import sql

from ..schema.graph import (
    Aggregate,
    Collation,
    Comment,
    CompositeType,
    Domain,
    DomainCheck,
    Extension,
    Function,
    Policy,
    Privilege,
    TextSearchConfiguration,
    TextSearchDictionary,
    TextSearchMapping,
    Trigger,
    View,
)
from .identifiers import qualified_identifier
from .indexes import create_index

Statement = sql.Composed


def text_statement(text: str) -> sql.Composed:
    """Canonical text Postgres printed, as a statement."""
    return sql.Composed([sql.SQL(text)])


def _routine(kind: str, schema: str, name: str, arguments: str) -> sql.Composed:
    """``FUNCTION app.f(text)`` / ``PROCEDURE ...`` / ``AGGREGATE app.agg(*)``."""
    args = arguments or ("*" if kind == "aggregate" else "")
    return sql.SQL("{} {}({})").format(sql.SQL(kind.upper()), sql.Identifier(schema, name), sql.SQL(args))


# -- functions and aggregates ----------------------------------------------------------------------


def create_function(function: Function) -> sql.Composed:
    """``CREATE OR REPLACE FUNCTION ...`` exactly as ``pg_get_functiondef`` printed it."""
    return text_statement(function.definition.strip())


def drop_function(function: Function) -> sql.Composed:
    return sql.SQL("DROP {}").format(_routine(function.kind, function.schema, function.name, function.arguments))


def create_aggregate(aggregate: Aggregate, *, replace: bool = False) -> sql.Composed:
    a = aggregate
    options: list[sql.Composable] = [
        sql.SQL("SFUNC = {}").format(sql.SQL(a.state_function)),
        sql.SQL("STYPE = {}").format(sql.SQL(a.state_type)),
    ]
    optional = (
        ("FINALFUNC", a.final_function),
        ("COMBINEFUNC", a.combine_function),
        ("SERIALFUNC", a.serial_function),
        ("DESERIALFUNC", a.deserial_function),
        ("SORTOP", a.sort_operator),
    )
    options += [sql.SQL("{} = {}").format(sql.SQL(k), sql.SQL(v)) for k, v in optional if v is not None]
    if a.final_function_extra:
        options.append(sql.SQL("FINALFUNC_EXTRA"))
    if a.initial_value is not None:
        options.append(sql.SQL("INITCOND = {}").format(sql.Literal(a.initial_value)))
    if a.parallel != "unsafe":
        options.append(sql.SQL("PARALLEL = {}").format(sql.SQL(a.parallel.upper())))
    if a.kind == "hypothetical":
        options.append(sql.SQL("HYPOTHETICAL"))
    head = "CREATE OR REPLACE AGGREGATE {} ({}) ({})" if replace else "CREATE AGGREGATE {} ({}) ({})"
    return sql.SQL(head).format(
        sql.Identifier(a.schema, a.name), sql.SQL(a.parameters or "*"), sql.SQL(", ").join(options)
    )


def drop_aggregate(aggregate: Aggregate) -> sql.Composed:
    return sql.SQL("DROP {}").format(_routine("aggregate", aggregate.schema, aggregate.name, aggregate.arguments))


# -- triggers ---------------------------------------------------------------------------------------

_ENABLE = {"origin": "ENABLE", "disabled": "DISABLE", "replica": "ENABLE REPLICA", "always": "ENABLE ALWAYS"}


def create_trigger(trigger: Trigger) -> tuple[Statement, ...]:
    """The trigger as ``pg_get_triggerdef`` printed it, then its enabled state unless the default."""
    statements: list[Statement] = [text_statement(trigger.definition)]
    if trigger.enabled != "origin":
        statements.append(trigger_enabled(trigger))
    return tuple(statements)


def replace_trigger(old: Trigger, new: Trigger) -> tuple[Statement, ...]:
    """``CREATE OR REPLACE TRIGGER`` (PostgreSQL 14+); a constraint trigger is dropped and created."""
    if old.constraint or new.constraint:
        return (drop_trigger(old), *create_trigger(new))
    replacing = re.sub(r"^CREATE TRIGGER ", "CREATE OR REPLACE TRIGGER ", new.definition)
    statements: list[Statement] = [text_statement(replacing)]
    if new.enabled != old.enabled or new.enabled != "origin":
        statements.append(trigger_enabled(new))
    return tuple(statements)


def trigger_enabled(trigger: Trigger) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
        qualified_identifier(trigger.table), sql.SQL(_ENABLE[trigger.enabled]), sql.Identifier(trigger.name)
    )


def drop_trigger(trigger: Trigger) -> sql.Composed:
    return sql.SQL("DROP TRIGGER {} ON {}").format(
        sql.Identifier(trigger.name), qualified_identifier(trigger.table)
    )


# -- domains and composite types --------------------------------------------------------------------


def _domain_check(check: DomainCheck) -> sql.Composed:
    return sql.SQL("CONSTRAINT {} CHECK ({})").format(sql.Identifier(check.name), sql.SQL(check.expression))


def create_domain(domain: Domain) -> tuple[Statement, ...]:
    """``CREATE DOMAIN`` with its validated checks; NOT VALID checks are added after it, unvalidated."""
    parts: list[sql.Composable] = [
        sql.SQL("CREATE DOMAIN {} AS {}").format(
            qualified_identifier(domain.qualified_name), sql.SQL(domain.base_type)
        )
    ]
    if domain.collation:
        parts.append(sql.SQL("COLLATE {}").format(sql.SQL(domain.collation)))
    if domain.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(domain.default)))
    if domain.not_null:
        parts.append(sql.SQL("NOT NULL"))
    parts += [_domain_check(c) for c in domain.checks if c.validated]
    name = domain.qualified_name
    unvalidated = [_alter_domain(name, "ADD {} NOT VALID", _domain_check(c)) for c in domain.checks if not c.validated]
    return (sql.Composed(parts).join(" "), *unvalidated)


def _alter_domain(name: str, action: str, *args: sql.Composable) -> sql.Composed:
    return sql.SQL("ALTER DOMAIN {} " + action).format(qualified_identifier(name), *args)


def alter_domain(old: Domain, new: Domain) -> tuple[Statement, ...]:
    """The ``ALTER DOMAIN`` statements turning ``old`` into ``new`` (same base type and collation).

    A changed check is dropped and added again; a check added validated scans every column of the
    domain's type (``validation_may_fail``), one added NOT VALID applies to new values only.
    """
    name = new.qualified_name
    statements: list[Statement] = []
    if old.default != new.default:
        statements.append(
            _alter_domain(name, "DROP DEFAULT")
            if new.default is None
            else _alter_domain(name, "SET DEFAULT {}", sql.SQL(new.default))
        )
    if old.not_null != new.not_null:
        statements.append(_alter_domain(name, "SET NOT NULL" if new.not_null else "DROP NOT NULL"))
    before = {c.name: c for c in old.checks}
    after = {c.name: c for c in new.checks}
    for check in old.checks:
        wanted = after.get(check.name)
        if wanted is None or wanted.expression != check.expression:
            statements.append(_alter_domain(name, "DROP CONSTRAINT {}", sql.Identifier(check.name)))
    for check in new.checks:
        had = before.get(check.name)
        if had is None or had.expression != check.expression:
            action = "ADD {}" if check.validated else "ADD {} NOT VALID"
            statements.append(_alter_domain(name, action, _domain_check(check)))
        elif check.validated and not had.validated:
            statements.append(_alter_domain(name, "VALIDATE CONSTRAINT {}", sql.Identifier(check.name)))
        elif had.validated and not check.validated:
            statements += [
                _alter_domain(name, "DROP CONSTRAINT {}", sql.Identifier(check.name)),
                _alter_domain(name, "ADD {} NOT VALID", _domain_check(check)),
            ]
    return tuple(statements)


def drop_domain(domain: Domain) -> sql.Composed:
    return sql.SQL("DROP DOMAIN {}").format(qualified_identifier(domain.qualified_name))


def create_composite_type(type_: CompositeType) -> sql.Composed:
    attributes = [
        sql.SQL(" ").join(
            [
                sql.Identifier(a.name),
                sql.SQL(a.type),
                *([sql.SQL("COLLATE {}").format(sql.SQL(a.collation))] if a.collation else []),
            ]
        )
        for a in type_.attributes
    ]
    return sql.SQL("CREATE TYPE {} AS ({})").format(
        qualified_identifier(type_.qualified_name), sql.SQL(", ").join(attributes)
    )


def alter_composite_type(old: CompositeType, new: CompositeType) -> tuple[Statement, ...] | None:
    """``ALTER TYPE ... DROP/ADD/ALTER ATTRIBUTE`` turning ``old`` into ``new``, or None when the new
    attribute order cannot be reached that way (an attribute is only ever appended)."""
    new_names = [a.name for a in new.attributes]
    kept = [a for a in old.attributes if a.name in new_names]
    added = new.attributes[len(kept) :]
    if [a.name for a in kept] != new_names[: len(kept)] or any(a.name in {k.name for k in kept} for a in added):
        return None
    name = qualified_identifier(new.qualified_name)
    actions: list[sql.Composable] = [
        sql.SQL("DROP ATTRIBUTE {}").format(sql.Identifier(a.name)) for a in old.attributes if a.name not in new_names
    ]
    for had, wanted in zip(kept, new.attributes, strict=False):
        if (had.type, had.collation) != (wanted.type, wanted.collation):
            collate = [sql.SQL("COLLATE {}").format(sql.SQL(wanted.collation))] if wanted.collation else []
            actions.append(
                sql.SQL(" ").join(
                    [
                        sql.SQL("ALTER ATTRIBUTE {} TYPE {}").format(sql.Identifier(wanted.name), sql.SQL(wanted.type)),
                        *collate,
                    ]
                )
            )
    for attribute in added:
        collate = [sql.SQL("COLLATE {}").format(sql.SQL(attribute.collation))] if attribute.collation else []
        actions.append(
            sql.SQL(" ").join(
                [
                    sql.SQL("ADD ATTRIBUTE {} {}").format(sql.Identifier(attribute.name), sql.SQL(attribute.type)),
                    *collate,
                ]
            )
        )
    return (sql.SQL("ALTER TYPE {} {}").format(name, sql.SQL(", ").join(actions)),) if actions else ()


def drop_composite_type(type_: CompositeType) -> sql.Composed:
    return sql.SQL("DROP TYPE {}").format(qualified_identifier(type_.qualified_name))


# -- row-level security -----------------------------------------------------------------------------


def _roles(roles: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("PUBLIC") if r == "public" else sql.Identifier(r) for r in roles)


def create_policy(policy: Policy) -> sql.Composed:
    parts: list[sql.Composable] = [
        sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
            sql.Identifier(policy.name),
            qualified_identifier(policy.table),
            sql.SQL("PERMISSIVE" if policy.permissive else "RESTRICTIVE"),
            sql.SQL(policy.command),
            _roles(policy.roles),
        )
    ]
    if policy.using is not None:
        parts.append(sql.SQL("USING ({})").format(sql.SQL(policy.using)))
    if policy.with_check is not None:
        parts.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy.with_check)))
    return sql.SQL(" ").join(parts)


def drop_policy(policy: Policy) -> sql.Composed:
    return sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(policy.name), qualified_identifier(policy.table))


# -- comments and privileges ------------------------------------------------------------------------

_ON_TABLE = ("trigger", "policy", "constraint")


def object_reference(object_type: str, names: Sequence[str], arguments: str | None = None) -> sql.Composed:
    """An object as ``COMMENT ON`` and ``GRANT`` name it: ``TABLE app.t``, ``TRIGGER x ON app.t`` ..."""
    if object_type in ("function", "procedure", "aggregate"):
        return _routine(object_type, names[0], names[1], arguments or "")
    if object_type in _ON_TABLE:
        return sql.SQL("{} {} ON {}").format(
            sql.SQL(object_type.upper()), sql.Identifier(names[-1]), sql.Identifier(*names[:-1])
        )
    if object_type == "domain constraint":
        return sql.SQL("CONSTRAINT {} ON DOMAIN {}").format(sql.Identifier(names[-1]), sql.Identifier(*names[:-1]))
    keyword = "TYPE" if object_type == "enum" else object_type.upper()
    return sql.SQL("{} {}").format(sql.SQL(keyword), sql.Identifier(*names))


def comment_on(comment: Comment, text: str | None) -> sql.Composed:
    """``COMMENT ON <object> IS <text>`` (``IS NULL`` removes the comment)."""
    value: sql.Composable = sql.Literal(text) if text is not None else sql.SQL("NULL")
    return sql.SQL("COMMENT ON {} IS {}").format(
        object_reference(comment.object_type, comment.names, comment.arguments), value
    )


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "PUBLIC" else sql.Identifier(name)


def _grant_target(privilege: Privilege) -> sql.Composed:
    kind = "table" if privilege.object_type in ("view", "materialized view") else privilege.object_type
    return object_reference(kind, privilege.names, privilege.arguments)


def grant(privilege: Privilege) -> sql.Composed:
    option = " WITH GRANT OPTION" if privilege.grantable else ""
    return sql.SQL("GRANT {} ON {} TO {}" + option).format(
        sql.SQL(privilege.privilege), _grant_target(privilege), _grantee(privilege.grantee)
    )


def revoke(privilege: Privilege) -> sql.Composed:
    return sql.SQL("REVOKE {} ON {} FROM {}").format(
        sql.SQL(privilege.privilege), _grant_target(privilege), _grantee(privilege.grantee)
    )


# -- collations and text search ---------------------------------------------------------------------


def create_collation(collation: Collation) -> sql.Composed:
    """``CREATE COLLATION`` with every option Postgres recorded (so ``pg_dump`` prints the same)."""
    c = collation
    options: list[sql.Composable] = [sql.SQL("provider = {}").format(sql.SQL(c.provider))]
    values = (("locale", c.locale), ("lc_collate", c.lc_collate), ("lc_ctype", c.lc_ctype), ("rules", c.rules))
    options += [sql.SQL("{} = {}").format(sql.SQL(k), sql.Literal(v)) for k, v in values if v is not None]
    if not c.deterministic:
        options.append(sql.SQL("deterministic = false"))
    return sql.SQL("CREATE COLLATION {} ({})").format(
        qualified_identifier(c.qualified_name), sql.SQL(", ").join(options)
    )


def drop_collation(collation: Collation) -> sql.Composed:
    return sql.SQL("DROP COLLATION {}").format(qualified_identifier(collation.qualified_name))


def create_text_search_dictionary(dictionary: TextSearchDictionary) -> sql.Composed:
    options = f", {dictionary.options}" if dictionary.options else ""
    return sql.SQL("CREATE TEXT SEARCH DICTIONARY {} (TEMPLATE = {}{})").format(
        qualified_identifier(dictionary.qualified_name), sql.SQL(dictionary.template), sql.SQL(options)
    )


_OPTION_NAME = re.compile(r"(?:^|,)\s*([A-Za-z_]\w*)\s*=")


def alter_text_search_dictionary(old: TextSearchDictionary, new: TextSearchDictionary) -> tuple[Statement, ...]:
    """``ALTER TEXT SEARCH DICTIONARY ... (options)``: the new options, and each dropped one by name
    alone (which removes it). The template cannot change in place."""
    dropped = [n for n in _OPTION_NAME.findall(old.options or "") if n not in _OPTION_NAME.findall(new.options or "")]
    options = [*([new.options] if new.options else []), *dropped]
    if not options:
        return ()
    return (
        sql.SQL("ALTER TEXT SEARCH DICTIONARY {} ({})").format(
            qualified_identifier(new.qualified_name), sql.SQL(", ".join(options))
        ),
    )


def drop_text_search_dictionary(dictionary: TextSearchDictionary) -> sql.Composed:
    return sql.SQL("DROP TEXT SEARCH DICTIONARY {}").format(qualified_identifier(dictionary.qualified_name))


def _mapping(name: str, verb: str, mapping: TextSearchMapping) -> sql.Composed:
    return sql.SQL("ALTER TEXT SEARCH CONFIGURATION {} {} MAPPING FOR {} WITH {}").format(
        qualified_identifier(name), sql.SQL(verb), sql.Identifier(mapping.token_type),
        sql.SQL(", ").join(sql.SQL(d) for d in mapping.dictionaries),
    )  # fmt: skip


def create_text_search_configuration(configuration: TextSearchConfiguration) -> tuple[Statement, ...]:
    """``CREATE TEXT SEARCH CONFIGURATION ... (PARSER = ...)``, then one ``ADD MAPPING`` per token type."""
    name = configuration.qualified_name
    create = sql.SQL("CREATE TEXT SEARCH CONFIGURATION {} (PARSER = {})").format(
        qualified_identifier(name), sql.SQL(configuration.parser)
    )
    return (create, *(_mapping(name, "ADD", m) for m in configuration.mappings))


def alter_text_search_configuration(
    old: TextSearchConfiguration, new: TextSearchConfiguration
) -> tuple[Statement, ...]:
    """The mappings of ``old`` turned into ``new``'s (same parser): dropped, altered, added."""
    name = new.qualified_name
    before = {m.token_type: m for m in old.mappings}
    after = {m.token_type: m for m in new.mappings}
    statements: list[Statement] = [
        sql.SQL("ALTER TEXT SEARCH CONFIGURATION {} DROP MAPPING FOR {}").format(
            qualified_identifier(name), sql.Identifier(token)
        )
        for token in sorted(before.keys() - after.keys())
    ]
    for token, mapping in sorted(after.items()):
        if token not in before:
            statements.append(_mapping(name, "ADD", mapping))
        elif before[token] != mapping:
            statements.append(_mapping(name, "ALTER", mapping))
    return tuple(statements)


def drop_text_search_configuration(configuration: TextSearchConfiguration) -> sql.Composed:
    return sql.SQL("DROP TEXT SEARCH CONFIGURATION {}").format(qualified_identifier(configuration.qualified_name))


# -- views, schemas, extensions ----------------------------------------------------------


def create_view(view: View) -> tuple[Statement, ...]:
    """``CREATE [MATERIALIZED] VIEW ... AS <pg_get_viewdef>``, then a materialized view's indexes."""
    keyword = "CREATE MATERIALIZED VIEW {}{} AS {}" if view.materialized else "CREATE VIEW {}{} AS {}"
    body = view.definition.strip().removesuffix(";")
    create = sql.SQL(keyword).format(
        qualified_identifier(view.qualified_name), relation_options(view.options), sql.SQL(body)
    )
    return (create, *(create_index(view.qualified_name, i) for i in view.indexes))


def relation_options(options: Sequence[str], *, bare: bool = False) -> sql.Composable:
    """`` WITH (fillfactor = '70', ...)`` of ``reloptions`` entries (``name=value``), or nothing; with
    ``bare`` only the list inside the parentheses."""
    if not options:
        return sql.SQL("")
    pairs = [option.split("=", 1) for option in options]
    rendered = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.SQL(name), sql.Literal(value)) for name, value in pairs)
    return rendered if bare else sql.SQL(" WITH ({})").format(rendered)


def set_view_options(old: View, new: View) -> tuple[Statement, ...]:
    """``ALTER [MATERIALIZED] VIEW ... RESET (every old option)`` then ``SET (the new ones)``: resetting
    all first leaves them in the declared order (``SET`` appends), which is the order ``pg_dump`` prints."""
    keyword = sql.SQL("ALTER MATERIALIZED VIEW" if new.materialized else "ALTER VIEW")
    name = qualified_identifier(new.qualified_name)
    statements: list[Statement] = []
    if old.options:
        names = sql.SQL(", ").join(sql.SQL(o.split("=", 1)[0]) for o in old.options)
        statements.append(sql.SQL("{} {} RESET ({})").format(keyword, name, names))
    if new.options:
        statements.append(sql.SQL("{} {} SET ({})").format(keyword, name, relation_options(new.options, bare=True)))
    return tuple(statements)


def drop_view(view: View) -> sql.Composed:
    keyword = "DROP MATERIALIZED VIEW {}" if view.materialized else "DROP VIEW {}"
    return sql.SQL(keyword).format(qualified_identifier(view.qualified_name))


def create_schema(name: str) -> sql.Composed:
    return sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name))


def drop_schema(name: str) -> sql.Composed:
    return sql.SQL("DROP SCHEMA {}").format(sql.Identifier(name))


def create_extension(ext: Extension) -> sql.Composed:
    """``CREATE EXTENSION``, with ``VERSION`` only when the schema asks for one that is not the default."""
    create = sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
        sql.Identifier(ext.name), sql.Identifier(ext.schema)
    )
    return create if ext.version is None else sql.SQL("{} VERSION {}").format(create, sql.Literal(ext.version))


def update_extension(name: str, version: str | None) -> sql.Composed:
    """``ALTER EXTENSION ... UPDATE [TO version]`` (no version: the server's default one)."""
    update = sql.SQL("ALTER EXTENSION {} UPDATE").format(sql.Identifier(name))
    return update if version is None else sql.SQL("{} TO {}").format(update, sql.Literal(version))


def drop_extension(extension: Extension) -> sql.Composed:
    return sql.SQL("DROP EXTENSION {}").format(sql.Identifier(extension.name))
