"""The stream filter's parser and matching (pure functions of dashboard.ui.filtering)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dashboard.ui import data
from dashboard.ui.filtering import (
    MentionFilter,
    contains_folded,
    fold,
    like_folded,
    parse_filter,
    resolve_source,
    tokens,
)
from tests.test_ui_actions import filled

DEMO_SOURCES = (
    "Hacker News",
    "r/Python",
    "Mastodon #textual",
    "Mastodon #python",
    "Lemmy",
    "Stack Overflow",
    "Textual blog",
)


def test_plain_words_and_fields() -> None:
    assert parse_filter("textual release source:Lemmy kind:POST") == MentionFilter(
        "textual release", "Lemmy", "post"
    )
    assert parse_filter("") == MentionFilter()
    assert parse_filter("   ").is_empty


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ('source:"Hacker News"', "Hacker News"),
        ("source:'Hacker News'", "Hacker News"),
        ('SOURCE:"Mastodon #textual" ', "Mastodon #textual"),
        ('source:"Hacker News', "Hacker News"),  # an unclosed quote runs to the end
    ],
)
def test_quoted_source_names_keep_their_spaces(query: str, source: str) -> None:
    parsed = parse_filter(query)
    assert parsed.source == source
    assert parsed.text == ""


def test_quotes_inside_words_are_kept_and_quoted_words_are_one_phrase() -> None:
    assert tokens("don't panic") == ["don't", "panic"]
    assert parse_filter('"release notes" source:r/Python').text == "release notes"
    assert parse_filter("source:").text == "source:"  # a field without a value is a word


def test_the_last_field_wins() -> None:
    assert parse_filter("source:a source:b").source == "b"


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        ("Hacker News", "Hacker News"),
        ("hacker news", "Hacker News"),
        ("HACKER", "Hacker News"),
        ("r/py", "r/Python"),
        ("mastodon #t", "Mastodon #textual"),
        ("stack", "Stack Overflow"),
    ],
)
def test_a_source_is_named_caselessly_or_by_a_unique_prefix(wanted: str, name: str) -> None:
    assert resolve_source(wanted, DEMO_SOURCES).name == name


def test_an_exact_name_wins_over_a_longer_one_it_starts() -> None:
    assert resolve_source("lemmy", ("Lemmy", "Lemmy world")).name == "Lemmy"


def test_an_ambiguous_prefix_lists_the_candidates() -> None:
    match = resolve_source("mastodon", DEMO_SOURCES)
    assert match.name is None
    assert match.candidates == ("Mastodon #textual", "Mastodon #python")
    assert "Mastodon #textual, Mastodon #python" in (match.problem or "")


def test_a_typo_says_did_you_mean() -> None:
    match = resolve_source("Hacker Nwes", DEMO_SOURCES)
    assert match.name is None
    assert match.problem == "No source is named 'Hacker Nwes'. Did you mean source:\"Hacker News\"?"
    assert resolve_source("zzzz", DEMO_SOURCES).problem == "No source is named 'zzzz'."


def test_a_source_name_beyond_ascii_matches_caselessly() -> None:
    assert resolve_source("südwestrundfunk", ("SÜDWESTRUNDFUNK",)).name == "SÜDWESTRUNDFUNK"


@pytest.mark.parametrize(
    ("needle", "haystack"),
    [
        ("é", "CAFÉ"),
        ("É", "café"),
        ("ü", "ÜBER"),
        ("Ü", "über"),
        ("ß", "STRASSE"),
        ("strasse", "Straße"),
        ("e\u0301", "CAFÉ"),  # decomposed and composed forms are one letter
        ("textual", "TEXTUAL"),
    ],
)
def test_text_matches_caselessly_beyond_ascii(needle: str, haystack: str) -> None:
    assert contains_folded(needle, haystack)
    assert like_folded(f"%{needle}%", haystack, "\\")


def test_fold_is_unicode_case_folding() -> None:
    assert fold("Straße") == fold("STRASSE") == "strasse"


def test_like_keeps_sql_wildcards_and_escapes() -> None:
    assert like_folded("%50\\%%", "only 50% OFF", "\\")
    assert not like_folded("%50\\%%", "only 50 OFF", "\\")
    assert like_folded("a_c", "ABC")
    assert not like_folded("a_c", "ABBC")
    assert like_folded("%snake\\_case%", "SNAKE_CASE here", "\\")
    assert not like_folded("%snake\\_case%", "snakeXcase", "\\")
    assert not like_folded(None, "x")
    assert not like_folded("%x%", None)


def test_the_stream_query_finds_text_caselessly_beyond_ascii(tmp_path: Path) -> None:
    database = filled(tmp_path)
    with sqlite3.connect(database) as connection:
        mention_id = connection.execute("SELECT MIN(id) FROM mentions").fetchone()[0]
        connection.execute(
            "UPDATE mentions SET title = ? WHERE id = ?",
            ("Das Fest in der Hauptstraße, CAFÉ ÜBER", mention_id),
        )
    for query in ("café über", "STRASSE", "hauptstraße", "ÜBER"):
        rows = data.latest_mentions(database, parse_filter(query), limit=50)
        assert [row["id"] for row in rows] == [mention_id], query


def test_the_stream_query_names_sources_caselessly_and_by_prefix(tmp_path: Path) -> None:
    database = filled(tmp_path)
    for query in ('source:"hacker news"', "source:HACKER", "source:'Hacker N'"):
        rows = data.latest_mentions(database, parse_filter(query), limit=500)
        assert rows, query
        assert {row["source"] for row in rows} == {"Hacker News"}, query
    assert data.latest_mentions(database, parse_filter("source:nowhere"), limit=50) == []
