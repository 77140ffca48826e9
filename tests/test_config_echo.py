"""feeds.toml keys of echo and opinion (issues 12, 13): `own`, `[settings] languages`, `domain`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.config import DEFAULT_LANGUAGES, ConfigError, parse_config
from dashboard.sources import source_types

PATH = Path("/tmp/feeds.toml")


def parse(text: str):
    return parse_config(text, PATH, registry=source_types())


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


BLOG = '[[feeds]]\nname = "Blog"\nurl = "https://blog.example.org/feed"\n'


def test_own_is_read_on_feeds_and_sources_and_defaults_to_false() -> None:
    config = parse(
        BLOG
        + "own = true\n"
        + '[[feeds]]\nname = "Other"\nurl = "https://other.example.org/feed"\n'
        + '[[feeds]]\nname = "Toots"\nsource = "mastodon"\nbase_url = "https://m.example"\ntag = "x"\nown = false\n'
    )
    assert [(source.name, source.own) for source in config.sources] == [
        ("Blog", True),
        ("Other", False),
        ("Toots", False),
    ]


@pytest.mark.parametrize("value", ['"yes"', "1", "[true]"])
def test_own_not_a_bool_names_file_line_key_and_expected(value: str) -> None:
    message = error_of(BLOG + f"own = {value}\n")
    assert message.startswith(f"{PATH}:4: ")
    assert '[[feeds]] "Blog": own: expected true or false, got ' in message


def test_languages_default_and_given() -> None:
    assert parse(BLOG).settings.languages == DEFAULT_LANGUAGES == ("en", "fr")
    config = parse('[settings]\nlanguages = ["fr", "en", "de"]\n' + BLOG)
    assert config.settings.languages == ("fr", "en", "de")
    # de has no lexicon: allowed (its mentions get no sentiment) and said once.
    assert any("languages: no sentiment lexicon for de" in warning for warning in config.warnings)
    assert not parse('[settings]\nlanguages = ["en"]\n' + BLOG).warnings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"en"', 'expected a list of ISO 639-1 language codes like ["en", "fr"], got "en"'),
        ("[]", "got an empty list"),
        ('["EN"]', '"EN" must be lower-case: "en"'),
        ('["fr-CA"]', '"fr-CA" is a locale; write the language alone: "fr"'),
        ('["xx"]', '"xx" is not a two-letter ISO 639-1 code'),
        ('["eng"]', '"eng" is not a two-letter ISO 639-1 code'),
        ('["en", 3]', "got a list"),
        ('["en", "en"]', '"en" is listed twice'),
    ],
)
def test_languages_errors_name_line_key_and_expected(value: str, expected: str) -> None:
    message = error_of(f'[settings]\ninterval = "15m"\nlanguages = {value}\n' + BLOG)
    assert message.startswith(f"{PATH}:3: settings.languages: ")
    assert expected in message


def test_domain_on_a_source_without_domain_search_names_those_with_one() -> None:
    message = error_of(
        '[[feeds]]\nname = "Toots"\nsource = "mastodon"\nbase_url = "https://m.example"\ntag = "x"\n'
        'domain = "blog.example.org"\n'
    )
    with_domain = sorted(
        name for name, cls in source_types().items() if name != "feed" and "domain" in cls.keys
    )
    assert message.startswith(f"{PATH}:6: ")
    assert "`domain` is not supported by mastodon; sources with a domain search: " in message
    assert message.endswith(", ".join(with_domain))
    assert "mastodon" not in with_domain


def test_domain_on_a_plain_feed_is_refused_the_same_way() -> None:
    message = error_of(BLOG + 'domain = "blog.example.org"\n')
    assert "`domain` is not supported by an RSS/Atom feed" in message
    assert message.startswith(f"{PATH}:4: ")


def test_the_list_follows_the_registry() -> None:
    """No hard-coded list: a registry where mastodon has a domain key lists it."""
    from dashboard.contracts.source import KeySpec

    registry = dict(source_types())
    mastodon = registry["mastodon"]
    registry["mastodon"] = type("M", (mastodon,), {"keys": {**mastodon.keys, "domain": KeySpec(str)}})
    reddit = registry["reddit"]
    registry["reddit"] = type(
        "R", (reddit,), {"keys": {k: v for k, v in reddit.keys.items() if k != "domain"}}
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(
            '[[feeds]]\nname = "R"\nsource = "reddit"\nsubreddit = "python"\ndomain = "blog.example.org"\n',
            PATH,
            registry=registry,
        )
    message = str(caught.value)
    assert "`domain` is not supported by reddit; sources with a domain search: " in message
    assert "mastodon" in message.rsplit(":", 1)[1]
    assert "reddit" not in message.rsplit(":", 1)[1]


def test_a_source_with_required_any_needs_one_of_its_keys() -> None:
    """`required_any = ("query", "domain")` on a source class: an entry with neither is refused."""
    from dashboard.contracts.source import KeySpec

    registry = dict(source_types())
    base = registry["mastodon"]
    registry["searcher"] = type(
        "S",
        (base,),
        {
            "type_name": "searcher",
            "keys": {"query": KeySpec(str), "domain": KeySpec(str)},
            "required_any": ("query", "domain"),
        },
    )
    entry = '[[feeds]]\nname = "S"\nsource = "searcher"\nbase_url = "https://s.example"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(entry + 'query = "  "\n', PATH, registry=registry)
    assert str(caught.value) == (
        f'{PATH}:1: [[feeds]] "S": missing query or domain (searcher needs at least one of them to search for)'
    )
    found = parse_config(entry + 'domain = "blog.example.org"\n', PATH, registry=registry)
    assert found.sources[0].option("domain") == "blog.example.org"
