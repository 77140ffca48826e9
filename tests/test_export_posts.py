"""posts.csv and reactions.csv (issue 12): `export --what posts|reactions` and every snapshot hold the
Posts panel's numbers, CSV-injection-safe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dashboard.analytics.dashboard import compute_dashboard
from dashboard.analytics.windows import Window
from dashboard.cli import main
from dashboard.export.csvfile import TableSpec
from dashboard.export.snapshot import read_manifest
from dashboard.export.tables import POSTS, REACTIONS
from dashboard.store.reader import StoreReader
from tests.analytics_data import NOW, at
from tests.test_posts_analytics import OTHER, POST, EchoBuilder

WINDOW = ["--since", "2024-03-30T12:00", "--until", "2024-03-31T12:00"]
FEEDS_TOML = '[[feeds]]\nname = "Blog"\nurl = "https://blog.example.org/feed.xml"\nown = true\n'


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    builder = EchoBuilder(tmp_path / "store.db")
    for name, kind in (("Blog", "feed"), ("Comments", "feed"), ("HN", "hackernews"), ("Reddit", "reddit")):
        builder.source(name, kind)
    builder.own("Blog")
    builder.own("Comments")
    builder.item("Blog", at(-20), POST, title='=HYPERLINK("http://evil")')
    builder.item("Blog", at(0, days=-10), OTHER, title="Older")
    builder.item("HN", at(-5), "https://news.ycombinator.com/item?id=1", (POST, OTHER), likes=7, replies=3)
    builder.item("Reddit", at(-4), "https://reddit.com/r/x/1", (POST + "?utm_source=a",), author="-rm")
    builder.item("Comments", at(-3), POST + "#comment-1", kind="comment", author="ann")
    builder.item("Comments", at(-2), POST + "#comment-2", kind="pingback")
    builder.connection.commit()
    builder.close()
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS_TOML, encoding="utf-8")
    return config, tmp_path / "store.db"


def run(setup: tuple[Path, Path], *argv: str) -> int:
    config, database = setup
    return main(["export", "--config", str(config), "--db", str(database), *argv])


def read(path: Path, spec: TableSpec) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(path, **spec.read_csv_options())
    return frame


def panel(database: Path) -> pd.DataFrame:
    window = Window.between(at(-24), NOW)
    with StoreReader.open(database) as reader:
        return compute_dashboard(reader, window, keywords=(), now=NOW).posts


def test_posts_csv_equals_the_panel(setup: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "posts.csv"
    assert run(setup, *WINDOW, "--what", "posts", "-o", str(out)) == 0
    exported = read(out, POSTS)
    shown = panel(setup[1])
    assert list(exported.columns) == POSTS.names
    assert exported["post_url"].tolist() == shown["post_url"].tolist() == [POST, OTHER]
    for column in ("reactions", "comments", "pingbacks", "reaction_engagement"):
        assert exported[column].tolist() == shown[column].tolist(), column
    assert exported["networks"].tolist() == ["hackernews; reddit", "hackernews"]
    assert exported["title"].iloc[0].startswith("'=")  # a formula is text, never run
    assert exported["first_reaction_at"].iloc[0] == pd.Timestamp(at(-5))


def test_reactions_csv_rows_add_up_to_the_posts(setup: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "reactions.csv"
    assert run(setup, *WINDOW, "--what", "reaction", "-o", str(out)) == 0
    rows = read(out, REACTIONS)
    assert list(rows.columns) == REACTIONS.names
    shown = panel(setup[1]).set_index("post_url")
    echo = rows[~rows["matched_by"].isin(["comment", "pingback"])]
    assert echo.groupby("post_url").size().to_dict() == shown["reactions"].astype(int).to_dict()
    assert sorted(rows.loc[rows["post_url"] == POST, "matched_by"]) == ["comment", "pingback", "url", "url"]
    assert "'-rm" in rows["author"].tolist()
    assert rows["mention_url"].str.startswith("https://").all()


def test_every_snapshot_has_posts_and_reactions(setup: tuple[Path, Path], tmp_path: Path) -> None:
    assert run(setup, *WINDOW, "-o", str(tmp_path)) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("snapshot-")]
    manifest = read_manifest(folder)
    assert manifest["row_counts"]["posts"] == 2
    assert manifest["row_counts"]["reactions"] == 5
    assert read(folder / "posts.csv", POSTS)["reactions"].tolist() == [2, 1]


def test_an_empty_store_writes_the_headers(tmp_path: Path) -> None:
    builder = EchoBuilder(tmp_path / "store.db")
    builder.source("Blog", "feed")
    builder.connection.commit()
    builder.close()
    (tmp_path / "feeds.toml").write_text(FEEDS_TOML, encoding="utf-8")
    out = tmp_path / "posts.csv"
    assert (
        run((tmp_path / "feeds.toml", tmp_path / "store.db"), *WINDOW, "--what", "posts", "-o", str(out)) == 0
    )
    assert out.read_text(encoding="utf-8").splitlines()[0].split(",") == POSTS.names
