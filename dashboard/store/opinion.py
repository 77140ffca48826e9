"""The opinion pass: language and sentiment for the mentions not analysed yet, in bounded batches.

The writer stores a mention without its opinion (`opinion_version` NULL: analysing 50,000 entries of
a cold poll costs 7-25 CPU s, more than the poll itself) and sets it back to NULL when the text
changes. This pass, run in the background (dashboard.polling.background), reads the pending rows
through the partial index `mentions_opinion_pending`, newest first (what the dashboard shows first),
analyses them outside any transaction and writes the results in one short transaction per batch.

A poll may rewrite a row between the read and the write: the write only lands where the row is still
as read (`opinion_version` still NULL and `content_changes` unchanged; `updated_at` would also move
when only the likes changed, which leaves the opinion valid). A row changed meanwhile stays pending
and is read again by the next batch.

Rows analysed by an older OPINION_VERSION are put back in the queue (`opinion_version` = NULL) once
per pass, in short transactions over ranges of ids, so the partial index stays the only way in.

Without the `opinion` extra (OpinionUnavailable) nothing is written: the rows stay pending, the
install command is logged once and kept in `message`, and the next start tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dashboard.opinion import INSTALL_HINT, OPINION_VERSION, Opinion, OpinionUnavailable, opinions_of
from dashboard.store.db import Connection, requeue_older, update_rows

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr")
BATCH = 2000
# Rows re-queued per transaction when OPINION_VERSION was bumped (a range of ids: no full scan held).

# opinions_of's signature: titles, summaries, declared languages, languages scored.
Analyse = Callable[[Sequence[str], Sequence[str], Sequence[str | None], Sequence[str]], list[Opinion]]


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What `analyse_batch` sends back: the opinions, or why there are none (the extra is missing).

    A value rather than the exception, so it crosses a process boundary intact (OpinionUnavailable's
    message would be rebuilt twice by unpickling)."""

    opinions: list[Opinion] | None
    unavailable: str = ""


def analyse_batch(
    titles: Sequence[str], summaries: Sequence[str], declared: Sequence[str | None], languages: Sequence[str]
) -> AnalysisResult:
    """`opinions_of` as a picklable job for a worker process; OpinionUnavailable becomes a value."""
    try:
        return AnalysisResult(opinions_of(titles, summaries, declared, languages))
    except OpinionUnavailable as error:
        return AnalysisResult(None, str(error))


def languages_of(settings: object) -> tuple[str, ...]:
    """The `[settings] languages` list (scored languages), ("en", "fr") where the setting is absent."""
    found = getattr(settings, "languages", None)
    return tuple(found) if found else DEFAULT_LANGUAGES


# What the pass writes; a row's values are these, then its content_changes, then its id.
_OPINION_COLUMNS = (
    ("language", "TEXT"),
    ("sentiment", "DOUBLE PRECISION"),
    ("sentiment_label", "TEXT"),
    ("opinion_version", "BIGINT"),
)


class OpinionPass:
    """Background pass (name, pending, run_batch) that fills language and sentiment.

    `connection`: a writable connection of its own (dashboard.store.db.connect), used from one thread.
    `run`: how a batch is analysed; `analyse_batch` in this thread by default, or the same job sent to
    a low-priority worker process (the service does that, so scoring never competes with polls).
    """

    name = "opinion"
    label = "Language and sentiment"

    def __init__(
        self,
        connection: Connection,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        run: Callable[..., AnalysisResult] | None = None,
    ) -> None:
        self._db = connection
        self.languages = tuple(languages)
        self._run = run or analyse_batch
        self._requeued = False
        # Set when the `opinion` extra is missing: the pass then does nothing until the next start.
        self.message = ""

    @property
    def unavailable(self) -> bool:
        return bool(self.message)

    def pending(self) -> int:
        """Rows not analysed (NULL) or analysed by an older OPINION_VERSION (re-queued first)."""
        self._requeue_older()
        row = self._db.execute("SELECT count(*) FROM mentions WHERE opinion_version IS NULL").fetchone()
        return int(row[0])

    def run_batch(self, limit: int = BATCH) -> int:
        """Analyse up to `limit` pending rows, newest first; returns how many were written (0 when the
        extra is missing or nothing is pending)."""
        if self.unavailable:
            return 0
        self._requeue_older()
        rows = self._db.execute(
            """SELECT id, title, summary, declared_language, content_changes FROM mentions
               INDEXED BY mentions_opinion_pending
               WHERE opinion_version IS NULL ORDER BY id DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        if not rows:
            return 0
        result = self._run(
            [row[1] for row in rows], [row[2] for row in rows], [row[3] for row in rows], self.languages
        )
        if result.opinions is None:
            self.message = result.unavailable or f"the opinion extra is not installed: {INSTALL_HINT}"
            log.warning("language and sentiment are off: %s", self.message)
            return 0
        values = [
            (o.language, o.sentiment, o.sentiment_label, OPINION_VERSION, row[4], row[0])
            for o, row in zip(result.opinions, rows, strict=True)
        ]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Only rows still pending with the text analysed (a poll may have changed it meanwhile).
            written = update_rows(
                self._db,
                "mentions",
                _OPINION_COLUMNS,
                values,
                extra=("BIGINT",),
                condition="mentions.opinion_version IS NULL AND mentions.content_changes = v.column5",
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return written

    def _requeue_older(self) -> None:
        """Once per pass: rows of an older OPINION_VERSION back to pending."""
        if not self._requeued:
            self._requeued = True
            requeue_older(self._db, "opinion_version", OPINION_VERSION)
