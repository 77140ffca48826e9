"""A small language guesser of our own: frequent function words and a few letters per language.

Pure Python, no data file, ~0.05 ms per short text: `language.detect_language` asks it first and lingua
only when it declines (bench/bench_opinion.py measures it alone and together with lingua). It answers
only when the text holds enough function words of one language and clearly more than of any other: a
guess between two languages is no answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache


def word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string (long word lists stay readable)."""
    return frozenset(words.split())


# Words that are frequent in short posts and rare as words of the other languages here. Words that
# several languages share ("a", "de", "la", "in", "no", "son") count for each of them, which is why
# a margin is required below.
_WORDS: Mapping[str, frozenset[str]] = {
    "en": word_set(
        "the and is are was were be been to of in on at for with from by this that these those it its "
        "i i'm i've you your we our they their he she his her my me us them not no don't can't "
        "doesn't didn't isn't won't what which who why how when where there here have has had do does "
        "did will would could should just so very really about into out up down again anyone anybody "
        "thanks thank please love great awesome bad than then but or if been being every all only "
        "also still yet after before over under new old time week today got get make made know "
        "a an as like oh my much more some any one"
    ),
    "fr": word_set(
        "le la les un une des du de et est sont était été être à au aux en dans pour par sur avec "
        "sans ce cet cette ces c'est ça il elle ils elles on nous vous je j'ai tu mon ma mes ton ta "
        "tes son sa ses notre nos votre vos leur leurs qui que qu'il quoi pourquoi comment quand où "
        "ne pas plus jamais rien très bien trop peu aussi encore déjà mais ou donc car si y a ai "
        "avez avons ont fait faire merci bonjour salut depuis chez entre tout tous toute toutes "
        "quelqu'un quelque franchement vraiment enfin n'est n'ai l'appli d'un d'une"
    ),
    "de": word_set(
        "der die das den dem des ein eine einen einem einer und ist sind war waren sein bin bist "
        "zu zum zur von mit für auf aus bei nach über unter um an im am ins vom nicht kein keine "
        "ich du er sie es wir ihr mein meine dein unser euch mich mir dich dir uns sich was wer "
        "warum wie wann wo hier da auch noch schon nur sehr ganz echt gerade immer wieder jetzt "
        "heute oder aber wenn weil dass denn doch mal man hat habe haben hatte wird werden wurde "
        "kann können würde danke bitte jemand alle alles diese dieser dieses gibt geht"
    ),
    "es": word_set(
        "el la los las un una unos unas y es son era fue ser estar está están estoy de del al a en "
        "con sin por para sobre entre desde hasta que qué quien quién por qué cómo cuándo dónde "
        "no sí muy más menos también ya pero o si yo tú él ella nosotros vosotros ellos mi mis tu "
        "tus su sus nuestro nuestra lo le les me te se nos os hay ha he han hemos este esta estos "
        "estas ese esa eso esto todo todos toda todas algo alguien nada nunca siempre gracias "
        "hola porque cuando donde pues aquí ahora hoy mucho muchas muchos"
    ),
    "it": word_set(
        "il lo la i gli le un uno una e è sono era erano essere stato di del della dei delle al "
        "alla ai alle a da dal dalla in nel nella con su sul sulla per tra fra che chi cosa perché "
        "come quando dove non sì molto più meno anche già ma o se io tu lui lei noi voi loro mio "
        "mia miei mie tuo tua suo sua nostro vostro mi ti ci vi si ne ho hai ha abbiamo avete "
        "hanno questo questa questi queste quello quella tutto tutti tutta tutte qualcuno niente "
        "mai sempre grazie ciao ora oggi adesso proprio davvero"
    ),
    "pt": word_set(
        "o a os as um uma e é são era foi ser estar está estão de do da dos das no na nos nas em "
        "com sem por para pelo pela que quem porquê como quando onde não sim muito mais menos "
        "também já mas ou se eu tu ele ela nós vós eles elas meu minha seu sua nosso nossa isso "
        "isto este esta esse essa tudo todos todas alguém nada nunca sempre obrigado obrigada "
        "olá agora hoje você vocês tem têm tenho"
    ),
    "nl": word_set(
        "de het een en is zijn was waren ben bent van in op aan met voor naar bij uit over onder "
        "om door niet geen ik jij je u hij zij ze wij we jullie mijn jouw ons onze hun wat wie "
        "waarom hoe wanneer waar hier daar ook nog al maar of als dat die dit deze heb hebt heeft "
        "hebben had wordt worden kan kunnen zou moet dank bedankt alsjeblieft iemand alles vandaag "
        "nu heel echt erg gewoon"
    ),
    "sv": word_set(
        "och att det är som på för med har inte jag du vi den ett till av om så men kan ska vara "
        "var alla tack mycket nu här där också bara när hur vad varför någon något efter eller "
        "från sig mig dig oss er hon han de dem min mitt vår"
    ),
    "da": word_set(
        "og at det er som på for med har ikke jeg du vi den et til af om så men kan skal være var "
        "alle tak meget nu her der også bare når hvordan hvad hvorfor nogen noget efter eller fra "
        "sig mig dig os hun han de dem min mit vores"
    ),
    "pl": word_set(
        "i w na z do nie to jest się że jak ale co tak już czy od po dla jestem mam ma są był była "
        "przez bardzo dziękuję wszystkim ten ta te tego mnie mi ja ty my wy oni go jej ich tylko "
        "jeszcze może można gdzie kiedy dlaczego"
    ),
}

_LETTERS: Mapping[str, str] = {
    "de": "üß",  # not ä and ö: Swedish and Finnish have them too
    "es": "ñ¿¡",
    "fr": "çœêîôûë",
    "it": "ìò",
    "pt": "ãõ",
    "pl": "ąćęłńśźż",
    "da": "æø",
    "sv": "å",  # Danish too, whose æ and ø then outweigh it
}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def guess(text: str, *, min_hits: int = 2, margin: float = 1.5) -> str | None:
    """The language whose function words the text uses most, or None when that is not clear.

    `min_hits` function words of the winner are needed, and `margin` times as many as the runner-up:
    "no" or "a" alone say nothing, and a tie between French and Italian is no answer.
    """
    lowered = text.lower()
    scores = dict.fromkeys(_WORDS, 0)
    index = _index()
    found = False
    for word in _WORD.findall(lowered):
        found = True
        word = word.replace("’", "'")
        langs = index.get(word, ())
        if "'" in word:
            langs = frozenset(langs) | index.get(word.split("'", 1)[0] + "'", frozenset())
        for lang in langs:
            scores[lang] += 1
    if not found:
        return None
    for lang, letters in _LETTERS.items():
        if any(letter in lowered for letter in letters):
            scores[lang] += 1
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, best_score = ranked[0]
    if best_score < min_hits or best_score < margin * ranked[1][1]:
        return None
    return best


@cache
def _index() -> dict[str, frozenset[str]]:
    """word -> the languages it counts for (function words and elided prefixes such as "l'")."""
    index: dict[str, set[str]] = {}
    for table in (_WORDS, _ELISIONS):
        for lang, vocab in table.items():
            for word in vocab:
                index.setdefault(word, set()).add(lang)
    return {word: frozenset(langs) for word, langs in index.items()}


# Elided articles and pronouns: "l'appli", "qu'il", "dell'app", "un'idea" count as one function word.
_ELISIONS: Mapping[str, frozenset[str]] = {
    "fr": frozenset(["l'", "d'", "j'", "qu'", "n'", "c'", "s'", "m'", "t'", "jusqu'", "lorsqu'"]),
    "it": frozenset(["l'", "dell'", "all'", "nell'", "dall'", "sull'", "un'", "c'", "quest'", "quell'"]),
    "en": frozenset(),
}
