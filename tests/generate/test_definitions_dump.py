"""A pg_dump-shaped schema of what issue 14's categories 5 and 6 meet (tests/fixtures/definitions_dump.sql):
functions in name order calling each other (SQL and PL/pgSQL, mutual recursion, a CHECK's function
reading a table dumped after it), an extension in a schema of its own at a pinned version, collations,
text search dictionaries and a configuration, view and materialized view options. It round-trips from
empty, from an older release, and through the whole-schema script, judged by ``pg_dump``."""

from __future__ import annotations

from pathlib import Path

from convergence import judged
from judge import assert_converges
from support import FIXTURES, graph_of, load

from zanith_core.servers import Server

DUMP = (FIXTURES / "definitions_dump.sql").read_text()
SCHEMAS = ("public", "app", "ext")

# The release before: no text search, one collation, fewer functions, pg_trgm at an older version, and a
# schema the release retires.
OLDER = """
CREATE SCHEMA app;
CREATE SCHEMA ext;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA ext;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA ext VERSION '1.4';
CREATE TYPE app.status AS ENUM ('draft', 'published', 'archived');
CREATE COLLATION app.posix_text (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
CREATE DOMAIN app.handle AS text COLLATE app.posix_text CONSTRAINT handle_check CHECK ((VALUE ~ '^[a-z0-9_]+$'::text));
CREATE FUNCTION app.headline(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE TABLE app.authors (id bigint PRIMARY KEY, handle app.handle NOT NULL, email ext.citext NOT NULL,
                          display_name text);
CREATE TABLE app.articles (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES app.authors,
                           title text NOT NULL, slug text, status app.status DEFAULT 'draft' NOT NULL, body text,
                           updated_at timestamptz);
CREATE VIEW app.headlines AS SELECT id, app.headline(title) AS headline FROM app.articles;
CREATE SCHEMA retired;
CREATE TABLE retired.old_articles (id bigint PRIMARY KEY);
"""


def test_the_dump_is_generated_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    judged(zanith_shadow, tmp_path, "", DUMP, schemas=SCHEMAS)


def test_the_dump_is_generated_from_an_older_release(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, OLDER, DUMP, schemas=(*SCHEMAS, "retired"))
    assert ("drop_schema", "retired") in [(op.kind, op.target) for op in ops]


def test_the_whole_schema_script_recreates_the_dump(zanith_shadow: Server) -> None:
    graph = graph_of(zanith_shadow, DUMP, schemas=SCHEMAS)
    with zanith_shadow.scratch_database(prefix="zanith_script") as url:
        load(url, graph)
        assert_converges(zanith_shadow, url, DUMP)
