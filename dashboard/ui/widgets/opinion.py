"""How a mention's sentiment and language look in a table cell (shared by the stream and Sentiment).

A glyph per label in a theme colour: ▲ positive, ● neutral, ▼ negative, and a blank where the
mention has no sentiment (a language not scored, text too short, not analysed yet): unknown is never
drawn as neutral. The language code is shown where it is known, blank otherwise.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import App

from dashboard.ui.safe import safe_str
from dashboard.ui.theme import cell_style
from dashboard.ui.widgets.rows import Record, text_of

GLYPHS = {"positive": "▲", "neutral": "●", "negative": "▼"}
STYLES = {"positive": "$success", "neutral": "$text-muted", "negative": "bold $error"}
LANGUAGE_CAP = 8  # "pt-br", "zh-hant": codes only; anything longer is cut


def sentiment_glyph(label: str) -> str:
    """The glyph for a stored label; '' for no label (or one this version does not know)."""
    return GLYPHS.get(label, "")


def sentiment_cell(app: App[object], record: Record) -> Text:
    """The record's `sentiment_label` as its glyph in the theme's colour (blank when unscored)."""
    label = text_of(record, "sentiment_label")
    glyph = sentiment_glyph(label)
    return Text(glyph, style=cell_style(app, STYLES[label]) if glyph else "", end="")


def language_cell(record: Record) -> Text:
    """The record's language code as stored ('' when unknown); sanitised, it comes from the network."""
    return Text(safe_str(text_of(record, "language"), width=LANGUAGE_CAP), style="", end="")
