"""The stream's `sentiment:` and `lang:` filter terms: parsed, validated (a wrong value says what is
valid, inline), sent to the reader as parameters, combined with words and `source:`, and through the
running app."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dashboard.ui import data
from dashboard.ui.filtering import MentionFilter, parse_filter
from dashboard.ui.widgets.stream import StreamPanel
from tests.test_ui_actions import app_on, filled
from tests.test_ui_app import main_screen, wait_for

HOSTILE = "[@click=app.quit]Click me[/]"


def with_opinions(database: Path) -> dict[str, set[int]]:
    """What the opinion pass stores, on every mention of the filled store, by id: negative French,
    positive and neutral English, German (never scored) and unknown. The hostile title is the most
    negative. Returns the ids of each group."""
    groups = {
        "negative": ("fr", -0.6, "negative"),
        "positive": ("en", 0.7, "positive"),
        "neutral": ("en", 0.0, "neutral"),
        "german": ("de", None, None),
        "unknown": (None, None, None),
    }
    names = list(groups)
    found: dict[str, set[int]] = {name: set() for name in names}
    with sqlite3.connect(database) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM mentions ORDER BY id")]
        for mention_id in ids:
            name = names[mention_id % len(names)]
            language, score, label = groups[name]
            connection.execute(
                "UPDATE mentions SET language = ?, sentiment = ?, sentiment_label = ? WHERE id = ?",
                (language, score, label, mention_id),
            )
            found[name].add(mention_id)
        hostile = connection.execute("SELECT id FROM mentions WHERE title = ?", (HOSTILE,)).fetchall()
        for (mention_id,) in hostile:
            connection.execute(
                "UPDATE mentions SET language = 'en', sentiment = -0.95, sentiment_label = 'negative'"
                " WHERE id = ?",
                (mention_id,),
            )
            for group in found.values():
                group.discard(mention_id)
            found["negative"].add(mention_id)
    return found


def test_the_terms_parse_and_combine_with_the_others() -> None:
    parsed = parse_filter('crash sentiment:NEGATIVE lang:FR source:"Hacker News" kind:post')
    assert parsed == MentionFilter("crash", "Hacker News", "post", "negative", "fr")
    assert parsed.sentiment_label == "negative"
    assert parsed.language_code == "fr"
    assert parsed.problem is None
    assert parse_filter("sentiment:neg").sentiment_label == "negative"  # a prefix naming one label
    assert parse_filter("language:pt-BR").language_code == "pt-br"
    assert parse_filter("lang:unknown").language_code == ""  # the mentions whose language is unknown
    assert not parse_filter("lang:fr").is_empty


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("sentiment:angry", "sentiment:angry is not a sentiment: use positive, neutral or negative."),
        ("sentiment:n", "sentiment:n is not a sentiment: use positive, neutral or negative."),  # 2 labels
        ("lang:french", "lang:french is not a language code: use one such as en or fr, or lang:unknown."),
        ("lang:e", "lang:e is not a language code: use one such as en or fr, or lang:unknown."),
    ],
)
def test_a_wrong_value_is_a_problem_saying_what_is_valid(query: str, said: str) -> None:
    assert parse_filter(query).problem == said


def test_the_reader_gets_the_terms_as_parameters(tmp_path: Path) -> None:
    database = filled(tmp_path)
    groups = with_opinions(database)

    def ids(query: str) -> set[int]:
        return {int(row["id"]) for row in data.latest_mentions(database, parse_filter(query), limit=1000)}

    assert ids("sentiment:negative") == groups["negative"]
    assert ids("sentiment:positive") == groups["positive"]
    assert ids("sentiment:neutral") == groups["neutral"]  # never the unscored ones
    assert ids("lang:de") == groups["german"]
    assert ids("lang:unknown") == groups["unknown"]
    assert ids("lang:en") == groups["positive"] | groups["neutral"] | (groups["negative"] - ids("lang:fr"))
    combined = ids('sentiment:negative lang:fr source:"Hacker News"')
    assert combined
    assert combined < groups["negative"]
    rows = data.latest_mentions(database, parse_filter('sentiment:negative source:"Hacker News"'), limit=1000)
    assert {row["source"] for row in rows} == {"Hacker News"}
    assert ids("sentiment:angry") == set()
    assert ids("lang:french") == set()


async def test_the_stream_narrows_and_says_what_is_wrong_inline(tmp_path: Path) -> None:
    database = filled(tmp_path)
    groups = with_opinions(database)
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        stream = main_screen(app).query_one(StreamPanel)
        await wait_for(pilot, lambda: stream.table.row_count > 20)
        everything = set(stream._by_key)
        await pilot.press("slash", *"sentiment:negative")
        await wait_for(pilot, lambda: app.mention_filter.sentiment == "negative")
        await wait_for(pilot, lambda: set(stream._by_key) != everything and stream.table.row_count > 0)
        assert {int(key) for key in stream._by_key} <= groups["negative"]
        await pilot.press(*" lang:fr")
        await wait_for(pilot, lambda: app.mention_filter.language == "fr")
        await wait_for(pilot, lambda: all(r["language"] == "fr" for r in stream._by_key.values()))
        assert all(record["sentiment_label"] == "negative" for record in stream._by_key.values())
        stream.filter_input.value = "sentiment:angry"
        await wait_for(pilot, lambda: stream.table.row_count == 0)
        await pilot.pause(0.3)
        assert stream.table.empty_message == (
            "sentiment:angry is not a sentiment: use positive, neutral or negative. Esc clears the filter."
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: stream.table.row_count > 20)
