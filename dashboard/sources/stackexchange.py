"""Stack Exchange: questions matching a search on one site (Stack Overflow by default).

`/2.3/search/advanced?sort=creation&order=desc` lists matches newest first, 100 a page; later polls ask
only for questions created since the newest seen (`fromdate=`, inclusive: the ids seen at exactly that
second are kept so a same-second question is neither lost nor counted twice).

Cursor: `{"since": int, "at_since": [question ids as str], "refreshed_at": int}` - the newest creation
date seen (epoch seconds), the questions seen at exactly that second, and when young questions last had
their counts refreshed (epoch seconds).

Engagement refresh: `/2.3/questions/{id;id;...}` re-reads up to 100 young questions in one call, at most
once an hour (`REFRESH_EVERY`) and only while the daily quota is above `QUOTA_RESERVE`: the anonymous
quota is 300 requests a day per IP, shared by every Stack Exchange source.

The API's `backoff` field (seconds) becomes `PollOutcome.not_before`; a page carrying it ends the paging
(the same method must not be called again before it elapses). The remaining quota is shown in the notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.contracts.errors import FetchError, HTTPError, NeedsCredentials, ParseError, RateLimited
from dashboard.contracts.headers import ascii_integer
from dashboard.contracts.http import Request, Response
from dashboard.contracts.source import KeySpec, PollContext, Source, register
from dashboard.models import Mention, MentionKind, PollOutcome
from dashboard.sources.common import (
    Exchange,
    SeenUpTo,
    as_count,
    as_mapping,
    from_epoch,
    http_url,
    json_body,
    links_in_html,
    mentions_from,
    needs_credentials,
    newest_first,
    required_query,
    text_from_html,
    unique_links,
)
from dashboard.text import plain_text, shorten

SEARCH_PATH = "/2.3/search/advanced"
QUESTIONS_PATH = "/2.3/questions/"
PAGE_SIZE = 100  # the API's largest pagesize; also the most ids one /questions call takes
FILTER = "withbody"  # the default fields plus the question body (for the summary)
REFRESH_EVERY = 3600.0
QUOTA_RESERVE = 20
SUMMARY_CHARS = 500
MAX_WAIT = timedelta(days=7)
DEFAULT_THROTTLE_WAIT = timedelta(hours=1)
SUGGESTED_KEY_ENV = "STACKEXCHANGE_KEY"
# error_id values that mean the key (or a missing one) is the problem.
_KEY_ERRORS = frozenset({401, 402, 403, 405, 406})
_SECONDS = re.compile(r"([0-9]+)\s*seconds?", re.ASCII)  # ASCII digits: "\d" also matches "٣"


# --- parsing: JSON -> mentions (pure) -------------------------------------------------------------------


def question_to_mention(item: Mapping[str, Any]) -> Mention | None:
    """One question -> a Mention; None without a question_id. Its links are the anchors of its HTML
    body (asked for with the `withbody` filter), relative ones resolved against the question's page."""
    question_id = as_count(item.get("question_id"))
    if question_id is None:
        return None
    url = http_url(item.get("link"))
    return Mention(
        key=str(question_id),
        kind=MentionKind.POST,
        url=url,
        # Stack Exchange sends titles and names entity-encoded (and bodies as HTML): decoded, not kept as typed.
        title=text_from_html(item.get("title")),
        author=text_from_html(as_mapping(item.get("owner")).get("display_name")),
        published=from_epoch(item.get("creation_date")),
        summary=shorten(text_from_html(item.get("body")), SUMMARY_CHARS),
        likes=as_count(item.get("score")),
        replies=as_count(item.get("answer_count")),
        views=as_count(item.get("view_count")),
        links=unique_links(links_in_html(item.get("body"), url)),
    )


@dataclass(frozen=True, slots=True)
class Page:
    """One API answer: its questions and the wrapper fields that steer the next call."""

    mentions: tuple[Mention, ...]
    has_more: bool = False
    quota_max: int | None = None
    quota_remaining: int | None = None
    backoff: int | None = None  # seconds before this method may be called again


def error_of(
    body: Any, now: datetime, key_env: str = "", http_status: int | None = None
) -> FetchError | None:
    """A Stack Exchange error wrapper (`error_id`, `error_name`, `error_message`) -> the error to raise."""
    if not isinstance(body, Mapping) or "error_id" not in body:
        return None
    error_id = as_count(body.get("error_id"))
    name = plain_text(str(body.get("error_name") or "error"))
    detail = shorten(plain_text(str(body.get("error_message") or "")), 200)
    message = f"Stack Exchange {name} ({error_id}): {detail}".rstrip(": ")
    if error_id == 502:  # throttle_violation: the quota is spent or requests came too fast
        wait = _SECONDS.search(detail)
        seconds = ascii_integer(wait.group(1)) if wait else None
        # Bounded before timedelta: "99999999999999999999 seconds" would overflow it.
        delay = (
            DEFAULT_THROTTLE_WAIT
            if seconds is None
            else timedelta(seconds=min(seconds, MAX_WAIT.total_seconds()))
        )
        return RateLimited(message, until=now + min(delay, MAX_WAIT), http_status=http_status)
    if error_id == 503:  # temporarily_unavailable
        return RateLimited(message, until=now + timedelta(minutes=5), http_status=http_status)
    if error_id in _KEY_ERRORS:
        env_var = key_env or SUGGESTED_KEY_ENV
        return NeedsCredentials(f"{message} (set {env_var})", env_var=env_var, http_status=http_status)
    return HTTPError(message, http_status=http_status)


def parse_page(body: Any, now: datetime, key_env: str = "") -> Page:
    """A search or /questions body -> its questions and wrapper; the API's own error wrapper raises."""
    error = error_of(body, now, key_env)
    if error is not None:
        raise error
    if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
        raise ParseError("Stack Exchange answer without an 'items' list")
    return Page(
        mentions=mentions_from(body["items"], question_to_mention, "question"),
        has_more=body.get("has_more") is True,
        quota_max=as_count(body.get("quota_max")),
        quota_remaining=as_count(body.get("quota_remaining")),
        backoff=as_count(body.get("backoff")),
    )


def refresh_ids(keys: Iterable[str], skip: Iterable[str], limit: int = PAGE_SIZE) -> list[str]:
    """Young question ids still to re-read, newest (highest id) first, at most one call's worth."""
    return newest_first(keys, limit, skip=skip)


def refresh_due(refreshed_at: int | None, now: datetime, quota_remaining: int | None) -> bool:
    """Counts change slowly and the daily quota is small: refresh hourly, and never on the last requests."""
    if quota_remaining is not None and quota_remaining < QUOTA_RESERVE:
        return False
    return refreshed_at is None or now.timestamp() - refreshed_at >= REFRESH_EVERY


def explain_refusal(error: HTTPError, now: datetime, key_env: str = "") -> FetchError:
    """Stack Exchange answers every refusal with HTTP 400 and says why in the body (`error_id`): read it
    when the fetcher kept the body (`error.body`), else say what a 400 from this API usually means."""
    body = getattr(error, "body", None)
    if isinstance(body, bytes | bytearray) and body.strip():
        try:
            mapped = error_of(json.loads(body), now, key_env, error.http_status)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            mapped = None
        if mapped is not None:
            return mapped
    if error.http_status == 400:
        return HTTPError(
            f"{error.message} (Stack Exchange: a bad parameter or site name, or the daily quota is spent)",
            http_status=400,
        )
    return error


# --- the source ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class QuotaExchange(Exchange):
    """An Exchange that also reads the API's wrapper: the daily quota (shown in the notes) and `backoff`.

    The API reports its limits in that wrapper, not in headers, so `read_page` reads no rate-limit headers.
    """

    key_env: str = ""
    quota: tuple[int | None, int | None] = (None, None)  # (remaining, max) from the latest answer

    def read_page(self, response: Response) -> Page:
        self.count(response)
        page = parse_page(json_body(response), self.now, self.key_env)
        if page.quota_remaining is not None:
            self.quota = (page.quota_remaining, page.quota_max)
        if page.backoff:
            self.hold_until(self.now + timedelta(seconds=min(page.backoff, MAX_WAIT.total_seconds())))
        return page

    def summary(self) -> str:
        remaining, most = self.quota
        quota = [] if remaining is None else [f"quota {remaining}/{most}" if most else f"quota {remaining}"]
        return "; ".join([*quota, *self.notes])


@register
class StackExchangeSource(Source):
    type_name = "stackexchange"
    default_base_url = "https://api.stackexchange.com"
    keys = {
        "query": KeySpec(str, required=True, help="free text searched in titles and bodies"),
        "site": KeySpec(
            str, default="stackoverflow", help="the site's API name: stackoverflow, superuser, ..."
        ),
        "tagged": KeySpec(str, help="only questions with these tags, ';'-separated"),
        "key_env": KeySpec(str, help="environment variable holding an API key (10,000 requests a day)"),
    }
    # One search (plus an hourly refresh) every 10 minutes stays inside the anonymous 300 requests a day.
    min_interval = 600.0

    async def poll(self, ctx: PollContext) -> PollOutcome:
        key_env = str(self.config.option("key_env") or "")
        exchange = QuotaExchange(now=ctx.now, key_env=key_env)
        if key_env and not ctx.env.get(key_env):
            exchange.notes.append(f"{key_env} is not set: anonymous quota")
        seen = SeenUpTo() if ctx.first_poll else SeenUpTo.from_cursor(ctx.cursor)
        found = await self._search(ctx, seen, exchange)
        cursor: dict[str, Any] = seen.advance(found).to_cursor() or {
            key: value for key, value in ctx.cursor.items() if key in ("since", "at_since")
        }
        refreshed_at = as_count(ctx.cursor.get("refreshed_at"))
        refreshed: list[Mention] = []
        ids = refresh_ids(ctx.refresh_keys, {m.key for m in found})
        if ids and refresh_due(refreshed_at, ctx.now, exchange.quota[0]):
            refreshed = await self._refresh(ctx, ids, exchange)
            refreshed_at = int(ctx.now.timestamp())
        if refreshed_at is not None:
            cursor["refreshed_at"] = refreshed_at
        return exchange.outcome((*found, *refreshed), cursor)

    def _common_params(self, ctx: PollContext) -> dict[str, str]:
        params = {"site": str(self.config.option("site") or "stackoverflow"), "filter": FILTER}
        key_env = str(self.config.option("key_env") or "")
        if key_env and ctx.env.get(key_env):
            params["key"] = ctx.env[key_env]
        return params

    def _search_params(self, ctx: PollContext, seen: SeenUpTo, page_size: int) -> dict[str, str]:
        params = {
            "q": required_query(self),
            "sort": "creation",
            "order": "desc",
            "pagesize": str(page_size),
            **self._common_params(ctx),
        }
        tagged = str(self.config.option("tagged") or "").strip()
        if tagged:
            params["tagged"] = tagged
        if seen.at is not None:
            params["fromdate"] = str(int(seen.at))
        return params

    async def _search(self, ctx: PollContext, seen: SeenUpTo, exchange: QuotaExchange) -> list[Mention]:
        """New questions, newest first, up to max_items over as many pages as the API has."""
        limit = max(1, self.config.max_items)
        params = self._search_params(ctx, seen, min(limit, PAGE_SIZE))
        found: dict[str, Mention] = {}
        page_number = 1
        while True:
            try:
                page = exchange.read_page(
                    await self._get(ctx, SEARCH_PATH, {**params, "page": str(page_number)})
                )
            except FetchError as error:
                # Later pages of a first poll are a bounded backfill: keep what came. An incremental poll
                # must not leave a gap, so it fails whole and retries from the same cursor.
                if page_number == 1 or seen.at is not None:
                    raise
                exchange.setback(f"page {page_number}", error)
                break
            for mention in page.mentions:
                if seen.is_new(mention) and len(found) < limit:
                    found.setdefault(mention.key, mention)
            if not page.has_more or len(found) >= limit or page.backoff:
                break
            page_number += 1
        exchange.note_max_items(len(found), limit, incremental=seen.at is not None)
        return list(found.values())

    async def _refresh(self, ctx: PollContext, ids: Sequence[str], exchange: QuotaExchange) -> list[Mention]:
        """Current score, answers and views of young questions, in one call (best effort)."""
        params = {"pagesize": str(PAGE_SIZE), **self._common_params(ctx)}
        try:
            page = exchange.read_page(await self._get(ctx, QUESTIONS_PATH + ";".join(ids), params))
        except FetchError as error:
            exchange.setback("engagement refresh", error)
            return []
        wanted = set(ids)
        return [mention for mention in page.mentions if mention.key in wanted]

    async def _get(self, ctx: PollContext, path: str, params: Mapping[str, str]) -> Response:
        key_env = str(self.config.option("key_env") or "")
        try:
            return await ctx.fetch(Request(self.base_url + path, params=params))
        except HTTPError as error:
            raise explain_refusal(error, ctx.now, key_env) from error
        except FetchError as error:
            raise needs_credentials(error, key_env or SUGGESTED_KEY_ENV) from error
