"""Alert rules and notification channels, as feeds.toml declares them (`[[alerts]]`, `[notify.NAME]`).

Config reads the tables into these records (`read_alerts`); the alerts package evaluates the rules
after each stored poll and delivers what fired. A mistake raises `AlertProblem` naming the table and
key, which config turns into a file:line message like every other one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any

from dashboard.durations import DurationError, parse_duration

KINDS = ("spike", "source_failing", "keyword", "threshold", "new_voice")
METRICS = ("mentions", "waiting_reply", "negative_share")
# negative_share over fewer scored mentions than this is unknown (one negative post of two is not 50 %).
DEFAULT_MIN_SCORED = 10
SCOPES = ("source", "overall", "both")
# A channel's delivery URL may be held in a file only the user can read (chmod 600), like a token.
SECRET_FILE_MODE_MASK = 0o077
# Between two alerts of one rule about one subject. Spikes and thresholds can flap from one poll to
# the next, so they wait an hour; the other kinds are one alert per happening already (a failure
# episode, a mention, a new voice), so they need none unless the user asks for one.
DEFAULT_COOLDOWNS = {"spike": 3600.0, "threshold": 3600.0}
DEFAULT_FAILURES = 3

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class AlertProblem(ValueError):
    """One mistake in `[[alerts]]` or `[notify]`: where (`table`, e.g. "alerts[2]" or "notify.chat"),
    which `key` ("" for the table itself) and what was expected."""

    def __init__(self, table: str, key: str, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.table, self.key, self.index, self.message = table, key, index, message


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span in local time when nothing is sent; what fires meanwhile waits for its end."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # across midnight: "22:00-07:00"


@dataclass(frozen=True, slots=True)
class Channel:
    """Where messages go. The Apprise URL itself never sits in feeds.toml: it is read from the
    environment variable `url_env` or the 0600 file `url_file` when a message is sent."""

    name: str
    url_env: str = ""
    url_file: str = ""
    quiet_hours: QuietHours | None = None

    @property
    def where(self) -> str:
        return f"${self.url_env}" if self.url_env else self.url_file


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One `[[alerts]]` table. Only the fields of its `when` are meaningful; the rest keep defaults."""

    name: str
    when: str
    notify: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # empty: every source
    cooldown: float = 0.0  # seconds between two alerts of one rule about one subject
    every: float | None = None  # digest: one message per period summing up what fired
    # spike
    scope: str = "both"
    threshold: float = 3.5
    min_count: int = 5
    # source_failing
    failures: int = DEFAULT_FAILURES
    failing_for: float | None = None
    recovery: bool = True
    # keyword
    words: tuple[str, ...] = ()
    # threshold
    metric: str = ""
    above: float | None = None
    below: float | None = None
    window: float = 86400.0
    min_scored: int = DEFAULT_MIN_SCORED  # metric = "negative_share" only
    # new_voice
    min_engagement: int = 0


# Without [[alerts]] in feeds.toml the dashboard still watches for what it always showed: spikes and
# sources that keep failing, raised once each and listed (sent nowhere). `alerts = []` turns them off.
DEFAULT_RULES = (
    AlertRule("spikes", "spike", cooldown=DEFAULT_COOLDOWNS["spike"]),
    AlertRule("failing-sources", "source_failing"),
)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: tuple[AlertRule, ...] = ()
    channels: Mapping[str, Channel] = field(default_factory=dict)


def read_alerts(alerts: Any, notify: Any, source_names: Sequence[str]) -> AlertConfig:
    """Validate the `[[alerts]]` array and the `[notify]` table; raise AlertProblem at the first mistake."""
    channels = _channels(notify)
    if alerts is None:
        return AlertConfig(DEFAULT_RULES, channels)
    if not isinstance(alerts, list):
        raise AlertProblem("alerts", "", "expected [[alerts]] tables (an array of tables)")
    rules = tuple(
        _RuleReader(index, entry, channels, source_names).read() for index, entry in enumerate(alerts)
    )
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.name in seen:
            raise AlertProblem(
                f"alerts[{index + 1}]",
                "name",
                f"the name {rule.name!r} is already used by alert {seen[rule.name] + 1}",
                index=index,
            )
        seen[rule.name] = index
    return AlertConfig(rules, channels)


def did_you_mean(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _channels(notify: Any) -> dict[str, Channel]:
    if notify is None:
        return {}
    if not isinstance(notify, dict):
        raise AlertProblem("notify", "", "expected a table of channels like [notify.work-chat]")
    channels = {}
    for name, table in notify.items():
        where = f"notify.{name}"
        if not isinstance(table, dict):
            raise AlertProblem(where, "", 'expected a table like [notify.work-chat] with url_env = "NAME"')
        if not _NAME.match(name):
            raise AlertProblem(where, "", "a channel name is letters, digits, '-', '_' or '.'")
        unknown = sorted(set(table) - {"url_env", "url_file", "quiet_hours", "url"})
        if unknown:
            raise AlertProblem(
                where,
                unknown[0],
                f"unknown key{did_you_mean(unknown[0], ['url_env', 'url_file', 'quiet_hours'])}",
            )
        if "url" in table:
            raise AlertProblem(
                where,
                "url",
                "a delivery URL holds a token: keep it out of feeds.toml; put it in an environment"
                f' variable and write url_env = "{_env_suggestion(name)}", or in a file only you can'
                ' read (chmod 600) and write url_file = "PATH"',
            )
        url_env = _string(table, "url_env", where)
        url_file = _string(table, "url_file", where)
        if bool(url_env) == bool(url_file):
            raise AlertProblem(where, "", "expected exactly one of url_env or url_file")
        if url_env and not _ENV_NAME.match(url_env):
            raise AlertProblem(
                where, "url_env", 'expected the name of an environment variable like "CHAT_URL"'
            )
        quiet = _quiet_hours(table.get("quiet_hours"), where)
        channels[name] = Channel(name, url_env, url_file, quiet)
    return channels


def _quiet_hours(value: Any, where: str) -> QuietHours | None:
    if value is None:
        return None
    parts = value.split("-") if isinstance(value, str) else []
    clocks = [_CLOCK.match(part.strip()) for part in parts]
    if len(parts) != 2 or not all(clocks) or parts[0].strip() == parts[1].strip():
        raise AlertProblem(where, "quiet_hours", 'expected a daily span in local time like "22:00-07:00"')
    start, end = (time(int(m.group(1)), int(m.group(2))) for m in clocks if m)
    return QuietHours(start, end)


def _string(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise AlertProblem(where, key, f"expected a string, got {type(value).__name__}")
    return value.strip()


def _env_suggestion(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") + "_URL"


_COMMON_KEYS = {"name", "when", "notify", "source", "sources", "cooldown", "every"}
_KIND_KEYS = {
    "spike": {"scope", "threshold", "min_count"},
    "source_failing": {"failures", "for", "recovery"},
    "keyword": {"words"},
    "threshold": {"metric", "above", "below", "window", "min_scored"},
    "new_voice": {"min_engagement"},
}


class _RuleReader:
    def __init__(
        self, index: int, entry: Any, channels: Mapping[str, Channel], source_names: Sequence[str]
    ) -> None:
        self.index, self.entry, self.channels, self.source_names = index, entry, channels, source_names
        self.where = f"alerts[{index + 1}]"

    def fail(self, key: str, message: str) -> AlertProblem:
        return AlertProblem(self.where, key, message, index=self.index)

    def read(self) -> AlertRule:
        if not isinstance(self.entry, dict):
            raise self.fail("", "expected a table")
        when = self.entry.get("when")
        if when not in KINDS:
            shown = repr(when) if when is not None else "nothing"
            hint = did_you_mean(when, KINDS) if isinstance(when, str) else ""
            raise self.fail("when", f"expected one of {', '.join(KINDS)}, got {shown}{hint}")
        allowed = _COMMON_KEYS | _KIND_KEYS[when]
        for key in self.entry:
            if key not in allowed:
                other = [kind for kind, keys in _KIND_KEYS.items() if key in keys]
                why = f" (it belongs to when = {other[0]!r})" if other else did_you_mean(key, sorted(allowed))
                raise self.fail(key, f"unknown key for when = {when!r}{why}")
        rule = AlertRule(
            name=self._name(when),
            when=when,
            notify=self._notify(),
            sources=self._sources(),
            cooldown=self._duration("cooldown", DEFAULT_COOLDOWNS.get(when, 0.0)),
            every=self._optional_duration("every"),
        )
        shape: Callable[[AlertRule], AlertRule] = getattr(self, f"_{when}")
        return shape(rule)

    # -- common keys -------------------------------------------------------------------------

    def _name(self, when: str) -> str:
        name = self.entry.get("name", f"{when}-{self.index + 1}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail("name", "expected a short name of letters, digits, '-', '_' or '.'")
        return name

    def _strings(self, key: str) -> tuple[str, ...]:
        value = self.entry.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "expected a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def _notify(self) -> tuple[str, ...]:
        names = self._strings("notify")
        for name in names:
            if name not in self.channels:
                known = ", ".join(sorted(self.channels)) or "none is defined"
                raise self.fail(
                    "notify",
                    f"no channel {name!r} in [notify] (channels: {known})"
                    f"{did_you_mean(name, list(self.channels))}",
                )
        return names

    def _sources(self) -> tuple[str, ...]:
        key = "sources" if "sources" in self.entry else "source"
        names = self._strings(key)
        for name in names:
            if name not in self.source_names:
                raise self.fail(key, f"no source named {name!r}{did_you_mean(name, self.source_names)}")
        return names

    def _duration(self, key: str, default: float) -> float:
        value = self._optional_duration(key)
        return default if value is None else value

    def _optional_duration(self, key: str) -> float | None:
        value = self.entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, 'expected a duration string like "1h" or "1d"')
        try:
            return parse_duration(value)
        except DurationError as error:
            raise self.fail(key, str(error)) from None

    def _number(self, key: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = self.entry.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
            raise self.fail(key, f"expected a number of at least {minimum:g}")
        return float(value)

    def _whole(self, key: str, default: int, *, minimum: int) -> int:
        value = self.entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 10**9:
            raise self.fail(key, f"expected a whole number of at least {minimum}")
        return value

    # -- one method per kind -----------------------------------------------------------------

    def _spike(self, rule: AlertRule) -> AlertRule:
        scope = self.entry.get("scope", "both")
        if scope not in SCOPES:
            raise self.fail("scope", f"expected one of {', '.join(SCOPES)}")
        threshold = self._number("threshold", 3.5, minimum=0.5)
        assert threshold is not None
        return replace(
            rule, scope=scope, threshold=threshold, min_count=self._whole("min_count", 5, minimum=1)
        )

    def _source_failing(self, rule: AlertRule) -> AlertRule:
        recovery = self.entry.get("recovery", True)
        if not isinstance(recovery, bool):
            raise self.fail("recovery", "expected true or false")
        return replace(
            rule,
            failures=self._whole("failures", DEFAULT_FAILURES, minimum=1),
            failing_for=self._optional_duration("for"),
            recovery=recovery,
        )

    def _keyword(self, rule: AlertRule) -> AlertRule:
        words = self._strings("words")
        if not words:
            raise self.fail("words", 'expected the words to watch for, like words = ["outage", "down"]')
        return replace(rule, words=words)

    def _threshold(self, rule: AlertRule) -> AlertRule:
        metric = self.entry.get("metric")
        if metric not in METRICS:
            hint = did_you_mean(metric, METRICS) if isinstance(metric, str) else ""
            raise self.fail("metric", f"expected one of {', '.join(METRICS)}{hint}")
        above, below = self._number("above", None), self._number("below", None)
        if (above is None) == (below is None):
            raise self.fail("", "expected exactly one of above or below")
        min_scored = DEFAULT_MIN_SCORED
        if metric == "negative_share":
            line_key, line = ("above", above) if above is not None else ("below", below)
            if line is not None and line > 1:
                raise self.fail(
                    line_key,
                    f"negative_share is a fraction of the scored mentions, from 0 to 1: write {line_key} ="
                    f" {line / 100:g} for {line:g} %",
                )
            min_scored = self._whole("min_scored", DEFAULT_MIN_SCORED, minimum=1)
        elif "min_scored" in self.entry:
            raise self.fail("min_scored", 'min_scored applies to metric = "negative_share" only')
        return replace(
            rule,
            metric=metric,
            above=above,
            below=below,
            window=self._duration("window", 86400.0),
            min_scored=min_scored,
        )

    def _new_voice(self, rule: AlertRule) -> AlertRule:
        return replace(rule, min_engagement=self._whole("min_engagement", 0, minimum=0))


__all__ = [
    "DEFAULT_MIN_SCORED",
    "KINDS",
    "METRICS",
    "AlertConfig",
    "AlertProblem",
    "AlertRule",
    "Channel",
    "QuietHours",
    "read_alerts",
]
