"""OPML import into feeds.toml (comments kept, duplicates skipped, validated) and export (round trip)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.config import ConfigError, load_config, parse_config
from dashboard.export.opml import (
    OpmlError,
    OpmlFeed,
    export_opml,
    import_opml,
    merge_feeds,
    parse_opml,
    url_key,
)
from dashboard.sources import source_types

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech" title="Tech">
      <outline text="Python">
        <outline type="rss" text="Real Python" title="Real Python" xmlUrl="https://realpython.com/atom.xml"
                 htmlUrl="https://realpython.com/"/>
        <outline type="rss" text="Textual blog" xmlUrl="HTTPS://Textual.Textualize.io/feed_rss_created.xml/"/>
      </outline>
      <outline type="rss" text="LWN &amp; friends" xmlUrl="https://lwn.net/headlines/rss" category="/News/Linux,weekly"/>
    </outline>
    <outline type="rss" text="Blog" xmlUrl="https://another.example/blog.xml"/>
    <outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>
    <outline type="rss" xmlUrl="https://untitled.example/path/feed/"/>
    <outline text="An empty folder"/>
  </body>
</opml>
"""

FEEDS_TOML = """\
# My feeds. Hand-written: keep this comment!
[settings]
interval = "15m"   # poll every quarter hour

# ---- blogs ----

[[feeds]]
name = "Blog"                      # our own blog
url = "https://blog.example/feed.xml"
tags = ["blog"]

[[feeds]]
name = "Textual blog"
url = "https://textual.textualize.io/feed_rss_created.xml"   # already followed

[export]
keep = 10  # snapshots to keep
"""


def test_parse_nested_folders_become_tags() -> None:
    feeds = parse_opml(OPML)
    assert [feed.title for feed in feeds] == [
        "Real Python",
        "Textual blog",
        "LWN & friends",
        "Blog",
        "Gopher",
        "",
    ]
    assert feeds[0].tags == ("Tech", "Python")
    assert feeds[2].tags == ("Tech", "News", "Linux", "weekly")
    assert feeds[3].tags == ()
    assert feeds[0].url == "https://realpython.com/atom.xml"


@pytest.mark.parametrize(
    "document",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<opml><body><outline text="&d;" xmlUrl="https://x.example/"/></body></opml>',
        # external entity (file read)
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<opml><body><outline text="&x;" xmlUrl="https://x.example/"/></body></opml>',
        # a bare DOCTYPE with an external DTD
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://127.0.0.1:9/evil.dtd"><opml/>',
    ],
)
def test_doctype_and_entities_are_refused_at_once(document: bytes) -> None:
    with pytest.raises(OpmlError, match="DOCTYPE") as caught:
        parse_opml(document)
    assert caught.value.line == 1  # refused at the declaration, before any entity is expanded


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<rss><channel/></rss>", "not an OPML file"),
        (b"", "not valid XML"),
        (b"<opml><body><outline", "not valid XML"),
        (b"\x00\x01garbage", "not valid XML"),
    ],
)
def test_other_bad_files_are_clear_errors(document: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(document)


def test_url_keys_ignore_case_of_host_and_trailing_slash() -> None:
    assert url_key("HTTPS://Example.ORG/Feed/") == url_key("https://example.org/Feed")
    assert url_key("https://example.org/a?x=1") != url_key("https://example.org/a?x=2")


def test_import_keeps_comments_skips_duplicates_and_validates(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS_TOML, encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    report = import_opml(opml, config)

    text = config.read_text(encoding="utf-8")
    assert text.startswith(FEEDS_TOML.split("[export]")[0])  # everything before stays byte for byte
    for line in FEEDS_TOML.splitlines():
        assert line in text.splitlines()
    added = {outcome.name: outcome for outcome in report.added}
    assert set(added) == {"Real Python", "LWN & friends", "Blog (2)", "untitled.example/path/feed"}
    assert "renamed" in added["Blog (2)"].reason
    skipped = {outcome.name: outcome.reason for outcome in report.skipped}
    assert skipped == {"Textual blog": "already there as 'Textual blog'", "Gopher": "not an http(s) URL"}

    loaded = load_config(config, registry=source_types())
    assert loaded.export.keep == 10
    names = [source.name for source in loaded.sources]
    assert names == [
        "Blog",
        "Textual blog",
        "Real Python",
        "LWN & friends",
        "Blog (2)",
        "untitled.example/path/feed",
    ]
    assert loaded.source_named("Real Python").tags == ("Tech", "Python")  # type: ignore[union-attr]
    assert "# imported from subs.opml" in text

    again = import_opml(opml, config)
    assert again.added == []
    assert config.read_text(encoding="utf-8") == text


def test_import_into_a_missing_file_creates_it(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    config = tmp_path / "new" / "feeds.toml"
    report = import_opml(opml, config)
    assert len(report.added) == 5
    assert len(load_config(config, registry=source_types()).sources) == 5


def test_an_import_that_would_break_the_config_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    broken = FEEDS_TOML.replace('interval = "15m"', 'interval = "15 parsecs"')
    config.write_text(broken, encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    with pytest.raises(ConfigError, match="interval"):
        import_opml(opml, config)
    assert config.read_text(encoding="utf-8") == broken
    assert {path.name for path in tmp_path.iterdir()} == {"feeds.toml", "subs.opml"}  # no temporary left


def test_hostile_titles_become_safe_names() -> None:
    feeds = [OpmlFeed("Evil\x1b]52;c;AAAA\x07 \u202etitle\n\nnext", "https://evil.example/")]
    report = merge_feeds("", feeds)
    config = parse_config(report.text, Path("feeds.toml"), registry=source_types())
    assert config.sources[0].name == "Evil]52;c;AAAA title next"


def test_an_inline_feeds_array_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OpmlError, match="inline array"):
        merge_feeds(
            'feeds = [{name = "A", url = "https://a.example/"}]\n', [OpmlFeed("B", "https://b.example/")]
        )


# -- export ------------------------------------------------------------------------------------------

SOURCES_TOML = """\
[[feeds]]
name = "Blog"
url = "https://blog.example/feed.xml"
tags = ["blog", "ours"]

[[feeds]]
name = "Q&A <feed>"
url = "https://qa.example/rss?x=1&y=2"

[[feeds]]
name = "HN"
source = "hackernews"
query = "textual"
"""


def test_export_writes_only_feeds_as_opml2(tmp_path: Path) -> None:
    config = parse_config(SOURCES_TOML, tmp_path / "feeds.toml", registry=source_types())
    document = export_opml(config)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert "hackernews" not in document
    assert "HN" not in document
    assert 'category="blog,ours"' in document
    feeds = parse_opml(document.encode("utf-8"))
    assert [(feed.title, feed.url, feed.tags) for feed in feeds] == [
        ("Blog", "https://blog.example/feed.xml", ("blog", "ours")),
        ("Q&A <feed>", "https://qa.example/rss?x=1&y=2", ()),
    ]


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    config = parse_config(SOURCES_TOML, tmp_path / "feeds.toml", registry=source_types())
    opml = tmp_path / "out.opml"
    opml.write_text(export_opml(config), encoding="utf-8")
    fresh = tmp_path / "fresh.toml"
    import_opml(opml, fresh)
    imported = load_config(fresh, registry=source_types())
    assert [(s.name, s.url, s.tags) for s in imported.sources] == [
        (s.name, s.url, s.tags) for s in config.sources if s.type == "feed"
    ]


# -- the commands ----------------------------------------------------------------------------------


def test_feeds_import_and_export_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS_TOML, encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    assert main(["feeds", "import", str(opml), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Added 4 feed(s)" in out
    assert "+ Real Python" in out
    assert "Skipped 2:" in out
    assert "- Gopher  gopher://old.example/feed: not an http(s) URL" in out

    assert main(["feeds", "export", "--config", str(config), "-o", str(tmp_path / "back.opml")]) == 0
    assert len(parse_opml((tmp_path / "back.opml").read_bytes())) == 6
    assert main(["feeds", "export", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("<outline ") == 6
    assert "Wrote 6 feed(s) to standard output" in captured.err


def test_feeds_import_of_a_bad_file_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(FEEDS_TOML, encoding="utf-8")
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]><opml/>')
    assert main(["feeds", "import", str(bad), "--config", str(config)]) == 2
    assert f"{bad}:2: the OPML file declares a DOCTYPE" in capsys.readouterr().err
    broken = tmp_path / "broken.opml"
    broken.write_bytes(b"<opml>\n<body>\n<outline text='x'\n</body></opml>")
    assert main(["feeds", "import", str(broken), "--config", str(config)]) == 2
    assert f"{broken}:4: not valid XML" in capsys.readouterr().err
    assert main(["feeds", "import", str(tmp_path / "missing.opml"), "--config", str(config)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert config.read_text(encoding="utf-8") == FEEDS_TOML


def test_feeds_import_that_cannot_write_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "feeds.toml"
    assert main(["feeds", "import", str(opml), "--config", str(target)]) == 1
    assert f"cannot write {target}" in capsys.readouterr().err


def test_feeds_import_help_explains_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["feeds", "import", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "FILE.opml the OPML 1.0/2.0 file to read" in out
    assert "Exit status: 0 done, 1 feeds.toml could not be written, 2 the OPML file is unreadable" in out


def test_feeds_export_names_the_sources_it_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(SOURCES_TOML, encoding="utf-8")
    assert main(["feeds", "export", "--config", str(config), "-o", str(tmp_path / "out.opml")]) == 0
    captured = capsys.readouterr()
    assert "Wrote 2 feed(s)" in captured.out
    assert "Left out 1 source(s): HN (a hackernews search, not a feed)" in captured.err


def test_feeds_export_never_writes_a_url_kept_in_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVATE_FEED_URL", "https://blog.example/feed?token=s3cret")
    config = tmp_path / "feeds.toml"
    config.write_text(
        '[[feeds]]\nname = "Private"\nurl_env = "PRIVATE_FEED_URL"\n\n'
        '[[feeds]]\nname = "Public"\nurl = "https://pub.example/feed"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.opml"
    assert main(["feeds", "export", "--config", str(config), "-o", str(out)]) == 0
    assert "s3cret" not in out.read_text(encoding="utf-8")
    assert "https://pub.example/feed" in out.read_text(encoding="utf-8")
    assert "Private (its URL is secret, in $PRIVATE_FEED_URL)" in capsys.readouterr().err


def test_feeds_export_into_a_missing_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(SOURCES_TOML, encoding="utf-8")
    target = tmp_path / "missing" / "out.opml"
    assert main(["feeds", "export", "--config", str(config), "-o", str(target)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not target.parent.exists()


# -- scale -------------------------------------------------------------------------------------------


def calls_to_merge(outlines: int) -> int:
    """Function calls (Python and built-in) made while merging `outlines` feeds, one in ten of them
    titled "Podcast" (many OPML files repeat a title), into a small feeds.toml."""
    feeds = [
        OpmlFeed(
            "Podcast" if number % 10 == 0 else f"Feed {number}", f"https://site{number}.example/rss", ("a",)
        )
        for number in range(outlines)
    ]
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        report = merge_feeds(FEEDS_TOML, feeds, origin="big.opml")
    finally:
        sys.setprofile(None)
    assert len(report.added) == outlines
    return count


def test_merging_is_linear_in_the_outlines() -> None:
    small, large = calls_to_merge(300), calls_to_merge(1200)
    # Four times the outlines: linear work is ~4x. The " (N)" search rescanning from (2) made it grow
    # with the square of the repeated titles.
    assert large / small < 4.5
    # The tomlkit merge made ~1,100 calls per entry (item construction); writing text takes ~215.
    assert large / 1200 < 400


def test_the_hundredth_repeat_of_a_title_is_numbered_after_the_others() -> None:
    feeds = [OpmlFeed("Podcast", f"https://site{number}.example/rss") for number in range(100)]
    report = merge_feeds("", feeds)
    assert [outcome.name for outcome in report.added][-3:] == [
        "Podcast (98)",
        "Podcast (99)",
        "Podcast (100)",
    ]
    assert len({outcome.name.casefold() for outcome in report.added}) == 100


LAYOUT = """\
# top
[settings]
interval = "1h"

# feeds below
[[feeds]]
name = "Old"
url = "https://old.example/feed.xml"
[feeds.options]
limit = 2

# Export settings
[export]
dir = "x"
"""


def test_new_entries_go_after_the_last_feed_and_leave_every_other_line_alone() -> None:
    text = merge_feeds(LAYOUT, [OpmlFeed('New "one"', "https://new.example/rss", ("a", "b"))]).text
    assert text == LAYOUT.replace(
        "limit = 2\n\n",
        'limit = 2\n\n[[feeds]]\nname = "New \\"one\\""\nurl = "https://new.example/rss"\ntags = ["a", "b"]\n\n',
    )


def test_a_header_lookalike_inside_a_string_cannot_misplace_the_entries() -> None:
    tricky = '[[feeds]]\nname = "Old"\nurl = "https://old.example/"\nnote = """\n[export]\n"""\n\n[export]\ndir = "x"\n'
    text = merge_feeds(tricky, [OpmlFeed("New", "https://new.example/rss")]).text
    data = tomllib.loads(text)
    assert data["export"] == {"dir": "x"}
    assert [feed["name"] for feed in data["feeds"]] == ["Old", "New"]
    assert data["feeds"][0]["note"] == "[export]\n"
    assert text.startswith(tricky)  # the old text is kept whole; the entry went to the end


def test_an_empty_inline_feeds_array_is_refused() -> None:
    with pytest.raises(OpmlError, match="inline array"):
        merge_feeds("feeds = []\n", [OpmlFeed("New", "https://new.example/rss")])
