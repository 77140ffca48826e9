"""Untrusted text (titles, authors, bodies, server errors) turned into display objects.

Everything from the network reaches the terminal through these helpers, which all go through
`dashboard.text.display_safe` and build `Text`/`Content` objects: never markup strings, so a title
such as `[@click=app.quit]x[/]` is shown literally and cannot act.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from dashboard.text import display_safe, shorten

# Untrusted text is cut to these lengths before it reaches a table cell (the column cuts it further).
TEXT_CAP = 60
TITLE_CAP = 200


def safe_str(value: object, *, one_line: bool = True, width: int | None = None) -> str:
    """The sanitised plain string, folded to one line and cut to `width` if asked."""
    text = display_safe(value, one_line=one_line)
    return shorten(text, width) if width is not None else text


def safe_text(value: object, *, style: str = "", one_line: bool = True, width: int | None = None) -> Text:
    """A Rich `Text` for DataTable cells (which read plain `str` cells as markup)."""
    return Text(safe_str(value, one_line=one_line, width=width), style=style, end="")


def safe_content(value: object, *, style: str = "", one_line: bool = False) -> Content:
    """A Textual `Content` for labels, statics and tooltips; `style` may use theme variables."""
    return Content.styled(safe_str(value, one_line=one_line), style)
