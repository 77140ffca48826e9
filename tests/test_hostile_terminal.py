"""The real dashboard in a real pseudo-terminal, showing text written by strangers.

The UI tests check widgets one by one; this runs `python -m dashboard --readonly` on a database
whose titles, authors and errors carry terminal escape sequences, C1 controls, bidi overrides and
Textual markup, reads every byte the app writes to the terminal, clicks on the markup, and quits
with `q`. Rich and Textual let ESC and C1 through (shared/reference/untrusted-text.md), so only
`dashboard.text.display_safe` stands between these titles and the user's terminal.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.config import load_config, source_config_hash
from dashboard.models import (
    Mention,
    MentionKind,
    PollOutcome,
    PollRecord,
    SourceStatus,
    SourceUpdate,
)
from dashboard.sources import source_types
from dashboard.store.writer import Store

ROWS, COLUMNS = 60, 200

# What strangers wrote -> what the screen must show instead (the controls dropped, the rest kept).
HOSTILE_TITLES: dict[str, str] = {
    "clipA\x1b]52;c;aGk=\x07clipB": "clipA]52;c;aGk=clipB",  # OSC 52: write the clipboard
    "titleA\x1b]0;pwned\x07titleB": "titleA]0;pwnedtitleB",  # OSC 0: set the window title
    "clearA\x1b[2JclearB": "clearA[2JclearB",  # CSI: clear the screen
    "cOne\x9b2JcTwo": "cOne2JcTwo",  # C1 CSI: clear the screen in one byte
    "bidiA\u202eevil\u202cbidiB": "bidiAevilbidiB",  # right-to-left override
    "isoA\u2066inner\u2069isoB": "isoAinnerisoB",  # bidi isolate
    "Great post [/bold] by x": "Great post [/bold] by x",  # markup: a closing tag that was never opened
    "[b unterminated": "[b unterminated",
    "[@click=app.quit]x[/]": "[@click=app.quit]x[/]",  # markup: an action that quits the app
    "[link=file:///etc/passwd]y[/link]": "[link=file:///etc/passwd]y[/link]",  # markup: a hyperlink
}
HOSTILE_AUTHOR = "authA\x1b]52;c;aGk=\x07authB"
HOSTILE_ERROR = "eA\x1b]0;pwned\x07\x1b[2JeB"

# Byte sequences that must never reach the terminal.
FORBIDDEN: dict[str, bytes] = {
    "OSC 52 (clipboard)": b"\x1b]52",
    "OSC 0 (window title)": b"\x1b]0;",
    "OSC 8 (hyperlink)": b"\x1b]8;",
    "CSI 2J (clear screen)": b"\x1b[2J",
    "C1 CSI as UTF-8": "\x9b".encode(),
    **{
        f"U+{code:04X} (bidi)": chr(code).encode()
        for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    },
}


def fill_database(directory: Path) -> tuple[Path, Path]:
    """A feeds.toml and a database holding one poll of hostile mentions and one hostile error."""
    db = directory / "mentions.db"
    config_path = directory / "feeds.toml"
    config_path.write_text(
        f'[settings]\ndatabase = "{db}"\n\n'
        '[[feeds]]\nname = "Hostile feed"\nurl = "http://127.0.0.1:9/feed.xml"\n\n'
        '[[feeds]]\nname = "Broken feed"\nurl = "http://127.0.0.1:9/broken.xml"\n',
        encoding="utf-8",
    )
    config = load_config(config_path, registry=source_types())
    hostile, broken = config.sources
    now = datetime.now(UTC)
    mentions = tuple(
        Mention(
            key=f"hostile-{number}",
            kind=MentionKind.POST,
            url=f"https://example.org/{number}",
            title=title,
            author=HOSTILE_AUTHOR,
            published=now - timedelta(minutes=number + 1),
            summary=title,
            replies=number,
        )
        for number, title in enumerate(HOSTILE_TITLES)
    )
    with Store.open(db) as store:
        store.sync_sources(
            config.sources, {source.name: source_config_hash(source) for source in config.sources}
        )
        ok = PollRecord(
            source=hostile.name, started_at=now, duration=0.2, status=SourceStatus.OK, http_status=200
        )
        store.save_poll(
            hostile,
            ok,
            SourceUpdate(SourceStatus.OK, now + timedelta(hours=1), 0),
            PollOutcome(mentions=mentions, http_status=200),
        )
        failed = PollRecord(
            source=broken.name,
            started_at=now,
            duration=0.1,
            status=SourceStatus.FAILING,
            http_status=500,
            error_class="http",
            error=HOSTILE_ERROR,
        )
        store.save_poll(broken, failed, SourceUpdate(SourceStatus.FAILING, now + timedelta(hours=1), 1), None)
    return config_path, db


# --- a pseudo-terminal and a very small screen ---------------------------------------------------------


class Terminal:
    """The app's pseudo-terminal: everything it wrote, and a way to type and click."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
        env.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.output = bytearray()

    def read_for(self, seconds: float, *, until: Callable[[], bool] | None = None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until is not None and until():
                return
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the app closed the terminal
                return
            if not chunk:
                return
            self.output += chunk

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def click(self, row: int, column: int) -> None:
        """A left click in SGR mouse encoding (1-based row and column), as xterm sends it."""
        self.type(f"\x1b[<0;{column};{row}M".encode())
        time.sleep(0.05)
        self.type(f"\x1b[<0;{column};{row}m".encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


_CONTROL = re.compile(r"\x1b\[([0-9;?<>=]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^\[\]]")


def screen_text(output: bytes) -> list[str]:
    """The final screen, as text: just enough of a terminal (cursor moves, CR, LF) to find a word."""
    grid = [[" "] * (COLUMNS + 1) for _ in range(ROWS + 1)]
    row = column = 1
    text = codecs.decode(bytes(output), "utf-8", errors="replace")
    position = 0
    while position < len(text):
        control = _CONTROL.match(text, position)
        if control is not None:
            if control.group(3) == "H":
                numbers = [int(part) if part else 1 for part in (control.group(1) or "").split(";")]
                row, column = [*numbers, 1, 1][:2]
            position = control.end()
            continue
        char = text[position]
        position += 1
        if char == "\r":
            column = 1
        elif char == "\n":
            row += 1
        elif char >= " " and 1 <= row <= ROWS and 1 <= column <= COLUMNS:
            grid[row][column] = char
            column += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return ["".join(line[1:]) for line in grid]


def find_on_screen(output: bytes, text: str) -> tuple[int, int]:
    for row, line in enumerate(screen_text(output)[1:], start=1):
        column = line.find(text)
        if column >= 0:
            return row, column + 1
    raise AssertionError(f"{text!r} is not on the screen")


# --- the test ---------------------------------------------------------------------------------------


def test_hostile_titles_authors_and_errors_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    config, db = fill_database(tmp_path)
    terminal = Terminal(
        [sys.executable, "-m", "dashboard", "--db", str(db), "--config", str(config), "--readonly"]
    )
    # The error is drawn inert in the Sources panel's narrow "Last error" column (cut there at 200x50: "eA]0;pwne…").
    expected = [*HOSTILE_TITLES.values(), "authA]52;c;aGk=authB", "eA]0;pwne"]

    def not_drawn() -> list[str]:
        screen = "\n".join(screen_text(bytes(terminal.output)))
        return [text for text in expected if text not in screen]

    try:
        give_up = time.monotonic() + 30
        while not_drawn() and time.monotonic() < give_up and terminal.process.poll() is None:
            terminal.read_for(0.25)
        terminal.read_for(0.5)  # let it settle
        missing = not_drawn()
        if not missing:
            # Clicking the title that is an `@click=app.quit` action in markup must not quit.
            row, column = find_on_screen(terminal.output, "[@click=app.quit]x[/]")
            terminal.click(row, column + 2)
            terminal.read_for(1.5)
            assert terminal.process.poll() is None, "the app quit when the title was clicked"
            terminal.type(b"\x1b")  # close whatever the click opened
            terminal.read_for(0.5)
        terminal.type(b"q")
        terminal.read_for(15.0, until=lambda: terminal.process.poll() is not None)
        terminal.read_for(0.5)
        exit_code = terminal.process.wait(timeout=5)
    finally:
        terminal.close()

    output = bytes(terminal.output)
    for name, sequence in FORBIDDEN.items():
        assert sequence not in output, f"{name} reached the terminal at byte {output.find(sequence)}"
    assert b"Traceback" not in output
    assert b"MarkupError" not in output
    screen = "\n".join(screen_text(output))
    assert not missing, f"never drawn: {missing}\n{screen}"
    assert exit_code == 0
