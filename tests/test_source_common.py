"""The helpers every API source shares (dashboard.sources.common), tested on their own.

Each source's tests exercise them again through its poll against the local HTTP server; these pin
down the shared behaviour once, including the edges no single source's fixtures reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.contracts.errors import FetchError, HTTPError, ParseError, RateLimited
from dashboard.contracts.http import Response
from dashboard.contracts.source import Source
from dashboard.models import Mention, MentionKind, SourceConfig
from dashboard.sources import make_source
from dashboard.sources.common import (
    Exchange,
    SeenUpTo,
    as_mapping,
    http_url,
    newest_first,
    rate_limit_floor,
    required_query,
    text_from_html,
    text_from_plain,
    unique_by_key,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def mention(key: str, published: datetime | None = NOW) -> Mention:
    return Mention(
        key, MentionKind.POST, f"https://x.example/{key}", title=key, author="", published=published
    )


def response(headers: Mapping[str, str] | None = None, body: bytes = b"{}", status: int = 200) -> Response:
    return Response(
        url="https://api.example/x",
        status=status,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        body=body,
    )


# --- JSON fields ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("I <3 this", "I <3 this"),
        ("a < b and c > d", "a < b and c > d"),
        ("Vec<T> is generic", "Vec<T> is generic"),
        ("AT&amp;T wrote &lt;b&gt;", "AT&amp;T wrote &lt;b&gt;"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("  two   spaces \n\n\n\n lines  ", "two spaces\n\nlines"),
    ],
)
def test_plain_text_fields_are_kept_as_typed_but_tidied(typed: str, stored: str) -> None:
    assert text_from_plain(typed) == stored


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>AT&amp;T</p><p>I &lt;3 it</p>", "AT&T\nI <3 it"),
        ("Vec&lt;T&gt; <b>bold</b>", "Vec<T> bold"),
        ("I <3 this, a < b", "I <3 this, a < b"),
    ],
)
def test_html_fields_lose_their_tags_and_entities(markup: str, text: str) -> None:
    assert text_from_html(markup) == text


@pytest.mark.parametrize("value", [None, 42, ["a"], {"a": 1}, True])
def test_text_fields_that_are_not_strings_read_as_empty(value: object) -> None:
    assert text_from_plain(value) == ""
    assert text_from_html(value) == ""


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://example.org/", "http://example.org/"),
        ("javascript:alert(1)", ""),
        ("file:///etc/passwd", ""),
        ("//example.org/x", ""),
        ("HTTPS://EXAMPLE.ORG/", ""),  # not what APIs send: refused rather than guessed at
        (None, ""),
        (7, ""),
    ],
)
def test_only_http_links_are_kept(value: object, kept: str) -> None:
    assert http_url(value) == kept


def test_as_mapping_stands_in_an_empty_object_for_anything_else() -> None:
    assert as_mapping({"a": 1}) == {"a": 1}
    not_objects: list[object] = [None, [], "x", 3]
    assert [as_mapping(value) for value in not_objects] == [{}, {}, {}, {}]


# --- required_query ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hackernews", "reddit", "bluesky", "lemmy", "stackexchange", "github"])
def test_required_query_is_stripped_and_an_empty_one_names_the_source_type(kind: str) -> None:
    def source(query: object) -> Source:
        return make_source(SourceConfig(name="s", type=kind, interval=600, options={"query": query}))

    assert required_query(source("  acme widgets \n")) == "acme widgets"
    for empty in ("", "   ", None):
        with pytest.raises(FetchError, match=f"^{kind} needs a query$"):
            required_query(source(empty))


# --- rate_limit_floor -------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
def test_spent_rate_limit_waits_for_its_epoch_reset(prefix: str) -> None:
    reset = NOW + timedelta(minutes=3)
    headers = {f"{prefix}-Remaining": "0", f"{prefix}-Reset": str(int(reset.timestamp()))}
    assert rate_limit_floor(response(headers), NOW) == reset


def test_prefixed_reset_may_be_an_iso_time_as_mastodon_sends_it() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-26T12:05:00.000Z"}
    assert rate_limit_floor(response(headers), NOW) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
@pytest.mark.parametrize("reset", ["", "soon", "1700000000"])  # missing, unreadable, already past
def test_spent_rate_limit_without_a_future_reset_waits_a_minute(prefix: str, reset: str) -> None:
    headers = {f"{prefix}-Remaining": "0", f"{prefix}-Reset": reset}
    assert rate_limit_floor(response(headers), NOW) == NOW + timedelta(minutes=1)


@pytest.mark.parametrize("prefix", ["X-RateLimit", "RateLimit"])
def test_remaining_requests_set_no_floor(prefix: str) -> None:
    reset = str(int((NOW + timedelta(minutes=3)).timestamp()))
    assert rate_limit_floor(response({f"{prefix}-Remaining": "12", f"{prefix}-Reset": reset}), NOW) is None
    assert rate_limit_floor(response(), NOW) is None


def test_either_spent_window_counts() -> None:
    later = NOW + timedelta(minutes=4)
    headers = {
        "RateLimit-Remaining": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(later.timestamp())),
    }
    assert rate_limit_floor(response(headers), NOW) == later


# --- SeenUpTo ---------------------------------------------------------------------------------------------


def test_seen_up_to_starts_empty_and_takes_everything_as_new() -> None:
    seen = SeenUpTo()
    assert seen.is_new(mention("a"))
    assert not seen.is_past(mention("a", NOW - timedelta(days=9)))
    assert seen.to_cursor() == {}
    assert seen.advance([]) == seen


def test_seen_up_to_keeps_the_newest_second_and_every_key_at_it() -> None:
    older, twin_a, twin_b = mention("o", NOW - timedelta(seconds=1)), mention("a"), mention("b")
    seen = SeenUpTo().advance([twin_a, older]).advance([twin_b, older])
    assert seen.to_cursor() == {"since": int(NOW.timestamp()), "at_since": ["a", "b"]}
    assert [seen.is_new(m) for m in (older, twin_a, twin_b, mention("c"))] == [False, False, False, True]
    assert seen.is_new(mention("late", NOW + timedelta(seconds=1)))
    assert seen.is_past(older)
    assert not seen.is_past(mention("c"))


def test_a_newer_second_replaces_the_keys_and_undated_mentions_move_nothing() -> None:
    seen = SeenUpTo().advance([mention("a")])
    newer = seen.advance([mention("undated", None), mention("n", NOW + timedelta(seconds=3))])
    assert newer.to_cursor() == {"since": int(NOW.timestamp()) + 3, "at_since": ["n"]}
    assert newer.is_new(mention("undated", None))  # no date to compare: the store tells it by key


def test_sub_second_times_round_trip_exactly() -> None:
    moment = NOW + timedelta(milliseconds=250)
    seen = SeenUpTo().advance([mention("p", moment)])
    assert seen.to_cursor() == {"since": moment.timestamp(), "at_since": ["p"]}
    assert SeenUpTo.from_cursor(seen.to_cursor()) == seen
    assert not seen.is_new(mention("p", moment))
    assert seen.is_new(mention("q", moment))


@pytest.mark.parametrize(
    "cursor",
    [{}, {"since": True, "at_since": ["a"]}, {"since": "1700000000"}, {"since": None, "at_since": "a"}],
)
def test_a_cursor_without_a_numeric_time_reads_as_a_first_poll(cursor: dict[str, object]) -> None:
    assert SeenUpTo.from_cursor(cursor).at is None
    assert SeenUpTo.from_cursor(cursor).is_new(mention("a"))


def test_cursor_keys_are_read_as_text() -> None:
    seen = SeenUpTo.from_cursor({"since": 1700000000, "at_since": [17, "b"]})
    assert seen == SeenUpTo(at=1700000000.0, keys=frozenset({"17", "b"}))


# --- newest_first -----------------------------------------------------------------------------------------


def test_newest_first_orders_numeric_ids_as_numbers_and_drops_others() -> None:
    assert newest_first(["9", "100", "x", "9", "20", ""], 10) == ["100", "20", "9"]


def test_newest_first_leaves_out_skipped_keys_before_counting_the_limit() -> None:
    assert newest_first(["5", "700", "61", "700", "8"], 2, skip={"700"}) == ["61", "8"]
    assert newest_first(["5"], 0) == []


def test_newest_first_takes_the_api_s_own_ids_and_order() -> None:
    keys = ["t3_zz", "t3_100", "bogus", "t3_a"]
    base36 = newest_first(
        keys, 3, is_id=lambda key: key.startswith("t3_"), order=lambda key: int(key[3:], 36)
    )
    assert base36 == ["t3_100", "t3_zz", "t3_a"]


# --- unique_by_key ----------------------------------------------------------------------------------------


def test_unique_by_key_keeps_the_first_copy_in_first_seen_order() -> None:
    found = Mention("b", MentionKind.POST, "u", title="found", author="", published=NOW, likes=1)
    refreshed = Mention("b", MentionKind.POST, "u", title="refreshed", author="", published=NOW, likes=9)
    result = unique_by_key([mention("c"), found, mention("a"), refreshed, mention("c")])
    assert [m.key for m in result] == ["c", "b", "a"]
    assert result[1] is found
    assert unique_by_key([]) == ()


# --- Exchange ----------------------------------------------------------------------------------------------


def test_exchange_adds_up_bytes_keeps_the_first_status_and_returns_json() -> None:
    exchange = Exchange(now=NOW)
    assert exchange.read(response(body=b'{"a": 1}', status=203)) == {"a": 1}
    assert exchange.read(response(body=b"[]", status=200)) == []
    assert (exchange.bytes_read, exchange.http_status, exchange.not_before) == (10, 203, None)


def test_exchange_counts_a_body_that_is_not_json_before_refusing_it() -> None:
    exchange = Exchange(now=NOW)
    with pytest.raises(ParseError):
        exchange.read(response(body=b"<html>busy</html>"))
    assert (exchange.bytes_read, exchange.http_status) == (17, 200)


def test_exchange_keeps_the_latest_floor_of_all_it_met() -> None:
    exchange = Exchange(now=NOW)
    later = NOW + timedelta(minutes=7)
    exchange.read(response({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(later.timestamp()))}))
    exchange.hold_until(NOW + timedelta(minutes=2))
    exchange.hold_until(None)
    assert exchange.not_before == later
    exchange.hold_until(NOW + timedelta(minutes=9))
    assert exchange.not_before == NOW + timedelta(minutes=9)


def test_setback_is_noted_and_a_reported_rate_limit_respected() -> None:
    exchange = Exchange(now=NOW)
    exchange.setback("page 2", HTTPError("HTTP 500", http_status=500))
    assert exchange.not_before is None
    until = NOW + timedelta(minutes=5)
    exchange.setback("engagement refresh", RateLimited("HTTP 429", until=until, http_status=429), "stopped")
    assert exchange.notes == ["page 2 failed: HTTP 500", "engagement refresh stopped: HTTP 429"]
    assert exchange.not_before == until


@pytest.mark.parametrize(
    ("new_items", "incremental", "noted"),
    [(3, True, True), (5, True, True), (2, True, False), (3, False, False)],
)
def test_max_items_is_noted_only_when_it_cut_an_incremental_poll(
    new_items: int, incremental: bool, noted: bool
) -> None:
    exchange = Exchange(now=NOW)
    exchange.note_max_items(new_items, 3, incremental=incremental)
    expected = ["max_items (3) new items read: older new ones may have been skipped"] if noted else []
    assert exchange.notes == expected


def test_outcome_carries_everything_the_exchange_added_up() -> None:
    exchange = Exchange(now=NOW)
    exchange.read(response({"RateLimit-Remaining": "0"}, body=b"{}", status=200))
    exchange.notes += ["one", "two"]
    outcome = exchange.outcome(iter([mention("a"), mention("b")]), {"since": 5})
    assert [m.key for m in outcome.mentions] == ["a", "b"]
    assert isinstance(outcome.mentions, tuple)
    assert (outcome.cursor, outcome.http_status, outcome.bytes_read) == ({"since": 5}, 200, 2)
    assert (outcome.notes, outcome.not_before) == ("one; two", NOW + timedelta(minutes=1))
