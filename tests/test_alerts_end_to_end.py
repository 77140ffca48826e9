"""Alerts through the real poller and the real rule evaluation, over HTTP, to a real webhook.

A virtual clock drives a day and a half of hourly polls of local feeds: a calm baseline, then a
burst. The spike reaches the webhook once (however often the rules are evaluated, and after a
restart); a broken feed alerts once and its recovery once; a keyword alert carries its link.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.alerts import evaluate as evaluate_module
from dashboard.alerts.service import AlertEngine
from dashboard.config import load_config
from dashboard.contracts.alerts import AlertConfig, AlertRule, Channel
from dashboard.polling.service import running_poller
from dashboard.sources import source_types
from tests.localserver import LocalServer, Reply
from tests.receivers import WebhookReceiver

START = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
BASELINE_HOURS = 30
SPIKE_HOUR = START + timedelta(hours=BASELINE_HOURS)
BROKEN_ROUNDS = range(5, 9)


@dataclass
class World:
    now: datetime = START
    round: int = 0


def blog_feed(world: World) -> Reply:
    """Two posts an hour, and a burst of 25 in the spike hour, one of them about an outage."""
    items = []
    hour = START.replace(minute=0)
    while hour <= world.now:
        count = 25 if hour == SPIKE_HOUR.replace(minute=0) else 2
        for number in range(count):
            published = hour + timedelta(minutes=number)
            if published > world.now:
                break
            key = f"{hour:%d%H}-{number}"
            title = "Textual is down: outage report" if count == 25 and number == 3 else f"Post {key}"
            items.append(
                f"<item><title>{title}</title><link>https://blog.example/{key}</link><guid>{key}</guid>"
                f"<pubDate>{format_datetime(published)}</pubDate><author>a{number}@example.org (A{number})</author></item>"
            )
        hour += timedelta(hours=1)
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
        "<link>https://blog.example/</link><description>d</description>"
        + "".join(reversed(items))
        + "</channel></rss>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def server(world: World) -> Iterator[LocalServer]:
    with LocalServer() as local:
        local.route("/blog.xml", lambda seen, raw: blog_feed(world))
        local.route("/forum.xml", lambda seen, raw: forum_feed(world))
        yield local


def forum_feed(world: World) -> Reply:
    if world.round in BROKEN_ROUNDS:
        return Reply(500, b"maintenance", {"Content-Type": "text/plain"})
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title><link>https://forum.example/</link>'
        "<description>d</description></channel></rss>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


RULES = AlertConfig(
    rules=(
        AlertRule("spikes", "spike", notify=("chat",), scope="source"),
        AlertRule("broken", "source_failing", notify=("chat",), failures=2),
        AlertRule("outage", "keyword", notify=("chat",), words=("outage", "down")),
    ),
    channels={"chat": Channel("chat", url_env="CHAT_URL")},
)


async def test_spike_failure_recovery_and_keyword_each_reach_the_webhook_once(
    tmp_path: Path, server: LocalServer, world: World
) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feeds]]\nname = "Blog"\nurl = "{server.url("/blog.xml")}"\n\n'
        f'[[feeds]]\nname = "Forum"\nurl = "{server.url("/forum.xml")}"\n',
        encoding="utf-8",
    )
    config = load_config(feeds, registry=source_types())
    database = tmp_path / "mentions.db"
    webhook = WebhookReceiver()
    env = {"CHAT_URL": webhook.json_url()}
    try:
        engine = AlertEngine(RULES, database, env=env)
        async with running_poller(config, database, clock=lambda: world.now) as poller:
            for number in range(BASELINE_HOURS + 3):
                world.round, world.now = number, START + timedelta(hours=number)
                await poller.poll_once()  # what is due, as the scheduler would
                engine.run_round(world.now)
                engine.run_round(world.now + timedelta(minutes=1))  # evaluating twice changes nothing
        engine.close()
        restarted = AlertEngine(RULES, database, env=env)  # a restart, or a second instance
        restarted.run_round(world.now + timedelta(minutes=2))
        restarted.close()
    finally:
        webhook.close()

    titles = [message["title"] for message in webhook.messages()]
    spikes = [t for t in titles if t.startswith("Spike")]
    assert spikes == [f"Spike on Blog: 25 mentions in the hour from {SPIKE_HOUR:%H}:00 UTC"], titles
    failing = [t for t in titles if t.startswith("Forum is failing")]
    recovered = [t for t in titles if t == "Forum works again"]
    assert (len(failing), len(recovered)) == (1, 1), titles
    (outage,) = [m for m in webhook.messages() if m["title"].startswith("down, outage on Blog")]
    assert "https://blog.example/" in outage["message"]


async def test_rounds_run_because_time_passed_skip_the_spike_look(
    tmp_path: Path, server: LocalServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only new data can make a spike: the minutely rounds between polls do not look again (at
    1,000 sources a look cost ~0.45 s of CPU), the time-based rules still run every round."""
    looked: dict[str, list[datetime]] = {"spike": [], "source_failing": []}
    for when, calls in looked.items():
        rule_look = evaluate_module.EVALUATORS[when]

        def counted(rule: AlertRule, *args: Any, _look: Any = rule_look, _calls: Any = calls) -> Any:
            _calls.append(args[-1])
            return _look(rule, *args)

        monkeypatch.setitem(evaluate_module.EVALUATORS, when, counted)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "Blog"\nurl = "{server.url("/blog.xml")}"\n', encoding="utf-8")
    config, database = load_config(feeds, registry=source_types()), tmp_path / "mentions.db"
    engine = AlertEngine(RULES, database, env={"CHAT_URL": "json://127.0.0.1:9/"})
    try:
        async with running_poller(config, database, clock=lambda: world.now) as poller:
            await poller.poll_once()
            for minute in range(3):
                engine.run_round(START + timedelta(minutes=minute))
            world.round, world.now = 1, START + timedelta(hours=1)
            await poller.poll_once()
            engine.run_round(world.now)
    finally:
        engine.close()
    assert looked["spike"] == [START, START + timedelta(hours=1)]
    assert len(looked["source_failing"]) == 4
