"""What every key does, and how to read the panels."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

KEYS: tuple[tuple[str, str], ...] = (
    ("r", "poll every source now"),
    ("p", "pause or resume polling"),
    ("w", "cycle the window: 24 h, 7 d, 30 d"),
    ("/", "filter the live stream: words, source:NAME, kind:post (Esc clears)"),
    ("Enter", "open the mention (or the source's full error) under the cursor"),
    ("o", "open the mention's link in the browser"),
    ("x", "mark the mention under the cursor handled (Needs reply)"),
    ("e", "export a snapshot of the window"),
    ("1-8", "show a panel (narrow terminals show one panel at a time)"),
    ("Tab", "move between panels"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q", "quit (writes in flight finish first)"),
)

PANELS: tuple[tuple[str, str], ...] = (
    ("Header", "the window's figures, each against the window before it (▲ up, ▼ down)"),
    ("Volume", "mentions per bucket; · marks buckets with no data (collection failed), ▼ a spike"),
    ("Live stream", "the newest mentions; ● marks ones that just arrived"),
    ("Needs reply", "mentions waiting for an answer, oldest first"),
    ("Rising now", "mentions gaining engagement fastest"),
    ("Voices", "the most active authors; ★ first seen in this window"),
    ("Share of voice", "mentions of each configured keyword, and trending terms"),
    ("Sources", "every source's health: ok, not modified, failing, rate-limited, needs credentials, gone"),
    ("Alerts", "spikes and sources that started failing"),
)


def help_content() -> Content:
    width = max(len(key) for key, _ in KEYS) + 2
    lines = [Content.styled("Keys", "bold $accent")]
    lines += [Content.assemble((key.ljust(width), "bold $primary"), text) for key, text in KEYS]
    lines += [Content(""), Content.styled("Panels", "bold $accent")]
    panel_width = max(len(name) for name, _ in PANELS) + 2
    lines += [Content.assemble((name.ljust(panel_width), "bold"), text) for name, text in PANELS]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("question_mark", "dismiss_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            yield Static(help_content(), id="help-text")
        yield Footer()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
