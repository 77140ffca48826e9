"""`poll --once` (as cron or a systemd timer runs it) raises and delivers alerts, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.cli import main
from tests.localserver import LocalServer, Reply
from tests.receivers import WebhookReceiver

ITEM = (
    "<item><title>{title}</title><link>https://blog.example/{key}</link><guid>{key}</guid>"
    "<pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate></item>"
)


def feed(*titles: str) -> Reply:
    items = "".join(ITEM.format(title=title, key=number) for number, title in enumerate(titles))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>{items}</channel></rss>'
    return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_poll_once_raises_a_keyword_alert_once_and_delivers_it(
    tmp_path: Path,
    server: LocalServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHAT_URL", webhook.json_url())
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[settings]\ndatabase = "{tmp_path / "mentions.db"}"\n\n'
        f'[[feeds]]\nname = "Blog"\nurl = "{server.url("/feed.xml")}"\n\n'
        '[notify.chat]\nurl_env = "CHAT_URL"\n\n'
        '[[alerts]]\nname = "outage"\nwhen = "keyword"\nwords = ["outage"]\nnotify = ["chat"]\n',
        encoding="utf-8",
    )
    server.route("/feed.xml", feed("An old outage post", "Hello"))
    assert main(["poll", "--once", "--config", str(feeds)]) == 0
    assert "Alert" not in capsys.readouterr().out  # what was there before the rule looked is not news
    server.route("/feed.xml", feed("An old outage post", "Hello", "Big outage today"))
    assert main(["poll", "--once", "--config", str(feeds)]) == 0
    assert "Alert outage: outage on Blog: Big outage today" in capsys.readouterr().out
    assert main(["poll", "--once", "--config", str(feeds)]) == 0
    assert "Alert" not in capsys.readouterr().out
    (message,) = webhook.messages()
    assert message["title"] == "outage on Blog: Big outage today"
    assert "https://blog.example/2" in message["message"]
