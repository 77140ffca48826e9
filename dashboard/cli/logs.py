"""The log file: what the program did and what went wrong, kept for the user to read later.

One rotating file in the user's state folder (`$XDG_STATE_HOME/community-dashboard/` on Linux,
else `~/.local/state/community-dashboard/`), at most LOG_BYTES x (LOG_BACKUPS + 1) on disk.
Every module logs through `logging.getLogger(__name__)`; only the command line calls `setup`,
so importing the package never creates a file. `$COMMUNITY_DASHBOARD_LOG` names another file
(tests, or a user who wants it elsewhere).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "LEVELS",
    "LOG_BACKUPS",
    "LOG_BYTES",
    "LOG_ENV",
    "LogSetupError",
    "close",
    "default_log_path",
    "log_path",
    "setup",
]

APP_NAME = "community-dashboard"  # the same folder name as config.APP_NAME (kept import-free)
LOG_ENV = "COMMUNITY_DASHBOARD_LOG"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 5
LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)-7s %(process)d %(name)s: %(message)s"

_HANDLER_NAME = "community-dashboard-file"


class LogSetupError(Exception):
    """The log file cannot be opened; the command runs on without it and says so once."""


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating file, which never disturbs the command it records.

    A log that cannot be written (a full disk, a file-size limit) is dropped silently from then
    on: logging's default prints a "--- Logging error ---" traceback to stderr for every record,
    burying the one clear line the user needs (e.g. "cannot write to the database")."""

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self.broken = True


def default_log_path() -> Path:
    """The per-user state folder's log, where platformdirs puts state on each platform."""
    import platformdirs

    return platformdirs.user_state_path(APP_NAME) / f"{APP_NAME}.log"


def log_path(env: Mapping[str, str] | None = None) -> Path:
    """$COMMUNITY_DASHBOARD_LOG if set, else `default_log_path()`."""
    chosen = (os.environ if env is None else env).get(LOG_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else default_log_path()


def setup(level: str = "info", *, path: Path | None = None) -> Path:
    """Send the package's log records at `level` and above to the rotating file; returns its path.

    Called again (tests run `main` many times in one process) it replaces its own handler, so
    records are never written twice. Only the `dashboard` logger is touched: libraries' loggers
    (httpx, asyncio) keep their own levels."""
    target = path if path is not None else log_path()
    close()
    logger = logging.getLogger("dashboard")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = _LogFile(target, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=False)
    except OSError as error:
        raise LogSetupError(f"cannot write the log {target}: {error.strerror or error}") from None
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper()))
    return target


def close() -> None:
    """Detach and close the file handler `setup` added (if any)."""
    logger = logging.getLogger("dashboard")
    for handler in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(handler)
        handler.close()
