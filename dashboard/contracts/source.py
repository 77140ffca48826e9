"""The one small interface every source type implements, and the decorator that registers a type.

A source turns its config (plus the cursor it saved last time) into requests, and responses into
mentions. It never touches the store, the scheduler or the UI: the poller hands it a `PollContext`
with a `fetch` that goes through the polite fetcher, and stores whatever `poll` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, ParamSpec, TypeVar

from dashboard.contracts.http import Request, Response
from dashboard.models import PollOutcome, SourceConfig

P = ParamSpec("P")
T = TypeVar("T")

Fetch = Callable[[Request], Awaitable[Response]]


class RunParser:
    """Runs a CPU-bound parse function off the event loop, within a CPU budget.

    The poller supplies a process-pool implementation; tests and the demo may use `InlineParser`.
    The function and its arguments must be picklable (module-level functions, bytes, dicts).
    """

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        raise NotImplementedError


class InlineParser(RunParser):
    """Runs the parse in a thread: no CPU budget, for unit tests of sources."""

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        import asyncio

        return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A source-specific feeds.toml key: its type and whether it is required."""

    type: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()


@dataclass(slots=True)
class PollContext:
    fetch: Fetch
    parse: RunParser
    now: datetime
    cursor: Mapping[str, Any] = field(default_factory=dict)
    # Keys of this source's mentions still young enough to have their engagement re-read.
    refresh_keys: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    first_poll: bool = False


class Source(ABC):
    """One source type. Subclasses set `type_name`, `default_base_url` and `keys`, and implement `poll`."""

    type_name: ClassVar[str]
    default_base_url: ClassVar[str | None] = None
    keys: ClassVar[Mapping[str, KeySpec]] = {}
    # Minimum seconds between polls the API's limits allow (e.g. GitHub anonymous search).
    min_interval: ClassVar[float] = 0.0
    # Whether `poll` reads `ctx.refresh_keys` (a feed re-reads every entry anyway and does not).
    refreshes_by_key: ClassVar[bool] = True

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @property
    def base_url(self) -> str:
        return (self.config.base_url or self.default_base_url or "").rstrip("/")

    @abstractmethod
    async def poll(self, ctx: PollContext) -> PollOutcome:
        """Fetch what is new (and refresh young mentions); raise a FetchError subclass on failure."""


_REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source type available to feeds.toml under `cls.type_name`."""
    _REGISTRY[cls.type_name] = cls
    return cls


def registered_types() -> Mapping[str, type[Source]]:
    """The types registered so far; `dashboard.sources.source_types()` imports them all first."""
    return dict(_REGISTRY)
