"""The dashboard's actions in the command palette (ctrl+p), by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from dashboard.durations import WINDOWS

# (name shown in the palette, what it does, the app action it runs)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Poll now", "Poll every source now (r)", "poll_now"),
    ("Pause or resume polling", "Stop or restart the schedule (p)", "toggle_pause"),
    ("Cycle window", " → ".join(choice.label for choice in WINDOWS) + " (w)", "cycle_window"),
    *(
        (f"Window: last {choice.words}", f"Show the last {choice.words}", f"set_window('{choice.spec}')")
        for choice in WINDOWS
    ),
    ("Filter the live stream", "Words, source:NAME, kind:post, sentiment:negative, lang:fr (/)", "filter"),
    ("Clear the filter", "Show every mention in the live stream again (Esc in the filter)", "clear_filter"),
    ("Open details", "Of the mention, post or source under the cursor (Enter)", "open_details"),
    ("Open link", "Of the mention or post under the cursor, in the browser (o)", "open_link"),
    ("Mark handled", "The mention under the cursor in Needs reply (x)", "mark_handled"),
    ("Export a snapshot", "Write the window's data to the export folder (e)", "export"),
    ("Show live stream", "Panel 1", "screen.show_panel('stream')"),
    ("Show needs reply", "Panel 2", "screen.show_panel('needs-reply')"),
    ("Show volume", "Panel 3", "screen.show_panel('volume')"),
    ("Show rising now", "Panel 4", "screen.show_panel('rising')"),
    ("Show voices", "Panel 5", "screen.show_panel('voices')"),
    ("Show share of voice", "Panel 6", "screen.show_panel('topics')"),
    ("Show sources", "Panel 7", "screen.show_panel('sources')"),
    ("Show alerts", "Panel 8", "screen.show_panel('alerts')"),
    ("Show sentiment", "Panel 9: the mood and the most negative mentions", "screen.show_panel('sentiment')"),
    ("Show posts", "Panel 0: own posts by reactions across networks", "screen.show_panel('posts')"),
    ("Help", "Keys and panels (?)", "help"),
    ("Quit", "Stop polling once in-flight writes finish (q)", "quit"),
)


class DashboardCommands(Provider):
    """Every dashboard action, searchable by name."""

    def _offered(self) -> list[tuple[str, str, str]]:
        """The commands the app offers now: in a read-only view, Poll and Pause are not (the app's
        check_action says so, as it does for the footer)."""
        return [command for command in COMMANDS if self._available(command[2])]

    def _available(self, action: str) -> bool:
        if "." in action:  # a screen's action: always there
            return True
        return bool(self.app.check_action(action.split("(", 1)[0], ()))

    async def discover(self) -> Hits:
        for name, help_text, action in self._offered():
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._offered():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(name), partial(self.app.run_action, action), help=help_text
                )
