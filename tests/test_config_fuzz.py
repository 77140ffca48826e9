"""Random damage to a valid feeds.toml: the loader answers with a Config or a ConfigError, nothing else."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.config import Config, ConfigError, load_config, name_key, parse_config
from tests.test_config import REGISTRY, VALID

FILE = Path("feeds.toml")

JUNK_VALUES = [
    '"soon"',
    '""',
    "0",
    "-1",
    "true",
    "1.5",
    "inf",
    "nan",
    "[]",
    "[1, 2]",
    '["", "x"]',
    "{}",
    "{ a = 1 }",
    '"ftp://x"',
    '"https://"',
    '"http://[::1"',
    '"\\u0000"',
    '"\\u001b[31m"',
    "1979-05-27T07:32:00Z",
    "1" * 30,
    "9" * 5000,
    '"""multi\nline"""',
    "'",
    '"',
]
JUNK_LINES = [
    "junk_key = 1",
    "qeury = 'x'",
    "[junk]",
    "[[feeds]]",
    "[settings]",
    "[feeds.options]",
    "source = 'nope'",
    "source = 'search'",
    "url = 'https://example.net/f'",
    "name = 'Blog'",
    "=",
    "[",
    "[[",
    '"""',
    "a.b.c = 1",
    "[" * 2000,
    "[a.b.c]",
    "[settings.extra]",
    "[feeds.sub.deeper]",
    "deep = " + "{ a = " * 1500 + "1" + " }" * 1500,
    "name = 'CAFE\u0301'",
    "tag = '#textual'",
    "url_env = 'NOT_SET_ANYWHERE'",
    "url = 'https://bob:s3cret@example.org/feed.xml'",
]

Mutation = Callable[[str], str]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """One random edit: character-level, line-level, value-level or an inserted line."""
    kind = draw(
        st.sampled_from(["delete", "duplicate", "swap", "insert_text", "lines", "value", "junk_line"])
    )
    position = draw(st.floats(min_value=0, max_value=1, exclude_max=True))
    other = draw(st.floats(min_value=0, max_value=1, exclude_max=True))
    text_piece = draw(st.text(max_size=8))
    value = draw(st.sampled_from(JUNK_VALUES))
    junk = draw(st.sampled_from(JUNK_LINES))
    line_edit = draw(st.sampled_from(["delete", "duplicate", "swap"]))

    def apply(text: str) -> str:
        if not text:
            return text_piece
        i = int(position * len(text))
        j = int(other * len(text))
        lines = text.split("\n")
        a, b = int(position * len(lines)), int(other * len(lines))
        if kind == "delete":
            return text[:i] + text[i + 1 :]
        if kind == "duplicate":
            return text[: i + 1] + text[i:]
        if kind == "swap":
            chars = list(text)
            chars[i], chars[j] = chars[j], chars[i]
            return "".join(chars)
        if kind == "insert_text":
            return text[:i] + text_piece + text[i:]
        if kind == "lines":
            if line_edit == "delete":
                del lines[a]
            elif line_edit == "duplicate":
                lines.insert(a, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            return "\n".join(lines)
        if kind == "value":
            if "=" in lines[a]:
                key = lines[a].split("=", 1)[0]
                lines[a] = f"{key}= {value}"
            return "\n".join(lines)
        lines.insert(a, junk)
        return "\n".join(lines)

    return apply


def check(text: str) -> None:
    try:
        config = parse_config(text, FILE, registry=REGISTRY)
    except ConfigError as error:
        message, line = str(error), error.line
        assert message.startswith(f"feeds.toml:{line}: "), message  # every mistake has its line
        assert "Traceback" not in message
        return
    assert isinstance(config, Config)
    names = [source.name for source in config.sources]
    assert len({name_key(name) for name in names}) == len(names)  # no two differ by case or accents
    assert not any("s3cret" in warning for warning in config.warnings)  # a password is never repeated
    assert all(source.interval > 0 and source.max_items > 0 for source in config.sources)
    assert config.settings.max_concurrency > 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations(), min_size=1, max_size=4))
def test_damaged_config_is_a_config_or_a_config_error(edits: list[Mutation]) -> None:
    text = VALID
    for edit in edits:
        text = edit(text)
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_config_error(text: str) -> None:
    check(text)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=len(VALID)))
def test_any_bytes_on_disk_are_a_config_or_a_config_error(junk: bytes, at: int) -> None:
    raw = VALID.encode()[:at] + junk + VALID.encode()[at:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feeds.toml"
        path.write_bytes(raw)
        try:
            load_config(path, registry=REGISTRY)
        except ConfigError as error:
            message = str(error)
        else:
            return
    assert message.startswith(str(path)), message
