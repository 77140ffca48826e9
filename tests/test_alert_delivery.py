"""Delivery through Apprise to real local receivers: a JSON webhook, ntfy and SMTP; retries, a dead
receiver shown as failing, quiet hours held into one digest, and network text made inert."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from dashboard.alerts.deliver import ChannelUnavailable, Deliverer, channel_url, sanitise
from dashboard.contracts.alerts import AlertRule, Channel, QuietHours
from dashboard.store.alerts import DELIVERED, FAILED, MAX_ATTEMPTS, AlertLog, Firing
from dashboard.store.db import Database, connect
from tests.backends import database_fixture  # noqa: F401  (the `database` fixture)
from tests.receivers import SMTPReceiver, WebhookReceiver

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def log(database: Database) -> Iterator[AlertLog]:
    """The alert log on each backend (tests/backends.py)."""
    connection = connect(database)
    yield AlertLog(connection)
    connection.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def firing(
    occurrence: str, *, title: str = "Spike on Blog: 12 mentions", url: str = "", at: datetime = NOW
) -> Firing:
    return Firing("spikes", "spike", "Blog", occurrence, at, title, f"body of {occurrence}", url=url)


def deliverer(
    log: AlertLog, url: str, channel: Channel | None = None, rules: list[AlertRule] | None = None
) -> Deliverer:
    chosen = channel or Channel("chat", url_env="CHAT_URL")
    return Deliverer(log, {"chat": chosen}, rules or [AlertRule("spikes", "spike")], env={"CHAT_URL": url})


def states(log: AlertLog) -> list[tuple[str, int, str]]:
    return log.connection.execute(
        "SELECT state, attempts, last_error FROM alert_deliveries ORDER BY alert_id"
    ).fetchall()


def test_an_alert_reaches_a_json_webhook_once_with_its_link(log: AlertLog, webhook: WebhookReceiver) -> None:
    stored = log.record(firing("h1", url="https://news.example/item?id=1"), ["chat"])
    assert stored is not None
    assert log.record(firing("h1"), ["chat"]) is None  # the same occurrence is stored once
    sender = deliverer(log, webhook.json_url())
    sender.deliver_due(NOW)
    sender.deliver_due(NOW + timedelta(minutes=5))
    messages = webhook.messages()
    assert len(messages) == 1
    assert messages[0]["title"] == "Spike on Blog: 12 mentions"
    assert "https://news.example/item?id=1" in messages[0]["message"]
    assert states(log) == [(DELIVERED, 1, "")]


def test_ntfy_and_email_are_delivered_too(log: AlertLog, webhook: WebhookReceiver) -> None:
    smtp = SMTPReceiver()
    try:
        log.record(firing("h1"), ["push", "mail"])
        channels = {"push": Channel("push", url_env="PUSH"), "mail": Channel("mail", url_env="MAIL")}
        env = {"PUSH": f"ntfy://127.0.0.1:{webhook.port}/community", "MAIL": smtp.mailto_url()}
        Deliverer(log, channels, [AlertRule("spikes", "spike")], env=env).deliver_due(NOW)
        assert [m["topic"] for m in webhook.messages()] == ["community"]
        assert [m["Subject"] for m in smtp.messages] == ["Spike on Blog: 12 mentions"]
    finally:
        smtp.close()


def test_a_dead_receiver_is_retried_with_backoff_then_given_up_and_shown(
    log: AlertLog, webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    log.record(firing("h1"), ["chat"])
    sender = deliverer(log, webhook.json_url())
    moment = NOW
    for _ in range(MAX_ATTEMPTS + 3):
        sender.deliver_due(moment)
        moment += timedelta(hours=4)  # past the longest backoff
    assert len(webhook.posted) == MAX_ATTEMPTS  # tried, retried, then given up on
    state, attempts, error = states(log)[0]
    assert (state, attempts) == (FAILED, MAX_ATTEMPTS)
    assert error
    latest = log.channel_attempts("chat")
    assert latest
    assert not any(ok for _, ok, _ in latest)
    # a retry does not come before its backoff
    log.record(firing("h2"), ["chat"])
    sender.deliver_due(moment)
    sender.deliver_due(moment + timedelta(seconds=5))
    assert len(webhook.posted) == MAX_ATTEMPTS + 1


def test_a_receiver_back_up_gets_the_message_on_retry(log: AlertLog, webhook: WebhookReceiver) -> None:
    webhook.status = 503
    log.record(firing("h1"), ["chat"])
    sender = deliverer(log, webhook.json_url())
    sender.deliver_due(NOW)
    webhook.status = 200
    sender.deliver_due(NOW + timedelta(minutes=1))
    assert [p.json()["title"] for p in webhook.posted] == ["Spike on Blog: 12 mentions"] * 2
    assert states(log)[0][:2] == (DELIVERED, 2)


def test_quiet_hours_hold_messages_into_one_digest_at_their_end(
    log: AlertLog, webhook: WebhookReceiver
) -> None:
    night = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    channel = Channel("chat", url_env="CHAT_URL", quiet_hours=QuietHours(time(22, 0), time(7, 0)))
    sender = Deliverer(
        log, {"chat": channel}, [AlertRule("spikes", "spike")], env={"CHAT_URL": webhook.json_url()}, zone=UTC
    )
    for hour in range(3):
        moment = night + timedelta(hours=hour)
        log.record(firing(f"h{hour}", at=moment, title=f"spike {hour}"), ["chat"])
        sender.deliver_due(moment)
    assert webhook.posted == []
    sender.deliver_due(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    (digest,) = webhook.messages()
    assert digest["title"] == "3 alerts"
    assert all(f"spike {hour}" in digest["message"] for hour in range(3))


def test_a_digest_rule_sends_one_message_per_period(log: AlertLog, webhook: WebhookReceiver) -> None:
    rule = AlertRule("spikes", "spike", every=86400.0)
    sender = deliverer(log, webhook.json_url(), rules=[rule])
    for hour in (1, 5, 9):
        moment = datetime(2026, 3, 2, hour, tzinfo=UTC)
        log.record(firing(f"h{hour}", at=moment), ["chat"])
        sender.deliver_due(moment)
    assert webhook.posted == []
    sender.deliver_due(datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC))
    assert [m["title"] for m in webhook.messages()] == ["3 alerts"]


def test_network_text_cannot_ping_everyone_nor_inject_markup(log: AlertLog, webhook: WebhookReceiver) -> None:
    log.record(firing("h1", title="@everyone <!channel> <https://evil.example|click> \x1b[2J done"), ["chat"])
    deliverer(log, webhook.json_url()).deliver_due(NOW)
    (message,) = webhook.messages()
    title = message["title"]
    assert "@everyone" not in title
    assert "<!channel>" not in title
    assert "<https://" not in title
    assert "\x1b" not in title
    assert "done" in title
    assert sanitise("@here and @channel", 100) == "@\u200bhere and @\u200bchannel"


def test_the_url_lives_outside_feeds_toml(tmp_path: Path) -> None:
    secret = tmp_path / "chat.url"
    secret.write_text("json://127.0.0.1:1/x\n")
    os.chmod(secret, 0o644)
    with pytest.raises(ChannelUnavailable, match="chmod 600"):
        channel_url(Channel("chat", url_file=str(secret)), {})
    os.chmod(secret, 0o600)
    assert channel_url(Channel("chat", url_file=str(secret)), {}) == "json://127.0.0.1:1/x"
    with pytest.raises(ChannelUnavailable, match="CHAT_URL is not set"):
        channel_url(Channel("chat", url_env="CHAT_URL"), {})


def test_a_missing_url_is_a_failed_attempt_with_its_reason(log: AlertLog) -> None:
    log.record(firing("h1"), ["chat"])
    Deliverer(log, {"chat": Channel("chat", url_env="CHAT_URL")}, [], env={}).deliver_due(NOW)
    _state, attempts, error = states(log)[0]
    assert (attempts, error) == (1, "the environment variable CHAT_URL is not set")
