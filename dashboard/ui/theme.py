"""Theme colours for Rich `Text` cells (DataTable renders Rich styles, which know no $variables).

Widgets built from `Content` use `$success`-style variables directly; DataTable cells go through
`cell_style`, which resolves the same variables against the app's current theme.
"""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError

_resolved: dict[tuple[str, str], Style] = {}


def cell_style(app: App[object], spec: str) -> Style:
    """'bold $success' -> a Rich Style in the current theme's colours (cached per theme)."""
    cache_key = (app.theme, spec)
    style = _resolved.get(cache_key)
    if style is None:
        style = _resolved[cache_key] = resolve_style(spec, app.get_css_variables())
    return style


def resolve_style(spec: str, variables: dict[str, str]) -> Style:
    """Replace each `$name` in a style spec by the theme colour it names; drop unknown names."""
    words: list[str] = []
    for word in spec.split():
        if not word.startswith("$"):
            words.append(word)
            continue
        try:
            colour = Color.parse(variables.get(word[1:], "").split()[0])
        except (ColorParseError, IndexError):
            continue
        words.append(colour.hex6)
    return Style.parse(" ".join(words)) if words else Style()
