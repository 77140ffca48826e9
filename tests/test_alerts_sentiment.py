"""`[[alerts]] when = "threshold", metric = "negative_share"`: read from feeds.toml, evaluated by the
real alert engine over a real store, delivered to a local webhook. Mentions in languages not scored
never count, on either side of the fraction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dashboard.alerts.service import AlertEngine
from dashboard.config import ConfigError, load_config
from dashboard.contracts.alerts import DEFAULT_MIN_SCORED, AlertProblem, read_alerts
from dashboard.opinion import label_for
from dashboard.sources import source_types
from tests.analytics_data import NOW, StoreBuilder
from tests.receivers import WebhookReceiver

FEEDS = """\
[[feeds]]
name = "Blog"
url = "https://blog.example/feed.xml"

[[feeds]]
name = "Forum"
url = "https://forum.example/latest.rss"

[notify.chat]
url_env = "CHAT_URL"

[[alerts]]
name = "unhappy"
when = "threshold"
metric = "negative_share"
above = 0.5
window = "1d"
min_scored = 4
notify = ["chat"]

[[alerts]]
name = "unhappy-forum"
when = "threshold"
metric = "negative_share"
above = 0.5
source = ["Forum"]
min_scored = 1

[[alerts]]
name = "needs-more"
when = "threshold"
metric = "negative_share"
above = 0.1
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, StoreBuilder]]:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(FEEDS, encoding="utf-8")
    builder = StoreBuilder(tmp_path / "mentions.db")
    builder.source("Blog")
    builder.source("Forum")
    builder.connection.commit()
    yield feeds, builder
    builder.close()


def add(
    builder: StoreBuilder, source: str, published: datetime, language: str | None, value: float | None
) -> None:
    mention_id = builder.mention(source, published, title=f"{language} {value}")
    builder.connection.execute(
        "UPDATE mentions SET language = ?, sentiment = ?, sentiment_label = ?, opinion_version = 1 WHERE id = ?",
        (language, value, None if value is None else label_for(value), mention_id),
    )
    builder.connection.commit()


def test_the_rule_is_read_with_its_keys(setup: tuple[Path, StoreBuilder]) -> None:
    config = load_config(setup[0], registry=source_types())
    unhappy, forum, needs_more = config.alerts.rules
    assert (unhappy.when, unhappy.metric, unhappy.above, unhappy.window, unhappy.min_scored) == (
        "threshold",
        "negative_share",
        0.5,
        86400.0,
        4,
    )
    assert forum.sources == ("Forum",)
    assert needs_more.min_scored == DEFAULT_MIN_SCORED


@pytest.mark.parametrize(
    ("rule", "key", "words"),
    [
        ({"metric": "negative_share", "above": 30}, "above", "write above = 0.3 for 30 %"),
        ({"metric": "negative_share", "below": 1.5}, "below", "from 0 to 1"),
        ({"metric": "negative_share", "above": 0.3, "min_scored": 0}, "min_scored", "at least 1"),
        ({"metric": "mentions", "above": 3, "min_scored": 5}, "min_scored", 'metric = "negative_share" only'),
        ({"metric": "negativ_share", "above": 0.3}, "metric", "did you mean 'negative_share'"),
    ],
)
def test_mistakes_name_their_key(rule: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(AlertProblem) as caught:
        read_alerts([{"when": "threshold", **rule}], {}, ["Blog"])
    assert caught.value.key == key
    assert words in caught.value.message


def test_a_mistake_in_feeds_toml_names_the_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(FEEDS.replace("above = 0.5\nwindow", "above = 50\nwindow"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(feeds, registry=source_types())
    assert "above = 0.5 for 50 %" in str(caught.value)
    assert f"{feeds}:" in str(caught.value)


def test_fires_once_when_crossing_and_never_counts_unscored_languages(
    setup: tuple[Path, StoreBuilder],
) -> None:
    feeds, builder = setup
    config = load_config(feeds, registry=source_types())
    webhook = WebhookReceiver()
    try:
        engine = AlertEngine(config.alerts, builder.path, env={"CHAT_URL": webhook.json_url()})
        # 3 of 5 scored negative (60 %), and 4 German and Spanish posts with no sentiment: counted as
        # neutral they would make it 3 of 9 (33 %), under the line.
        for hours, value in ((1, -0.6), (2, -0.5), (3, -0.4), (4, 0.5), (5, 0.0)):
            add(builder, "Blog", NOW - timedelta(hours=hours), "en" if hours % 2 else "fr", value)
        for hours, language in ((1.5, "de"), (2.5, "es"), (3.5, "de"), (4.5, None)):
            add(builder, "Blog", NOW - timedelta(hours=hours), language, None)
        add(builder, "Blog", NOW - timedelta(days=1, hours=1), "en", 0.9)  # before the 1 d window
        first = engine.run_round(NOW)
        assert [alert.rule for alert in first.raised] == ["unhappy"]  # Forum has nothing; needs-more < 10
        (alert,) = first.raised
        assert alert.title == "negative share is 60% (3 of 5), above 50%"
        assert "3 of the 5 mentions scored" in alert.body
        assert "not scored are not counted" in alert.body
        assert [message["title"] for message in webhook.messages()] == [alert.title]

        # Still past the line a minute later: not raised again.
        assert engine.run_round(NOW + timedelta(minutes=1)).raised == []

        # Positive mentions bring it back under (3 of 8), then two more negative ones cross again.
        later = NOW + timedelta(hours=3)
        for minutes in (1, 2, 3):
            add(builder, "Blog", later - timedelta(minutes=minutes), "en", 0.7)
        assert engine.run_round(later).raised == []
        again = later + timedelta(hours=2)
        for minutes in (1, 2, 3, 4):
            add(builder, "Blog", again - timedelta(minutes=minutes), "fr", -0.8)
        second = engine.run_round(again)
        # Twelve scored now: "needs-more" (min_scored 10, above 10 %) has enough to fire for the first time.
        assert [(alert.rule, alert.title) for alert in second.raised] == [
            ("unhappy", "negative share is 58% (7 of 12), above 50%"),
            ("needs-more", "negative share is 58% (7 of 12), above 10%"),
        ]
        engine.close()
    finally:
        webhook.close()


def test_a_rule_on_some_sources_counts_only_theirs(setup: tuple[Path, StoreBuilder]) -> None:
    feeds, builder = setup
    config = load_config(feeds, registry=source_types())
    engine = AlertEngine(config.alerts, builder.path)
    for hours in (1, 2, 3, 4, 5):
        add(builder, "Blog", NOW - timedelta(hours=hours), "en", 0.8)
    add(builder, "Forum", NOW - timedelta(hours=1), "en", -0.8)
    add(builder, "Forum", NOW - timedelta(hours=2), "de", None)
    raised = engine.run_round(NOW).raised
    # Overall 1 of 6 (17 %): "unhappy" stays quiet; on the Forum alone 1 of 1, over min_scored = 1.
    assert [(alert.rule, alert.title) for alert in raised] == [
        ("unhappy-forum", "negative share is 100% on Forum (1 of 1), above 50%")
    ]
    engine.close()


def test_below_min_scored_is_unknown_and_raises_nothing(setup: tuple[Path, StoreBuilder]) -> None:
    feeds, builder = setup
    config = load_config(feeds, registry=source_types())
    engine = AlertEngine(config.alerts, builder.path)
    for hours in (1, 2, 3):  # three scored, all negative: under "unhappy"'s min_scored = 4
        add(builder, "Blog", NOW - timedelta(hours=hours), "en", -0.9)
    for hours in range(4, 12):  # many mentions, none scored
        add(builder, "Blog", NOW - timedelta(hours=hours), "es", None)
    assert engine.run_round(NOW).raised == []
    add(builder, "Blog", NOW - timedelta(minutes=5), "en", 0.9)  # the fourth: 3 of 4 = 75 %
    assert [alert.rule for alert in engine.run_round(NOW).raised] == ["unhappy"]
    engine.close()
