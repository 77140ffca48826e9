"""Echo (issue 12): the community's own posts and the conversation around them, across networks.

The linking rules (the store keeps the links: dashboard/store/links.py, canonical URLs: dashboard/links.py):

- An own post is a mention of kind "post" from a source marked `own`. Its identity is its canonical
  URL: the same URL in two own feeds, or shared on three networks, is ONE post. Its representative
  (`post_id`, `source`, `title`) is its earliest published mention (then the lowest id);
  `published_at` is that earliest time. An own post without a canonical URL cannot be linked and is
  left out. A post deleted from its feed is still in the store, so still a post.
- A reaction is any other mention with a `mention_links` row whose url is the post's canonical URL;
  a mention linking two posts reacts to both. "Other" leaves out the own sources' mentions whose own
  canonical URL is the post's (the post itself in any own feed, its comments and pingbacks). The same
  thing seen by two sources (an HN story found by a keyword search and by a domain search) is one
  reaction: reactions are distinct by their own canonical URL, keeping the one reporting the most
  engagement.
- Comments and pingbacks are the own sources' mentions of kind "comment" / "pingback" whose canonical
  URL is the post's (a WordPress comment feed's `post#comment-12`).
- Nothing is stored at link time: every computation joins what is stored, so reactions seen before
  the post arrived join it as soon as it does.

The window: `posts_frame` lists the own posts published in the window OR with a reaction, comment or
pingback published in it (a post from last month that takes off today shows). Its counts (reactions,
comments, pingbacks, engagement, networks, first/last reaction) are over what was published in the
window, like every other panel; `time_to_first_reaction` is the post's own (its first stored reaction
ever, up to the window's end, minus its publication; a reaction dated before the post counts as
immediate, 0), so an old post taking off keeps its real time to first reaction.

`growing`: at least GROWING_MIN reactions in the latest quarter of the window, at a higher hourly rate
than in the rest of the window since the post was published; a post published within the latest
quarter grows with its first GROWING_MIN reactions there.

The SQL lives here beside the pandas that uses it (issue 16); it reads the store through
`StoreReader.query`. Over 1M mentions the panel costs one index range per own source
(mentions_source_published), one per post URL on mention_links_url and on mentions_canonical_url, and
a rowid lookup per link (bench/bench_posts.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from dashboard.analytics.windows import Window
from dashboard.links import canonical_url
from dashboard.store.reader import NULL_INT, StoreReader, engagement_of, nullable_int, timestamps

POST_COLUMNS: Final = (
    "post_id",
    "post_url",
    "source",
    "title",
    "published_at",
    "reactions",
    "comments",
    "pingbacks",
    "reaction_engagement",
    "networks",
    "reactions_by_network",
    "first_reaction_at",
    "last_reaction_at",
    "time_to_first_reaction",
    "growing",
)
REACTION_COLUMNS: Final = (
    "post_url",
    "id",
    "source",
    "source_type",
    "kind",
    "url",
    "title",
    "author",
    "published_at",
    "engagement",
    "matched_by",
)
# matched_by of the blog's own comments and pingbacks (the others say where the link was found).
BLOG_KINDS: Final = ("comment", "pingback")
GROWING_MIN: Final = 2
GROWING_PART: Final = 0.25  # the latest quarter of the window


# The own posts: one index range per own source (the unary `+` keeps SQLite off mentions_canonical_url,
# which would scan every mention: 380 ms instead of 33 over 1M, bench/bench_posts.py).
_OWN_POSTS_SQL = """
    SELECT m.id, m.source_id, m.canonical_url, m.title, m.published_at FROM mentions m
    WHERE m.source_id IN (SELECT id FROM sources WHERE own = 1) AND +m.kind = 'post'
          AND +m.canonical_url IS NOT NULL {post_filter}"""

# Every reacting mention and every blog comment of the posts, all time: one range per post URL on
# mention_links_url and on mentions_canonical_url, a rowid lookup per row.
_REACTIONS_SQL = f"""
    WITH own(id) AS MATERIALIZED (SELECT id FROM sources WHERE own = 1),
    posts(url) AS MATERIALIZED ({{posts}})
    SELECT p.url, l.via, r.id, r.source_id, r.kind, r.published_at, IFNULL(r.canonical_url, ''),
           IFNULL(r.likes, {NULL_INT}), IFNULL(r.replies, {NULL_INT}), IFNULL(r.shares, {NULL_INT}) {{details}}
    FROM posts p JOIN mention_links l ON l.url = p.url JOIN mentions r ON r.id = l.mention_id
    WHERE NOT (r.source_id IN (SELECT id FROM own) AND r.canonical_url = p.url)
    UNION ALL
    SELECT p.url, r.kind, r.id, r.source_id, r.kind, r.published_at, r.canonical_url,
           IFNULL(r.likes, {NULL_INT}), IFNULL(r.replies, {NULL_INT}), IFNULL(r.shares, {NULL_INT}) {{details}}
    FROM posts p JOIN mentions r ON r.canonical_url = p.url
    WHERE +r.source_id IN (SELECT id FROM own) AND +r.kind IN ('comment', 'pingback')"""
_RAW = (
    "post_url",
    "matched_by",
    "id",
    "source_id",
    "kind",
    "published_at",
    "canonical",
    "likes",
    "replies",
    "shares",
)
_DETAILS = ", r.url, r.title, r.author"
_POST_URLS_SQL = """SELECT DISTINCT m.canonical_url FROM mentions m
    WHERE m.source_id IN (SELECT id FROM own) AND +m.kind = 'post' AND +m.canonical_url IS NOT NULL {post_filter}"""
# The URLs own_posts already read, passed as one JSON array: the posts are not read twice (44 ms of
# the panel's CPU over 1M mentions).
_GIVEN_URLS_SQL = "SELECT DISTINCT value FROM json_each(?)"


def own_posts(reader: StoreReader, post_url: str | None = None) -> pd.DataFrame:
    """One row per own post (canonical URL): [post_id, post_url, source_id, title, published_at (epoch)]."""
    where, params = ("AND m.canonical_url = ?", [post_url]) if post_url is not None else ("", [])
    rows = reader.query(_OWN_POSTS_SQL.format(post_filter=where), params)
    raw = pd.DataFrame(rows, columns=["post_id", "source_id", "post_url", "title", "published_at"])
    raw = raw.astype({"post_id": np.int64, "source_id": np.int64, "published_at": np.int64})
    raw = raw.sort_values(["published_at", "post_id"], kind="stable")
    first = raw.drop_duplicates("post_url", keep="first").reset_index(drop=True)
    first["post_url"] = first["post_url"].astype("str")
    first["title"] = first["title"].astype("str")
    return first


def reaction_rows(
    reader: StoreReader,
    *,
    post_url: str | None = None,
    post_urls: Sequence[str] | None = None,
    details: bool = False,
) -> pd.DataFrame:
    """Every reaction, comment and pingback of the own posts (or of one; or of `post_urls`, own posts'
    URLs already read), all time, one row per post and reacting mention (duplicates seen by two
    sources folded): epoch published_at, Int64 engagement, source names and types, matched_by."""
    params: list[Any]
    if post_urls is not None:
        posts, params = _GIVEN_URLS_SQL, [json.dumps(list(post_urls))]
    else:
        where, params = ("AND m.canonical_url = ?", [post_url]) if post_url is not None else ("", [])
        posts = _POST_URLS_SQL.format(post_filter=where)
    sql = _REACTIONS_SQL.format(posts=posts, details=_DETAILS if details else "")
    columns = [*_RAW, *(("url", "title", "author") if details else ())]
    raw = pd.DataFrame(reader.query(sql, params), columns=columns)
    sources = pd.DataFrame(reader.query("SELECT id, name, type FROM sources"), columns=["id", "name", "type"])
    names = dict(zip(sources["id"], sources["name"], strict=True))
    types = dict(zip(sources["id"], sources["type"], strict=True))
    ids = raw["source_id"].astype(np.int64)
    frame = pd.DataFrame(
        {
            "post_url": raw["post_url"].astype("str"),
            "id": raw["id"].astype(np.int64),
            "source": ids.map(names).astype("str"),
            "source_type": ids.map(types).astype("str"),
            "kind": raw["kind"].astype("str"),
            "published_at": raw["published_at"].astype(np.int64),
            "matched_by": raw["matched_by"].astype("str"),
        }
    )
    counts = {
        name: nullable_int(raw[name].to_numpy(dtype=np.int64)) for name in ("likes", "replies", "shares")
    }
    frame["engagement"] = engagement_of(*(pd.Series(counts[n]) for n in ("likes", "replies", "shares")))
    for column in ("url", "title", "author") if details else ():
        frame[column] = raw[column].astype("str")
    return _fold_duplicates(frame, raw["canonical"].astype("str"))


def _fold_duplicates(frame: pd.DataFrame, canonical: pd.Series) -> pd.DataFrame:
    """One reaction per post and thing on the web: rows with the same own canonical URL (not the post's
    own URL, and never the blog's comments, which all share it) are one, the most engaged kept."""
    blog = frame["matched_by"].isin(BLOG_KINDS)
    usable = (canonical != "") & (canonical != frame["post_url"]) & ~blog
    pairs = pd.DataFrame({"post": frame["post_url"], "key": canonical})[usable]
    twins = pairs.index[pairs.duplicated(keep=False)]
    if not len(twins):  # the usual case: nothing seen twice, nothing to sort
        return frame.reset_index(drop=True)
    group = frame.loc[twins].assign(
        _key=canonical[twins], _eng=frame.loc[twins, "engagement"].fillna(NULL_INT)
    )
    group = group.sort_values(["_eng", "id"], ascending=[False, True], kind="stable")
    dropped = group.index[group.duplicated(["post_url", "_key"], keep="first")]
    return frame.drop(index=dropped).reset_index(drop=True)


def posts_frame(reader: StoreReader, window: Window) -> pd.DataFrame:
    """The window's own posts, ranked by reactions then reaction_engagement: `POST_COLUMNS`."""
    posts = own_posts(reader)
    reactions = reaction_rows(reader, post_urls=posts["post_url"].tolist())
    return posts_from(posts, reactions, window, reader.source_names())


def posts_from(
    posts: pd.DataFrame, reactions: pd.DataFrame, window: Window, names: dict[int, str]
) -> pd.DataFrame:
    """posts_frame from its inputs: own_posts, reaction_rows (all time) and the source names."""
    start, end = window.start_epoch, window.end_epoch
    at = reactions["published_at"]
    in_window = reactions[(at >= start) & (at < end)]
    blog = in_window["matched_by"].isin(BLOG_KINDS)
    echo, comments = in_window[~blog], in_window[blog]
    before_end = reactions[(at < end) & ~reactions["matched_by"].isin(BLOG_KINDS)]
    first_ever = before_end.groupby("post_url")["published_at"].min()

    grouped = echo.groupby("post_url")
    counted = pd.DataFrame(
        {
            "reactions": grouped.size(),
            "reaction_engagement": grouped["engagement"].sum(min_count=1),
            "first_reaction_at": grouped["published_at"].min(),
            "last_reaction_at": grouped["published_at"].max(),
        }
    )
    blog_counts = comments.groupby(["post_url", "kind"]).size().unstack(fill_value=0)
    active = set(counted.index) | set(blog_counts.index)
    keep = posts["published_at"].between(start, end - 1) | posts["post_url"].isin(active)
    frame = posts[keep].set_index("post_url")
    frame = frame.join(counted, how="left")
    for kind, column in (("comment", "comments"), ("pingback", "pingbacks")):
        values = blog_counts[kind] if kind in blog_counts.columns else pd.Series(dtype=np.int64)
        frame[column] = values.reindex(frame.index).fillna(0).astype(np.int64)
    frame["reactions"] = frame["reactions"].fillna(0).astype("Int64")
    frame["reaction_engagement"] = frame["reaction_engagement"].astype("Int64")
    networks, by_network = _networks(echo)
    frame["networks"] = networks.reindex(frame.index).fillna("").astype("str")
    frame["reactions_by_network"] = by_network.reindex(frame.index).fillna("").astype("str")
    frame["growing"] = _growing(echo, frame["published_at"], window).reindex(frame.index).fillna(False)
    first = first_ever.reindex(frame.index)
    delay = np.maximum(first.to_numpy(dtype=float) - frame["published_at"].to_numpy(dtype=float), 0)
    frame["time_to_first_reaction"] = pd.to_timedelta(delay, unit="s")
    frame = frame.reset_index()
    frame["source"] = frame["source_id"].map(names).astype("str")
    for column in ("published_at", "first_reaction_at", "last_reaction_at"):
        values = frame[column].astype("Float64").fillna(NULL_INT).astype(np.int64)
        frame[column] = timestamps(values.to_numpy())
    frame["growing"] = frame["growing"].astype(bool)
    frame = frame.sort_values(
        ["reactions", "reaction_engagement", "published_at", "post_url"],
        ascending=[False, False, False, True],
        na_position="last",
        kind="stable",
        ignore_index=True,
    )
    return frame[list(POST_COLUMNS)]


def _networks(echo: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per post: its source types by reactions desc ("hackernews; reddit") and with their counts."""
    if echo.empty:
        empty = pd.Series(dtype="str")
        return empty, empty
    counts = echo.groupby(["post_url", "source_type"]).size().rename("n").reset_index()
    counts = counts.sort_values(
        ["post_url", "n", "source_type"], ascending=[True, False, True], kind="stable"
    )
    urls = counts["post_url"].to_numpy(dtype=object)
    types = counts["source_type"].to_numpy(dtype=object)
    labels = (counts["source_type"] + " " + counts["n"].astype("str")).to_numpy(dtype=object)
    # Sorted by post: each post's rows are one run; joining the runs' slices (one str.join per post)
    # costs a tenth of groupby(...).agg("; ".join), which builds a Series per group.
    starts = np.flatnonzero(np.r_[True, urls[1:] != urls[:-1]])
    index = pd.Index(urls[starts], name="post_url")
    networks = pd.Series(["; ".join(part) for part in np.split(types, starts[1:])], index=index, dtype="str")
    by_network = pd.Series(
        ["; ".join(part) for part in np.split(labels, starts[1:])], index=index, dtype="str"
    )
    return networks, by_network


def _growing(echo: pd.DataFrame, published: pd.Series, window: Window) -> pd.Series:
    """See the module docstring: the latest quarter's hourly rate beats the rest of the window's."""
    start, end = window.start_epoch, window.end_epoch
    split = end - int((end - start) * GROWING_PART)
    recent = echo[echo["published_at"] >= split].groupby("post_url").size()
    earlier = echo[echo["published_at"] < split].groupby("post_url").size()
    recent = recent.reindex(published.index).fillna(0)
    earlier = earlier.reindex(published.index).fillna(0)
    before_span = (split - np.maximum(published.to_numpy(dtype=float), start)).clip(min=0)
    recent_span = float(end - split)
    faster = (recent / recent_span).to_numpy() > earlier.to_numpy() / np.where(
        before_span > 0, before_span, np.inf
    )
    flags = (recent.to_numpy() >= GROWING_MIN) & (faster | (before_span <= 0))
    return pd.Series(flags, index=published.index, dtype=bool)


def reactions_of(reader: StoreReader, post_url: str, window: Window | None = None) -> pd.DataFrame:
    """Every reaction of one own post across networks, blog comments and pingbacks included, newest
    first: `REACTION_COLUMNS`. `window` = only those published in it (the panel's counts); None = all."""
    url = canonical_url(post_url) or post_url
    rows = reaction_rows(reader, post_url=url, details=True)
    return _reaction_table(rows, window)


def reactions_table(reader: StoreReader, window: Window) -> pd.DataFrame:
    """The reactions, comments and pingbacks published in the window of every post `posts_frame` lists,
    by post (the posts' order) then newest first: `REACTION_COLUMNS`."""
    posts = posts_frame(reader, window)
    urls = posts["post_url"].tolist()
    rows = _reaction_table(reaction_rows(reader, post_urls=urls, details=True), window)
    order = pd.Series(np.arange(len(posts)), index=posts["post_url"].to_numpy())
    rows = rows[rows["post_url"].isin(order.index)]
    rank = rows["post_url"].map(order)
    return (
        rows.assign(_rank=rank.to_numpy())
        .sort_values("_rank", kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def _reaction_table(rows: pd.DataFrame, window: Window | None) -> pd.DataFrame:
    if window is not None:
        at = rows["published_at"]
        rows = rows[(at >= window.start_epoch) & (at < window.end_epoch)]
    rows = rows.sort_values(["published_at", "id"], ascending=False, kind="stable", ignore_index=True)
    rows["published_at"] = timestamps(rows["published_at"].to_numpy(dtype=np.int64))
    return rows[list(REACTION_COLUMNS)]


__all__ = [
    "BLOG_KINDS",
    "GROWING_MIN",
    "POST_COLUMNS",
    "REACTION_COLUMNS",
    "own_posts",
    "posts_frame",
    "posts_from",
    "reaction_rows",
    "reactions_of",
    "reactions_table",
]
