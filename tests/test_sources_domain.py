"""`domain = "blog.example.org"` on the sources whose API searches links by site (issue 12): Hacker
News (Algolia `restrictSearchableAttributes=url`), Reddit (`/domain/SITE/new.json`), Bluesky
(searchPosts `domain`) and Lemmy (search `type_=Url`). Each search is checked by the request the
local server received and by what its answer became; with both query and domain both searches run
and merge by key; a source with neither refuses to poll; feeds.toml accepts the key and the poller
runs it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from dashboard.config import ConfigError, parse_config
from dashboard.contracts.errors import FetchError
from dashboard.contracts.source import InlineParser, PollContext
from dashboard.fetch.http import Fetcher
from dashboard.models import Mention, PollOutcome, SourceConfig
from dashboard.polling.service import running_poller
from dashboard.sources import make_source, source_types
from dashboard.sources.common import clean_domain, links_to
from tests.conftest import fixture_bytes
from tests.localserver import LocalServer, Reply, Seen

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SITE = "blog.example.org"
JSON = {"Content-Type": "application/json; charset=utf-8"}
HN_HITS: list[dict[str, Any]] = json.loads(fixture_bytes("hackernews", "links_search_by_date.json"))["hits"]


def _json(body: object) -> Reply:
    return Reply(200, json.dumps(body).encode(), JSON)


def algolia(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
    """search_by_date as Algolia answers it: with restrictSearchableAttributes=url the query words
    match the story's url only (comments have none); else every hit of the tags."""
    wanted = {"story": {"story"}, "comment": {"comment"}, "(story,comment)": {"story", "comment"}}
    hits = [hit for hit in HN_HITS if wanted[seen.param("tags")] & set(hit["_tags"])]
    if seen.param("restrictSearchableAttributes") == "url":
        hits = [hit for hit in hits if seen.param("query").lower() in (hit["url"] or "").lower()]
    return _json({"hits": hits, "nbHits": len(hits), "page": 0, "nbPages": 1})


def config(server: LocalServer, source: str, **options: Any) -> SourceConfig:
    return SourceConfig(
        name=source, type=source, interval=900, base_url=server.base_url, max_items=100, options=options
    )


async def poll(fetcher: Fetcher, source_config: SourceConfig, **kwargs: Any) -> PollOutcome:
    context = PollContext(fetch=fetcher.fetch, parse=InlineParser(), now=NOW, **kwargs)
    return await make_source(source_config).poll(context)


def keys(outcome: PollOutcome) -> list[str]:
    return [mention.key for mention in outcome.mentions]


def to_site(mention: Mention) -> list[tuple[str, str]]:
    return [(link.url, link.via) for link in mention.links if links_to(link.url, SITE)]


# --- Hacker News -----------------------------------------------------------------------------------


async def test_hacker_news_domain_search_is_algolias_url_search(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api/v1/search_by_date", algolia)
    outcome = await poll(fetcher, config(server, "hackernews", domain=SITE), first_poll=True)

    (seen,) = server.requests_to("/api/v1/search_by_date")
    assert (seen.param("query"), seen.param("restrictSearchableAttributes"), seen.param("tags")) == (
        SITE,
        "url",
        "story",
    )
    # The story to the post and the one to a subdomain of the site; not the Ask HN (its link is in the
    # text) nor the GitHub story.
    assert keys(outcome) == ["46200010", "46200006"]
    assert all(to_site(mention) for mention in outcome.mentions)
    assert outcome.cursor["domain"]["since"] == HN_HITS[0]["created_at_i"]


async def test_hacker_news_query_and_domain_both_search_and_merge_by_key(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api/v1/search_by_date", algolia)
    first = await poll(fetcher, config(server, "hackernews", query="echo", domain=SITE), first_poll=True)

    requests = server.requests_to("/api/v1/search_by_date")
    assert [(s.param("query"), s.param("restrictSearchableAttributes")) for s in requests] == [
        ("echo", ""),
        (SITE, "url"),
    ]
    assert sorted(keys(first)) == sorted({hit["objectID"] for hit in HN_HITS if "story" in hit["_tags"]})
    assert len(keys(first)) == len(set(keys(first)))  # 46200010 was found by both: once

    # A later poll: each search goes on from its own cursor.
    server.seen.clear()
    await poll(fetcher, config(server, "hackernews", query="echo", domain=SITE), cursor=first.cursor)
    filters = [s.param("numericFilters") for s in server.requests_to("/api/v1/search_by_date")]
    newest = HN_HITS[0]["created_at_i"]
    assert filters == [f"created_at_i>={newest}", f"created_at_i>={newest}"]


async def test_a_changed_domain_searches_its_new_site_from_the_start(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.route("/api/v1/search_by_date", algolia)
    first = await poll(fetcher, config(server, "hackernews", domain=SITE), first_poll=True)
    assert first.cursor["domain"]["for"] == SITE

    server.seen.clear()
    moved = await poll(fetcher, config(server, "hackernews", domain="docs." + SITE), cursor=first.cursor)
    (seen,) = server.requests_to("/api/v1/search_by_date")
    assert seen.param("numericFilters") == ""  # the old site's place is no place in the new one's results
    assert keys(moved) == ["46200006"]
    assert moved.cursor["domain"]["for"] == "docs." + SITE


# --- Reddit ----------------------------------------------------------------------------------------


async def test_reddit_domain_listing(server: LocalServer, fetcher: Fetcher) -> None:
    server.route(f"/domain/{SITE}/new.json", Reply(200, fixture_bytes("reddit", "domain_new.json"), JSON))
    # Written as a user might paste it: scheme, www. and path go.
    outcome = await poll(
        fetcher, config(server, "reddit", domain=f"https://www.{SITE}/blog/"), first_poll=True
    )

    (seen,) = server.requests_to(f"/domain/{SITE}/new.json")
    assert (seen.param("sort"), seen.param("limit")) == ("new", "100")
    assert not server.requests_to("/search.json")
    assert keys(outcome) == ["t3_1j8k2a", "t3_1j8k28", "t3_1j7zz1"]
    assert [to_site(m) for m in outcome.mentions] == [
        [("https://blog.example.org/2026/03/echo-post/?utm_source=reddit&utm_medium=social", "url")],
        [("https://blog.example.org/2026/03/echo-post/amp/", "url")],
        [("https://blog.example.org/2026/02/older/", "url")],
    ]


# --- Bluesky ---------------------------------------------------------------------------------------


async def test_bluesky_domain_search_sends_q_star_and_domain(server: LocalServer, fetcher: Fetcher) -> None:
    body = json.loads(fixture_bytes("bluesky", "links_search_posts.json"))
    server.route("/xrpc/app.bsky.feed.searchPosts", _json({"posts": body["posts"][:3]}))
    outcome = await poll(fetcher, config(server, "bluesky", query="echo", domain=SITE), first_poll=True)

    words, by_link = server.requests_to("/xrpc/app.bsky.feed.searchPosts")
    assert (words.param("q"), words.param("domain")) == ("echo", "")
    assert (by_link.param("q"), by_link.param("domain"), by_link.param("sort")) == ("*", SITE, "latest")
    assert len(outcome.mentions) == 3  # the same three posts from both searches: once each


async def test_a_domain_match_on_a_field_the_source_does_not_read_is_said_as_domain(
    server: LocalServer, fetcher: Fetcher
) -> None:
    """searchPosts matched the post on a link inside a quoted post's view: none of the links the
    source reads goes to the site, so the URL the API matched is added, found by "domain"."""
    quoted = "https://www.blog.example.org/2026/03/echo-post/?utm_source=quote"
    post = {
        "uri": "at://did:plc:q/app.bsky.feed.post/3mcqqq1",
        "author": {"did": "did:plc:q", "handle": "q.bsky.social"},
        "record": {"text": "look at this", "createdAt": "2026-03-02T11:00:00.000Z", "langs": ["en"]},
        "embed": {
            "$type": "app.bsky.embed.record#view",
            "record": {"embeds": [{"$type": "app.bsky.embed.external#view", "external": {"uri": quoted}}]},
        },
        "indexedAt": "2026-03-02T11:00:00.000Z",
    }
    server.route("/xrpc/app.bsky.feed.searchPosts", _json({"posts": [post]}))
    by_words = await poll(fetcher, config(server, "bluesky", query="look"), first_poll=True)
    by_link = await poll(fetcher, config(server, "bluesky", domain=SITE), first_poll=True)

    assert by_words.mentions[0].links == ()
    assert to_site(by_link.mentions[0]) == [(quoted, "domain")]


# --- Lemmy -----------------------------------------------------------------------------------------


async def test_lemmy_domain_search_is_the_url_search(server: LocalServer, fetcher: Fetcher) -> None:
    def search(seen: Seen, raw: BaseHTTPRequestHandler) -> Reply:
        name = "url_search.json" if seen.param("type_") == "Url" else "links_search.json"
        return Reply(200, fixture_bytes("lemmy", name), JSON)

    server.route("/api/v3/search", search)
    outcome = await poll(fetcher, config(server, "lemmy", query="echo", domain=SITE), first_poll=True)

    words, by_link = server.requests_to("/api/v3/search")
    assert (words.param("type_"), words.param("q")) == ("Posts", "echo")
    assert (by_link.param("type_"), by_link.param("q"), by_link.param("sort")) == ("Url", SITE, "New")
    assert keys(outcome) == ["90012", "90011", "90010"]
    newest = outcome.mentions[0].published
    assert newest is not None
    assert outcome.cursor["domain"] == {"for": SITE, "newest_id": 90012, "since": int(newest.timestamp())}


# --- neither, and feeds.toml ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["hackernews", "reddit", "bluesky", "lemmy"])
async def test_a_source_with_neither_query_nor_domain_refuses_to_poll(
    server: LocalServer, fetcher: Fetcher, source: str
) -> None:
    with pytest.raises(FetchError, match="needs a query or a domain"):
        await poll(fetcher, config(server, source), first_poll=True)
    assert server.seen == []  # it searched for nothing


@pytest.mark.parametrize("written", ["not a domain", "http://", "-bad-.example", "a..b"])
def test_a_domain_that_is_no_host_name_is_refused(written: str) -> None:
    with pytest.raises(FetchError, match="not a host name"):
        clean_domain(written)


def test_domain_is_declared_only_by_the_sources_with_a_url_search() -> None:
    with_domain = {name for name, cls in source_types().items() if "domain" in cls.keys}
    assert with_domain == {"hackernews", "reddit", "bluesky", "lemmy"}
    for name in with_domain:
        assert getattr(source_types()[name], "required_any", ()) == ("query", "domain")


def _feeds_toml(base_url: str, database: Path, **keys: str) -> str:
    extra = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    return (
        f'[settings]\ndatabase = "{database}"\n\n'
        f'[[feeds]]\nname = "HN links"\nsource = "hackernews"\nbase_url = "{base_url}"\n{extra}'
    )


async def test_feeds_toml_with_domain_only_polls_the_url_search_through_the_poller(
    server: LocalServer, tmp_path: Path
) -> None:
    server.route("/api/v1/search_by_date", algolia)
    server.route("/api/v1/search", _json({"hits": [], "nbHits": 0, "page": 0, "nbPages": 0}))
    database = tmp_path / "echo.db"
    text = _feeds_toml(server.base_url, database, domain=SITE)
    config_read = parse_config(text, tmp_path / "feeds.toml", registry=source_types())
    (entry,) = config_read.sources
    assert entry.options["domain"] == SITE
    assert "query" not in entry.options

    start = NOW
    async with running_poller(config_read, database, clock=lambda: start + timedelta(seconds=1)) as poller:
        (record,) = await poller.poll_once(force=True)
    assert record.status.is_success, record.error
    searches = server.requests_to("/api/v1/search_by_date")
    assert [s.param("restrictSearchableAttributes") for s in searches] == ["url"]
    stored = sqlite3.connect(database).execute("SELECT key FROM mentions ORDER BY key").fetchall()
    assert [key for (key,) in stored] == ["46200006", "46200010"]


def test_feeds_toml_with_neither_query_nor_domain_fails_naming_both(tmp_path: Path) -> None:
    text = _feeds_toml("https://hn.algolia.com", tmp_path / "x.db")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, tmp_path / "feeds.toml", registry=source_types())
    message = str(caught.value)
    assert "query" in message
    assert "domain" in message
