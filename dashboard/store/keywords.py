"""The keyword matches the store keeps (schema migration 10), so share of voice counts rows of an index
instead of searching every text of the window (LIKE over a 30-day window of a 1M-mention store took
~0.25 s of each refresh).

- `tracked_keywords` holds feeds.toml's keywords (dashboard.keywords.keyword_key); `sync_keywords`
  makes it match the config when a poller starts. A keyword dropped from the config takes its rows.
- The writer matches each mention it inserts, and each whose text it changes, against every tracked
  keyword in the poll's transaction (`match_new`, `rematch`): the matches of a stored mention are
  always those of its stored text.
- A keyword added starts with `unmatched_below` = the next mention id; `KeywordBackfill` matches the
  older mentions in short batches, newest first (the background pass protocol of
  dashboard.polling.background), down to 0. Readers count a keyword's rows only once it reaches 0
  and search the texts for it until then (dashboard.analytics.keywords), so a count is never partial.

With a team's PostgreSQL store the last poller to start decides the tracked set; a reader whose
keywords are not tracked gets the same counts by the scan, only slower. No mention slips between the
writer and the back-fill: the sync, every save and every back-fill batch are write transactions
(BEGIN IMMEDIATE: SQLite's write lock, PostgreSQL's writers' advisory lock), so a save either ends
before the sync reads MAX(id) or starts after the new keyword is visible to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.keywords import distinct_keywords, keyword_hits, keyword_key, like_pattern, mention_text
from dashboard.store.db import Connection

BATCH = 2000  # mentions per back-fill transaction: a few ms of LIKE and regex


def sync_keywords(db: Connection, keywords: Sequence[str]) -> None:
    """Make the tracked keywords `keywords` (inside the caller's transaction): new ones start
    unmatched below the next mention id, dropped ones go with their matches."""
    wanted = list(dict.fromkeys(keyword_key(keyword) for keyword in distinct_keywords(keywords)))
    current = dict(db.execute("SELECT keyword, id FROM tracked_keywords").fetchall())
    gone = [(keyword_id,) for keyword, keyword_id in current.items() if keyword not in wanted]
    db.executemany("DELETE FROM keyword_mentions WHERE keyword_id = ?", gone)
    db.executemany("DELETE FROM tracked_keywords WHERE id = ?", gone)
    added = [keyword for keyword in wanted if keyword not in current]
    if added:
        # Every mention from the next id on is matched by the writer that stores it (a writer reads the
        # tracked keywords in its own transaction, after this one commits); none before: all matched.
        last = db.execute("SELECT MAX(id) FROM mentions").fetchone()[0]
        db.executemany(
            "INSERT INTO tracked_keywords (keyword, unmatched_below) VALUES (?, ?)",
            [(keyword, 0 if last is None else int(last) + 1) for keyword in added],
        )


def tracked(db: Connection) -> list[tuple[int, str]]:
    """(id, keyword) of every tracked keyword, matched yet or not."""
    return [(int(row[0]), str(row[1])) for row in db.execute("SELECT id, keyword FROM tracked_keywords")]


def matches(keywords: Sequence[tuple[int, str]], texts: Sequence[str]) -> list[tuple[int, int]]:
    """(keyword id, index in `texts`) of every keyword each text names."""
    if not keywords or not texts:
        return []
    hits = keyword_hits(texts, [keyword for _, keyword in keywords])
    return [
        (keyword_id, int(index)) for keyword_id, keyword in keywords for index in hits[keyword].nonzero()[0]
    ]


_INSERT_BY_KEY = """INSERT INTO keyword_mentions (keyword_id, published_at, mention_id)
                    SELECT ?, published_at, id FROM mentions WHERE source_id = ? AND key = ?
                    ON CONFLICT DO NOTHING"""
_INSERT_BY_ID = """INSERT INTO keyword_mentions (keyword_id, published_at, mention_id)
                   SELECT ?, published_at, id FROM mentions WHERE id = ?
                   ON CONFLICT DO NOTHING"""


def match_new(db: Connection, source_id: int, mentions: Sequence[tuple[str, str, str]]) -> None:
    """Store the matches of a source's just-inserted mentions, given as (key, title, summary)."""
    if not mentions:
        return
    found = matches(tracked(db), [mention_text(title, summary) for _, title, summary in mentions])
    db.executemany(_INSERT_BY_KEY, [(keyword_id, source_id, mentions[i][0]) for keyword_id, i in found])


def rematch(db: Connection, mentions: Sequence[tuple[int, str, str]]) -> None:
    """Replace the matches of mentions whose text changed, given as (id, title, summary)."""
    if not mentions:
        return
    db.executemany("DELETE FROM keyword_mentions WHERE mention_id = ?", [(row[0],) for row in mentions])
    found = matches(tracked(db), [mention_text(title, summary) for _, title, summary in mentions])
    db.executemany(_INSERT_BY_ID, [(keyword_id, mentions[i][0]) for keyword_id, i in found])


class KeywordBackfill:
    """Background pass (name, label, pending, run_batch) that matches the mentions stored before a
    keyword was tracked.

    `connection`: a writable connection of its own (dashboard.store.db.connect), used from one thread.
    A batch reads, matches and writes in one short write transaction, so a poll that changes a text
    meanwhile is either before it (the batch reads the new text) or after it (and re-matches); a kill
    between batches loses nothing (`unmatched_below` moves with the rows written).
    """

    name = "keywords"
    label = "Keyword matches"

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def pending(self) -> int:
        """Mentions still to match, summed over the keywords not fully matched."""
        below = [row[0] for row in self._db.execute("SELECT unmatched_below FROM tracked_keywords")]
        return sum(
            int(self._db.execute("SELECT count(*) FROM mentions WHERE id < ?", (bound,)).fetchone()[0])
            for bound in below
            if bound > 0
        )

    def run_batch(self, limit: int = BATCH) -> int:
        """Match the `limit` newest unmatched mentions of one keyword; returns how many were read."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            done = self._match_one_batch(limit)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return done

    def _match_one_batch(self, limit: int) -> int:
        row = self._db.execute(
            "SELECT id, keyword, unmatched_below FROM tracked_keywords WHERE unmatched_below > 0 ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return 0
        keyword_id, keyword, below = int(row[0]), str(row[1]), int(row[2])
        params: list[object]
        # The batch is [low, below): the `limit` mentions below the bound, or all that are left (low 0).
        edge = self._db.execute(
            "SELECT id FROM mentions WHERE id < ? ORDER BY id DESC LIMIT 1 OFFSET ?", (below, limit)
        ).fetchone()
        low = int(edge[0]) + 1 if edge is not None else 0
        count = int(
            self._db.execute(
                "SELECT count(*) FROM mentions WHERE id >= ? AND id < ?", (low, below)
            ).fetchone()[0]
        )
        # LIKE narrows the rows for the regex: a superset of the whole-word matches, for ASCII keywords.
        narrow, params = "", [low, below]
        if keyword.isascii():
            narrow = " AND (title LIKE ? ESCAPE '\\' OR summary LIKE ? ESCAPE '\\')"
            params += [like_pattern(keyword)] * 2
        rows = self._db.execute(
            f"SELECT id, title, summary FROM mentions WHERE id >= ? AND id < ?{narrow}", params
        ).fetchall()
        found = matches([(keyword_id, keyword)], [mention_text(title, summary) for _, title, summary in rows])
        self._db.executemany(_INSERT_BY_ID, [(keyword_id, rows[i][0]) for _, i in found])
        self._db.execute("UPDATE tracked_keywords SET unmatched_below = ? WHERE id = ?", (low, keyword_id))
        return max(count, 1)  # the bound moved: never "nothing more to do" while it is above 0


__all__ = ["BATCH", "KeywordBackfill", "match_new", "matches", "rematch", "sync_keywords", "tracked"]
