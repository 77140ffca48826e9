"""Opinion: the language of a mention and, in the languages scored, its sentiment.

API (all that the store writer, the back-fill and the panels need):

- `detect_language(text, declared=None) -> str | None`: ISO 639-1 code ("en", "fr", "de", ...) or
  None = unknown (too short or unsure). A valid `declared` code from the source (Mastodon `language`,
  Bluesky `langs[0]`, RSS/Atom `language` / `xml:lang`; "fr-CA" -> "fr") wins over detection.
  `detect_languages(texts, declared=None)` does a batch on all cores (the back-fill).
- `score(text, language, languages=("en", "fr")) -> Sentiment | None`: `Sentiment(score, label)`,
  score in [-1, 1], label "positive" | "neutral" | "negative" (VADER's +-0.05 cut-offs). None when the
  language is None, not in `languages` (the `[settings] languages` list) or not one we can score
  (`SCORED_LANGUAGES` = en, fr), and when the text has no word or emoji: store NULL, never 0 or neutral.
  `score_many(texts, languages_of, languages)` for a batch.
- `opinion_of(title, summary="", declared=None, languages=("en", "fr")) -> Opinion(language, sentiment,
  sentiment_label)`: both for one mention (title + the first 500 characters of its summary), the three
  values to store as they are (None -> NULL). `opinions_of(titles, summaries, declared, languages)` for
  a batch. `OPINION_VERSION`: store it per row; the back-fill redoes rows of an older version.
- `OpinionUnavailable` (an ImportError): raised when detection or English scoring is needed and the
  `opinion` extra is missing; its message holds the command that installs it. French scoring and
  declared languages need nothing beyond the standard library.

Cost, measured by bench/bench_opinion.py on the shared 2-core machine: lingua's models load on first
use (~0.3-0.8 s, ~20 MB per process); `opinion_of` takes ~0.15-0.5 ms per mention (VADER ~0.1-0.2 ms,
detection less when the source declares the language). That is 7-25 CPU s for the 50,000 entries of a
cold poll of 1,000 feeds, whose own CPU is ~8 s: run it off the poll's critical path (a background pass
over rows not yet analysed, like the back-fill), never on the UI thread.

Integration (for the store and the UI, which this package does not touch): a migration adds
`mentions.language TEXT`, `sentiment REAL`, `sentiment_label TEXT` and `opinion_version INTEGER` (NULL =
not analysed yet); the writer or a background pass stores `opinion_of(title, summary, declared,
settings.languages)` with `OPINION_VERSION`; the back-fill does the same with `opinions_of` for rows
whose `opinion_version` is NULL or older. Catch `OpinionUnavailable` once: leave the rows NULL (the
back-fill fills them once the extra is installed) and say the install command.
"""

from dashboard.opinion.errors import INSTALL_HINT, OpinionUnavailable
from dashboard.opinion.language import DETECTED, declared_language, detect_language, detect_languages
from dashboard.opinion.mention import OPINION_VERSION, Opinion, opinion_of, opinion_text, opinions_of
from dashboard.opinion.sentiment import SCORED_LANGUAGES, Sentiment, label_for, score, score_many

__all__ = [
    "DETECTED",
    "INSTALL_HINT",
    "OPINION_VERSION",
    "SCORED_LANGUAGES",
    "Opinion",
    "OpinionUnavailable",
    "Sentiment",
    "declared_language",
    "detect_language",
    "detect_languages",
    "label_for",
    "opinion_of",
    "opinion_text",
    "opinions_of",
    "score",
    "score_many",
]
