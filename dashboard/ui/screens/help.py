"""What every key does, and how to read the panels: two columns, the second wrapping under itself."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from dashboard.durations import WINDOWS

Section = tuple[str, tuple[tuple[str, str], ...]]

# What Tab does depends on the layout (the main screen's breakpoints): with every panel on screen
# it moves to the next panel; with one panel at a time it moves between the row of tabs and the panel.
COMPACT_BELOW = (120, 36)  # columns, rows
TAB_WIDE = "next panel (Shift+Tab: previous)"
TAB_COMPACT = "between the row of tabs and the panel; on the tabs, ← → switch panels"

SECTIONS: tuple[Section, ...] = (
    (
        "Keys",
        (
            ("r", "poll every source now"),
            ("p", "pause or resume polling"),
            ("w", "cycle the window: " + ", ".join(choice.label for choice in WINDOWS)),
            (
                "/",
                "filter the live stream: words, source:NAME, kind:post, sentiment:negative"
                " (positive, neutral), lang:fr (lang:unknown); terms combine (Esc clears it)",
            ),
            ("e", "export a snapshot of the window (a notification gives its folder)"),
            ("1 – 9, 0", "show a panel (0 is the tenth); below 120 × 36 one panel is shown at a time"),
            ("Tab", TAB_WIDE),
            ("ctrl+p", "command palette: every action by name"),
            ("?", "this help"),
            ("q", "quit (polls in flight finish first)"),
        ),
    ),
    (
        "In a panel",
        (
            ("↑ ↓", "move the cursor a row (PgUp, PgDn: a page)"),
            ("Ctrl+Home Ctrl+End", "first and last row; Home and End too in the mention lists"),
            ("n, Home", "live stream: back to the newest row (a line counts those that arrived above)"),
            (
                "Enter",
                "open the mention under the cursor, a post's reactions, or the source's full state and error",
            ),
            ("o", "open the mention's (or the post's) link in the browser"),
            ("x", "mark the mention handled (Needs reply); kept across restarts"),
        ),
    ),
    (
        "In a dialog",
        (
            ("Esc, q", "close it"),
            ("o", "open the mention's link; in a post, the reaction under the cursor (else the post)"),
        ),
    ),
    (
        "Panels",
        (
            ("Header", "the window's figures, each against the window before it (▲ up, ▼ down)"),
            ("Volume", "mentions per bucket; · marks buckets with no data (collection failed), ▼ a spike"),
            ("Live stream", "the newest mentions; ones that just arrived are bold for a few seconds"),
            ("Needs reply", "mentions nobody has answered yet, oldest first"),
            ("Rising now", "mentions gaining likes, replies and shares fastest over the last day"),
            ("Voices", "the most active authors; ★ first seen in this window"),
            ("Share of voice", "mentions of each configured keyword, and the terms trending now"),
            (
                "Sources",
                "each source's health: ok, unchanged (nothing new since the last poll), failing,"
                " rate-limited, needs credentials, gone; Enter shows the full error",
            ),
            ("Alerts", "spikes and sources that started failing, newest first"),
            (
                "Sentiment",
                "positive and negative share per bucket against the window before, the negative share"
                " in the header line, and the most negative mentions; ▲ positive ● neutral ▼ negative,"
                " blank when a mention has no sentiment (a language not scored)",
            ),
            (
                "Posts",
                "your own posts by reactions across networks (↗ still growing), with engagement,"
                " comments, pingbacks and time to the first reaction; Enter lists every reaction",
            ),
        ),
    ),
)


def is_compact(width: int, height: int) -> bool:
    """Whether the main screen shows one panel at a time at this terminal size."""
    return width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]


def sections_for(width: int, height: int) -> tuple[Section, ...]:
    """The help as it is true at this size (only Tab's line differs)."""
    if not is_compact(width, height):
        return SECTIONS
    return tuple(
        (title, tuple((key, TAB_COMPACT if key == "Tab" else text) for key, text in rows))
        for title, rows in SECTIONS
    )


def help_rows(width: int = 200, height: int = 50) -> list[tuple[str, str]]:
    """Every (key or panel, what it does) line, in order: what the screen shows at that size."""
    return [row for _, rows in sections_for(width, height) for row in rows]


class HelpLine(Horizontal):
    """A key (or panel name) and its description; the description wraps in its own column."""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("q", "dismiss_screen", "Close", show=False),
        Binding("question_mark", "dismiss_screen", "Close", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._compact: bool | None = None

    def on_resize(self, event: events.Resize) -> None:
        """A resize across the layout's breakpoint changes what Tab does: say the new truth."""
        compact = is_compact(event.size.width, event.size.height)
        if self._compact is not None and compact != self._compact:
            self.refresh(recompose=True)
        self._compact = compact

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc closes"
            for title, rows in sections_for(self.app.size.width, self.app.size.height):
                yield Static(Content.styled(title, "bold $accent"), classes="help-heading")
                panels = title == "Panels"
                for name, text in rows:
                    yield HelpLine(
                        Static(
                            Content.styled(name, "bold" if panels else "bold $primary"), classes="help-key"
                        ),
                        Static(Content(text), classes="help-text"),
                        classes="-panel" if panels else "",
                    )
        yield Footer()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
