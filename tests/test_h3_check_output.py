"""What `check` and `poll` print is inert and keeps secrets: an escape sequence in a tag is
dropped, and the userinfo of a feed URL (`https://user:password@host/feed`) shows as `***@`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.polling.poller import redact_urls
from tests.localserver import LocalServer, Reply

SECRET = "s3cret-token"


def write(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[settings]\ntimeout = "5s"\ndatabase = "{tmp_path / "mentions.db"}"\n\n{body}', encoding="utf-8"
    )
    return config


def test_check_prints_tags_without_their_escape_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path,
        '[[feeds]]\nname = "Blog"\nurl = "https://example.org/feed"\n'
        'tags = ["\\u001b]0;pwned\\u0007news", "plain"]\n',
    )
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "[news, plain]" in out.replace("]0;pwned", "")


def test_check_never_prints_the_credentials_of_a_feed_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path, f'[[feeds]]\nname = "Private"\nurl = "https://reader:{SECRET}@example.org/feed"\n'
    )
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "https://***@example.org/feed" in out


def test_poll_error_lines_and_stored_errors_never_hold_credentials(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A redirect loop's message names the URL: with its userinfo masked, on screen and in the store
    (the dashboard's sources panel shows the stored error)."""
    looping = server.url("/loop.xml").replace("http://", f"http://reader:{SECRET}@")
    server.route("/loop.xml", Reply(302, b"", {"Location": looping}))
    config = write(tmp_path, f'[[feeds]]\nname = "Private"\nurl = "{looping}"\n')
    main(["poll", "--once", "--config", str(config)])
    out = capsys.readouterr().out
    assert "failing" in out
    assert "redirect" in out
    assert SECRET not in out
    connection = sqlite3.connect(tmp_path / "mentions.db")
    try:
        stored = " ".join(str(row) for row in connection.execute("SELECT error FROM polls"))
        stored += " ".join(str(row) for row in connection.execute("SELECT last_error FROM sources"))
    finally:
        connection.close()
    assert "redirect" in stored
    assert SECRET not in stored


def test_every_url_in_a_message_is_redacted() -> None:
    message = f"from https://a:{SECRET}@x.org/f to 'http://b@y.org/g', then ftp://z.org/h"
    assert redact_urls(message) == "from https://***@x.org/f to 'http://***@y.org/g', then ftp://z.org/h"
