"""The rules, evaluated against the store after a stored poll: what is happening now that a rule
names, as Firings with an identity (rule, subject, occurrence) that the alert log keeps once.

Each rule looks only at what is recent (the spike hours of the last two hours, mentions stored since
its last look, the sources' current state), so switching the dashboard's window, restarting, or a
second instance evaluating the same data finds the same occurrences, which are stored once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analytics import sentiment, spikes, voices, volume
from dashboard.analytics.dashboard import DashboardOptions, health_grids, waiting_reply_count
from dashboard.analytics.status import Health, health_of, parse_status
from dashboard.analytics.windows import Window
from dashboard.contracts.alerts import AlertRule
from dashboard.durations import format_duration
from dashboard.store.alerts import AlertLog, Firing
from dashboard.store.reader import StoreReader

# A spike is an alert while its hour is at most this old (a poll may land late in the next hour).
SPIKE_RECENT_HOURS = 2
# How many new mentions one evaluation reads for keyword and new-voice rules (the rest next time).
MENTIONS_PER_LOOK = 5000
WATERMARK = "last_mention_id"

Evaluator = Callable[[AlertRule, StoreReader, AlertLog, datetime], list[Firing]]


def spike_firings(rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime) -> list[Firing]:
    sources = reader.sources()
    names = [str(name) for name in sources.loc[sources["active"], "name"]]
    window = Window.between(now - timedelta(hours=SPIKE_RECENT_HOURS), now, bucket="h")
    _, hourly_grid, span = health_grids(reader, window, names)
    table = spikes.hourly_table(spikes.hourly_counts(reader, span.start, span.end), hourly_grid)
    found = spikes.find_spikes(table, threshold=rule.threshold, min_count=rule.min_count)
    overall = found["source"] == spikes.OVERALL
    if rule.scope == "source":
        found = found[~overall]
    elif rule.scope == "overall":
        found = found[overall]
    if rule.sources:
        found = found[found["source"].isin(rule.sources) | (found["source"] == spikes.OVERALL)]
    if found.empty:
        return []
    drivers = spikes.ids_in_hours(reader, found["bucket_start"].dt.to_pydatetime().tolist())
    found = spikes.attach_mention_ids(found, drivers)
    firings = []
    for spike in _records(found):  # a handful of spikes, never a big frame
        hour: datetime = spike["bucket_start"].to_pydatetime()
        where = f"on {spike['source']}" if spike["source"] else "across all sources"
        firings.append(
            Firing(
                rule=rule.name,
                kind="spike",
                subject=str(spike["source"]),
                occurrence=hour.isoformat(),
                at=now,
                title=f"Spike {where}: {spike['mentions']} mentions in the hour from {hour:%H:%M} UTC",
                body=(
                    f"{spike['mentions']} mentions {where} in the hour from {hour:%Y-%m-%d %H:%M} UTC; the usual"
                    f" hour has {spike['baseline']:.1f} (robust z = {spike['score']:.1f}, rule: above {rule.threshold:g})."
                ),
                mention_ids=tuple(int(i) for i in spike["mention_ids"]),
                numbers={
                    "mentions": int(spike["mentions"]),
                    "baseline": float(spike["baseline"]),
                    "z": float(spike["score"]),
                },
            )
        )
    return firings


def failing_firings(rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime) -> list[Firing]:
    """A source enters failure once per episode (the episode starts after its last success), and
    leaves it once: the recovery is raised only for an episode this rule announced."""
    sources = reader.sources()
    if rule.sources:
        sources = sources[sources["name"].isin(rule.sources)]
    firings = []
    for source in _records(sources.loc[sources["active"]]):
        name = str(source["name"])
        status = parse_status(source["status"])
        episode = _stamp(source["last_success_at"])
        announced = log.state(rule.name, f"failing:{name}")
        if (
            health_of(status) is Health.FAILING
            and announced != episode
            and _failing_long_enough(rule, source, now)
        ):
            error = str(source["last_error"]) or str(status)
            firings.append(
                Firing(
                    rule=rule.name,
                    kind="source_failing",
                    subject=name,
                    occurrence=f"failing since {episode}",
                    at=now,
                    title=f"{name} is failing ({status}): {error}"[:300],
                    body=(
                        f"{name} failed {int(source['consecutive_failures'])} time(s) in a row; last success:"
                        f" {episode}. Last error: {error}"
                    ),
                    numbers={"consecutive_failures": int(source["consecutive_failures"])},
                )
            )
            log.set_state(rule.name, f"failing:{name}", episode)
        elif status.is_success and announced:
            if rule.recovery:
                firings.append(
                    Firing(
                        rule=rule.name,
                        kind="source_recovered",
                        subject=name,
                        occurrence=f"recovered at {_stamp(source['last_success_at'])}",
                        at=now,
                        title=f"{name} works again",
                        body=f"{name} was polled successfully at {_stamp(source['last_success_at'])}.",
                    )
                )
            log.set_state(rule.name, f"failing:{name}", "")
    return firings


def keyword_firings(rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime) -> list[Firing]:
    mentions = _new_mentions(rule, reader, log)
    if mentions.empty:
        return []
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(word.casefold()) for word in rule.words) + r")(?!\w)"
    )
    text = (mentions["title"].astype("str") + "\n" + mentions["summary"].astype("str")).str.casefold()
    matched = mentions[text.str.contains(pattern, regex=True).to_numpy(dtype=bool)]
    firings = []
    for mention in _records(matched):
        words = sorted(set(pattern.findall(f"{mention['title']}\n{mention['summary']}".casefold())))
        by = f" by {mention['author']}" if mention["author"] else ""
        firings.append(
            Firing(
                rule=rule.name,
                kind="keyword",
                subject=str(mention["source"]),
                occurrence=f"mention {mention['id']}",
                at=now,
                title=f"{', '.join(words)} on {mention['source']}{by}: {mention['title']}"[:300],
                body=f"{mention['title']}\n{str(mention['summary'])[:500]}",
                url=str(mention["url"]),
                mention_ids=(int(mention["id"]),),
                numbers={"words": words},
            )
        )
    return firings


def new_voice_firings(rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime) -> list[Firing]:
    """An author's first mention on a source, among the mentions stored since the last look."""
    mentions = _new_mentions(rule, reader, log)
    mentions = mentions[mentions["author"].astype("str") != ""]
    if mentions.empty:
        return []
    oldest = mentions["published_at"].min().to_pydatetime()
    stats = voices.author_stats(reader, oldest, now + timedelta(seconds=1))
    firsts = mentions.sort_values("published_at").drop_duplicates(["source", "author"])
    firsts = firsts.merge(stats[["source", "author", "first_seen_at"]], on=["source", "author"], how="left")
    engagement = firsts["engagement"].fillna(0).to_numpy(dtype=float)
    new = (firsts["first_seen_at"] >= firsts["published_at"]).to_numpy(dtype=bool)
    chosen = firsts[new & (engagement >= rule.min_engagement)]
    return [
        Firing(
            rule=rule.name,
            kind="new_voice",
            subject=f"{voice['source']}/{voice['author']}",
            occurrence="first mention",
            at=now,
            title=f"New voice on {voice['source']}: {voice['author']}: {voice['title']}"[:300],
            body=f"{voice['author']} mentioned the project on {voice['source']} for the first time: {voice['title']}",
            url=str(voice["url"]),
            mention_ids=(int(voice["id"]),),
        )
        for voice in _records(chosen)
    ]


def threshold_firings(rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime) -> list[Firing]:
    """Raised when the metric crosses the line, not while it stays past it. An unknown value (a
    negative share over fewer than `min_scored` scored mentions) is neither side: nothing is raised
    and the rule remembers the side it was last known on."""
    if rule.metric == "negative_share":
        return _negative_share_firings(rule, reader, log, now)
    value = _metric(rule, reader, now)
    crossing = _crossed(rule, log, value)
    if crossing is None:
        return []
    side, line = crossing
    label = rule.metric.replace("_", " ")
    return [
        Firing(
            rule=rule.name,
            kind="threshold",
            subject="",
            occurrence=f"crossed at {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
            at=now,
            title=f"{label} is {value:g}, {side} {line:g}",
            body=f"{label} over the last {format_duration(rule.window)} is {value:g}, {side} the rule's {line:g}.",
            numbers={"value": value, side: line},
        )
    ]


def _crossed(rule: AlertRule, log: AlertLog, value: float) -> tuple[str, float] | None:
    """(side, line) when `value` has just crossed the rule's line, else None; whether it was past
    the line is remembered, so a value that stays past it fires once per crossing."""
    past = value > rule.above if rule.above is not None else value < (rule.below or 0.0)
    was_past = log.state(rule.name, "past") == "1"
    log.set_state(rule.name, "past", "1" if past else "0")
    if not past or was_past:
        return None
    if rule.above is not None:
        return "above", rule.above
    return "below", rule.below or 0.0


def _negative_share_firings(
    rule: AlertRule, reader: StoreReader, log: AlertLog, now: datetime
) -> list[Firing]:
    """negative / scored mentions published over the rule's window (its sources, if it names some);
    mentions in a language not scored never count, on either side of the fraction."""
    tally = sentiment.label_totals(
        reader, now - timedelta(seconds=rule.window), now + timedelta(seconds=1), rule.sources or None
    )
    value = tally.negative_share
    if value is None or tally.scored < rule.min_scored:
        return []
    crossing = _crossed(rule, log, value)
    if crossing is None:
        return []
    side, line = crossing
    where = f" on {', '.join(rule.sources)}" if rule.sources else ""
    return [
        Firing(
            rule=rule.name,
            kind="threshold",
            subject="",
            occurrence=f"crossed at {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
            at=now,
            title=f"negative share is {value:.0%}{where} ({tally.negative} of {tally.scored}), {side} {line:.0%}",
            body=(
                f"{tally.negative} of the {tally.scored} mentions scored for sentiment over the last"
                f" {format_duration(rule.window)}{where} are negative ({value:.1%}), {side} the rule's"
                f" {line:.0%}; {tally.positive} positive, {tally.neutral} neutral. Mentions in languages"
                " not scored are not counted."
            ),
            numbers={
                "value": value,
                side: line,
                "negative": tally.negative,
                "scored": tally.scored,
            },
        )
    ]


EVALUATORS: dict[str, Evaluator] = {
    "spike": spike_firings,
    "source_failing": failing_firings,
    "keyword": keyword_firings,
    "new_voice": new_voice_firings,
    "threshold": threshold_firings,
}


def evaluate(
    rules: Sequence[AlertRule], reader: StoreReader, log: AlertLog, now: datetime
) -> list[tuple[AlertRule, Firing]]:
    """Every rule's firings now, each with its rule; the caller records them."""
    return [(rule, firing) for rule in rules for firing in EVALUATORS[rule.when](rule, reader, log, now)]


# -- helpers --------------------------------------------------------------------------------------


def _new_mentions(rule: AlertRule, reader: StoreReader, log: AlertLog) -> pd.DataFrame:
    """Mentions stored since this rule last looked. A new rule starts at the newest mention, so it
    never raises a storm about the past."""
    mark = log.state(rule.name, WATERMARK)
    if mark is None:
        log.set_state(rule.name, WATERMARK, str(reader.max_mention_id()))
        return reader.mentions_since(reader.max_mention_id(), limit=0)
    mentions = reader.mentions_since(int(mark), limit=MENTIONS_PER_LOOK)
    if not mentions.empty:
        log.set_state(rule.name, WATERMARK, str(int(mentions["id"].max())))
    if rule.sources:
        mentions = mentions[mentions["source"].isin(rule.sources)]
    return mentions


def _failing_long_enough(rule: AlertRule, source: Mapping[str, Any], now: datetime) -> bool:
    failures = int(source["consecutive_failures"])
    since = source["last_success_at"]
    if rule.failing_for is None or pd.isna(since):
        return failures >= rule.failures
    return bool((now - since.to_pydatetime()).total_seconds() >= rule.failing_for)


def _metric(rule: AlertRule, reader: StoreReader, now: datetime) -> float:
    start = now - timedelta(seconds=rule.window)
    if rule.metric == "mentions":
        totals = volume.totals(reader, start, now + timedelta(seconds=1))
        if rule.sources:
            totals = totals[totals["source"].isin(rule.sources)]
        return float(np.sum(totals["mentions"].to_numpy(dtype=float)))
    return float(waiting_reply_count(reader, now, DashboardOptions()))


def _stamp(moment: Any) -> str:
    if moment is None or pd.isna(moment):
        return "never"
    return f"{pd.Timestamp(moment).tz_convert(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A small frame's rows as dicts (the few alerts of one evaluation, never a big table)."""
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]
