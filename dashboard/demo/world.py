"""A simulated community around "Lumen", a made-up TUI framework, for `community-dashboard --demo`.

Everything the demo serves comes from here, and everything here is a pure function of the seed, the
start time and the time asked about: the same seed and clock give the same mentions, byte for byte.

Time is cut into slots. Before `start` there are 30 days of one-hour slots (the backlog, with a daily
rhythm and a weekday/weekend pattern); from `start` on, 20-second slots in which new mentions arrive
every few seconds. Each slot of each stream draws its mentions from its own random generator, seeded
with (seed, stream, slot), so a slot never depends on when it was first asked about. Scripted
happenings (hostile titles, spikes) are placed at fixed offsets from `start`. Engagement (points,
replies, views...) is not stored: it is computed from a mention's age, so it grows while you watch.

The community has its own blog. Social mentions share its recent posts (a `Share`: the post and the
URL as written, in one of URL_VARIANTS), the newer the post the likelier; TAKEOFF_AT seconds in, the
blog publishes the post that takes off, shared in a burst on every network (TAKEOFF_RATES). People
write in their own language (Person.lang: English, French, some Spanish and German) with a mix of
positive, negative and neutral posts, so the sentiment panels have something true to show.
"""

from __future__ import annotations

import bisect
import math
import random
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.clock import utc_now

# --------------------------------------------------------------------------------------------------
# Time and rates

BACKLOG_DAYS = 30
BACKLOG_SLOT = 3600  # seconds per backlog slot
LIVE_SLOT = 20  # seconds per live slot
MAX_PER_SLOT = 60  # a slot never holds more (keeps ids unique and a slot cheap)
GROWTH_SECONDS = 600.0  # engagement reaches 63 % of its final value after this long
SPIKE_START = 120.0  # seconds after start: the first burst
SPIKE_LENGTH = 300.0
SPIKE_EVERY = 1800.0  # later bursts, rotating over SPIKE_STREAMS
SPIKE_FACTOR = 8.0
INCIDENT_EVERY = 1800.0  # the failure windows below come back every half hour


@dataclass(frozen=True, slots=True)
class Stream:
    """One place where people talk about Lumen: how busy it is and how much attention posts get."""

    name: str
    per_day: float  # mentions per day in the backlog (before the rhythm is applied)
    per_minute: float  # mentions per minute once the demo runs
    reach: float  # median final score (points, likes...) of one mention
    first_id: int  # ids grow with time: first_id + index * id_step + jitter
    id_step: int
    comment_ratio: float = 0.3  # replies per point
    share_ratio: float = 0.0  # reposts per point
    view_ratio: float = 0.0  # views per point


STREAMS: dict[str, Stream] = {
    stream.name: stream
    for stream in (
        Stream("blog", 0.25, 0.05, 1.0, 100, 13),
        Stream("comments", 1.6, 0.9, 0.0, 5_000, 3),
        Stream("releases", 0.12, 0.02, 0.0, 1, 1),
        Stream("youtube", 0.15, 0.03, 40.0, 1, 1, comment_ratio=0.2, view_ratio=35.0),
        Stream("hackernews", 2.5, 1.5, 12.0, 41_000_000, 40, comment_ratio=0.6),
        Stream("reddit", 2.5, 1.6, 25.0, 1_200_000_000, 500, comment_ratio=0.4),
        Stream("mastodon", 3.5, 2.5, 6.0, 0, 1, comment_ratio=0.2, share_ratio=0.35),
        Stream("bluesky", 3.0, 2.2, 8.0, 0, 1, comment_ratio=0.2, share_ratio=0.3),
        Stream("lemmy", 0.8, 0.8, 10.0, 14_000_000, 7, comment_ratio=0.3),
        Stream("stackexchange", 1.0, 0.6, 3.0, 79_100_000, 120, comment_ratio=0.5, view_ratio=40.0),
        Stream("discourse", 1.5, 1.0, 4.0, 2_000, 1, comment_ratio=1.0, view_ratio=15.0),
        Stream("github", 2.5, 1.4, 3.0, 2_600_000_000, 1000, comment_ratio=1.2),
    )
}
SPIKE_STREAMS = ("hackernews", "reddit", "mastodon", "bluesky")


def hour_weight(moment: datetime) -> float:
    """Daily rhythm: busiest mid-afternoon UTC, quiet at night (mean 1)."""
    hour = moment.hour + moment.minute / 60
    return 1.0 + 0.75 * math.sin(2 * math.pi * (hour - 9) / 24)


def weekday_weight(moment: datetime) -> float:
    """Weekly pattern: weekends are about half as busy as weekdays (mean 1)."""
    return 0.5 if moment.weekday() >= 5 else 1.2


# --------------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the community: an ASCII handle for usernames and a display name as they write it."""

    handle: str
    name: str
    instance: str = "mastodon.example"  # their Mastodon server
    lang: str = "en"  # the language they mostly write in (ISO 639-1)

    def username(self, allowed: str = "_") -> str:
        """The handle with separators a site does not allow replaced by the first one it does."""
        swap = allowed[0] if allowed else ""
        return "".join(char if char.isalnum() or char in allowed else swap for char in self.handle)


MAINTAINERS: tuple[Person, ...] = (
    Person("ingrid_solberg", "Ingrid Solberg", "fosstodon.example"),
    Person("tomas_ortega", "Tomás Ortega", "hachyderm.example"),
    Person("akira_sato", "佐藤 明", "mstdn.example"),
)
REGULARS: tuple[Person, ...] = (
    *MAINTAINERS,
    Person("zoe_lefevre", "Zoë Lefèvre", "piaille.example", "fr"),
    Person("lwisniewski", "Łukasz Wiśniewski", "fosstodon.example"),
    Person("dmitri_orlov", "Дмитрий Орлов", "mastodon.example"),
    Person("hoa.nguyen", "Nguyễn Thị Hoa", "hachyderm.example"),
    Person("priya_codes", "Priya Raman", "fosstodon.example"),
    Person("kwame", "Kwame Mensah", "mastodon.example"),
    Person("mjkim", "김민준", "mstdn.example"),
    Person("aylin_y", "Ayşe Yılmaz", "mastodon.example"),
    Person("bjorn_s", "Björn Strand", "fosstodon.example"),
    Person("chiara.colombo", "Chiara Colombo", "mastodon.example"),
    Person("alexis_p", "Αλέξης Παππάς", "hachyderm.example"),
    Person("joaofern", "João Fernandes", "mastodon.example"),
    Person("sofia_mtz", "Sofía Martínez", "fosstodon.example", "es"),
    Person("noor_h", "نور حداد", "mastodon.example"),
    Person("emil_n", "Emil Nørgaard", "fosstodon.example"),
    # The community this grew from writes in French as well as English.
    Person("camille.roux", "Camille Roux", "piaille.example", "fr"),
    Person("hugo_marchand", "Hugo Marchand", "mamot.example", "fr"),
    Person("maelle_b", "Maëlle Bernard", "piaille.example", "fr"),
    Person("jonas_weber", "Jonas Weber", "chaos.example", "de"),
)


@dataclass(frozen=True, slots=True)
class _Culture:
    given: tuple[tuple[str, str], ...]  # (as written, ASCII)
    family: tuple[tuple[str, str], ...]
    family_first: bool = False
    joiner: str = " "
    lang: str = "en"  # what its people write in on Mastodon and Bluesky (most of the time)
    weight: float = 1.0  # how often a newcomer comes from it


_CULTURES: tuple[_Culture, ...] = (
    _Culture(
        (("Mathéo", "matheo"), ("Léa", "lea"), ("Chloé", "chloe"), ("Hélène", "helene"), ("Gaël", "gael")),
        (("Dubois", "dubois"), ("Lemaître", "lemaitre"), ("Bérard", "berard"), ("Tremblay", "tremblay")),
        lang="fr",
        weight=6.0,
    ),
    _Culture(
        (("Jürgen", "juergen"), ("Lena", "lena"), ("Matthias", "matthias")),
        (("Müller", "mueller"), ("Groß", "gross"), ("Köhler", "koehler")),
        lang="de",
    ),
    _Culture(
        (("José", "jose"), ("Lucía", "lucia"), ("Íñigo", "inigo")),
        (("Álvarez", "alvarez"), ("Peña", "pena"), ("Ibáñez", "ibanez")),
        lang="es",
    ),
    _Culture((("Agnieszka", "agnieszka"), ("Paweł", "pawel")), (("Kowalczyk", "kowalczyk"), ("Żak", "zak"))),
    _Culture(
        (("Åsa", "asa"), ("Søren", "soren"), ("Oddný", "oddny")),
        (("Østergaard", "ostergaard"), ("Lindqvist", "lindqvist")),
    ),
    _Culture(
        (("結衣", "yui"), ("蓮", "ren"), ("陽菜", "hina")),
        (("田中", "tanaka"), ("鈴木", "suzuki"), ("高橋", "takahashi")),
        family_first=True,
    ),
    _Culture((("Анна", "anna"), ("Илья", "ilya")), (("Шевченко", "shevchenko"), ("Коваленко", "kovalenko"))),
    _Culture(
        (("Sam", "sam"), ("Olivia", "olivia"), ("Jack", "jack")), (("Turner", "turner"), ("Hughes", "hughes"))
    ),
    _Culture((("Ananya", "ananya"), ("Rohan", "rohan")), (("Iyer", "iyer"), ("Banerjee", "banerjee"))),
    _Culture((("Minh", "minh"), ("Lan", "lan")), (("Trần", "tran"), ("Phạm", "pham")), family_first=True),
    _Culture((("Emre", "emre"), ("Elif", "elif")), (("Çelik", "celik"), ("Öztürk", "ozturk"))),
    _Culture((("伟", "wei"), ("静", "jing")), (("王", "wang"), ("李", "li")), family_first=True, joiner=""),
    _Culture((("Thiago", "thiago"), ("Luíza", "luiza")), (("Conceição", "conceicao"), ("Araújo", "araujo"))),
)
_INSTANCES = (
    "mastodon.example",
    "fosstodon.example",
    "hachyderm.example",
    "mstdn.example",
    "piaille.example",
    "mamot.example",
)
_CULTURE_WEIGHTS = tuple(culture.weight for culture in _CULTURES)


def newcomer(rng: random.Random) -> Person:
    """Someone new: a name from one of several cultures, and a handle in one of the usual styles."""
    culture = rng.choices(_CULTURES, weights=_CULTURE_WEIGHTS)[0]
    given, given_ascii = rng.choice(culture.given)
    family, family_ascii = rng.choice(culture.family)
    parts = (family, given) if culture.family_first else (given, family)
    number = rng.randrange(2, 100)
    handle = rng.choice(
        (
            f"{given_ascii}{family_ascii}",
            f"{given_ascii}_{family_ascii}",
            f"{given_ascii[0]}{family_ascii}",
            f"{given_ascii}.{family_ascii}",
            f"{family_ascii}{given_ascii[0]}{number}",
            f"{given_ascii}{number}",
        )
    )
    return Person(handle, culture.joiner.join(parts), rng.choice(_INSTANCES), culture.lang)


def pick_author(rng: random.Random, regular_share: float) -> Person:
    """A regular (the most active ones more often) or a newcomer."""
    if rng.random() < regular_share:
        weights = [1.0 / (rank + 1) for rank in range(len(REGULARS))]
        return rng.choices(REGULARS, weights=weights)[0]
    return newcomer(rng)


# --------------------------------------------------------------------------------------------------
# What people write

VERSIONS = ("0.7", "0.8", "0.9", "1.0")
FEATURES = (
    "a virtualised DataTable",
    "async workers",
    "CSS grid layouts",
    "theme hot-reload",
    "mouse support over SSH",
    "a Markdown viewer widget",
    "snapshot testing",
    "a command palette",
    "sixel images",
    "reactive attributes",
)
APPS = (
    "log viewer",
    "Kubernetes dashboard",
    "git client",
    "music player",
    "SQL client",
    "RSS reader",
    "system monitor",
    "chat client",
    "file manager",
    "Pomodoro timer",
)
PROBLEMS = (
    "flickering on Windows Terminal",
    "slow to start",
    "eating 100% CPU when idle",
    "not redrawing after resize",
    "losing key presses in tmux",
    "garbled in the Linux console",
)
TASKS = (
    "bind Ctrl+C without quitting",
    "scroll a DataTable to the last row",
    "test a screen with pytest",
    "style a focused button",
    "run a blocking call without freezing the UI",
    "show a progress bar from a worker",
)
OTHERS = ("Textual", "Rich", "urwid", "prompt_toolkit", "Bubble Tea", "Ratatui")
OPINIONS = (
    "The reactive model clicked for me after an hour.",
    "Docs are great, but I wish the examples covered testing.",
    "It feels like Textual with fewer batteries, which I like.",
    "Rich tracebacks inside a TUI are a lovely touch.",
    "Startup time is noticeably better than last release.",
    "Not convinced the CSS approach scales to big apps yet.",
    "Switched our internal tool from curses, never going back.",
    "The TUI renders fine over SSH from my phone, impressive.",
)
SUBREDDITS = ("Python", "commandline", "LumenTUI", "linux")
COMMUNITIES = ("python", "linux", "opensource", "programming")
REPOS = (
    "lumen-tui/lumen",
    "lumen-tui/lumen",
    "lumen-tui/lumen",
    "lumen-tui/lumen-widgets",
    "nadiaq/lumen-themes",
)
LINK_SITES = ("Weekly TUI Digest", "Terminal Tuesday", "PyCoder's Notes", "Le journal du terminal")


# --------------------------------------------------------------------------------------------------
# The community's own blog, and the links people share to it

BLOG_HOST = "lumen-tui.example"  # the demo config's `domain` for the social sources
BLOG_SITE = f"https://{BLOG_HOST}"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
TAKEOFF_AT = 45.0  # seconds after start: the post that takes off is published
TAKEOFF_TITLE = "Lumen 1.0: reactive terminal UIs in pure Python"
TAKEOFF_BODY = (
    "After two years of betas, Lumen 1.0 is here. Reactive attributes, a CSS-like layout engine, "
    "snapshot testing and a command palette, all in pure Python.\n\n"
    "This post walks through what changed since 0.9, what we broke on purpose, and what comes next."
)
TAKEOFF_WINDOW = (125.0, 725.0)  # seconds after start: the burst of shares (with the Show HN at 120 s)
# Extra shares of the post that takes off, per minute, during its burst (on top of the usual traffic).
TAKEOFF_RATES = {"mastodon": 3.0, "bluesky": 3.0, "reddit": 0.6, "lemmy": 0.3, "hackernews": 0.1}
SHARE_STREAMS = ("hackernews", "reddit", "mastodon", "bluesky", "lemmy")
CITING_STREAMS = ("github", "discourse")  # now and then an issue or a forum topic cites a post
SHARE_HALF_LIFE = 36 * 3600.0  # a post's chance of being shared halves every day and a half
# How people write a link to a post: copied from the address bar, from a newsletter, from the AMP
# page a phone opened... (weights). Every one of them is the same post once canonicalised.
URL_VARIANTS = {
    "canonical": 6,
    "http": 1,
    "www": 2,
    "utm": 3,
    "no-slash": 1,
    "comments": 1,
    "amp": 1,
    "www-utm": 1,
}


def slugify(title: str) -> str:
    return _NOT_SLUG.sub("-", title.lower()).strip("-")[:60] or "post"


def blog_path(post_id: int, title: str) -> str:
    """A WordPress permalink in the /%post_id%/%postname%/ structure, under /blog."""
    return f"/blog/{post_id}/{slugify(title)}/"


def post_url(post_id: int, title: str) -> str:
    """A blog post's permalink, as the blog's own feed gives it."""
    return BLOG_SITE + blog_path(post_id, title)


def variant_url(permalink: str, variant: str, network: str) -> str:
    """`permalink` written the way `variant` names (see URL_VARIANTS), shared on `network`."""
    utm = f"utm_source={network}&utm_medium=social&utm_campaign=blog"
    return {
        "canonical": permalink,
        "http": permalink.replace("https://", "http://", 1),
        "www": permalink.replace("://", "://www.", 1),
        "utm": f"{permalink}?{utm}",
        "no-slash": permalink.rstrip("/"),
        "comments": permalink + "#comments",
        "amp": permalink + "amp/",
        "www-utm": permalink.replace("://", "://www.", 1) + f"?{utm}",
    }[variant]


@dataclass(frozen=True, slots=True)
class Share:
    """A link from a mention to one of the blog's posts, written as that mention wrote it."""

    post: int  # the blog post's ident
    title: str
    summary: str
    url: str


def _share(rng: random.Random, post: Happening, network: str) -> Share:
    variant = rng.choices(tuple(URL_VARIANTS), weights=tuple(URL_VARIANTS.values()))[0]
    url = variant_url(post_url(post.ident, post.title), variant, network)
    return Share(post.ident, post.title, post.body.split("\n\n")[0][:200], url)


# What people say on Mastodon and Bluesky, by language and tone (a real feed is not all praise).
_APPS_FR = (
    "lecteur de logs",
    "client git",
    "lecteur de musique",
    "tableau de bord Kubernetes",
    "client SQL",
    "lecteur RSS",
    "moniteur système",
    "gestionnaire de fichiers",
)
_PROBLEMS_FR = (
    "scintille sous Windows Terminal",
    "met dix secondes à démarrer",
    "mange 100 % du CPU au repos",
    "ne se redessine plus après un redimensionnement",
    "perd des touches sous tmux",
)
_TASKS_FR = (
    "lier Ctrl+C sans quitter",
    "faire défiler une DataTable jusqu'à la dernière ligne",
    "tester un écran avec pytest",
    "lancer un appel bloquant sans figer l'interface",
)
_FEATURES_FR = (
    "une DataTable virtualisée",
    "des workers asynchrones",
    "les grilles CSS",
    "le rechargement à chaud des thèmes",
    "une palette de commandes",
)
_SOCIAL: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "positive": (
            "Just shipped a little {app} with Lumen. The reactive attributes make state so easy to reason about.",
            "TIL you can {task} in Lumen. Honestly one of the nicest TUI frameworks I've used.",
            "Lumen {version} fixed my app {problem}. Thanks, maintainers!",
            "Spent the evening porting my {app} to Lumen and I love it. Snapshot tests already caught two regressions.",
            "{opinion}",
        ),
        "negative": (
            "Lumen {version} broke my {app}: it keeps {problem} now. Really frustrating after a smooth upgrade last time.",
            "Not impressed by the Lumen docs on {feature}. Spent an hour guessing and my app is still {problem}.",
            "Honestly disappointed: my Lumen app is {problem} and the issue has been open for weeks.",
            "Gave Lumen a fair try for a {app}. It's not great: {problem}, and no clear way to {task}.",
        ),
        "neutral": (
            "Comparing Lumen and {other} for a TUI side project. Anyone tried {feature}?",
            "Does anyone know how to {task} in Lumen? Asking for a {app}.",
            "Lumen {version} is out. The changelog mentions {feature}.",
        ),
    },
    "fr": {
        "positive": (
            "Je viens de porter mon {app_fr} sur Lumen, franchement c'est top. Les attributs réactifs, quel confort !",
            "Lumen {version} corrige enfin mon appli qui {problem_fr}. Merci aux mainteneurs 🙏",
            "Pas mal du tout, Lumen ! Mon {app_fr} tourne au poil, même en SSH depuis mon téléphone.",
            "Très bonne surprise : la doc de Lumen sur {feature_fr} est claire et les exemples marchent.",
        ),
        "negative": (
            "Testé Lumen ce week-end pour un {app_fr}… pas terrible. Mon appli {problem_fr} dès la première heure.",
            "Ce n'est pas génial : depuis la {version}, mon {app_fr} {problem_fr}. Je repasse sur {other} en attendant.",
            "Déçu par Lumen {version}, la doc n'explique pas comment {task_fr}.",
            "Je n'aime pas trop l'approche CSS de Lumen, ça devient vite illisible sur une grosse appli.",
        ),
        "neutral": (
            "Quelqu'un a déjà utilisé Lumen avec tmux ? Je cherche des retours avant de me lancer.",
            "Lumen {version} est sortie, avec {feature_fr}. Le changelog est sur le blog.",
            "Question pour les habitués de Lumen : comment {task_fr} ?",
        ),
    },
    "es": {
        "positive": (
            "Acabo de terminar un gestor de archivos con Lumen y me encanta. ¡Muy recomendable!",
            "La versión {version} de Lumen va genial, por fin arranca rápido en mi terminal.",
        ),
        "negative": ("Lumen {version} sigue parpadeando en Windows Terminal. Bastante decepcionante.",),
        "neutral": ("¿Alguien ha probado Lumen para un cliente SQL? Busco opiniones antes de empezar.",),
    },
    "de": {
        "positive": ("Endlich meinen Log-Viewer auf Lumen umgestellt, das reaktive Modell ist großartig.",),
        "negative": ("Lumen {version} ist leider ziemlich langsam beim Start, das nervt gewaltig.",),
        "neutral": ("Hat jemand Erfahrung mit Lumen und tmux? Überlege gerade, ob ich umsteige.",),
    },
}
_TONES = {"positive": 5, "negative": 3, "neutral": 3}
# Sharing a blog post: {title} and {url} are the post's; tone varies here too.
_SHARING: dict[str, tuple[str, ...]] = {
    "en": (
        "New on the Lumen blog: {title} {url}",
        "Great write-up from the Lumen team, worth a read if you build TUIs: {url}",
        "This is a good read: {title} {url}",
        "{title}. I'm not sure I agree with all of it, but it's worth reading. {url}",
        'Meh. "{title}" glosses over the hard parts (testing!). {url}',
    ),
    "fr": (
        "Nouveau billet sur le blog de Lumen : « {title} » {url}",
        "Excellent article de l'équipe Lumen, à lire si vous faites des TUI : {url}",
        "Pas convaincu par ce billet, ce n'est pas génial de passer les performances sous silence. {url}",
        "À lire (en anglais) : {url}",
    ),
    "es": ("Muy buen artículo del equipo de Lumen: {url}",),
    "de": ("Lesenswert für alle, die TUIs in Python bauen: {url}",),
}


def writing_language(rng: random.Random, author: Person) -> str:
    """The language of one post: people write in their own, and now and then in English."""
    return author.lang if author.lang == "en" or rng.random() < 0.75 else "en"


def _social_body(rng: random.Random, lang: str) -> str:
    tone = rng.choices(tuple(_TONES), weights=tuple(_TONES.values()))[0]
    template = rng.choice(_SOCIAL[lang].get(tone) or _SOCIAL[lang]["neutral"])
    return template.format(
        app=rng.choice(APPS),
        task=rng.choice(TASKS),
        problem=rng.choice(PROBLEMS),
        feature=rng.choice(FEATURES),
        other=rng.choice(OTHERS),
        version=rng.choice(VERSIONS),
        opinion=rng.choice(OPINIONS),
        app_fr=rng.choice(_APPS_FR),
        problem_fr=rng.choice(_PROBLEMS_FR),
        task_fr=rng.choice(_TASKS_FR),
        feature_fr=rng.choice(_FEATURES_FR),
    )


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    body: str
    kind: str = "post"  # post, comment or pingback
    place: str = ""  # subreddit, Lemmy community, GitHub repo, Mastodon instance...
    tags: tuple[str, ...] = ()
    variant: str = ""  # "pr" or "issue" on GitHub, "ask"/"show"/"link" on HN, "self"/"link" on Reddit
    shares: tuple[Share, ...] = ()  # links to the blog's posts (the first one fills the API's url fields)
    lang: str = "en"


def _sentence(rng: random.Random) -> str:
    return rng.choice(OPINIONS)


def _write(stream: str, rng: random.Random, author: Person) -> Text:
    """A plausible title and body for one mention on `stream`."""
    app, feature, problem = rng.choice(APPS), rng.choice(FEATURES), rng.choice(PROBLEMS)
    task, other, version = rng.choice(TASKS), rng.choice(OTHERS), rng.choice(VERSIONS)
    opinion = _sentence(rng)
    if stream == "blog":
        title = rng.choice(
            (
                f"Lumen {rng.choice(VERSIONS[:-1])}.{rng.randrange(1, 6)} released",  # 1.0 takes off
                f"Building a {app} with Lumen",
                f"Deep dive: {feature} in Lumen",
                f"Community roundup: {rng.randrange(5, 13)} {app}s you built with Lumen",
                f"Lumen and Rich: sharing {rng.choice(('renderables', 'tracebacks', 'tables', 'progress bars'))}",
                f"How we test {feature} in Lumen",
            )
        )
        return Text(title, f"{title}. {opinion} Read on for the details of {feature}.")
    if stream == "youtube":
        title = rng.choice(
            (
                f"Lumen in 10 minutes: {feature}",
                f"Build a {app} in your terminal with Lumen",
                f"Live coding a {app} (Lumen + Rich)",
                f"What's new in Lumen {version}",
            )
        )
        return Text(title, f"{title}. Code on GitHub: lumen-tui/examples. {opinion}")
    if stream == "hackernews":
        variant = rng.choice(("show", "link", "link", "ask"))
        title = {
            "show": f"Show HN: A {app} built with Lumen",
            "link": rng.choice(
                (
                    f"Lumen {version}: {feature}",
                    "The terminal is the new browser: Lumen, Textual and Rich",
                    f"Why we rewrote our {app} as a TUI",
                )
            ),
            "ask": f"Ask HN: Lumen or {other} for a {app}?",
        }[variant]
        body = f"I have been using Lumen for a {app}. {opinion}" if variant != "link" else ""
        return Text(title, body, variant=variant)
    if stream == "reddit":
        title = rng.choice(
            (
                f"I made a {app} in Lumen (TUI framework)",
                f"Lumen vs {other} for a {app}?",
                f"[Help] Lumen app {problem}",
                f"Lumen {version} is out with {feature}",
            )
        )
        variant = rng.choice(("self", "self", "link"))
        return Text(
            title,
            f"{opinion} Anyone else tried it?" if variant == "self" else "",
            place=rng.choice(SUBREDDITS),
            variant=variant,
        )
    if stream in ("mastodon", "bluesky"):
        lang = writing_language(rng, author)
        body = _social_body(rng, lang)
        tags = ("lumen", *rng.sample(("textual", "rich", "tui", "python", "terminal"), 2))
        if stream == "bluesky" and rng.random() < 0.5:
            body += " " + " ".join(f"#{tag}" for tag in tags[:2])
        return Text("", body, place=author.instance, tags=tags, lang=lang)
    if stream == "lemmy":
        title = rng.choice(
            (
                f"Lumen: a TUI framework worth a look for your next {app}",
                f"Lumen app {problem}?",
                f"Lumen {version} released",
            )
        )
        return Text(
            title, f"{opinion} What do you use for TUIs, Lumen, {other}?", place=rng.choice(COMMUNITIES)
        )
    if stream == "stackexchange":
        title = rng.choice(
            (
                f"How do I {task} in Lumen?",
                f"Lumen app {problem}",
                f"Lumen's App: how to {task} (coming from {other})",
            )
        )
        tags = ("python", "lumen", rng.choice(("tui", "textual", "rich", "terminal")))
        return Text(title, f"I am trying to {task} in my Lumen {app}. {opinion}", tags=tags)
    if stream == "discourse":
        title = rng.choice(
            (
                f"{problem.capitalize()} after upgrading to Lumen {version}",
                f"Show and tell: my Lumen {app}",
                f"How to {task}?",
                f"Lumen roadmap: {feature}",
            )
        )
        return Text(title, f"{opinion} (Lumen {version}, Python 3.12)", tags=("lumen",))
    if stream == "github":
        variant = rng.choice(("issue", "issue", "pr"))
        if variant == "pr":
            title = rng.choice((f"Fix Lumen app {problem}", f"docs: explain how to {task}", f"Add {feature}"))
        else:
            title = rng.choice(
                (f"Lumen {version}: app {problem}", f"Feature request: {feature}", f"How to {task}?")
            )
        return Text(
            title, f"{opinion}\n\nLumen {version}, Rich 14, Linux.", place=rng.choice(REPOS), variant=variant
        )
    raise ValueError(f"no writer for stream {stream!r}")


def _write_share(stream: str, rng: random.Random, author: Person, post: Happening) -> Text:
    """A mention on `stream` that shares the blog post `post`, with the link where that API puts it."""
    share = _share(rng, post, stream)
    if stream == "hackernews":  # a link story: HN titles are the article's own
        return Text(post.title, "", variant="link", shares=(share,))
    if stream == "reddit":
        place = rng.choice(SUBREDDITS)
        if rng.random() < 0.7:
            return Text(post.title, "", place=place, variant="link", shares=(share,))
        body = rng.choice(
            (
                f"The Lumen team wrote up {post.title.lower()}: {share.url}\n\n{_sentence(rng)} What do you think?",
                f"Found this on the Lumen blog: {share.url}\n\nHas anyone tried it on a real app yet?",
            )
        )
        return Text(f'Thoughts on "{post.title}"?', body, place=place, variant="self", shares=(share,))
    if stream == "lemmy":
        body = f"{_sentence(rng)} Worth a read for anyone building TUIs."
        return Text(post.title, body, place=rng.choice(COMMUNITIES), shares=(share,))
    if stream == "github":
        title = f'The example in "{post.title}" fails on Windows'
        body = (
            f"Following {share.url} step by step, the app is {rng.choice(PROBLEMS)}.\n\n"
            f"Lumen {rng.choice(VERSIONS)}, Python 3.12, Windows 11."
        )
        return Text(title, body, place="lumen-tui/lumen", variant="issue", shares=(share,))
    if stream == "discourse":
        title = f"Discussion: {post.title}"
        body = f"Let's talk about the new blog post: {share.url} {_sentence(rng)}"
        return Text(title, body, tags=("lumen", "blog"), shares=(share,))
    lang = writing_language(rng, author)
    template = rng.choice(_SHARING[lang])
    tags = ("lumen", rng.choice(("tui", "python", "terminal")))
    if stream == "bluesky" and rng.random() < 0.4:
        # Link only in the card (app.bsky.embed.external): the text says something else.
        body = template.replace("{url}", "").format(title=post.title).rstrip(" :")
        return Text("", body, place=author.instance, tags=tags, shares=(share,), lang=lang)
    body = template.format(title=post.title, url=share.url)
    return Text("", body, place=author.instance, tags=tags, shares=(share,), lang=lang)


def _comment(rng: random.Random, post_title: str, author: Person) -> Text:
    """A blog comment, or now and then a pingback from another blog."""
    if rng.random() < 0.15:
        site = rng.choice(LINK_SITES)
        prefix = "Rétrolien :" if site.startswith("Le ") else "Pingback:"
        linking = f"{site} #{rng.randrange(10, 200)}: Lumen, Textual and friends"
        return Text(
            f"{prefix} {linking}",
            f"[…] {post_title} is worth reading if you build a TUI […]",
            kind="pingback",
            place=site,
        )
    return Text(
        f"Comment on {post_title} by {author.name}",
        f"{_sentence(rng)} Thanks for the write-up on Lumen!",
        kind="comment",
    )


# --------------------------------------------------------------------------------------------------
# Mentions


@dataclass(frozen=True, slots=True)
class Happening:
    """One mention in the simulated world, before any API has formatted it."""

    stream: str
    index: int  # position in its stream, oldest first (stable: later slots never renumber earlier ones)
    ident: int  # the stream's numeric id: grows with time
    published: datetime
    author: Person
    title: str
    body: str
    reach: float  # the final score it is heading for
    kind: str = "post"
    parent: int | None = None  # the blog post (ident) a comment is on; the HN story a comment is under
    parent_title: str = ""
    place: str = ""
    tags: tuple[str, ...] = ()
    variant: str = ""
    token: int = 0  # random bits for ids that are not numbers (video ids, content hashes)
    shares: tuple[Share, ...] = ()  # the blog posts it links to, as it wrote the links
    lang: str = "en"  # the language it is written in (Mastodon `language`, Bluesky `langs`)
    story_url: str = ""  # an HN comment: the url of the story it is under

    @property
    def epoch(self) -> int:
        return int(self.published.timestamp())


@dataclass(frozen=True, slots=True)
class Counts:
    """Engagement of one mention at one moment; the formats pick the counts their API has."""

    score: int
    comments: int
    shares: int
    views: int
    active_at: datetime  # when the reply count last went up (the publication time if it never did)


@dataclass(frozen=True, slots=True)
class Incident:
    """A window in which a stream's API misbehaves: "error" (HTTP 500), "rate-limit" (429), "backoff"."""

    stream: str
    kind: str
    begins: float  # seconds after start, within each INCIDENT_EVERY period
    ends: float
    status: int = 0


INCIDENTS: tuple[Incident, ...] = (
    Incident("lemmy", "error", 180.0, 360.0, 500),
    # Wider than GitHub's one-minute poll interval, so some poll always lands in it.
    Incident("github", "rate-limit", 225.0, 345.0, 429),
    # Stack Exchange is polled every 10 minutes: this window catches the second poll.
    Incident("stackexchange", "backoff", 570.0, 720.0),
)


@dataclass(frozen=True, slots=True)
class ActiveIncident:
    incident: Incident
    until: datetime

    @property
    def kind(self) -> str:
        return self.incident.kind

    @property
    def status(self) -> int:
        return self.incident.status


@dataclass(frozen=True, slots=True)
class _Scripted:
    stream: str
    offset: float  # seconds from start (negative: in the backlog)
    title: str
    body: str
    author: Person
    reach: float
    place: str = ""
    variant: str = ""
    tags: tuple[str, ...] = ()
    shares_takeoff: bool = False  # links to the post that takes off ("{url}" in the body is its link)


_HOSTILE = Person("n0body", "Great post [/bold]", "mastodon.example")
ESC = "\x1b"
SCRIPTED: tuple[_Scripted, ...] = (
    # Three quarters of a minute in, the blog publishes the post that takes off (see TAKEOFF_RATES).
    _Scripted("blog", TAKEOFF_AT, TAKEOFF_TITLE, TAKEOFF_BODY, MAINTAINERS[0], 1.0),
    _Scripted(
        "blog",
        -BACKLOG_DAYS * 86400 + 7200,
        "Introducing Lumen 0.7",
        "Lumen 0.7 brings reactive attributes and a new layout engine.",
        MAINTAINERS[0],
        1.0,
    ),
    _Scripted("releases", -BACKLOG_DAYS * 86400 + 3600, "", "", MAINTAINERS[1], 0.0),
    _Scripted(
        "reddit",
        -2 * 3600,
        "Great post [/bold] — my first week with Lumen",
        "Markup in titles should show up literally: [/bold] [red]not red[/red]",
        REGULARS[8],
        40.0,
        place="Python",
        variant="self",
    ),
    _Scripted(
        "reddit",
        -5 * 3600 - 600,
        "[@click=app.quit]x[/] Lumen keybindings cheat sheet",
        "Clicking the title above must not quit the dashboard.",
        REGULARS[10],
        25.0,
        place="LumenTUI",
        variant="self",
    ),
    _Scripted(
        "reddit",
        -9 * 3600,
        f"Lumen tip: {ESC}]0;pwned{ESC}\\ terminal titles {ESC}[2J and colours",
        f"{ESC}[31mThis body tries to paint the terminal red.{ESC}[0m",
        REGULARS[5],
        18.0,
        place="commandline",
        variant="self",
    ),
    _Scripted(
        "mastodon",
        -4 * 3600,
        "",
        f"<script>alert('lumen')</script> Lumen escapes {ESC}[2J clear-screen tricks? #lumen",
        _HOSTILE,
        9.0,
        tags=("lumen", "tui"),
    ),
    _Scripted(
        "bluesky",
        -6 * 3600,
        "",
        "\u202eLumen\u202c mirrored text should not flip the dashboard #tui",
        REGULARS[13],
        7.0,
    ),
    _Scripted("comments", -3 * 3600, "", "[b]bold?[/b] Great post [/bold] indeed.", _HOSTILE, 0.0),
    _Scripted(
        "reddit",
        60.0,
        "[@click=app.quit]Click here[/] for free Lumen stickers",
        "Still just text.",
        REGULARS[16],
        12.0,
        place="LumenTUI",
        variant="self",
    ),
    # A minute and a half in, someone reports an outage: the demo's keyword alert fires live.
    _Scripted(
        "mastodon",
        90.0,
        "",
        "Is the Lumen docs site down? I get an outage page since this morning #lumen",
        REGULARS[3],
        6.0,
        tags=("lumen",),
    ),
)


def _spike_headline(number: int) -> _Scripted:
    stream = SPIKE_STREAMS[number % len(SPIKE_STREAMS)]
    offset = SPIKE_START + number * SPIKE_EVERY
    author = MAINTAINERS[number % len(MAINTAINERS)]
    if stream == "hackernews":
        return _Scripted(
            stream,
            offset,
            "Show HN: Lumen 1.0 – reactive terminal UIs in pure Python",
            "We have been building Lumen for two years. Happy to answer questions!",
            author,
            450.0,
            variant="show",
            shares_takeoff=True,
        )
    if stream == "reddit":
        return _Scripted(
            stream,
            offset,
            "Lumen 1.0 is out: the TUI framework that feels like a web app",
            "Release notes and the story behind it: {url}\n\nAMA!",
            author,
            900.0,
            place="Python",
            variant="self",
            shares_takeoff=True,
        )
    return _Scripted(
        stream,
        offset,
        "",
        "Lumen 1.0 is out! Reactive TUIs in pure Python. {url} #lumen #tui #python",
        author,
        300.0,
        tags=("lumen", "tui", "python"),
        shares_takeoff=True,
    )


def spike_window(stream: str, elapsed: float) -> tuple[int, float] | None:
    """(burst number, its start offset) when `stream` is bursting at `elapsed` seconds after start."""
    if elapsed < SPIKE_START:
        return None
    number = int((elapsed - SPIKE_START) // SPIKE_EVERY)
    begins = SPIKE_START + number * SPIKE_EVERY
    if SPIKE_STREAMS[number % len(SPIKE_STREAMS)] != stream or elapsed >= begins + SPIKE_LENGTH:
        return None
    return number, begins


def release_version(index: int) -> str:
    """Release n of the "releases" stream is 0.(7 + n // 4).(n % 4): a steady cadence of patches."""
    return f"0.{7 + index // 4}.{index % 4}"


def _reached(mention: Happening, level: float) -> datetime:
    """When a mention's grown engagement first reached `level` (inverting the growth curve)."""
    if level <= 0 or mention.reach <= 0:
        return mention.published
    share = min(level / mention.reach, 1.0 - 1e-9)
    return mention.published + timedelta(seconds=math.ceil(-GROWTH_SECONDS * math.log(1.0 - share)))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one slot."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit and count < MAX_PER_SLOT:
        count += 1
        product *= rng.random()
    return count


@dataclass(slots=True)
class _Draft:
    offset: int  # seconds into the slot
    author: Person
    text: Text
    reach: float
    jitter: int
    token: int
    parent: int | None = None
    parent_title: str = ""
    reply_to: str = ""  # the title of a story in the same stream this comment replies to


class DemoWorld:
    """The simulated community. Thread-safe: the demo server asks from many threads at once."""

    def __init__(
        self,
        seed: int = 0,
        start: datetime | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.seed = seed
        self.clock = clock
        moment = start if start is not None else clock()
        self.start = moment.astimezone(UTC).replace(microsecond=0)
        self._lock = threading.RLock()
        self._made: dict[str, list[Happening]] = {}
        self._times: dict[str, list[datetime]] = {}
        self._next_slot: dict[str, int] = {}

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def elapsed(self, now: datetime | None = None) -> float:
        """Seconds since start (negative before it)."""
        return ((now or self.now()) - self.start).total_seconds()

    def slot_bounds(self, slot: int) -> tuple[datetime, int]:
        """Where slot `slot` begins and how many seconds it lasts (negative slots: the backlog)."""
        if slot < 0:
            return self.start + timedelta(seconds=slot * BACKLOG_SLOT), BACKLOG_SLOT
        return self.start + timedelta(seconds=slot * LIVE_SLOT), LIVE_SLOT

    def slot_at(self, moment: datetime) -> int:
        seconds = (moment - self.start).total_seconds()
        return math.floor(seconds / (BACKLOG_SLOT if seconds < 0 else LIVE_SLOT))

    # -- mentions --------------------------------------------------------------------------------

    def mentions(self, stream: str, now: datetime | None = None) -> list[Happening]:
        """Every mention of `stream` published at or before `now`, oldest first."""
        moment = now or self.now()
        with self._lock:
            self._generate_until(stream, moment)
            cut = bisect.bisect_right(self._times[stream], moment)
            return self._made[stream][:cut]

    def find(self, stream: str, ident: int, now: datetime | None = None) -> Happening | None:
        """The mention of `stream` with this id, if it exists yet."""
        return next((m for m in self.mentions(stream, now) if m.ident == ident), None)

    def counts(self, mention: Happening, now: datetime | None = None) -> Counts:
        """Its engagement at `now`: grows from zero towards `reach` as it ages, never shrinks."""
        moment = now or self.now()
        spec = STREAMS[mention.stream]
        age = max(0.0, (moment - mention.published).total_seconds())
        grown = mention.reach * (1.0 - math.exp(-age / GROWTH_SECONDS))
        if mention.stream == "blog":
            replies = [c.published for c in self.mentions("comments", moment) if c.parent == mention.ident]
            return Counts(0, len(replies), 0, 0, max(replies, default=mention.published))
        comments = int(grown * spec.comment_ratio)
        return Counts(
            score=int(grown),
            comments=comments,
            shares=int(grown * spec.share_ratio),
            views=int(grown * spec.view_ratio) + (int(age // 60) if spec.view_ratio else 0),
            active_at=_reached(mention, comments / spec.comment_ratio if spec.comment_ratio else 0.0),
        )

    def incident(self, stream: str, now: datetime | None = None) -> ActiveIncident | None:
        """The misbehaviour `stream` shows at `now`, if any (windows repeat every INCIDENT_EVERY)."""
        elapsed = self.elapsed(now)
        if elapsed < 0:
            return None
        period_start = (elapsed // INCIDENT_EVERY) * INCIDENT_EVERY
        within = elapsed - period_start
        for incident in INCIDENTS:
            if incident.stream == stream and incident.begins <= within < incident.ends:
                until = self.start + timedelta(seconds=period_start + incident.ends)
                return ActiveIncident(incident, until)
        return None

    # -- generation ------------------------------------------------------------------------------

    def _generate_until(self, stream: str, moment: datetime) -> None:
        if stream not in STREAMS:
            raise KeyError(f"unknown demo stream {stream!r}")
        made = self._made.setdefault(stream, [])
        times = self._times.setdefault(stream, [])
        slot = self._next_slot.setdefault(stream, -BACKLOG_DAYS * 86400 // BACKLOG_SLOT)
        last = self.slot_at(moment)
        while slot <= last:
            for draft in self._slot(stream, slot):
                mention = self._finish(stream, slot, draft, len(made), made)
                made.append(mention)
                times.append(mention.published)
            slot += 1
            self._next_slot[stream] = slot

    def _slot(self, stream: str, slot: int) -> list[_Draft]:
        """The mentions one slot of one stream holds, drawn from that slot's own generator."""
        rng = random.Random(f"{self.seed}:{stream}:{slot}")
        begins, length = self.slot_bounds(slot)
        spec = STREAMS[stream]
        if slot < 0:
            mean = spec.per_day / 24 * hour_weight(begins) * weekday_weight(begins)
        else:
            mean = spec.per_minute * length / 60
            if spike_window(stream, self.elapsed(begins)) is not None:
                mean *= SPIKE_FACTOR
        # Scripted happenings first: at equal offsets a burst's headline precedes the replies to it.
        drafts = self._scripted(stream, begins, length)
        for _ in range(_poisson(rng, mean)):
            offset = rng.randrange(length)
            drafts.extend(self._draw(stream, rng, begins + timedelta(seconds=offset), offset))
        if stream in TAKEOFF_RATES and TAKEOFF_WINDOW[0] <= self.elapsed(begins) < TAKEOFF_WINDOW[1]:
            for _ in range(_poisson(rng, TAKEOFF_RATES[stream] * length / 60)):
                drafts.append(self._takeoff_share(stream, rng, rng.randrange(length)))
        drafts.sort(key=lambda draft: draft.offset)
        return drafts[:MAX_PER_SLOT]

    def _draw(self, stream: str, rng: random.Random, when: datetime, offset: int) -> list[_Draft]:
        spec = STREAMS[stream]
        author = pick_author(rng, 0.55 if when < self.start else 0.45)
        if stream == "blog":
            author = rng.choice(MAINTAINERS)
        reach = rng.lognormvariate(math.log(spec.reach), 1.0) if spec.reach else 0.0
        jitter, token = rng.randrange(max(1, spec.id_step)), rng.getrandbits(64)
        if stream == "comments":
            post = self._recent_post(rng, when)
            if post is None:
                return []
            text = _comment(rng, post.title, author)
            return [_Draft(offset, author, text, reach, jitter, token, post.ident, post.title)]
        if stream == "releases":
            return [_Draft(offset, rng.choice(MAINTAINERS), Text("", ""), 0.0, jitter, token)]
        burst = spike_window(stream, self.elapsed(when))
        if stream == "hackernews" and burst is not None and rng.random() < 0.85:
            body = f"{_sentence(rng)} Congrats on 1.0! How does Lumen compare to {rng.choice(OTHERS)}?"
            text = Text("", body, kind="comment")
            return [
                _Draft(offset, author, text, 0.0, jitter, token, reply_to=_spike_headline(burst[0]).title)
            ]
        if stream in SHARE_STREAMS or stream in CITING_STREAMS:
            post = self._shared_post(rng, when, 0.5 if stream in SHARE_STREAMS else 0.12)
            if post is not None:
                text = _write_share(stream, rng, author, post)
                return [_Draft(offset, author, text, reach, jitter, token)]
        return [_Draft(offset, author, _write(stream, rng, author), reach, jitter, token)]

    def _shared_post(self, rng: random.Random, when: datetime, chance: float) -> Happening | None:
        """The blog post a mention at `when` shares, if it shares one: recent posts get shared, the
        newest most (`chance` for a post just out, halving every SHARE_HALF_LIFE)."""
        post, draw = self._recent_post(rng, when), rng.random()
        if post is None:
            return None
        age = (when - post.published).total_seconds()
        return post if draw < chance * 0.5 ** (age / SHARE_HALF_LIFE) else None

    def takeoff_post(self) -> Happening:
        """The blog post that takes off (published TAKEOFF_AT seconds after start)."""
        moment = self.start + timedelta(seconds=TAKEOFF_AT)
        return next(m for m in reversed(self.mentions("blog", moment)) if m.title == TAKEOFF_TITLE)

    def _takeoff_share(self, stream: str, rng: random.Random, offset: int) -> _Draft:
        """One share of the post that takes off, during its burst: more attention than usual."""
        spec = STREAMS[stream]
        author = pick_author(rng, 0.45)
        reach = rng.lognormvariate(math.log(2 * spec.reach), 0.8)
        jitter, token = rng.randrange(max(1, spec.id_step)), rng.getrandbits(64)
        text = _write_share(stream, rng, author, self.takeoff_post())
        return _Draft(offset, author, text, reach, jitter, token)

    def _recent_post(self, rng: random.Random, when: datetime) -> Happening | None:
        """One of the last three blog posts before `when` (the newest most often)."""
        posts = self.mentions("blog", when)[-3:]
        if not posts:
            return None
        return rng.choices(posts[::-1], weights=(3, 2, 1)[: len(posts)])[0]

    def _scripted(self, stream: str, begins: datetime, length: int) -> list[_Draft]:
        """Scripted happenings (hostile titles, burst headlines) that fall in this slot."""
        ends = begins + timedelta(seconds=length)
        events = [event for event in SCRIPTED if event.stream == stream]
        burst = spike_window(stream, self.elapsed(begins))
        if burst is not None:
            events.append(_spike_headline(burst[0]))
        drafts: list[_Draft] = []
        for event in events:
            moment = self.start + timedelta(seconds=event.offset)
            if not begins <= moment < ends:
                continue
            offset = int((moment - begins).total_seconds())
            rng = random.Random(f"{self.seed}:{stream}:scripted:{event.offset}")
            kind, parent, parent_title = "post", None, ""
            title = event.title
            if stream == "comments":
                post = self._recent_post(rng, moment)
                if post is None:
                    continue
                kind, parent, parent_title = "comment", post.ident, post.title
                title = f"Comment on {post.title} by {event.author.name}"
            place = event.place or (event.author.instance if stream == "mastodon" else "")
            body = event.body
            shares: tuple[Share, ...] = ()
            if event.shares_takeoff:
                share = _share(rng, self.takeoff_post(), stream)
                body, shares = body.replace("{url}", share.url), (share,)
            text = Text(
                title, body, kind=kind, place=place, tags=event.tags, variant=event.variant, shares=shares
            )
            spec = STREAMS[stream]
            drafts.append(
                _Draft(
                    offset,
                    event.author,
                    text,
                    event.reach,
                    rng.randrange(max(1, spec.id_step)),
                    rng.getrandbits(64),
                    parent,
                    parent_title,
                )
            )
        return drafts

    def _finish(
        self, stream: str, slot: int, draft: _Draft, index: int, earlier: Sequence[Happening]
    ) -> Happening:
        begins, _ = self.slot_bounds(slot)
        parent, parent_title, story_url = draft.parent, draft.parent_title, ""
        if draft.reply_to:
            story = next((m for m in reversed(earlier[-500:]) if m.title == draft.reply_to), None)
            if story is not None:
                parent, parent_title = story.ident, story.title
                story_url = story.shares[0].url if story.shares else ""
        published = begins + timedelta(seconds=draft.offset)
        spec = STREAMS[stream]
        if stream == "mastodon":
            # Mastodon ids are Snowflake-like: milliseconds since the epoch, shifted, plus a sequence.
            ident = (int(published.timestamp()) * 1000 << 16) + index % 65536
        elif stream == "bluesky":
            ident = (int(published.timestamp()) * 1_000_000 << 10) + index % 1024
        else:
            ident = spec.first_id + index * spec.id_step + draft.jitter
        text = draft.text
        return Happening(
            stream=stream,
            index=index,
            ident=ident,
            published=published,
            author=draft.author,
            title=text.title,
            body=text.body,
            reach=draft.reach,
            kind=text.kind,
            parent=parent,
            parent_title=parent_title,
            place=text.place,
            tags=text.tags,
            variant=text.variant,
            token=draft.token,
            shares=text.shares,
            lang=text.lang,
            story_url=story_url,
        )
