"""Text search dictionaries and configurations: created (mappings included) before the generated
columns and indexes that name them, their options and mappings changed in place, dropped after what
used them. From empty and in upgrades, judged by ``pg_dump`` (tests/judge.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from convergence import judged
from support import kinds, targets

from zanith_core.generate import GenerateError
from zanith_core.servers import Server

SEARCH = """
CREATE TEXT SEARCH DICTIONARY english_stem_nostop (TEMPLATE = snowball, language = 'english');
CREATE TEXT SEARCH DICTIONARY short_words (TEMPLATE = simple, stopwords = 'english', accept = false);
CREATE TEXT SEARCH CONFIGURATION docs_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION docs_search
    ALTER MAPPING FOR asciiword, word WITH short_words, english_stem_nostop;
ALTER TEXT SEARCH CONFIGURATION docs_search DROP MAPPING FOR url, url_path;
CREATE TABLE docs (
    id bigint PRIMARY KEY,
    body text,
    search tsvector GENERATED ALWAYS AS (to_tsvector('public.docs_search', coalesce(body, ''))) STORED
);
CREATE INDEX docs_fts ON docs USING gin (to_tsvector('public.docs_search'::regconfig, body));
"""


def test_text_search_from_empty(zanith_shadow: Server, tmp_path: Path) -> None:
    ops = judged(zanith_shadow, tmp_path, "", SEARCH)
    assert kinds(ops)[:3] == [
        "create_text_search_dictionary",
        "create_text_search_dictionary",
        "create_text_search_configuration",
    ]


def test_mappings_and_options_change_in_place(zanith_shadow: Server, tmp_path: Path) -> None:
    new = SEARCH.replace("stopwords = 'english', accept = false", "accept = true")
    new = new.replace("DROP MAPPING FOR url, url_path", "DROP MAPPING FOR email")
    new = new.replace("WITH short_words, english_stem_nostop", "WITH english_stem_nostop")
    ops = judged(zanith_shadow, tmp_path, SEARCH, new)
    assert targets(ops) == [
        ("alter_text_search_dictionary", "public.short_words"),
        ("alter_text_search_configuration", "public.docs_search"),
    ]
    statements = ops[1].sql()
    assert 'DROP MAPPING FOR "email"' in statements and 'ADD MAPPING FOR "url"' in statements


def test_a_configuration_and_its_dictionary_go_after_what_used_them(zanith_shadow: Server, tmp_path: Path) -> None:
    new = "CREATE TABLE docs (id bigint PRIMARY KEY, body text);"
    ops = judged(zanith_shadow, tmp_path, SEARCH, new)
    order = kinds(ops)
    assert order.index("drop_column") < order.index("drop_text_search_configuration")
    assert order.index("drop_text_search_configuration") < order.index("drop_text_search_dictionary")


def test_a_configuration_gets_a_new_dictionary_first(zanith_shadow: Server, tmp_path: Path) -> None:
    new = SEARCH.replace(
        "CREATE TEXT SEARCH CONFIGURATION",
        "CREATE TEXT SEARCH DICTIONARY z_simple (TEMPLATE = simple);\nCREATE TEXT SEARCH CONFIGURATION",
    ).replace("WITH short_words, english_stem_nostop", "WITH z_simple, english_stem_nostop")
    ops = judged(zanith_shadow, tmp_path, SEARCH, new)
    assert kinds(ops) == ["create_text_search_dictionary", "alter_text_search_configuration"]


def test_a_template_change_while_a_configuration_uses_it_is_refused(zanith_shadow: Server, tmp_path: Path) -> None:
    new = SEARCH.replace("(TEMPLATE = snowball, language = 'english')", "(TEMPLATE = simple)")
    with pytest.raises(GenerateError, match=r"english_stem_nostop changes in a way Postgres cannot apply in place"):
        judged(zanith_shadow, tmp_path, SEARCH, new)
