"""`alerts test CHANNEL` and `alerts list`, as a user runs them, against a real local webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.store.alerts import AlertLog, Firing
from dashboard.store.db import connect
from tests.receivers import WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def feeds_toml(tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[settings]\ndatabase = "{tmp_path / "mentions.db"}"\n\n'
        '[[feeds]]\nname = "Blog"\nurl = "https://blog.example/feed"\n\n'
        '[notify.work-chat]\nurl_env = "WORK_CHAT_URL"\n\n'
        '[[alerts]]\nname = "spikes"\nwhen = "spike"\nnotify = ["work-chat"]\n',
        encoding="utf-8",
    )
    return feeds


def test_alerts_test_sends_one_message_and_says_so(
    tmp_path: Path,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORK_CHAT_URL", webhook.json_url())
    assert main(["alerts", "test", "work-chat", "--config", str(feeds_toml(tmp_path))]) == 0
    assert "Sent a test message to work-chat ($WORK_CHAT_URL)" in capsys.readouterr().out
    assert [m["title"] for m in webhook.messages()] == ["community-dashboard test message"]


def test_alerts_test_says_why_it_failed(
    tmp_path: Path,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feeds = feeds_toml(tmp_path)
    monkeypatch.delenv("WORK_CHAT_URL", raising=False)
    assert main(["alerts", "test", "work-chat", "--config", str(feeds)]) == 1
    assert "WORK_CHAT_URL is not set" in capsys.readouterr().err
    assert main(["alerts", "test", "work-caht", "--config", str(feeds)]) == 2
    assert "no channel 'work-caht' (channels: work-chat)" in capsys.readouterr().err


def test_alerts_list_shows_what_fired_and_its_delivery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = feeds_toml(tmp_path)
    connection = connect(tmp_path / "mentions.db")
    log = AlertLog(connection)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    log.record(
        Firing("spikes", "spike", "Blog", "h9", at, "Spike on Blog: \x1b[2J12 mentions", "b"), ["work-chat"]
    )
    for attempt in range(3):  # a channel is failing once its last 3 attempts failed
        (delivery,) = log.due(at + timedelta(minutes=attempt))
        retry = at + timedelta(minutes=attempt + 1) if attempt < 2 else None
        log.attempted([delivery], at + timedelta(minutes=attempt), "HTTP 500 from the receiver", retry)
    connection.close()
    assert main(["alerts", "list", "--config", str(feeds)]) == 0
    captured = capsys.readouterr()
    assert "2026-03-02 09:00 UTC  spikes" in captured.out
    assert "Spike on Blog: " in captured.out
    assert "\x1b" not in captured.out
    assert "work-chat: failed (HTTP 500 from the receiver)" in captured.out
    assert "Channel work-chat is failing: HTTP 500 from the receiver" in captured.err


def test_the_ui_reads_alerts_and_failing_channels_from_the_store(tmp_path: Path) -> None:
    from dashboard.ui.data import alert_log

    connection = connect(tmp_path / "mentions.db")
    log = AlertLog(connection)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for hour in range(3):
        log.record(Firing("spikes", "spike", "Blog", f"h{hour}", at, f"Spike {hour}", "b"), ["chat", "mail"])
    for minute, delivery in enumerate(log.due(at)):
        sent_at = at + timedelta(minutes=minute)
        log.attempted([delivery], sent_at, "" if delivery.channel == "mail" else "HTTP 500", sent_at)
    connection.close()
    view = alert_log(tmp_path / "mentions.db", ["chat", "mail"])
    assert [alert["title"] for alert in view.alerts] == ["Spike 2", "Spike 1", "Spike 0"]
    assert view.failing_channels == {"chat": "HTTP 500"}
    assert "mail: delivered" in view.alerts[0]["delivery"]
