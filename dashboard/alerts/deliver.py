"""Delivery: pending alerts to their channels through Apprise, at least once, never blocking polling.

Each channel gets one message per round: a single alert as itself, several as a digest. Quiet hours
and a rule's `every` hold messages (the held ones then go out together); a failed send is retried
with a growing backoff and recorded with its reason; after MAX_ATTEMPTS the message is given up on
and shown as failed. The URL is read when sending (environment variable or 0600 file), so a token
is never in feeds.toml nor in the store.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import groupby
from pathlib import Path

from dashboard.contracts.alerts import SECRET_FILE_MODE_MASK, AlertRule, Channel
from dashboard.store.alerts import MAX_ATTEMPTS, AlertLog, Delivery
from dashboard.text import display_safe

log = logging.getLogger(__name__)

# A send's outcome: "" when delivered, else why not.
Sender = Callable[[str, str, str], str]

FIRST_RETRY = 30.0
LONGEST_RETRY = 3 * 3600.0
MAX_TITLE = 250
MAX_BODY = 3500
# More alerts than this at once for one channel go out as one digest rather than a flood of messages.
FLOOD = 5  # under Slack's and Discord's message limits once the digest lines are joined

_MASS_MENTION = re.compile(r"@(everyone|here|channel|room|all)\b", re.IGNORECASE)


class ChannelUnavailable(Exception):
    """The channel's URL cannot be read, or the optional Apprise package is missing."""


@dataclass(frozen=True, slots=True)
class Sent:
    channel: str
    alerts: int
    error: str


def apprise_sender(url: str, title: str, body: str) -> str:
    """Send one message with Apprise (optional extra: `pip install 'community-dashboard[alerts]'`)."""
    try:
        import apprise
    except ImportError:
        return "the apprise package is missing: pip install 'community-dashboard[alerts]'"
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "Apprise does not recognise this URL (see https://appriseit.com/services/)"
    capture = apprise.LogCapture(level=logging.WARNING)  # type: ignore[no-untyped-call]
    with capture as captured:
        delivered = bool(notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
    if delivered:
        return ""
    lines = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if line.strip()]
    return (lines[-1] if lines else "the service refused the message").strip()[:300]


def channel_url(channel: Channel, env: Mapping[str, str]) -> str:
    if channel.url_env:
        url = env.get(channel.url_env, "").strip()
        if not url:
            raise ChannelUnavailable(f"the environment variable {channel.url_env} is not set")
        return url
    path = Path(channel.url_file).expanduser()
    try:
        mode = path.stat().st_mode
        if stat.S_IMODE(mode) & SECRET_FILE_MODE_MASK:
            raise ChannelUnavailable(f"{path} can be read by others: chmod 600 {path}")
        url = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ChannelUnavailable(f"cannot read {path}: {error.strerror or error}") from None
    if not url:
        raise ChannelUnavailable(f"{path} is empty")
    return url


def sanitise(text: str, limit: int) -> str:
    """Network text made inert for chat: no control characters, no mass mentions (@everyone,
    <!channel>), no Slack/Discord link or mention syntax; cut to `limit` characters."""
    text = "\n".join(display_safe(line, one_line=True) for line in text.splitlines())
    text = _MASS_MENTION.sub(lambda match: "@\u200b" + match.group(1), text)
    text = text.replace("<", "\u2039").replace(">", "\u203a")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_delay(attempts: int) -> float:
    """30 s, 1 min, 2 min... capped at 3 h; `attempts` counts the ones already made."""
    return min(FIRST_RETRY * 2.0 ** max(attempts, 0), LONGEST_RETRY)


def quiet_until(channel: Channel, now: datetime, zone: tzinfo | None) -> datetime | None:
    """When the channel's quiet hours end, if `now` is inside them (local time)."""
    quiet = channel.quiet_hours
    if quiet is None:
        return None
    local = now.astimezone(zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(UTC)


def digest_due(rule: AlertRule | None, raised_at: datetime) -> datetime | None:
    """The end of the digest period the alert fell in (periods aligned on the epoch, so "1d" is
    UTC midnight), or None when the rule sends at once."""
    if rule is None or not rule.every:
        return None
    period = rule.every
    seconds = raised_at.timestamp()
    return datetime.fromtimestamp((seconds // period + 1) * period, UTC)


class Deliverer:
    """Sends what is due. `sender` is Apprise in production; tests give it real local receivers."""

    def __init__(
        self,
        log_: AlertLog,
        channels: Mapping[str, Channel],
        rules: Sequence[AlertRule],
        *,
        sender: Sender = apprise_sender,
        env: Mapping[str, str] | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        self.log = log_
        self.channels = channels
        self.rules = {rule.name: rule for rule in rules}
        self.sender = sender
        self.env = os.environ if env is None else env
        self.zone = zone

    def deliver_due(self, now: datetime) -> list[Sent]:
        outcomes = []
        for channel_name, group in groupby(self.log.due(now), key=lambda d: d.channel):
            for message in self._messages(list(group), now):
                outcomes.append(self._send(channel_name, message, now))
        return outcomes

    def _messages(self, deliveries: list[Delivery], now: datetime) -> list[list[Delivery]]:
        """What goes now, as messages: each alert alone, except those that were held (quiet hours,
        a digest period), which go together as one digest, as does a flood of more than FLOOD at
        once. The rest is postponed."""
        channel = self.channels.get(deliveries[0].channel)
        if channel is None:  # the channel left feeds.toml: give its messages up, visibly
            self.log.attempted(deliveries, now, "the channel is no longer in feeds.toml", None)
            return []
        quiet = quiet_until(channel, now, self.zone)
        if quiet is not None:
            self.log.postpone(deliveries, quiet)
            return []
        held, alone = [], []
        for delivery in deliveries:
            due = digest_due(self.rules.get(delivery.alert.rule), delivery.alert.raised_at)
            if due is not None and due > now and delivery.attempts == 0:
                self.log.postpone([delivery], due)
            elif delivery.attempts == 0 and delivery.next_attempt_at > delivery.alert.raised_at:
                held.append(delivery)
            else:
                alone.append(delivery)
        if len(alone) > FLOOD:
            held, alone = held + alone, []
        return ([held] if held else []) + [[delivery] for delivery in alone]

    def _send(self, channel_name: str, deliveries: list[Delivery], now: datetime) -> Sent:
        title, body = message_for(deliveries)
        try:
            error = self.sender(channel_url(self.channels[channel_name], self.env), title, body)
        except ChannelUnavailable as problem:
            error = str(problem)
        except Exception as problem:  # a bug in a notifier plugin must not stop delivery
            log.exception("sending to %s failed", channel_name)
            error = f"{type(problem).__name__}: {problem}"
        attempts = max(d.attempts for d in deliveries)
        retry_at = None if attempts + 1 >= MAX_ATTEMPTS else now + timedelta(seconds=retry_delay(attempts))
        self.log.attempted(deliveries, now, error, retry_at if error else None)
        if error:
            log.warning("alert delivery to %s failed (attempt %d): %s", channel_name, attempts + 1, error)
        return Sent(channel_name, len(deliveries), error)


def send_test_message(
    channel: Channel, now: datetime, *, sender: Sender = apprise_sender, env: Mapping[str, str] | None = None
) -> str:
    """`alerts test CHANNEL`: one message straight to the channel, not stored; "" when delivered."""
    try:
        url = channel_url(channel, os.environ if env is None else env)
    except ChannelUnavailable as problem:
        return str(problem)
    return sender(
        url,
        "community-dashboard test message",
        f"If you can read this, alerts reach channel {channel.name!r} ({now:%Y-%m-%d %H:%M} UTC).",
    )


def message_for(deliveries: Sequence[Delivery]) -> tuple[str, str]:
    """(title, body): one alert as itself, several as a digest, oldest first; network text sanitised."""
    alerts = [d.alert for d in deliveries]
    if len(alerts) == 1:
        alert = alerts[0]
        body = alert.body + (f"\n{alert.url}" if alert.url else "")
        return sanitise(alert.title, MAX_TITLE), sanitise(body, MAX_BODY)
    lines = [
        f"{alert.raised_at:%Y-%m-%d %H:%M} UTC  {alert.title}" + (f"  {alert.url}" if alert.url else "")
        for alert in alerts
    ]
    return f"{len(alerts)} alerts", sanitise("\n".join(lines), MAX_BODY)
