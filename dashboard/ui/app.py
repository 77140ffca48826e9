"""The dashboard app: composes the main screen, runs the poller and the analytics off the UI thread.

Data flows down as attributes (the app hands each result to the main screen, which hands each
panel its part); panels post messages up (a mention chosen, a mention handled, a filter edited).
Reading goes through `dashboard.ui.data` in thread workers; polling runs the core's Poller in an
async worker, one poll per source at a time, each finished poll posting `PollFinished`.
"""

from __future__ import annotations

import asyncio
import json
import time
import webbrowser
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from dashboard.analytics.status import Health, health_of
from dashboard.clock import utc_now
from dashboard.config import APP_NAME, Config
from dashboard.database import Database, is_postgres
from dashboard.durations import DEFAULT_WINDOW, WINDOW_SPECS, window_label
from dashboard.models import PollRecord
from dashboard.ui import data
from dashboard.ui.commands import DashboardCommands
from dashboard.ui.safe import safe_str
from dashboard.ui.screens.detail import MentionDetailScreen
from dashboard.ui.screens.help import HelpScreen
from dashboard.ui.screens.main import MainScreen
from dashboard.ui.screens.post_detail import PostDetailScreen
from dashboard.ui.screens.source_detail import SourceDetailScreen
from dashboard.ui.views import DashboardView, dashboard_view
from dashboard.ui.widgets.kpis import HeaderState
from dashboard.ui.widgets.mentions import MentionTablePanel
from dashboard.ui.widgets.needs_reply import NeedsReplyPanel
from dashboard.ui.widgets.panel import Panel
from dashboard.ui.widgets.posts import PostsPanel
from dashboard.ui.widgets.sources import SourcesPanel
from dashboard.ui.widgets.stream import MAX_ROWS, MentionFilter, StreamPanel
from dashboard.ui.widgets.table import KeyedTable

if TYPE_CHECKING:
    from dashboard.alerts.service import Round
    from dashboard.polling.background import BackgroundProgress
    from dashboard.polling.poller import Poller, PollerStopped
    from dashboard.store.writer import Store

REFRESH_DEBOUNCE = 0.75  # seconds: polls finishing close together recompute once
FILTER_DEBOUNCE = 0.25
REFRESH_EVERY = 30.0  # seconds: time moves on
REFRESH_EVERY_READONLY = 5.0  # seconds: a read-only instance sees the other instance's polls this soon
QUIT_GRACE = 5.0  # seconds in-flight polls get to finish when quitting

# What each group of background work is called when it fails (the header and the notification say it).
WORK_NAMES = {
    "dashboard": "Computing the panels",
    "stream": "Loading the live stream",
    "change-check": "Checking the store for news",
    "write": "Writing to the store",
    "poll": "Polling now",
}
PREFERENCES_FILE = "ui.json"
DEFAULT_THEME = "textual-dark"  # Textual's own default: not written down until another is chosen


class DashboardApp(App[None]):
    """The live dashboard. Build it with `make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "Community dashboard"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "poll_now", "Poll"),
        Binding("p", "toggle_pause", "Pause"),
        # Where polling is off, the two above are hidden (check_action) and these explain why instead.
        Binding("r", "why_not_polling", show=False),
        Binding("p", "why_not_polling", show=False),
        Binding("w", "cycle_window", "Window"),
        Binding("slash", "filter", "Filter"),
        Binding("e", "export", "Export"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    class PollFinished(Message):
        """One source's poll ended (success or failure) and is stored."""

        def __init__(self, record: PollRecord) -> None:
            super().__init__()
            self.record = record

    class DashboardComputed(Message):
        """Fresh analytics for the window."""

        def __init__(self, view: DashboardView, window: str) -> None:
            super().__init__()
            self.view = view
            self.window = window

    class ComputeEnded(Message):
        """A compute finished (or failed) after `seconds`: the next one may start."""

        def __init__(self, seconds: float) -> None:
            super().__init__()
            self.seconds = seconds

    class MentionsLoaded(Message):
        """The live stream's newest rows (under the current filter)."""

        def __init__(self, rows: list[dict[str, Any]], mention_filter: MentionFilter) -> None:
            super().__init__()
            self.rows = rows
            self.mention_filter = mention_filter

    class BackgroundProgressed(Message):
        """A background pass (the language and sentiment back-fill, ...) finished a batch."""

        def __init__(self, progress: BackgroundProgress) -> None:
            super().__init__()
            self.progress = progress

    class AlertsLoaded(Message):
        """The alert log as the store has it (the Alerts panel shows it)."""

        def __init__(self, view: data.AlertLogView) -> None:
            super().__init__()
            self.view = view

    window: reactive[str] = reactive(DEFAULT_WINDOW.spec)
    paused: reactive[bool] = reactive(False)

    def __init__(
        self,
        config: Config,
        *,
        database: Database,
        readonly: bool = False,
        clock: Callable[[], datetime] = utc_now,
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        self.database = database
        self.readonly = readonly
        self.clock = clock
        self.polling_enabled = poll and not readonly
        self.mention_filter = MentionFilter()
        self._store: Store | None = None
        self._poller: Poller | None = None
        self._stop = asyncio.Event()
        self._pause = asyncio.Event()
        self._refresh_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._computing = False
        self._compute_again = False
        self._last_token: tuple[int, ...] = ()
        # True from the moment quitting starts: results that arrive later are dropped quietly.
        self._quitting = False
        # Failed background work, by group, until that group next succeeds (shown in the header).
        self._problems: dict[str, str] = {}
        # Why the poller ended, if it ended without being asked to.
        self._poller_stopped = ""
        self._stop_detail = ""  # the poller's PollerStopped message, when it gave one

    # -- lifecycle ----------------------------------------------------------------------------

    async def on_mount(self) -> None:
        saved_theme = load_preferences().get("theme")
        if isinstance(saved_theme, str) and saved_theme in self.available_themes:
            self.theme = saved_theme
        await self.push_screen(MainScreen(configured=len(self.config.sources)))
        if not self.readonly:
            self._store = data.open_store(self.database)
        self._update_header()
        self.refresh_now()
        # A read-only view of a PostgreSQL store is told of each stored poll (LISTEN/NOTIFY); of a
        # SQLite file, it looks every few seconds (two rowid reads).
        listens = self.readonly and is_postgres(self.database)
        every = REFRESH_EVERY_READONLY if self.readonly and not listens else REFRESH_EVERY
        self.set_interval(every, self._refresh_if_changed, name="periodic refresh")
        if listens:
            self._listen_for_changes()
        if self.polling_enabled:
            self._run_poller()

    @property
    def main(self) -> MainScreen:
        return self._main_screen()

    def _has_main(self) -> bool:
        return any(isinstance(screen, MainScreen) for screen in self.screen_stack)

    def _main_screen(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("the main screen is not mounted")

    @property
    def live(self) -> bool:
        """False once quitting has begun or before the main screen exists: late results are dropped."""
        return not self._quitting and self._has_main()

    async def action_quit(self) -> None:
        """Stop polling; wait (briefly) for in-flight polls and for writes, then leave."""
        if self._quitting:
            return
        self._quitting = True
        self._stop.set()
        pending = [worker for worker in self.workers if worker.group in ("poll", "write")]
        if pending:
            self.notify("Finishing in-flight work…", timeout=QUIT_GRACE)
            try:
                async with asyncio.timeout(QUIT_GRACE):
                    await self.workers.wait_for_complete(pending)
            except TimeoutError:
                pass
        self._teardown()
        self.exit()

    def on_unmount(self) -> None:
        """However the app ends (q, ctrl+q, an error), no work outlives the store it writes to."""
        self._teardown()

    def _teardown(self) -> None:
        """Cancel every worker, then close the store: in that order, so nothing writes to a closed one."""
        self._quitting = True
        self._stop.set()
        self.workers.cancel_all()
        if self._store is not None:
            self._store.close()
            self._store = None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failed background work is shown (a notification and a mark in the header), never left to
        leave the panels silently stale; the poller ending on its own is shown as 'Polling stopped'."""
        worker, state = event.worker, event.state
        if self._quitting:
            return
        if worker.name == "poller":
            if state is WorkerState.ERROR:
                detail = self._stop_detail or str(worker.error) or type(worker.error).__name__
                self._poller_ended(safe_str(detail, width=120))
            elif state in (WorkerState.SUCCESS, WorkerState.CANCELLED) and not self._stop.is_set():
                self._poller_ended("the poller ended unexpectedly")
            return
        group = worker.group
        if state is WorkerState.ERROR:
            error = worker.error
            reason = safe_str(error, width=120) or type(error).__name__
            message = f"{WORK_NAMES.get(group, worker.name)} failed: {reason}"
            self._problems[group] = message
            self.notify(message, severity="error", markup=False, timeout=15)
            self._update_header()
        elif state is WorkerState.SUCCESS and self._problems.pop(group, None) is not None:
            self._update_header()

    def _poller_ended(self, reason: str) -> None:
        self._poller_stopped = reason
        self.notify(f"Polling stopped: {reason}", severity="error", markup=False, timeout=30)
        self._update_header()

    # -- polling ------------------------------------------------------------------------------

    @work(group="poll", exit_on_error=False, name="poller")
    async def _run_poller(self) -> None:
        """Poll each source on its own schedule until quit; re-armed by the Poller after each poll."""
        try:
            async with (
                data.running_poller(
                    self.config, self.database, clock=self.clock, on_background=self._background_progress
                ) as poller,
                data.alerts_beside(
                    self.config.alerts, self.database, clock=self.clock, on_round=self._alert_round
                ),
            ):
                self._poller = poller
                await poller.run(
                    self._stop,
                    on_record=self._poll_finished,
                    paused=self._pause,
                    on_stopped=self._stopped_said,
                )
        finally:  # how it ended is said by on_worker_state_changed
            self._poller = None

    def _background_progress(self, progress: BackgroundProgress) -> None:
        """Called in the background runner's thread: handed to the UI thread as a message."""
        self.post_message(self.BackgroundProgressed(progress))

    def on_dashboard_app_background_progressed(self, message: BackgroundProgressed) -> None:
        if self.live:
            self.main.show_background(message.progress)

    def _stopped_said(self, stopped: PollerStopped) -> None:
        """The poller's own account of why it stopped (URLs' credentials redacted), used by the
        worker-state handler when the error arrives."""
        self._stop_detail = stopped.message.removeprefix("Polling stopped: ")

    def _alert_round(self, outcome: Round) -> None:
        """The alert task stored new alerts or delivered some: show the log as it is now."""
        if outcome.raised or outcome.sent:
            self._load_alerts()

    def _poll_finished(self, record: PollRecord) -> None:
        self.post_message(self.PollFinished(record))

    def on_dashboard_app_poll_finished(self, message: PollFinished) -> None:
        if self.live:
            self.schedule_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Poll and Pause are hidden where this instance never polls (read-only, --no-poll); their
        keys then explain why (action_why_not_polling)."""
        if action in ("poll_now", "toggle_pause"):
            return self.polling_enabled
        if action == "why_not_polling":
            return not self.polling_enabled
        return True

    def action_why_not_polling(self) -> None:
        self.notify(self._why_not_polling(), severity="warning")

    def action_poll_now(self) -> None:
        if not self.polling_enabled or self._poller_stopped:
            self.notify(self._why_not_polling(), severity="warning" if self.polling_enabled else "error")
            return
        if self._poller is None:
            self.notify("The poller is still starting.", severity="information")
            return
        self.notify("Polling every source now…")
        self._poll_all_now(self._poller)

    @work(group="poll", exit_on_error=False, name="poll now")
    async def _poll_all_now(self, poller: Poller) -> None:
        records = await poller.poll_once(force=True)
        for record in records:
            self.post_message(self.PollFinished(record))
        self.notify(poll_summary(records), severity="information")

    def action_toggle_pause(self) -> None:
        if not self.polling_enabled:
            self.notify(self._why_not_polling(), severity="warning")
            return
        self.paused = not self.paused
        # Said here, where the user asked, not in the watcher: Textual also calls watchers with the
        # initial value at mount, which greeted every start with "Polling resumed.".
        self.notify("Polling paused." if self.paused else "Polling resumed.")

    def watch_paused(self, paused: bool) -> None:
        if paused:
            self._pause.set()
        else:
            self._pause.clear()
        self._update_header()

    def _why_not_polling(self) -> str:
        if self._poller_stopped:
            return f"Polling stopped: {self._poller_stopped}. Restart the dashboard to poll again."
        if self.readonly:
            return "Read-only: this instance never polls (the other one does)."
        return "Polling is off in this instance."

    # -- analytics and the stream -------------------------------------------------------------

    def schedule_refresh(self, delay: float = REFRESH_DEBOUNCE) -> None:
        """Recompute soon; polls finishing close together cause one recompute, not one each."""
        if self._refresh_timer is None and self.live:
            self._refresh_timer = self.set_timer(delay, self.refresh_now, name="debounced refresh")

    def refresh_now(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        if not self.live:
            return
        self._update_header()
        self._request_compute()
        self._load_stream(self.mention_filter)
        self._load_alerts()

    def _request_compute(self) -> None:
        """One compute at a time, never cancelled (a cancelled thread worker runs to its end anyway):
        a request during a compute queues exactly one more, started when this one ends."""
        if self._computing:
            self._compute_again = True
            return
        self._computing = True
        self._compute(self.window, self.clock())

    @work(thread=True, group="dashboard", exit_on_error=False)
    def _compute(self, window: str, now: datetime) -> None:
        started = time.monotonic()
        try:
            dashboard = data.compute(self.database, window, now, keywords=self.config.settings.keywords)
            self.post_message(self.DashboardComputed(dashboard_view(dashboard), window))
        finally:
            self.post_message(self.ComputeEnded(time.monotonic() - started))

    def on_dashboard_app_compute_ended(self, message: ComputeEnded) -> None:
        self._computing = False
        if self._compute_again and self.live:
            self._compute_again = False
            # Wait at least as long as the compute took: during a long poll of a large store the
            # numbers refresh steadily while analytics use at most about half a core.
            self.schedule_refresh(max(REFRESH_DEBOUNCE, message.seconds))

    @work(thread=True, group="change-check", exclusive=True, exit_on_error=False)
    def _refresh_if_changed(self) -> None:
        """The periodic refresh: recompute only when something was stored (or time moved on)."""
        token = data.change_token(self.database, self.clock())
        if token != self._last_token and not get_current_worker().is_cancelled:
            self._last_token = token
            self.call_from_thread(self.refresh_now)

    @work(thread=True, group="listen", exclusive=True, exit_on_error=False)
    def _listen_for_changes(self) -> None:
        """Until the app closes: a refresh after each burst of polls another instance stored."""
        worker = get_current_worker()
        for _ in data.store_changes(self.database, stopped=lambda: worker.is_cancelled):
            self.call_from_thread(self._refresh_if_changed)

    @work(thread=True, group="stream", exclusive=True, exit_on_error=False)
    def _load_stream(self, mention_filter: MentionFilter) -> None:
        rows = data.latest_mentions(self.database, mention_filter, limit=MAX_ROWS)
        if not get_current_worker().is_cancelled:
            self.post_message(self.MentionsLoaded(rows, mention_filter))

    @work(thread=True, group="alerts", exclusive=True, exit_on_error=False)
    def _load_alerts(self) -> None:
        view = data.alert_log(self.database, list(self.config.alerts.channels))
        if not get_current_worker().is_cancelled:
            self.post_message(self.AlertsLoaded(view))

    def on_dashboard_app_alerts_loaded(self, message: AlertsLoaded) -> None:
        if self.live:
            self.main.show_alerts(message.view)

    def on_dashboard_app_dashboard_computed(self, message: DashboardComputed) -> None:
        if self.live and message.window == self.window:
            self.main.view = message.view

    def on_dashboard_app_mentions_loaded(self, message: MentionsLoaded) -> None:
        if self.live and message.mention_filter == self.mention_filter:
            self.main.show_stream(message.rows, self.clock())

    def _update_header(self) -> None:
        if not self.live:
            return
        if self._poller_stopped:
            polling = "stopped"
        elif self.readonly:
            polling = "read-only"
        elif not self.polling_enabled:
            polling = "off"
        elif self.paused:
            polling = "paused"
        else:
            polling = "polling" if self._poller is not None and self._poller.in_flight else "idle"
        self.main.header = HeaderState(
            window_label(self.window),
            self.clock(),
            polling,
            stopped_reason=self._poller_stopped,
            problem=next(iter(self._problems.values()), ""),
            configured=len(self.config.sources),
        )

    def action_cycle_window(self) -> None:
        position = WINDOW_SPECS.index(self.window) if self.window in WINDOW_SPECS else -1
        self.window = WINDOW_SPECS[(position + 1) % len(WINDOW_SPECS)]

    def action_set_window(self, window: str) -> None:
        self.window = window

    def watch_window(self, window: str) -> None:
        if self.live:
            self.refresh_now()

    # -- panels' requests ---------------------------------------------------------------------

    def action_filter(self) -> None:
        self.main.open_filter()

    @on(StreamPanel.FilterChanged)
    def _filter_changed(self, message: StreamPanel.FilterChanged) -> None:
        self.mention_filter = message.mention_filter
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, self._filter_settled, name="filter debounce")

    def _filter_settled(self) -> None:
        self._filter_timer = None
        self._load_stream(self.mention_filter)

    @on(MentionTablePanel.MentionChosen)
    def _mention_chosen(self, message: MentionTablePanel.MentionChosen) -> None:
        database = self.database
        self.push_screen(
            MentionDetailScreen(
                message.mention_id,
                lambda mention_id: data.mention_detail(database, mention_id),
                now=self.clock(),
            )
        )

    @on(PostsPanel.PostChosen)
    def _post_chosen(self, message: PostsPanel.PostChosen) -> None:
        database = self.database
        self.push_screen(
            PostDetailScreen(
                message.post, lambda post_url: data.post_reactions(database, post_url), now=self.clock()
            )
        )

    @on(SourcesPanel.SourceChosen)
    def _source_chosen(self, message: SourcesPanel.SourceChosen) -> None:
        self.push_screen(SourceDetailScreen(message.source, now=self.clock()))

    @on(NeedsReplyPanel.HandledMarked)
    def _handled_marked(self, message: NeedsReplyPanel.HandledMarked) -> None:
        if self._quitting:
            return
        if self.readonly or self._store is None:
            self.notify("Read-only: marking handled is done in the instance that polls.", severity="warning")
            return
        self._mark_handled(self._store, message.mention_id, message.title)

    @work(thread=True, group="write", exit_on_error=False)
    def _mark_handled(self, store: Store, mention_id: int, title: str) -> None:
        store.mark_handled(mention_id, True)
        if not get_current_worker().is_cancelled:
            self.notify(f"Handled: {title}", markup=False)
            self.call_from_thread(self.refresh_now)

    # -- the palette's way to the panels' keys ------------------------------------------------

    def _focused_panel(self) -> Panel | None:
        """The panel holding the focus on the main screen (where the cursor the user means is)."""
        focused = self.main.focused
        if focused is None:
            return None
        return next((node for node in focused.ancestors_with_self if isinstance(node, Panel)), None)

    def action_open_link(self) -> None:
        panel = self._focused_panel()
        if isinstance(panel, MentionTablePanel | PostsPanel):
            panel.action_open_link()
        else:
            self.notify(
                "Choose a mention or a post first (live stream, needs reply, rising, sentiment, posts).",
                severity="warning",
            )

    def action_open_details(self) -> None:
        panel = self._focused_panel()
        tables = panel.query(KeyedTable) if panel is not None else None
        table = next((table for table in tables if table.has_focus), None) if tables else None
        if table is None or table.row_count == 0:
            self.notify("Choose a mention, a post or a source first.", severity="warning")
            return
        table.action_select_cursor()

    def action_mark_handled(self) -> None:
        panel = self._focused_panel()
        if isinstance(panel, NeedsReplyPanel):
            panel.action_mark_handled()
            return
        self.main.action_show_panel("needs-reply")
        self.notify("Move to the mention in Needs reply, then press x.")

    def action_clear_filter(self) -> None:
        self.main.clear_filter()

    # -- the rest -----------------------------------------------------------------------------

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Open a link in the browser; where there is none (SSH, a headless box) say so, show the link
        and put it on the clipboard (OSC 52, which most terminals pass on even over SSH)."""
        if not has_browser() or not self._open_in_browser(url, new_tab=new_tab):
            self.copy_to_clipboard(url)
            self.notify(
                f"No browser available; the link is: {url}",
                title="Copied to the clipboard",
                markup=False,
                timeout=20,
            )

    def _open_in_browser(self, url: str, *, new_tab: bool) -> bool:
        try:
            return bool(webbrowser.open(url, new=2 if new_tab else 0))
        except webbrowser.Error:
            return False

    def watch_theme(self, theme: str) -> None:
        """Remember the chosen theme for the next start."""
        preferences = load_preferences()
        if preferences.get("theme", DEFAULT_THEME) != theme:
            save_preferences({**preferences, "theme": theme})

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_export(self) -> None:
        self.notify("Exporting a snapshot…")
        self._export(self.window, self.clock())

    @work(thread=True, group="write", exit_on_error=False)
    def _export(self, window: str, now: datetime) -> None:
        try:
            path = data.export_snapshot(self.database, window, now, self.config)
        except Exception as error:  # a full disk or a bad folder must not end the dashboard
            self.notify(f"Export failed: {safe_str(error)}", severity="error", markup=False)
            return
        self.notify(home_relative(path), title="Snapshot written", markup=False, timeout=10)


def home_relative(path: Path) -> str:
    """'~/exports/snapshot-…' rather than the full home path: shorter in a narrow notification."""
    try:
        return str(Path("~") / path.resolve().relative_to(Path.home().resolve()))
    except (ValueError, RuntimeError):  # outside the home folder, or no home folder
        return str(path)


def preferences_path() -> Path:
    """The UI's small preferences file in the per-user config folder (XDG_CONFIG_HOME on Linux)."""
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / PREFERENCES_FILE


def load_preferences() -> dict[str, object]:
    """What the last session chose; nothing when the file is missing or unreadable (it is a nicety)."""
    try:
        loaded = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def save_preferences(preferences: dict[str, object]) -> None:
    path = preferences_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(preferences, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError:  # a read-only home: the theme is simply not remembered
        pass


def has_browser() -> bool:
    """Whether webbrowser can show a page: on Linux and the BSDs that needs a display (X11 or Wayland)
    or a text browser named in $BROWSER; macOS and Windows always have one."""
    import os
    import sys

    if sys.platform in ("darwin", "win32") or os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def poll_summary(records: Sequence[PollRecord]) -> str:
    """'Polled 12 sources: 30 new mentions, 1 failing, 1 waiting': failing and waiting as the header
    and the Sources panel count them (`analytics.status`: a rate-limited source waits, it does not fail)."""
    healths = [health_of(record.status) for record in records]
    parts = [f"Polled {len(records)} sources: {sum(record.new for record in records)} new mentions"]
    parts += [
        f"{healths.count(health)} {health}"
        for health in (Health.FAILING, Health.WAITING)
        if health in healths
    ]
    return ", ".join(parts)


def make_app(
    config: Config,
    *,
    database: Database,
    readonly: bool = False,
    clock: Callable[[], datetime] = utc_now,
    poll: bool = True,
) -> DashboardApp:
    """The one way to build the dashboard, for the CLI, the tests and the screenshots."""
    return DashboardApp(config, database=database, readonly=readonly, clock=clock, poll=poll)
