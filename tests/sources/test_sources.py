"""load_schema: every declared source form, one normalisation path, one-line errors, no scratch left behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import FIXTURES, scratch_databases, write_module

from pytest_zanith.fixtures import ZanithDatabase
from zanith_core.errors import SourceError
from zanith_core.schema.graph import SchemaGraph
from zanith_core.servers import Server, connect
from zanith_core.sources import load_schema

SHOP_SQL = FIXTURES / "shop_schema.sql"
#: A server nobody listens on: passing it proves a source never needed a scratch database.
NO_SERVER = Server(url="postgresql://nobody@127.0.0.1:1/postgres", kind="url")


@pytest.fixture(scope="module")
def shop(zanith_shadow: Server) -> SchemaGraph:
    return load_schema(SHOP_SQL, server=zanith_shadow)


@pytest.fixture
def no_scratch_left(zanith_shadow: Server) -> Iterator[None]:
    """Fail the test if it leaves a scratch database behind."""
    before = scratch_databases(zanith_shadow)
    yield
    assert scratch_databases(zanith_shadow) == before


def one_line_error(source: object, **kwargs: object) -> str:
    with pytest.raises(SourceError) as info:
        load_schema(source, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    exc = info.value  # no chained traceback behind the message
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    return message


# -- the same schema, three ways -------------------------------------------------------------------


def test_sql_dsl_and_sqlalchemy_declarations_load_to_equal_graphs(zanith_shadow: Server, shop: SchemaGraph) -> None:
    dsl = load_schema("shop_dsl:schema", server=zanith_shadow, project_dir=FIXTURES)
    alchemy = load_schema("shop_sqlalchemy:metadata", server=zanith_shadow, project_dir=FIXTURES)
    assert dsl == shop
    assert alchemy == shop


def test_sql_file_is_normalised_by_postgres(shop: SchemaGraph) -> None:
    assert [t.name for t in shop.tables] == [
        "categories",
        "customers",
        "order_items",
        "orders",
        "products",
        "reviews",
    ]
    assert shop.enums[0].values == ("pending", "paid", "shipped", "cancelled")
    customers, products = shop.table("customers"), shop.table("products")
    assert customers is not None and products is not None
    assert [u.name for u in customers.uniques] == ["customers_email_key"]
    assert customers.column("id") is not None and customers.column("id").identity == "by default"  # type: ignore[union-attr]
    assert [c.name for c in products.checks] == ["products_price_check"]
    assert {i.name: i.keys for i in products.indexes} == {
        "products_category_id_idx": ("category_id",),
        "products_lower_idx": ("lower(name)",),
    }
    assert products.column("sku").type == "character varying(32)"  # type: ignore[union-attr]


# -- source forms ----------------------------------------------------------------------------------


def test_folder_runs_its_sql_files_in_sorted_path_order(
    tmp_path: Path, zanith_shadow: Server, shop: SchemaGraph
) -> None:
    text = SHOP_SQL.read_text()
    enum_end = text.index("CREATE TABLE customers")
    indexes = [line for line in text.splitlines() if line.startswith("CREATE INDEX")]
    tables = "\n".join(line for line in text[enum_end:].splitlines() if not line.startswith("CREATE INDEX"))
    # Creation order: 01 (the enum), 02 (tables using it), 03/indexes.sql (indexes on the tables).
    (tmp_path / "02_tables.sql").write_text(tables)
    (tmp_path / "01_types.sql").write_text(text[:enum_end])
    (tmp_path / "03").mkdir()
    (tmp_path / "03" / "indexes.sql").write_text("\n".join(indexes))
    (tmp_path / "notes.txt").write_text("not SQL")
    assert load_schema(tmp_path, server=zanith_shadow) == shop


def test_module_attribute_may_be_a_zero_argument_callable(zanith_shadow: Server, shop: SchemaGraph) -> None:
    assert load_schema("shop_dsl:build", server=zanith_shadow, project_dir=FIXTURES) == shop


def test_module_attribute_may_hold_sql_text_or_a_graph(
    tmp_path: Path, zanith_shadow: Server, shop: SchemaGraph
) -> None:
    module = write_module(
        tmp_path,
        f"""
        from pathlib import Path
        from zanith_core.schema.graph import SchemaGraph
        SQL = Path({str(SHOP_SQL)!r}).read_text()
        GRAPH = SchemaGraph.from_json({shop.to_json()!r})
        """,
    )
    assert load_schema(f"{module}:SQL", server=zanith_shadow, project_dir=tmp_path) == shop
    assert load_schema(f"{module}:GRAPH", server=NO_SERVER, project_dir=tmp_path) == shop
    assert str(tmp_path) not in sys.path


def test_declared_objects_load_directly(zanith_shadow: Server, shop: SchemaGraph) -> None:
    sys.path.insert(0, str(FIXTURES))
    try:
        import shop_dsl
        import shop_sqlalchemy
    finally:
        sys.path.remove(str(FIXTURES))
    assert load_schema(shop_dsl.schema, server=zanith_shadow) == shop
    assert load_schema(shop_sqlalchemy.metadata, server=zanith_shadow) == shop
    assert load_schema(shop, server=NO_SERVER) is shop


def test_postgres_url_and_conninfo_are_introspected_directly(zanith_db: ZanithDatabase, shop: SchemaGraph) -> None:
    zanith_db.conn.execute(SHOP_SQL.read_bytes())
    assert load_schema(zanith_db.url, server=NO_SERVER) == shop
    conninfo = make_conninfo("", **conninfo_to_dict(zanith_db.url))
    assert not conninfo.startswith("postgres")
    assert load_schema(conninfo, server=NO_SERVER) == shop


def test_json_file_holds_a_saved_graph(tmp_path: Path, shop: SchemaGraph) -> None:
    saved = tmp_path / "schema.json"
    saved.write_text(shop.to_json(indent=2))
    assert load_schema(str(saved), server=NO_SERVER) == shop


def test_relative_paths_are_found_in_the_project_folder(zanith_shadow: Server, shop: SchemaGraph) -> None:
    relative = SHOP_SQL.relative_to(FIXTURES.parent)
    assert load_schema(str(relative), server=zanith_shadow, project_dir=FIXTURES.parent) == shop


def test_a_configured_schema_is_declared_only_when_the_sql_creates_it(tmp_path: Path, zanith_shadow: Server) -> None:
    plain = tmp_path / "plain.sql"
    plain.write_text("CREATE TABLE t (id int);\n")
    # not created by the SQL: not declared (a database that has it differs, as pg_dump would say)
    assert "audit" not in load_schema(plain, server=zanith_shadow, schemas=("public", "audit")).schemas
    creates = tmp_path / "creates.sql"
    creates.write_text("CREATE SCHEMA audit;\nCREATE TABLE audit.log (id int);\n")
    graph = load_schema(creates, server=zanith_shadow, schemas=("public", "audit"))
    assert graph.table("audit.log") is not None


def test_introspection_does_not_see_the_scripts_search_path(tmp_path: Path, zanith_shadow: Server) -> None:
    changed = tmp_path / "path.sql"
    changed.write_text("CREATE SCHEMA app;\nSET search_path = app;\nCREATE TABLE t (id int);\n")
    plain = tmp_path / "plain.sql"
    plain.write_text("CREATE SCHEMA app;\nCREATE TABLE app.t (id int);\n")
    schemas = ("public", "app")
    assert load_schema(changed, server=zanith_shadow, schemas=schemas) == load_schema(
        plain, server=zanith_shadow, schemas=schemas
    )


# -- errors: one line each -------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sql"
    assert one_line_error(str(missing), server=NO_SERVER) == f"schema file not found: {missing}"


def test_unrecognised_source() -> None:
    assert one_line_error("nonsense", server=NO_SERVER) == (
        "schema source not found: nonsense (expected a .sql file, a folder of .sql files, a .json schema, "
        "a postgres URL or module:attribute)"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.sql"
    binary.write_bytes(b"-- caf\xe9\nCREATE TABLE t ();\n")
    assert one_line_error(binary, server=NO_SERVER) == (
        f"cannot read {binary}: not UTF-8 text (invalid byte at offset 6)"
    )


def test_folder_without_sql_files(tmp_path: Path) -> None:
    assert one_line_error(tmp_path, server=NO_SERVER) == f"no .sql files in folder {tmp_path}"


def test_json_file_that_is_not_a_schema(tmp_path: Path) -> None:
    bad = tmp_path / "other.json"
    bad.write_text('{"format": "something else"}')
    assert one_line_error(bad, server=NO_SERVER) == (
        f"{bad}: not a zanith schema JSON document: ValueError: not a zanith schema document (format='something else')"
    )


def test_unknown_module() -> None:
    assert one_line_error("no_such_module_zz:schema", server=NO_SERVER) == (
        "no_such_module_zz:schema: no module named 'no_such_module_zz'"
    )


def test_unknown_attribute() -> None:
    assert one_line_error("shop_dsl:nope", server=NO_SERVER, project_dir=FIXTURES) == (
        "shop_dsl:nope: module 'shop_dsl' has no attribute 'nope'"
    )


def test_module_that_fails_to_import(tmp_path: Path) -> None:
    module = write_module(tmp_path, "import no_such_dependency_zz\n")
    assert one_line_error(f"{module}:schema", server=NO_SERVER, project_dir=tmp_path) == (
        f"{module}:schema: error while importing {module}: ModuleNotFoundError: No module named 'no_such_dependency_zz'"
    )


def test_callable_that_raises(tmp_path: Path) -> None:
    module = write_module(tmp_path, "def build():\n    raise RuntimeError('no schema today')\n")
    assert one_line_error(f"{module}:build", server=NO_SERVER, project_dir=tmp_path) == (
        f"{module}:build: calling build() failed: RuntimeError: no schema today"
    )


def test_unsupported_object_type(tmp_path: Path) -> None:
    module = write_module(tmp_path, "schema = 42\n")
    expected = "a zanith_core.declare.Schema, an SQLAlchemy MetaData, a SchemaGraph or a str of SQL"
    assert one_line_error(f"{module}:schema", server=NO_SERVER, project_dir=tmp_path) == (
        f"{module}:schema: unsupported schema source of type builtins.int (expected {expected})"
    )
    assert one_line_error(3.5, server=NO_SERVER) == (
        f"unsupported schema source of type builtins.float (expected {expected})"
    )


SYNTAX_ERROR = """\
-- the café schema
CREATE TABLE a (
    id int PRIMARY KEY,
    note text DEFAULT 'two
lines; still a string'
);
COMMENT ON TABLE a IS 'é'; CREATE TABL b (id int);
"""


def test_sql_syntax_error_names_file_line_and_column(
    tmp_path: Path, zanith_shadow: Server, no_scratch_left: None
) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(SYNTAX_ERROR)
    # Line 7, column 35: character (not byte) columns, after a multi-line string and non-ASCII text.
    assert one_line_error(str(path), server=zanith_shadow) == f'{path}:7:35: syntax error at or near "TABL"'


def test_sql_error_with_a_position_inside_a_later_statement(
    tmp_path: Path, zanith_shadow: Server, no_scratch_left: None
) -> None:
    path = tmp_path / "schema.sql"
    path.write_text("CREATE TABLE a (id int);\n\nCREATE TABLE b (\n    id int,\n    n nosuchtype\n);\n")
    assert one_line_error(path, server=zanith_shadow) == f'{path}:5:7: type "nosuchtype" does not exist'


def test_sql_error_without_a_position_names_the_statement_line(
    tmp_path: Path, zanith_shadow: Server, no_scratch_left: None
) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(
        "CREATE TABLE a (id int, x int);\n-- b points at a non-unique column\n  CREATE TABLE b (\n"
        "    y int REFERENCES a (x)\n);\n"
    )
    assert one_line_error(path, server=zanith_shadow) == (
        f'{path}:3:3: there is no unique constraint matching given keys for referenced table "a"'
    )


def test_sql_error_in_a_folder_names_the_file(tmp_path: Path, zanith_shadow: Server, no_scratch_left: None) -> None:
    folder = tmp_path / "schema"
    folder.mkdir()
    (folder / "1_ok.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "2_bad.sql").write_text("\nCREATE INDEX ON a (missing);\n")
    assert one_line_error(str(folder), server=zanith_shadow) == (
        f'{folder}/2_bad.sql:2:1: column "missing" does not exist'
    )


def test_error_in_generated_ddl_quotes_the_statement(zanith_shadow: Server, no_scratch_left: None) -> None:
    from zanith_core.declare import Schema, column

    schema = Schema()
    schema.table("t", column("id", "nosuchtype"))
    assert one_line_error(schema, server=zanith_shadow) == (
        'declared Schema: type "nosuchtype" does not exist (in: CREATE TABLE "public"."t" ("id" nosuchtype))'
    )


def test_declaration_error_names_the_source(tmp_path: Path) -> None:
    module = write_module(
        tmp_path,
        """
        from zanith_core.declare import Schema, column
        schema = Schema()
        schema.table("t", column("r", "int", references="missing"))
        """,
    )
    assert one_line_error(f"{module}:schema", server=NO_SERVER, project_dir=tmp_path) == (
        f"{module}:schema: table public.t: foreign key t_r_fkey references public.missing, "
        "which is not declared (name its columns)"
    )


def test_missing_sqlalchemy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from zanith_core.sources.sqlalchemy import metadata_ddl

    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(SourceError) as info:
        metadata_ddl(object())
    assert str(info.value) == "loading SQLAlchemy MetaData needs SQLAlchemy: pip install 'zanith[sqlalchemy]'"


def test_scratch_databases_are_dropped_after_success_and_failure(tmp_path: Path, zanith_shadow: Server) -> None:
    # Each script reveals the name of the scratch database it ran on, proving there was one (a query that
    # runs while a table is created: top-level DO and SELECT are not schema SQL).
    good = tmp_path / "good.sql"
    good.write_text(
        "CREATE FUNCTION reveal() RETURNS int LANGUAGE plpgsql AS $$ BEGIN\n"
        "    EXECUTE format('CREATE TABLE %I (id int)', current_database()); RETURN 1;\nEND $$;\n"
        "CREATE TABLE revealed AS SELECT reveal();\n"
    )
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE revealed AS SELECT ('scratch=' || current_database())::int;\n")
    (table,) = [t for t in load_schema(good, server=zanith_shadow).tables if t.name != "revealed"]
    failed = one_line_error(bad, server=zanith_shadow).rpartition("scratch=")[2].rstrip('"')
    for name in (table.name, failed):
        assert name.startswith(f"zanith_scratch_{os.getpid()}_")
        with connect(zanith_shadow.url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)
    assert scratch_databases(zanith_shadow) == set()
