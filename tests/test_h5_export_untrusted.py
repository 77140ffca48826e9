"""Exports of strangers' text and of feed URLs with credentials, through the real `export` command.

Titles, authors and error messages may carry terminal escape sequences (`cat mentions.csv` or
`export -o - | head` must not clear the screen or set the title), and a feed URL may carry
`user:password@` (it must never reach a CSV, a snapshot, its manifest or an OPML file).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.cli import main
from dashboard.config import load_config, source_config_hash
from dashboard.export.tables import MENTIONS, SOURCES
from dashboard.models import Mention, MentionKind, PollOutcome, PollRecord, SourceStatus, SourceUpdate
from dashboard.sources import source_types
from dashboard.store.writer import Store

SECRET = "s3cr3t-token"
FEED_URL = f"http://reader:{SECRET}@127.0.0.1:9/feed.xml"
HOSTILE_TITLE = "clipA\x1b]52;c;aGk=\x07 titleA\x1b]0;pwned\x07 clear\x1b[2J c1\x9b2J bidi\u202eevil\u202c del\x7f\x00nul\rend"
HOSTILE_AUTHOR = "authA\x1b]52;c;aGk=\x07authB\u2066iso\u2069"
HOSTILE_ERROR = f"eA\x1b]0;pwned\x07\x1b[2JeB for url '{FEED_URL}'"
BODY_WITH_LINES = "=first line\r\nsecond line\n\tthird"


def unsafe_bytes(data: bytes) -> list[str]:
    """The terminal-acting characters in `data` (UTF-8), CSV's CRLF line ends excepted."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    return [
        f"U+{ord(char):04X}"
        for char in text
        if (ord(char) < 0x20 and char not in "\t\n")
        or 0x7F <= ord(char) <= 0x9F
        or 0x202A <= ord(char) <= 0x202E
        or 0x2066 <= ord(char) <= 0x2069
    ]


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """(feeds.toml, store): one feed with credentials in its URL and hostile mentions, one failing feed."""
    db = tmp_path / "mentions.db"
    config_path = tmp_path / "feeds.toml"
    config_path.write_text(
        f'[settings]\ndatabase = "{db}"\n\n'
        f'[[feeds]]\nname = "Private feed"\nurl = "{FEED_URL}"\n\n'
        '[[feeds]]\nname = "Broken feed"\nurl = "http://127.0.0.1:9/broken.xml"\n',
        encoding="utf-8",
    )
    config = load_config(config_path, registry=source_types())
    private, broken = config.sources
    now = datetime.now(UTC)
    mentions = (
        Mention(
            key="hostile-1",
            kind=MentionKind.POST,
            url=f"http://reader:{SECRET}@127.0.0.1:9/posts/1",
            title=HOSTILE_TITLE,
            author=HOSTILE_AUTHOR,
            published=now - timedelta(minutes=5),
            summary=HOSTILE_TITLE,
        ),
        Mention(
            key="lines-2",
            kind=MentionKind.POST,
            url="https://example.org/2",
            title=BODY_WITH_LINES,
            author="plain",
            published=now - timedelta(minutes=4),
        ),
    )
    with Store.open(db) as store:
        store.sync_sources(config.sources, {s.name: source_config_hash(s) for s in config.sources})
        ok = PollRecord(
            source=private.name, started_at=now, duration=0.2, status=SourceStatus.OK, http_status=200
        )
        store.save_poll(
            private,
            ok,
            SourceUpdate(SourceStatus.OK, now + timedelta(hours=1), 0),
            PollOutcome(mentions=mentions, http_status=200),
        )
        failed = PollRecord(
            source=broken.name,
            started_at=now,
            duration=0.1,
            status=SourceStatus.FAILING,
            http_status=500,
            error_class="http",
            error=HOSTILE_ERROR,
        )
        store.save_poll(broken, failed, SourceUpdate(SourceStatus.FAILING, now + timedelta(hours=1), 1), None)
    return config_path, db


def export(setup: tuple[Path, Path], *argv: str) -> int:
    config, database = setup
    return main(["export", "--config", str(config), "--db", str(database), "--since", "1d", *argv])


@pytest.mark.parametrize("what", ["mentions", "sources", "voices", "metrics"])
def test_a_table_file_holds_no_control_character(
    hostile: tuple[Path, Path], tmp_path: Path, what: str
) -> None:
    target = tmp_path / f"{what}.csv"
    assert export(hostile, "--what", what, "-o", str(target)) == 0
    data = target.read_bytes()
    assert unsafe_bytes(data) == []
    assert b"\x1b" not in data


def test_mentions_to_stdout_hold_no_control_character(
    hostile: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert export(hostile, "--what", "mentions", "-o", "-") == 0
    captured = capsysbinary.readouterr()
    assert unsafe_bytes(captured.out) == []
    assert unsafe_bytes(captured.err) == []
    assert b"clipA]52;c;aGk= titleA]0;pwned clear[2J c12J bidievil delnul\nend" in captured.out
    assert SECRET.encode() not in captured.out


def test_the_text_around_the_controls_survives_and_lines_are_kept(
    hostile: tuple[Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "mentions.csv"
    assert export(hostile, "--what", "mentions", "-o", str(target)) == 0
    frame = pd.read_csv(target, **MENTIONS.read_csv_options())
    titles = dict(zip(frame["key"], frame["title"], strict=True))
    assert titles["hostile-1"] == "clipA]52;c;aGk= titleA]0;pwned clear[2J c12J bidievil delnul\nend"
    # CRLF inside a cell becomes LF; the formula guard still applies after the clean-up.
    assert titles["lines-2"] == "'=first line\nsecond line\n\tthird"
    assert set(frame["author"]) == {"authA]52;c;aGk=authBiso", "plain"}


def test_a_snapshot_and_its_manifest_hold_no_control_character_nor_credential(
    hostile: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(hostile, "-o", str(tmp_path / "out"), "--source", "Private feed") == 0
    (folder,) = (tmp_path / "out").iterdir()
    for path in folder.iterdir():
        data = path.read_bytes()
        assert unsafe_bytes(data) == [], path.name
        assert SECRET.encode() not in data, path.name
    assert unsafe_bytes(capsys.readouterr().out.encode()) == []


def test_manifest_escapes_what_json_leaves_raw(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = hostile
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[settings]\n", '[settings]\nkeywords = ["c1\u009bx", "rtl\u202ex"]\n'
        ),
        encoding="utf-8",
    )
    assert export(hostile, "-o", str(tmp_path / "out")) == 0
    (folder,) = (tmp_path / "out").iterdir()
    raw = (folder / "manifest.json").read_bytes()
    assert unsafe_bytes(raw) == []
    assert json.loads(raw)["filters"]["keywords"] == ["c1\u009bx", "rtl\u202ex"]  # lossless


def test_sources_csv_has_no_credentials(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "sources.csv"
    assert export(hostile, "--what", "sources", "-o", str(target)) == 0
    frame = pd.read_csv(target, **SOURCES.read_csv_options())
    rows = frame.set_index("name")
    assert rows.loc["Private feed", "target"] == "http://***@127.0.0.1:9/feed.xml"
    assert "http://***@127.0.0.1:9/feed.xml" in rows.loc["Broken feed", "last_error"]
    assert SECRET not in target.read_text(encoding="utf-8")


def test_mention_links_have_no_credentials(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "mentions.csv"
    assert export(hostile, "--what", "mentions", "-o", str(target)) == 0
    frame = pd.read_csv(target, **MENTIONS.read_csv_options())
    assert "http://***@127.0.0.1:9/posts/1" in set(frame["url"])
    assert SECRET not in target.read_text(encoding="utf-8")


def test_feeds_export_has_no_credentials(
    hostile: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = hostile
    target = tmp_path / "feeds.opml"
    assert main(["feeds", "export", "--config", str(config), "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert SECRET not in text
    assert 'xmlUrl="http://***@127.0.0.1:9/feed.xml"' in text
    captured = capsys.readouterr()
    assert "Removed the credentials (user:password@) from the URL of 1 feed(s): Private feed" in captured.err
    assert SECRET not in captured.out + captured.err


# -- -o and the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["mentions", "sources", "all"])
def test_output_into_a_missing_folder_is_refused(
    hostile: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.csv"
    assert export(hostile, "--what", what, "-o", str(target)) == 2
    err = capsys.readouterr().err
    assert f"the folder {target.parent} does not exist" in err
    assert not (tmp_path / "nonexistent").exists()


def test_a_snapshot_folder_given_to_o_is_created_when_its_parent_exists(
    hostile: tuple[Path, Path], tmp_path: Path
) -> None:
    assert export(hostile, "-o", str(tmp_path / "new")) == 0
    assert len(list((tmp_path / "new").glob("snapshot-*"))) == 1


@pytest.mark.parametrize(
    ("given", "table"),
    [
        ("mention", "mentions"),
        ("voice", "voices"),
        ("source", "sources"),
        ("metric", "metrics"),
        ("Mentions", "mentions"),
    ],
)
def test_what_accepts_singular_names(
    hostile: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes], given: str, table: str
) -> None:
    assert export(hostile, "--what", given, "-o", "-") == 0
    assert f"{table} row(s) to standard output".encode() in capsysbinary.readouterr().err


def test_kind_accepts_plural_names(
    hostile: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert export(hostile, "--what", "mentions", "--kind", "posts", "-o", "-") == 0
    assert b"Wrote 2 mentions row(s)" in capsysbinary.readouterr().err


def test_an_unknown_what_still_fails_with_the_choices(
    hostile: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        export(hostile, "--what", "mentionz", "-o", "-")
    assert raised.value.code == 2
    assert "choose from" in capsys.readouterr().err


def test_feeds_import_prints_no_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="Private" xmlUrl="{FEED_URL}"/>'
        f'<outline text="Again" xmlUrl="{FEED_URL}"/></body></opml>',
        encoding="utf-8",
    )
    config = tmp_path / "feeds.toml"
    assert main(["feeds", "import", str(opml), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "+ Private  http://***@127.0.0.1:9/feed.xml" in out
    assert "- Again  http://***@127.0.0.1:9/feed.xml: already there" in out
    assert SECRET not in out
    assert SECRET in config.read_text(encoding="utf-8")  # the user's own file keeps what they gave
