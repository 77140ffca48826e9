"""Links between mentions and the community's own posts (issue 12): the rules, and the back-fill.

The linking rules every reader relies on (dashboard/analytics/posts.py writes the query; this module
and the writer keep the columns and indexes it joins through):

- An own post is a mention of kind 'post' of a source with `sources.own = 1` (`own = true` in
  feeds.toml; a feed gives 'post' for its entries). Its identity is its `canonical_url`
  (dashboard.links.canonical_url of its url): the same URL in two own feeds is ONE post.
- A reaction to a post is any mention, other than the own sources' mentions of that same canonical
  URL, with a `mention_links` row whose `url` equals the post's canonical_url. A mention linking two
  posts reacts to both. The writer does not store a mention's link to its own page (a page does not
  react to itself).
- Blog comments and pingbacks (kind 'comment' / 'pingback') of an own source whose canonical_url
  equals the post's belong to it: `post#comment-12` canonicalises to the post (fragments go).
- Reactions stored before their post was polled link up as soon as the post arrives: linking is a
  join over what is stored (mention_links_url, mentions_canonical_url), nothing is re-run.

`links_version` says which LINKS_VERSION a row's canonical_url and links were made with; NULL = not
yet (rows stored before migration 8). `LinkBackfill` fills those, and re-does rows of an older
version, in short batches, in the background (the same protocol as store.opinion.OpinionPass:
`name`, `label`, `pending()`, `run_batch(limit)`).

What the back-fill can find is less than what a poll finds: `summary` is stored as plain text, so the
anchors of the HTML it came from (a Mastodon status's links, a feed entry's content) are gone, and so
are the API fields that were never stored (a Bluesky embed, a Mastodon card, an HN story url). It
reads the bare URLs left in the title and summary (dashboard.links.urls_in_text: a Reddit link
post's URL, a pasted link), and re-canonicalises the links already stored (a LINKS_VERSION bump). A
mention polled again afterwards gets the source's own links from the writer.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.links import LINKS_VERSION, canonical_url, urls_in_text
from dashboard.store.db import Connection, requeue_older, update_rows

BATCH = 5000
# Rows re-queued per transaction when LINKS_VERSION was bumped (a range of ids: no long write lock).
_CHUNK = 500


def links_from_text(
    url: str, title: str, summary: str, stored: Iterable[tuple[str, str]] = ()
) -> tuple[str | None, list[tuple[str, str]]]:
    """(canonical_url, [(canonical link, via)]) of a stored row: `stored` links re-canonicalised
    first (they keep their via), then the bare URLs of the title and summary (via "content"); each
    URL once, the row's own page left out."""
    own = canonical_url(url) if url else None
    found: dict[str, str] = {}
    candidates = [
        *stored,
        *((text_url, "content") for text_url in urls_in_text(title) + urls_in_text(summary)),
    ]
    for raw, via in candidates:
        link = canonical_url(raw)
        if link is not None and link != own and link not in found:
            found[link] = via
    return own, list(found.items())


class LinkBackfill:
    """Background pass (name, label, pending, run_batch) that links the rows stored without links.

    `connection`: a writable connection of its own (dashboard.store.db.connect), used from one thread.
    Each batch is one short transaction; a kill between batches loses nothing (the rows done carry
    `links_version`, the rest are still pending); a row a poll re-linked meanwhile is left alone.
    """

    name = "links"
    label = "Links to posts"

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._requeued = False

    def pending(self) -> int:
        """Rows without links (links_version NULL) or linked by an older LINKS_VERSION (re-queued)."""
        self._requeue_older()
        row = self._db.execute(
            "SELECT count(*) FROM mentions INDEXED BY mentions_links_pending WHERE links_version IS NULL"
        ).fetchone()
        return int(row[0])

    def run_batch(self, limit: int = BATCH) -> int:
        """Link up to `limit` pending rows, newest first; returns how many were written."""
        self._requeue_older()
        rows = self._db.execute(
            """SELECT id, url, title, summary FROM mentions INDEXED BY mentions_links_pending
               WHERE links_version IS NULL ORDER BY id DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        stored = self._stored_links(ids)
        computed = {row[0]: links_from_text(row[1], row[2], row[3], stored.get(row[0], ())) for row in rows}
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Only the rows still pending: a poll that stored the row's links meanwhile knew more.
            still = self._still_pending(ids)
            done = [(computed[i][0], LINKS_VERSION, i) for i in ids if i in still]
            self._db.executemany(
                "DELETE FROM mention_links WHERE mention_id = ?", [(row[2],) for row in done]
            )
            self._db.executemany(
                "INSERT INTO mention_links (mention_id, url, via) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(i, link, via) for _, _, i in done for link, via in computed[i][1]],
            )
            update_rows(self._db, "mentions", (("canonical_url", "TEXT"), ("links_version", "BIGINT")), done)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return len(done)

    def _stored_links(self, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
        found: dict[int, list[tuple[str, str]]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for mention_id, url, via in self._db.execute(
                f"SELECT mention_id, url, via FROM mention_links WHERE mention_id IN ({marks})", chunk
            ):
                found.setdefault(mention_id, []).append((url, via))
        return found

    def _still_pending(self, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self._db.execute(
                    f"SELECT id FROM mentions WHERE id IN ({marks}) AND links_version IS NULL", chunk
                )
            )
        return found

    def _requeue_older(self) -> None:
        """Once per pass: rows of an older LINKS_VERSION back to pending."""
        if not self._requeued:
            self._requeued = True
            requeue_older(self._db, "links_version", LINKS_VERSION)
