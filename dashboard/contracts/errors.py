"""Failures of one fetch, as values the poller turns into a source status.

Each class maps to one status the dashboard shows; `error_class` is the short stable name stored per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class FetchError(Exception):
    """A source could not be read this time. Subclasses say why."""

    error_class = "error"
    # For a refused status: the response's headers and the start of its body, which some APIs use to
    # say why (Stack Exchange's error_id, GitHub's rate-limit reset).
    headers: Mapping[str, str] = {}
    body: bytes = b""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with every attribute: errors cross from parse workers back to the poller."""
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[FetchError], message: str, state: dict[str, object]) -> FetchError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class NetworkError(FetchError):
    error_class = "network"


class DeadlineExceeded(FetchError):
    error_class = "timeout"


class TooLarge(FetchError):
    error_class = "too large"


class RedirectError(FetchError):
    error_class = "redirect"


class HTTPError(FetchError):
    """A status the source cannot use (4xx/5xx other than the special ones below)."""

    error_class = "http"


class RateLimited(FetchError):
    """429, 503 with Retry-After, Reddit's 403, a Stack Exchange backoff: wait until `until`."""

    error_class = "rate-limited"

    def __init__(self, message: str, *, until: datetime, http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.until = until


class NeedsCredentials(FetchError):
    """401/403 where a token would help: `env_var` names what the user should set."""

    error_class = "auth"

    def __init__(self, message: str, *, env_var: str = "", http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.env_var = env_var


class Gone(FetchError):
    """410: stop polling until the source's config changes."""

    error_class = "gone"


class ParseError(FetchError):
    """The body was not something this source understands (HTML page, broken JSON, empty body...)."""

    error_class = "parse"


class ParseTimeout(ParseError):
    """Parsing went past its CPU budget and the worker was stopped."""

    error_class = "parse timeout"
