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

Cost, measured by bench/bench_opinion.py: building the detector takes ~0.5 s and ~40 MB once per
process (call it in the parse workers or a back-fill thread, never on the UI thread).
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
