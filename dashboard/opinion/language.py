"""The language of a mention: the one its source declares, else detected from its text, else None.

Detection must never force a choice between English and French: it chooses among `DETECTED` (twelve
common languages of Latin script, so German, Spanish or Italian text is called de/es/it), and answers
None when the text is too short (fewer than `MIN_WORDS` words once links, @handles, #tags, numbers and
emoji are dropped) or the detector is unsure.

Two detectors, cheapest first: our function-word guesser (`stopwords.guess`, ~0.05 ms) answers when a
text clearly uses one language's function words; the rest goes to lingua (Apache-2.0, the `opinion`
extra) restricted to `DETECTED`, in low-accuracy mode (22 MB) and asked for a clear margin. Together
they beat each alone on short posts (bench/bench_opinion.py, which also measures langdetect, fastText
and py3langid).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from dashboard.opinion.errors import OpinionUnavailable
from dashboard.opinion.sentiment import base_language
from dashboard.opinion.stopwords import guess, word_set
from dashboard.text import plain_text

# Twelve common languages written in Latin script (Catalan and Romanian so that they are not taken
# for French, Spanish or Italian). Fewer candidates make each guess better and the
# models smaller; text in a language outside the set mostly comes back None (lingua's margin).
DETECTED: tuple[str, ...] = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "sv", "da", "ca", "ro")
MIN_WORDS = 3
# lingua's minimum relative distance between the best and the second language (0 = always answer):
# 0.3 leaves 2 % of public English tweets called another language (0.1: 3 %) for 0.4 % fewer posts named.
MIN_DISTANCE = 0.3

# ISO 639-1: the codes a declared language may carry (Mastodon `language`, Bluesky `langs`, xml:lang).
ISO_639_1 = word_set(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de "
    "dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id "
    "ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu "
    "lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu "
    "rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr "
    "ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)

# Tokens that are no words of a language: links, @handles and e-mail addresses, #tags.
_NOISY_TOKEN = re.compile(r"@|^#|://|^www\.")
# Digits, underscores, emoji and their variation selector.
_NOISE = re.compile(r"[\d_]+|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")
_WORD = re.compile(r"[^\W\d_]{2,}")


def declared_language(declared: str | None) -> str | None:
    """'fr-CA', 'EN', 'pt_BR' -> 'fr', 'en', 'pt'; 'und', 'zxx', '', garbage -> None."""
    code = base_language(declared)
    return code if code in ISO_639_1 else None


def prepare(text: str) -> str | None:
    """The words detection looks at, or None when fewer than MIN_WORDS remain (too short to say)."""
    text = text or ""
    if "<" in text or "&" in text:
        text = plain_text(text)
    kept = " ".join(token for token in text.split() if not _NOISY_TOKEN.search(token))
    cleaned = _NOISE.sub(" ", kept)
    if len(_WORD.findall(cleaned)) < MIN_WORDS:
        return None
    return " ".join(cleaned.split())


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when unknown.

    A valid `declared` code (from the source) wins over detection. Raises OpinionUnavailable when
    detection is needed and the `opinion` extra (lingua) is not installed.
    """
    code = declared_language(declared)
    if code is not None:
        return code
    words = prepare(text)
    if words is None:
        return None
    detector = _detector()  # first, so a missing extra is said for every text, not only the hard ones
    guessed = guess(words)
    if guessed is not None:
        return guessed
    found = detector.detect_language_of(words)
    return None if found is None else str(found.iso_code_639_1.name).lower()


def detect_languages(texts: Sequence[str], declared: Sequence[str | None] | None = None) -> list[str | None]:
    """`detect_language` for a batch (a back-fill): lingua runs the texts it is asked about on all cores."""
    if declared is not None and len(declared) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(declared)} declared languages")
    result: list[str | None] = [declared_language(d) for d in declared] if declared else [None] * len(texts)
    to_detect = [(i, words) for i, text in enumerate(texts) if result[i] is None and (words := prepare(text))]
    if not to_detect:
        return result
    detector = _detector()  # as in detect_language: a missing extra is said whatever the texts are
    pending: list[tuple[int, str]] = []
    for i, words in to_detect:
        result[i] = guess(words)
        if result[i] is None:
            pending.append((i, words))
    if pending:
        found = detector.detect_languages_in_parallel_of([words for _, words in pending])
        for (i, _), language in zip(pending, found, strict=True):
            result[i] = None if language is None else str(language.iso_code_639_1.name).lower()
    return result


@cache
def _detector() -> Any:
    """lingua's detector for DETECTED, built once per process.

    Low-accuracy mode: its trigram models take ~22 MB and 0.8 s to load, where the high-accuracy
    models take ~360 MB and 14 s (bench/bench_opinion.py), over the 60 MB the issue allows.
    """
    try:
        import lingua
    except ImportError as error:
        raise OpinionUnavailable("language detection needs lingua-language-detector") from error
    codes = [getattr(lingua.IsoCode639_1, code.upper()) for code in DETECTED]
    return (
        lingua.LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        .with_minimum_relative_distance(MIN_DISTANCE)
        .with_low_accuracy_mode()
        .build()
    )
