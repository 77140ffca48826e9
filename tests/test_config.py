"""feeds.toml: values, defaults, lookup order, and a precise message for every mistake."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from dashboard import config as config_module
from dashboard.config import (
    CONFIG_ENV,
    Config,
    ConfigError,
    ExportSettings,
    Settings,
    find_config_path,
    load_config,
    parse_config,
    source_config_hash,
)
from dashboard.contracts.source import KeySpec, PollContext, Source
from dashboard.durations import DurationError, format_duration, parse_duration
from dashboard.models import PollOutcome
from dashboard.sources import source_types

FILE = Path("feeds.toml")


class SearchSource(Source):
    """A test-only social source with one key of every kind a real source declares."""

    type_name = "search"
    default_base_url = "https://search.example"
    keys: ClassVar[Mapping[str, KeySpec]] = {
        "query": KeySpec(str, required=True, help="words to search for"),
        "kind": KeySpec(str, default="story", choices=("story", "comment", "all")),
        "token_env": KeySpec(str, help="environment variable holding a token"),
        "page_size": KeySpec(int, default=50),
        "ratio": KeySpec(float, default=0.5),
        "langs": KeySpec(tuple, default=()),
        "verbose": KeySpec(bool, default=False),
    }

    async def poll(self, ctx: PollContext) -> PollOutcome:
        return PollOutcome()


class InstanceSource(Source):
    """A test-only source with no default server: `base_url` is required."""

    type_name = "instance"
    keys: ClassVar[Mapping[str, KeySpec]] = {"tag": KeySpec(str, required=True, help="a hashtag")}

    async def poll(self, ctx: PollContext) -> PollOutcome:
        return PollOutcome()


class FeedWithKeys(Source):
    """A test-only feed class, to prove url entries are checked against the "feed" keys too."""

    type_name = "feed"
    keys: ClassVar[Mapping[str, KeySpec]] = {"comments": KeySpec(bool, default=True)}

    async def poll(self, ctx: PollContext) -> PollOutcome:
        return PollOutcome()


REGISTRY: dict[str, type[Source]] = {"search": SearchSource, "instance": InstanceSource, "feed": FeedWithKeys}

VALID = """\
[settings]
interval = "15m"
database = "data/mentions.db"
timeout = "20s"
max_concurrency = 4
keywords = ["textual", "rich"]
max_items = 50
refresh_for = "2d"

[export]
dir = "snapshots"
every = "1h"
keep = 12

[[feeds]]
name = "Blog"
url = "https://example.org/feed.xml"
interval = "30m"
tags = ["blog", "news"]
comments = false

[[feeds]]
name = "Search: textual"
source = "search"
query = "textual"
max_items = 10
refresh_for = "1d"

[[feeds]]
name = "Fosstodon #textual"
source = "instance"
tag = "textual"
base_url = "https://fosstodon.org"
"""


def parse(text: str, path: Path = FILE) -> Config:
    return parse_config(text, path, registry=REGISTRY)


def error_of(text: str, path: Path = FILE) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, path)
    return str(caught.value)


# ---- values and defaults ------------------------------------------------------------------------


def test_a_full_file_gives_every_value() -> None:
    config = parse(VALID, Path("/srv/dash/feeds.toml"))

    assert config.settings == Settings(
        interval=900.0,
        database=Path("/srv/dash/data/mentions.db"),
        timeout=20.0,
        max_concurrency=4,
        keywords=("textual", "rich"),
        max_items=50,
        refresh_for=2 * 86400.0,
    )
    assert config.export == ExportSettings(dir=Path("/srv/dash/snapshots"), every=3600.0, keep=12)
    blog, search, instance = config.sources
    assert (blog.name, blog.type, blog.url, blog.base_url) == (
        "Blog",
        "feed",
        "https://example.org/feed.xml",
        None,
    )
    assert (blog.interval, blog.tags, blog.max_items, blog.refresh_for) == (
        1800.0,
        ("blog", "news"),
        50,
        172800.0,
    )
    assert blog.options == {"comments": False}
    assert blog.line == 15
    assert (search.type, search.url, search.interval, search.max_items, search.refresh_for) == (
        "search",
        None,
        900.0,
        10,
        86400.0,
    )
    assert search.options == {
        "query": "textual",
        "kind": "story",
        "page_size": 50,
        "ratio": 0.5,
        "langs": (),
        "verbose": False,
    }
    assert search.line == 22
    assert (instance.type, instance.base_url, instance.options) == (
        "instance",
        "https://fosstodon.org",
        {"tag": "textual"},
    )
    assert config.source_named("Blog") is blog
    assert config.source_named("nope") is None


def test_an_empty_file_gives_the_defaults() -> None:
    config = parse("")

    assert config.settings == Settings()
    assert config.settings.interval == 900.0
    assert config.settings.timeout == 30.0
    assert config.settings.max_concurrency == 8
    assert config.settings.max_items == 100
    assert config.settings.refresh_for == 7 * 86400.0
    assert config.settings.keywords == ()
    assert config.export == ExportSettings(dir=None, every=None, keep=48)
    assert config.sources == ()


def test_source_values_are_coerced_to_the_keyspec_type() -> None:
    text = '[[feeds]]\nname = "S"\nsource = "search"\nquery = "q"\nratio = 2\nlangs = ["en", "fr"]\n'

    options = parse(text).sources[0].options

    assert options["ratio"] == 2.0
    assert isinstance(options["ratio"], float)
    assert options["langs"] == ("en", "fr")


def test_default_paths_come_from_the_user_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    config = parse("")

    assert config.settings.database is None
    assert config.settings.database_path == tmp_path / "data-home" / "community-dashboard" / "mentions.db"
    assert config.export.dir is None
    assert config.export.directory == tmp_path / "data-home" / "community-dashboard" / "exports"


def test_configured_paths_win_over_the_defaults(tmp_path: Path) -> None:
    config = parse('[settings]\ndatabase = "m.db"\n[export]\ndir = "out"\n', tmp_path / "feeds.toml")

    assert config.settings.database_path == tmp_path / "m.db"
    assert config.export.directory == tmp_path / "out"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("mentions.db", "{folder}/mentions.db"),
        ("../shared/mentions.db", "{folder}/../shared/mentions.db"),
        ("/var/lib/dash/mentions.db", "/var/lib/dash/mentions.db"),
        ("~/dash/mentions.db", "{home}/dash/mentions.db"),
    ],
)
def test_relative_paths_resolve_against_the_config_folder(
    written: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "conf"
    text = f'[settings]\ndatabase = "{written}"\n[export]\ndir = "{written}"\n'

    config = parse(text, folder / "feeds.toml")

    want = Path(expected.format(folder=folder, home=tmp_path / "home"))
    assert config.settings.database == want
    assert config.export.dir == want


def test_a_relative_config_path_anchors_paths_at_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = parse('[settings]\ndatabase = "m.db"\n', Path("feeds.toml"))

    assert config.settings.database == tmp_path / "m.db"
    assert config.path == Path("feeds.toml")


def test_load_config_reads_the_file_and_digests_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    raw = VALID.encode()
    path.write_bytes(raw)

    config = load_config(path, registry=REGISTRY)

    assert config.path == path
    assert config.digest == hashlib.sha256(raw).hexdigest()
    assert [source.name for source in config.sources] == ["Blog", "Search: textual", "Fosstodon #textual"]
    path.write_bytes(raw + b"# a comment changes the digest\n")
    assert load_config(path, registry=REGISTRY).digest != config.digest


def test_load_config_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())

    assert len(load_config(path, registry=REGISTRY).sources) == 3


def test_parse_config_uses_every_registered_source_type_by_default() -> None:
    config = parse_config(
        '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed.xml"\n', FILE, registry=source_types()
    )

    assert config.sources[0].type == "feed"


# ---- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1d2h3m4s", 93784.0),
        (" 1h 30m ", 5400.0),
        ("0h30m", 1800.0),
        ("1H", 3600.0),
        ("366d", 366 * 86400.0),
    ],
)
def test_parse_duration_reads_unit_combinations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "soon",
        "15",
        "m",
        "30m1h",
        "1h1h",
        "-5m",
        "0s",
        "0d0h",
        "367d",
        "1w1w",
        "1h-",
        "9" * 20 + "s",
    ],
)
def test_parse_duration_rejects_anything_else(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert "duration" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_bare_number_is_told_to_add_a_unit() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("90")
    assert (
        str(caught.value)
        == 'expected a duration like "90s", "15m", "1h30m", "2d" or "2w", got "90" (add a unit: "90s", "90m"...)'
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(90, "1m30s"), (5400, "1h30m"), (172800, "2d"), (0, "0s"), (59.6, "1m")]
)
def test_format_duration_writes_what_parse_duration_reads(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    if seconds >= 1:
        assert parse_duration(text) == round(seconds)


# ---- messages for every mistake ------------------------------------------------------------------

HN_UNKNOWN_KEY = """\
[settings]
interval = "15m"
keywords = ["textual"]

[export]
keep = 10

[[feeds]]
name = "Blog"
url = "https://example.org/feed.xml"

[[feeds]]
name = "HN: textual"
qeury = "textual"
source = "search"
"""


def test_a_misspelt_key_gets_the_exact_documented_message() -> None:
    assert error_of(HN_UNKNOWN_KEY) == (
        "feeds.toml:14: [[feeds]] \"HN: textual\": unknown key 'qeury'; did you mean 'query'?"
    )


def test_a_bad_duration_gets_the_exact_documented_message() -> None:
    text = '[settings]\nmax_items = 10\ninterval = "soon"\n'

    assert error_of(text) == (
        'feeds.toml:3: settings.interval: expected a duration like "90s", "15m", "1h30m", "2d" or "2w", got "soon"'
    )


FEED = '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed.xml"\n'
SEARCH = '[[feeds]]\nname = "S"\nsource = "search"\nquery = "q"\n'


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        # TOML syntax, restated with the offending line and a hint
        (
            "[settings]\ninterval = soon\n",
            2,
            ["not valid TOML", "invalid value", "needs quotes", "interval = soon", "^"],
        ),
        ('[settings]\ninterval = "1m"\ninterval = "2m"\n', 3, ["not valid TOML", "set twice"]),
        ('[settings]\ntimeout = "30s\n', 2, ["not valid TOML", "closing quote"]),
        ("[feeds]\nname = 'a'\n[feeds]\n", 3, ["not valid TOML", "appears twice", "[[feeds]]"]),
        ("[settings\n", 1, ["not valid TOML"]),
        ("keywords = [1,\n\n", 1, ["not valid TOML", "at the end of the file", "keywords = [1,"]),
        # unknown keys everywhere, with suggestions
        (
            "[setting]\ninterval = '1m'\n",
            1,
            ["[setting]", "unknown table 'setting'", "did you mean 'settings'?"],
        ),
        ("[dashboard]\n", 1, ["unknown table 'dashboard'", "expected one of: settings, export, feeds"]),
        ("title = 'x'\n", 1, ["unknown table 'title'"]),
        (
            "[settings]\nintervall = '1m'\n",
            2,
            ["[settings]", "unknown key 'intervall'", "did you mean 'interval'?"],
        ),
        ("[settings]\nkeyword = ['a']\n", 2, ["did you mean 'keywords'?"]),
        ("[export]\nkeeps = 3\n", 2, ["[export]", "unknown key 'keeps'", "did you mean 'keep'?"]),
        (FEED + "tag = ['x']\n", 4, ['[[feeds]] "Blog"', "unknown key 'tag'", "did you mean 'tags'?"]),
        (FEED + "zzz = 1\n", 4, ["unknown key 'zzz' for feed", "expected one of: name, interval"]),
        (SEARCH + "kinds = 'all'\n", 5, ['[[feeds]] "S"', "unknown key 'kinds'", "did you mean 'kind'?"]),
        (
            "[[feeds]]\nname = 'T'\nsource = 'instance'\ntag = 'x'\nbase_url = 'https://m.example'\nquery = 'x'\n",
            6,
            ["unknown key 'query' for instance", "tag"],
        ),
        # names
        ("[[feeds]]\nurl = 'https://example.org/f'\n", 1, ["[[feeds]] #1", "missing name"]),
        (
            "[[feeds]]\nname = ''\nurl = 'https://example.org/f'\n",
            2,
            ["[[feeds]] #1: name", "non-empty string"],
        ),
        (
            "[[feeds]]\nname = 3\nurl = 'https://example.org/f'\n",
            2,
            ["name", "expected a non-empty string, got 3"],
        ),
        ('[[feeds]]\nname = "a\\nb"\nurl = "https://example.org/f"\n', 2, ["name", "control characters"]),
        (FEED + "\n" + FEED, 6, ['[[feeds]] "Blog": name', "duplicate name", "line 1 already uses it"]),
        (
            '[[feeds]]\nname = "Caf\u00e9"\nurl = "https://a.example/f"\n\n'
            '[[feeds]]\nname = "Cafe\u0301"\nurl = "https://b.example/f"\n',
            6,
            ["duplicate name", "line 1 already uses it", '"Café"', "differ only by case or accents"],
        ),
        (
            FEED + "\n" + FEED.replace('"Blog"', '"BLOG"'),
            6,
            ['[[feeds]] "BLOG": name', "duplicate name", "line 1 already uses it", '"Blog"'],
        ),
        (
            FEED + "\n" + FEED.replace('"Blog"', '"\uff22log"'),  # a fullwidth B (NFKC)
            6,
            ["duplicate name", "line 1 already uses it"],
        ),
        # url / source
        ("[[feeds]]\nname = 'X'\n", 1, ['[[feeds]] "X"', "missing url", "or source", "search", "instance"]),
        (
            "[[feeds]]\nname = 'X'\nurl = 'https://a.example/f'\nsource = 'search'\n",
            4,
            ["either url", "not both"],
        ),
        (
            "[[feeds]]\nname = 'X'\nurl = 'ftp://a.example/f'\n",
            3,
            ["url", "http(s) URL", '"ftp://a.example/f"'],
        ),
        ("[[feeds]]\nname = 'X'\nurl = 'example.org/feed'\n", 3, ["url", "http(s) URL"]),
        ("[[feeds]]\nname = 'X'\nurl = 'https://'\n", 3, ["url", "no host name"]),
        ("[[feeds]]\nname = 'X'\nurl = 'https://a.example/my feed'\n", 3, ["url", "http(s) URL"]),
        ("[[feeds]]\nname = 'X'\nurl = 'https://a.example:99999999/'\n", 3, ["url", "http(s) URL"]),
        ("[[feeds]]\nname = 'X'\nurl = 7\n", 3, ["url", "got 7 (a number)"]),
        (SEARCH + "base_url = 'file:///etc'\n", 5, ['"S": base_url', "http(s) URL"]),
        (FEED + "base_url = 'https://a.example'\n", 4, ["base_url", "only source entries"]),
        ("[[feeds]]\nname = 'T'\nsource = 'instance'\ntag = 'x'\n", 1, ["missing base_url", "instance"]),
        # source names
        (
            "[[feeds]]\nname = 'X'\nsource = 'serch'\nquery = 'q'\n",
            3,
            ['[[feeds]] "X": source', 'unknown source type "serch"', 'did you mean "search"?'],
        ),
        (
            "[[feeds]]\nname = 'X'\nsource = 'twitter'\n",
            3,
            ["unknown source type", "expected one of: instance, search"],
        ),
        ("[[feeds]]\nname = 'X'\nsource = 3\n", 3, ["source", "got 3 (a number)"]),
        ("[[feeds]]\nname = 'X'\nsource = 'feed'\n", 3, ["source", "url ="]),
        # source-specific keys
        (
            "[[feeds]]\nname = 'X'\nsource = 'search'\n",
            1,
            ['[[feeds]] "X"', "missing key 'query'", "words to search for"],
        ),
        (
            SEARCH + "kind = 'stories'\n",
            5,
            ['"S": kind', 'expected one of "story", "comment", "all"', 'did you mean "story"?'],
        ),
        (SEARCH + "kind = 'zzz'\n", 5, ['expected one of "story", "comment", "all", got "zzz"']),
        (
            "[[feeds]]\nname = 'T'\nsource = 'instance'\nbase_url = 'https://m.example'\ntag = '#textual'\n",
            5,
            ['[[feeds]] "T": tag', "without its #", 'did you mean tag = "textual"?'],
        ),
        (
            "[[feeds]]\nname = 'T'\nsource = 'instance'\nbase_url = 'https://m.example'\ntag = '#'\n",
            5,
            ["tag", 'expected a hashtag without "#" like tag = "textual", got "#"'],
        ),
        ("[[feeds]]\nname = 'X'\nsource = 'search'\nquery = 5\n", 4, ["query", "expected a string, got 5"]),
        ("[[feeds]]\nname = 'X'\nsource = 'search'\nquery = '  '\n", 4, ["query", "must not be empty"]),
        (SEARCH + "page_size = true\n", 5, ["page_size", "expected an integer, got true"]),
        (SEARCH + "page_size = 1.5\n", 5, ["page_size", "expected an integer"]),
        (SEARCH + "verbose = 1\n", 5, ["verbose", "expected true or false"]),
        (SEARCH + "langs = 'en'\n", 5, ["langs", "expected a list"]),
        (FEED + "comments = 'yes'\n", 4, ["comments", "expected true or false"]),
        # durations and numbers
        (FEED + "interval = 'often'\n", 4, ['"Blog": interval', 'expected a duration like "90s"', '"often"']),
        (FEED + "interval = 15\n", 4, ["interval", "got 15 (a number)"]),
        (FEED + "refresh_for = '0s'\n", 4, ["refresh_for", "positive"]),
        ("[settings]\ntimeout = '1000d'\n", 2, ["settings.timeout", "at most 366d"]),
        ("[export]\nevery = 'hourly'\n", 2, ["export.every", "expected a duration"]),
        ("[settings]\nmax_concurrency = 0\n", 2, ["settings.max_concurrency", "positive", "got 0"]),
        ("[settings]\nmax_concurrency = -3\n", 2, ["settings.max_concurrency", "positive"]),
        (
            "[settings]\nmax_concurrency = '8'\n",
            2,
            ["settings.max_concurrency", 'whole number like 8, got "8"'],
        ),
        ("[settings]\nmax_concurrency = true\n", 2, ["settings.max_concurrency", "got true"]),
        ("[settings]\nmax_concurrency = 1000\n", 2, ["settings.max_concurrency", "at most 64"]),
        ("[settings]\nmax_items = 1.0\n", 2, ["settings.max_items", "got 1.0 (a number)"]),
        ("[export]\nkeep = 0\n", 2, ["export.keep", "positive"]),
        (FEED + "max_items = '10'\n", 4, ['"Blog": max_items', "whole number"]),
        (FEED + "max_items = 99999999999999999999\n", 4, ["max_items", "at most 100000"]),
        # lists and tables
        ("[settings]\nkeywords = 'textual'\n", 2, ["settings.keywords", "list of strings", '"textual"']),
        ("[settings]\nkeywords = ['a', 1]\n", 2, ["settings.keywords", "list of strings"]),
        ("[settings]\nkeywords = ['a', '']\n", 2, ["settings.keywords", "empty string"]),
        ("[settings]\nkeywords = ['Rich', 'rich']\n", 2, ["settings.keywords", '"rich" is listed twice']),
        (FEED + "tags = 'blog'\n", 4, ["tags", "list of strings"]),
        ("[settings]\ndatabase = ''\n", 2, ["settings.database", "non-empty string"]),
        ("[export]\ndir = 3\n", 2, ["export.dir", "expected a path"]),
        ("settings = 5\n", 1, ["settings", "expected a [settings] table, got 5"]),
        ("[[settings]]\n", 1, ["expected a [settings] table, got a list"]),
        ("feeds = 'x'\n", 1, ["feeds", "[[feeds]] entries", "two brackets"]),
        ("[feeds]\nname = 'x'\n", 1, ["feeds", "two brackets"]),
        ("feeds = [1]\n", 1, ["[[feeds]] #1", "expected a table of keys"]),
        # keys found through dotted keys and inline tables
        ('settings.interval = "soon"\n', 1, ["settings.interval", "soon"]),
        ("[[feeds]]\nname = 'X'\n[feeds.options]\nquery = 'q'\n", 3, ["unknown key 'options'"]),
        # dotted table headers whose parents have no header of their own
        ("[a.a.a.a]\nx = 1\n", 1, ["[a]", "unknown table 'a'", "expected one of: settings"]),
        ("[settings]\ninterval = '1h'\n\n[a.b]\nx = 1\n", 4, ["[a]", "unknown table 'a'"]),
        ("[" + ".".join(["a"] * 3000) + "]\n", 1, ["[a]", "unknown table 'a'"]),
        ("[settings.foo]\nx = 1\n", 1, ["[settings]", "unknown key 'foo'", "expected one of: interval"]),
        (FEED + "[feeds.sub.deeper]\nq = 1\n", 4, ['[[feeds]] "Blog"', "unknown key 'sub'", "expected"]),
        # values nested too deeply for the parser, and numbers too long for Python
        (
            "x = " + "[" * 2000 + "]" * 2000 + "\n",
            1,
            ["not valid TOML", "x:", "nested 2000 deep", "expected"],
        ),
        (
            "[settings]\ntimeout = '1m'\nkeywords = " + "{ a = " * 600 + "1" + " }" * 600 + "\n",
            3,
            ["keywords:", "nested 600 deep", "expected a plain value"],
        ),
        ("a = ['[[[', \"[[[\", # [[[\n]\nb = " + "[" * 1500 + "]" * 1500 + "\n", 3, ["b:", "1500 deep"]),
        (
            "[settings]\nmax_items = " + "9" * 5000 + "\n",
            2,
            ["max_items:", "5000 digits", "expected a number of a few digits"],
        ),
    ],
)
def test_every_mistake_names_file_line_key_and_expectation(
    text: str, line: int, fragments: list[str]
) -> None:
    message = error_of(text)

    assert message.startswith(f"feeds.toml:{line}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_the_line_found_is_the_one_of_the_right_entry() -> None:
    text = (
        FEED
        + "\n"
        + SEARCH
        + "\n"
        + '[[feeds]]\nname = "Third"\nsource = "search"\nquery = "q"\nkind = "nope"\n'
    )

    assert error_of(text).startswith('feeds.toml:14: [[feeds]] "Third": kind:')


def test_multi_line_strings_do_not_confuse_the_line_finder() -> None:
    text = 'title_like = """\n[settings]\ninterval = 1\n"""\n'

    assert error_of(text).startswith("feeds.toml:1: [title_like]: unknown table")


def test_the_message_names_the_path_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "feeds.toml"

    message = error_of("[settings]\ninterval = 'x'\n", path)

    assert message.startswith(f"{path}:2: settings.interval:")


def test_error_carries_the_line_and_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("[settings]\n\nmax_concurrency = 0\n")

    assert caught.value.line == 3
    assert caught.value.path == FILE
    assert str(caught.value) == caught.value.message


def test_an_unknown_key_without_a_close_match_lists_the_allowed_ones() -> None:
    message = error_of(SEARCH + "colour = 'red'\n")

    assert "unknown key 'colour' for search" in message
    for key in ("query", "kind", "token_env", "base_url", "interval"):
        assert key in message


def test_untrusted_looking_text_in_a_message_is_escaped() -> None:
    message = error_of('[settings]\ninterval = "\\u001b[31mred"\n')

    assert "\x1b" not in message
    assert "settings.interval" in message


# ---- reading the file ------------------------------------------------------------------------------


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, registry=REGISTRY)
    return caught.value


def test_a_file_that_is_not_utf8_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_bytes(b'[settings]\ninterval = "15m"\nkeywords = ["caf\xe9"]\n')

    error = load_error(path)

    assert str(error) == f"{path}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    assert error.line == 3


def test_a_folder_is_a_clean_error(tmp_path: Path) -> None:
    assert str(load_error(tmp_path)) == f"{tmp_path}: is a folder, expected a feeds.toml file"


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    assert str(load_error(tmp_path / "nope.toml")) == f"{tmp_path / 'nope.toml'}: no such file"


def test_a_path_through_a_file_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")

    message = str(load_error(tmp_path / "plain" / "feeds.toml"))

    assert message.startswith(f"{tmp_path / 'plain' / 'feeds.toml'}: cannot read it: ")


def test_an_unreadable_file_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may run as root, where chmod 000 still reads: make the OS refusal explicit.
    path = tmp_path / "feeds.toml"
    path.write_text(VALID)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)

    assert str(load_error(path)) == f"{path}: permission denied, cannot read it"


def test_the_cli_contract_is_one_exception_type_with_the_whole_message(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(HN_UNKNOWN_KEY)
    try:
        load_config(path, registry=REGISTRY)
    except ConfigError as error:
        printed = str(error)
    else:
        pytest.fail("a misspelt key was accepted")

    assert printed == f"{path}:14: [[feeds]] \"HN: textual\": unknown key 'qeury'; did you mean 'query'?"
    assert "Traceback" not in printed


# ---- where the file is looked for ------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Four candidate files, all existing; each test removes the ones it wants absent."""
    paths = {
        "explicit": tmp_path / "explicit" / "mine.toml",
        "env": tmp_path / "env" / "from-env.toml",
        "cwd": tmp_path / "cwd" / "feeds.toml",
        "user": tmp_path / "user" / "feeds.toml",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True)
        path.write_text("")
    monkeypatch.setattr(config_module, "user_config_file", lambda: paths["user"])
    return paths


def test_explicit_config_wins(places: dict[str, Path]) -> None:
    found = find_config_path(places["explicit"], {CONFIG_ENV: str(places["env"])}, places["cwd"].parent)

    assert found == places["explicit"]


def test_environment_variable_comes_second(places: dict[str, Path]) -> None:
    assert find_config_path(None, {CONFIG_ENV: str(places["env"])}, places["cwd"].parent) == places["env"]


def test_working_directory_comes_third(places: dict[str, Path]) -> None:
    assert find_config_path(None, {}, places["cwd"].parent) == places["cwd"]
    assert find_config_path(None, {CONFIG_ENV: "  "}, places["cwd"].parent) == places["cwd"]


def test_user_config_folder_comes_last(places: dict[str, Path]) -> None:
    places["cwd"].unlink()

    assert find_config_path(None, {}, places["cwd"].parent) == places["user"]


def test_user_config_file_is_under_the_platform_config_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    assert config_module.user_config_file() == tmp_path / "community-dashboard" / "feeds.toml"


def test_nothing_found_lists_every_place_looked_at(places: dict[str, Path]) -> None:
    places["cwd"].unlink()
    places["user"].unlink()

    with pytest.raises(ConfigError) as caught:
        find_config_path(None, {}, places["cwd"].parent)

    message = str(caught.value)
    assert message.startswith("no feeds.toml found")
    for place in ("--config PATH", CONFIG_ENV, str(places["cwd"]), str(places["user"])):
        assert place in message


def test_a_missing_explicit_file_never_falls_back(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config_path(places["explicit"].parent / "typo.toml", {}, places["cwd"].parent)

    assert (
        str(caught.value) == f"{places['explicit'].parent / 'typo.toml'}: no such file (chosen by --config)"
    )


def test_a_missing_environment_file_never_falls_back(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config_path(None, {CONFIG_ENV: str(places["env"].parent)}, places["cwd"].parent)

    assert (
        str(caught.value) == f"{places['env'].parent}: is a folder, expected a file (chosen by ${CONFIG_ENV})"
    )


def test_relative_choices_resolve_against_the_working_directory(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = places["explicit"].parent.parent
    monkeypatch.setenv("HOME", str(base / "env"))

    assert find_config_path(Path("explicit/mine.toml"), {}, base) == places["explicit"]
    assert find_config_path(None, {CONFIG_ENV: "env/from-env.toml"}, base) == places["env"]
    assert find_config_path(None, {CONFIG_ENV: "~/from-env.toml"}, base) == places["env"]


# ---- source_config_hash -----------------------------------------------------------------------------


def test_source_config_hash_follows_what_is_fetched_only() -> None:
    search = parse(VALID).sources[1]
    digest = source_config_hash(search)

    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert source_config_hash(parse(VALID).sources[1]) == digest
    unchanged = [
        replace(search, name="renamed", line=99, tags=("x",), interval=1.0, max_items=1, refresh_for=2.0),
        replace(search, options=dict(reversed(list(search.options.items())))),
    ]
    for same in unchanged:
        assert source_config_hash(same) == digest
    changed = [
        replace(search, options={**search.options, "query": "rich"}),
        replace(search, base_url="https://other.example"),
        replace(search, type="instance"),
        replace(search, url="https://example.org/feed.xml"),
    ]
    assert len({source_config_hash(other) for other in changed} | {digest}) == len(changed) + 1


# ---- the example feeds.toml of the repository --------------------------------------------------------

REPO_FEEDS = Path(__file__).resolve().parent.parent / "feeds.toml"


def test_text_with_a_lone_surrogate_is_a_clean_error() -> None:
    assert (
        error_of('[settings]\n\nkeywords = ["x\udcff"]\n')
        == "feeds.toml:3: not UTF-8 text; save the file as UTF-8"
    )


# ---- the example feeds.toml of the repository --------------------------------------------------------

REPO_FEEDS = Path(__file__).resolve().parent.parent / "feeds.toml"
SOCIAL_TYPES = ("discourse", "github", "hackernews", "lemmy", "mastodon", "reddit", "stackexchange")


def test_the_example_feeds_toml_of_the_repository_loads() -> None:
    config = load_config(REPO_FEEDS, registry=source_types())

    feeds = [source for source in config.sources if source.type == "feed"]
    social = [source for source in config.sources if source.type != "feed"]
    assert len(feeds) == 4
    assert all(source.url and source.url.startswith("https://") for source in feeds)
    assert sorted(source.type for source in social) == list(SOCIAL_TYPES)
    assert all("textual" in (source.option("query"), source.option("tag")) for source in social)
    assert config.settings.keywords == ("textual", "rich", "tui")
    assert config.settings.database is None
    assert config.export.every == 3600.0
    reddit = config.source_named("Reddit r/Python: textual")
    assert reddit is not None
    assert reddit.option("subreddit") == "Python"


def test_the_commented_bluesky_entry_of_the_example_works_once_uncommented() -> None:
    text = REPO_FEEDS.read_text()
    head, commented = text.split("# [[feeds]]\n")
    uncommented = "[[feeds]]\n" + "\n".join(line.removeprefix("# ") for line in commented.splitlines())

    config = parse_config(head + uncommented, REPO_FEEDS, registry=source_types())

    bluesky = config.sources[-1]
    assert (bluesky.type, bluesky.option("query")) == ("bluesky", "textual")
    assert bluesky.option("identifier_env") == "BLUESKY_IDENTIFIER"
    assert bluesky.option("password_env") == "BLUESKY_APP_PASSWORD"
    assert bluesky.option("service") == "https://bsky.social"


def test_a_mastodon_hashtag_written_with_its_hash_is_refused_with_the_bare_tag() -> None:
    text = (
        '[[feeds]]\nname = "Fediverse"\nsource = "mastodon"\n'
        'base_url = "https://fosstodon.example"\ntag = "#textual"\n'
    )

    with pytest.raises(ConfigError) as raised:
        parse_config(text, FILE, registry=source_types())

    assert str(raised.value) == (
        'feeds.toml:5: [[feeds]] "Fediverse": tag: a hashtag is written without its #;'
        ' did you mean tag = "textual"?'
    )


# ---- credentials in URLs, and url_env ----------------------------------------------------------

SECRET_FEED = '[[feeds]]\nname = "Private Blog"\nurl = "https://bob:s3cret@example.org/feed.xml"\n'


def test_a_password_in_a_feed_url_is_a_warning_that_says_how_to_move_it_out() -> None:
    config = parse(SECRET_FEED)

    assert config.sources[0].url == "https://bob:s3cret@example.org/feed.xml"  # it still works
    (warning,) = config.warnings
    assert warning.startswith('feeds.toml:3: [[feeds]] "Private Blog": url holds a user name or password')
    assert 'url_env = "PRIVATE_BLOG_FEED_URL"' in warning
    assert "export PRIVATE_BLOG_FEED_URL=" in warning
    assert "s3cret" not in warning
    assert "bob" not in warning


def test_a_url_without_credentials_gives_no_warning() -> None:
    assert parse(VALID).warnings == ()


def test_url_env_reads_the_feed_url_from_the_environment_and_never_shows_it() -> None:
    secret = "https://bob:s3cret@example.org/feed.xml"
    text = '[[feeds]]\nname = "Private Blog"\nurl_env = "BLOG_URL"\n'

    config = parse_config(text, FILE, registry=REGISTRY, env={"BLOG_URL": f"  {secret}\n"})

    (source,) = config.sources
    assert source.url == secret
    assert source.type == "feed"
    assert config.warnings == ()  # the password is where it belongs
    assert source.target == "$BLOG_URL (url from the environment)"
    assert "s3cret" not in repr(source)
    assert "s3cret" not in repr(replace(source, interval=60.0))  # the poller's copies stay hidden


def test_url_env_changes_the_hash_when_the_variable_points_elsewhere() -> None:
    text = '[[feeds]]\nname = "Private Blog"\nurl_env = "BLOG_URL"\n'
    first = parse_config(text, FILE, registry=REGISTRY, env={"BLOG_URL": "https://a.example/f"})
    second = parse_config(text, FILE, registry=REGISTRY, env={"BLOG_URL": "https://b.example/f"})

    assert source_config_hash(first.sources[0]) != source_config_hash(second.sources[0])


@pytest.mark.parametrize(
    ("text", "env", "line", "fragments"),
    [
        (
            '[[feeds]]\nname = "P"\nurl_env = "BLOG_URL"\n',
            {},
            3,
            ['"P": url_env', "BLOG_URL is not set", "export BLOG_URL="],
        ),
        (
            '[[feeds]]\nname = "P"\nurl_env = "BLOG_URL"\n',
            {"BLOG_URL": "ftp://bob:s3cret@example.org/"},
            3,
            ["url_env", "BLOG_URL does not hold an http(s) URL", "not shown"],
        ),
        (
            '[[feeds]]\nname = "P"\nurl_env = "https://bob:s3cret@example.org/"\n',
            {},
            3,
            ["url_env", "name of an environment variable", "got a URL"],
        ),
        ('[[feeds]]\nname = "P"\nurl_env = "1 bad"\n', {}, 3, ["url_env", 'got "1 bad"']),
        ('[[feeds]]\nname = "P"\nurl_env = 3\n', {}, 3, ["url_env", "got 3 (a number)"]),
        (
            '[[feeds]]\nname = "P"\nurl = "https://a.example/f"\nurl_env = "BLOG_URL"\n',
            {"BLOG_URL": "https://a.example/f"},
            4,
            ["url_env", "either url or url_env", "not both"],
        ),
        (
            SEARCH + 'url_env = "BLOG_URL"\n',
            {"BLOG_URL": "https://a.example/f"},
            5,
            ["unknown key 'url_env'"],
        ),
    ],
)
def test_url_env_mistakes_name_line_key_and_expectation_without_the_value(
    text: str, env: dict[str, str], line: int, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, FILE, registry=REGISTRY, env=env)

    message = str(raised.value)
    assert message.startswith(f"feeds.toml:{line}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "s3cret" not in message


def test_load_chosen_config_prints_a_credentials_warning_once_per_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "_WARNED", set())
    path = tmp_path / "feeds.toml"
    path.write_text(SECRET_FEED)

    config_module.load_chosen_config(path, registry=REGISTRY)
    config_module.load_chosen_config(path, registry=REGISTRY)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("community-dashboard: warning: ") == 1
    assert "url holds a user name or password" in captured.err
    assert "s3cret" not in captured.err
