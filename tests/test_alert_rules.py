"""`[[alerts]]` and `[notify]` validation: each mistake names its table and key, with a did-you-mean."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from dashboard.config import ConfigError, load_config
from dashboard.contracts.alerts import AlertProblem, QuietHours, read_alerts
from dashboard.sources import source_types

CHANNELS = {"work-chat": {"url_env": "WORK_CHAT_URL", "quiet_hours": "22:00-07:00"}}
SOURCES = ["Blog", "Hacker News"]


def problem(alerts: object, notify: object = CHANNELS) -> AlertProblem:
    with pytest.raises(AlertProblem) as caught:
        read_alerts(alerts, notify, SOURCES)
    return caught.value


def test_a_full_set_of_rules_reads_into_records() -> None:
    config = read_alerts(
        [
            {"when": "spike", "notify": ["work-chat"], "scope": "source", "cooldown": "2h"},
            {"name": "broken", "when": "source_failing", "failures": 2, "notify": "work-chat"},
            {"when": "keyword", "words": ["outage", "down"], "source": "Hacker News"},
            {"when": "threshold", "metric": "waiting_reply", "above": 10, "window": "1d", "every": "1d"},
            {"when": "new_voice", "min_engagement": 50},
        ],
        CHANNELS,
        SOURCES,
    )
    spike, broken, keyword, threshold, voice = config.rules
    assert (spike.name, spike.scope, spike.cooldown, spike.notify) == (
        "spike-1",
        "source",
        7200.0,
        ("work-chat",),
    )
    assert (broken.name, broken.failures, broken.notify, broken.recovery) == (
        "broken",
        2,
        ("work-chat",),
        True,
    )
    assert keyword.words == ("outage", "down")
    assert keyword.sources == ("Hacker News",)
    assert (threshold.metric, threshold.above, threshold.below, threshold.every) == (
        "waiting_reply",
        10.0,
        None,
        86400.0,
    )
    assert voice.min_engagement == 50
    assert config.channels["work-chat"].quiet_hours == QuietHours(time(22, 0), time(7, 0))


@pytest.mark.parametrize(
    ("alerts", "table", "key", "words"),
    [
        ([{"when": "spkie"}], "alerts[1]", "when", "did you mean 'spike'"),
        ([{"when": "spike", "words": ["x"]}], "alerts[1]", "words", "belongs to when = 'keyword'"),
        ([{"when": "spike", "notify": ["work-caht"]}], "alerts[1]", "notify", "did you mean 'work-chat'"),
        ([{"when": "keyword"}], "alerts[1]", "words", "words to watch for"),
        (
            [{"when": "keyword", "words": ["x"], "source": "Blgo"}],
            "alerts[1]",
            "source",
            "did you mean 'Blog'",
        ),
        ([{"when": "threshold", "metric": "mentions"}], "alerts[1]", "", "exactly one of above or below"),
        (
            [{"when": "threshold", "metric": "negative_share", "above": 30}],
            "alerts[1]",
            "above",
            "write above = 0.3 for 30 %",
        ),
        ([{"when": "spike", "cooldown": "soon"}], "alerts[1]", "cooldown", "expected a duration"),
        ([{"when": "spike"}, {"when": "spike", "name": "spike-1"}], "alerts[2]", "name", "already used"),
        ([{"when": "source_failing", "failures": 0}], "alerts[1]", "failures", "at least 1"),
    ],
)
def test_each_rule_mistake_names_its_table_and_key(alerts: object, table: str, key: str, words: str) -> None:
    found = problem(alerts)
    assert (found.table, found.key) == (table, key)
    assert words in found.message


@pytest.mark.parametrize(
    ("notify", "key", "words"),
    [
        ({"chat": {"url": "slack://a/b/c"}}, "url", 'url_env = "CHAT_URL"'),
        ({"chat": {}}, "", "exactly one of url_env or url_file"),
        ({"chat": {"url_env": "X", "quiet": "22:00-07:00"}}, "quiet", "did you mean 'quiet_hours'"),
        ({"chat": {"url_env": "X", "quiet_hours": "22-7"}}, "quiet_hours", '"22:00-07:00"'),
        ({"chat": {"url_env": "not a name"}}, "url_env", "environment variable"),
    ],
)
def test_a_channel_never_holds_its_url_and_names_its_mistakes(notify: object, key: str, words: str) -> None:
    found = problem([], notify)
    assert (found.table, found.key) == ("notify.chat", key)
    assert words in found.message


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours(time(22, 0), time(7, 0))
    assert quiet.contains(time(23, 30))
    assert quiet.contains(time(6, 59))
    assert not quiet.contains(time(7, 0))
    assert not quiet.contains(time(12, 0))


def test_feeds_toml_mistakes_in_alerts_name_the_file_and_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        '[[feeds]]\nname = "Blog"\nurl = "https://blog.example/feed"\n\n'
        '[notify.work-chat]\nurl_env = "WORK_CHAT_URL"\n\n'
        '[[alerts]]\nwhen = "spike"\nnotify = ["work-chat"]\n\n'
        '[[alerts]]\nwhen = "keyword"\nwords = ["down"]\nnotify = ["work-caht"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(feeds, registry=source_types())
    assert str(caught.value) == (
        f"{feeds}:15: [[alerts]] entry 2: notify: no channel 'work-caht' in [notify] (channels: work-chat)"
        " (did you mean 'work-chat'?)"
    )
    feeds.write_text(feeds.read_text().replace("work-caht", "work-chat"), encoding="utf-8")
    config = load_config(feeds, registry=source_types())
    assert [rule.when for rule in config.alerts.rules] == ["spike", "keyword"]
    assert config.alerts.channels["work-chat"].url_env == "WORK_CHAT_URL"


def test_a_channel_url_in_feeds_toml_is_refused_at_its_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[notify.chat]\n\nurl = "slack://T000/B000/XXXX"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r":3: \[notify.chat\]: url: a delivery URL holds a token"):
        load_config(feeds, registry=source_types())
