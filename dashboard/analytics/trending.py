"""Trending terms: words and two-word phrases whose frequency rises most against a trailing baseline.

Scored with the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn,
"Fightin' Words", 2008): for each term, the z-score of the log-odds of the term in the window against
the baseline, the prior being the pooled frequency of both (which shrinks rare terms toward zero).
Counts are document frequencies (how many mentions contain the term), so one post repeating a word
cannot make it trend. Tokenising works on one joined string and the counting with numpy: a Python
loop per mention was ~10x slower.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.store.db import to_epoch
from dashboard.store.reader import StoreReader

TREND_COLUMNS = ("term", "count", "baseline_count", "score")

# English and French stopwords (function words, pronouns, auxiliaries, contraction fragments), built in
# so that nothing is downloaded. Lowercase; apostrophes split words, hence "don" and "qu".
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down during
    each few for from further get gets got had hadn has hasn have haven having he her here hers herself
    him himself his how however i if in into is isn it its itself just let ll me might more most much
    must mustn my myself need no nor not now of off on once one only or other ought our ours ourselves
    out over own re really s same shan she should shouldn so some still such t than that the their
    theirs them themselves then there these they this those through to too under until up us use used
    using ve very via was wasn we were weren what when where which while who whom why will with won would
    wouldn yet you your yours yourself yourselves im ive dont doesnt didnt isnt cant wont thats its
    like get one two new also even well way may many want see know make made going go
    au aux avec ce ces cet cette ceci cela ça dans de des du elle elles en et eux il ils je j la le les
    leur leurs lui l ma mais me même mes moi mon m ne n nos notre nous on ou où par pas pour qu que qui
    sa se ses son sur ta te tes toi ton tu un une vos votre vous c d s t y à été être avoir ai as avons
    avez ont est sont était étaient sera seront fait faire plus moins très tout tous toute toutes aussi
    comme donc alors car si ni sans sous chez entre vers depuis pendant après avant encore déjà bien
    peu trop quand comment pourquoi quoi dont cela celui celle ceux celles ici là oui non rien
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# URLs and @handles (Mastodon's @user@host too) are dropped; three literal-prefix passes are ~6x faster
# than one alternation. Each removal leaves a break so that no phrase spans it.
_DROP = (re.compile(r"https?://\S+"), re.compile(r"www\.\S+"), re.compile(r"@\S+"))
_DOC = "\x1e"  # between two mentions
_BREAK = "\x1f"  # a removed URL, or punctuation that ends a phrase
_PHRASE_ENDS = '.,;:!?()[]{}"«»“”„…–—|/'
_SPACES = "\xa0\u2009\u202f"
# Every ASCII byte that is not a letter, a digit, "_" or a marker becomes a space; bytes >= 0x80 (the
# UTF-8 of non-ASCII letters such as é) are kept.
_WORD_BYTES = bytes(
    byte if chr(byte).isalnum() or byte >= 0x80 or chr(byte) in f"_{_DOC}{_BREAK}" else 0x20
    for byte in range(256)
)
_HAS_LETTER = re.compile(r"[^\W\d_]")


def tokenise(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, docs, vocabulary): each token's code into `vocabulary` (lowercase words, plus the
    markers) and the index of its text. Splitting with bytes.translate + bytes.split is ~4x faster than
    a regex findall over the same text (measured on 15k mentions)."""
    joined = f" {_DOC} ".join(texts).lower()
    for pattern in _DROP:
        joined = pattern.sub(f" {_BREAK} ", joined)
    for mark in _PHRASE_ENDS:
        joined = joined.replace(mark, f" {_BREAK} ")
    for space in _SPACES:
        joined = joined.replace(space, " ")
    joined = joined.replace("’", "'")
    tokens = np.array(joined.encode("utf-8").translate(_WORD_BYTES).split(), dtype=object)
    codes, raw_vocabulary = pd.factorize(tokens)
    vocabulary = np.array([word.decode("utf-8", "replace") for word in raw_vocabulary], dtype=object)
    separators = np.flatnonzero(vocabulary == _DOC)
    docs = np.cumsum(np.isin(codes, separators))
    return codes.astype(np.int64), docs.astype(np.int64), vocabulary


def _is_term(vocabulary: np.ndarray) -> np.ndarray:
    """Which vocabulary entries may trend: 2+ characters, a letter, not a stopword nor a marker (a word
    that is only non-ASCII punctuation has no letter either)."""
    words = pd.Series(vocabulary, dtype="str")
    return np.asarray(
        (words.str.len() >= 2) & words.str.contains(_HAS_LETTER) & ~words.isin(STOPWORDS), dtype=bool
    )


def _document_counts(keys: np.ndarray, docs: np.ndarray, size: int, split: int) -> tuple[np.ndarray, ...]:
    """Per key (0..size-1): how many documents below `split` and from `split` on contain it."""
    pairs = pd.unique(docs * size + keys)
    pair_keys, pair_docs = pairs % size, pairs // size
    in_window = pair_docs < split
    return (
        np.bincount(pair_keys[in_window], minlength=size),
        np.bincount(pair_keys[~in_window], minlength=size),
    )


def term_counts(window_texts: Sequence[str], baseline_texts: Sequence[str]) -> pd.DataFrame:
    """[term, count, baseline_count]: words and two-word phrases (no stopword in them) with the number
    of window and baseline texts that contain each."""
    texts = [*window_texts, *baseline_texts]
    split = len(window_texts)
    codes, docs, vocabulary = tokenise(texts)
    size = len(vocabulary)
    term = _is_term(vocabulary)
    valid = term[codes] if len(codes) else np.zeros(0, dtype=bool)
    word_window, word_baseline = _document_counts(codes[valid], docs[valid], size, split)
    # Two-word phrases: adjacent tokens of one text, both terms (markers and stopwords break them).
    adjacent = valid[:-1] & valid[1:] & (docs[:-1] == docs[1:])
    pair_codes = codes[:-1][adjacent] * size + codes[1:][adjacent]
    pair_ids, pairs = pd.factorize(pair_codes)
    pairs = np.asarray(pairs, dtype=np.int64)
    pair_window, pair_baseline = _document_counts(
        pair_ids.astype(np.int64), docs[:-1][adjacent], len(pairs), split
    )
    words = pd.DataFrame(
        {"term": vocabulary[term], "count": word_window[term], "baseline_count": word_baseline[term]}
    )
    phrase_terms = vocabulary[pairs // size] + " " + vocabulary[pairs % size] if len(pairs) else pairs
    phrases = pd.DataFrame({"term": phrase_terms, "count": pair_window, "baseline_count": pair_baseline})
    counts = pd.concat([words, phrases], ignore_index=True)
    counts["term"] = counts["term"].astype("str")
    for column in ("count", "baseline_count"):
        counts[column] = counts[column].astype(np.int64)
    return counts[(counts["count"] + counts["baseline_count"]) > 0].reset_index(drop=True)


def log_odds_scores(count: np.ndarray, baseline: np.ndarray, prior_size: float | None = None) -> np.ndarray:
    """z-scores of the weighted log-odds ratio (window vs baseline) with an informative Dirichlet prior
    alpha_w = prior_size * pooled frequency of w (default prior_size: the pooled total count)."""
    count = count.astype(float)
    baseline = baseline.astype(float)
    pooled = count + baseline
    n_window, n_baseline, n_pooled = count.sum(), baseline.sum(), pooled.sum()
    if n_pooled == 0:
        return np.zeros_like(count)
    alpha0 = float(prior_size) if prior_size is not None else n_pooled
    alpha = alpha0 * pooled / n_pooled
    rest_window = n_window + alpha0 - count - alpha
    rest_baseline = n_baseline + alpha0 - baseline - alpha
    # A term holding all the mass has no "rest" to be compared with: its odds are undefined, so it
    # gets no score (0) instead of log(0) and a divide-by-zero warning in every export.
    defined = (rest_window > 0) & (rest_baseline > 0)
    safe_window = np.where(defined, rest_window, 1.0)
    safe_baseline = np.where(defined, rest_baseline, 1.0)
    window_odds = np.log(count + alpha) - np.log(safe_window)
    baseline_odds = np.log(baseline + alpha) - np.log(safe_baseline)
    variance = 1.0 / (count + alpha) + 1.0 / (baseline + alpha)
    scores: np.ndarray = np.where(defined, (window_odds - baseline_odds) / np.sqrt(variance), 0.0)
    return scores


def trending_terms(
    window_texts: Sequence[str],
    baseline_texts: Sequence[str],
    *,
    min_count: int = 3,
    top_n: int = 15,
    window_weight: int = 1,
    baseline_weight: int = 1,
    prior_size: float | None = None,
) -> pd.DataFrame:
    """The `top_n` rising terms [term, count, baseline_count, score], highest score first.

    A term needs `min_count` window texts and a positive score. When the texts are an even sample
    (every k-th mention), `*_weight` = k scales the reported counts back to estimates of the whole.
    """
    counts = term_counts(window_texts, baseline_texts)
    if counts.empty:
        return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in _EMPTY.items()})
    scores = log_odds_scores(
        counts["count"].to_numpy(), counts["baseline_count"].to_numpy(), prior_size=prior_size
    )
    counts["score"] = scores
    rising = counts[(counts["count"] >= min_count) & (counts["score"] > 0)]
    top = rising.sort_values(["score", "term"], ascending=[False, True]).head(top_n).reset_index(drop=True)
    top["count"] = top["count"] * window_weight
    top["baseline_count"] = top["baseline_count"] * baseline_weight
    return top[list(TREND_COLUMNS)]


_EMPTY = {"term": "str", "count": "int64", "baseline_count": "int64", "score": "float64"}


def texts(
    reader: StoreReader,
    since: datetime,
    until: datetime,
    *,
    max_docs: int | None = None,
    summary_chars: int = 500,
) -> pd.DataFrame:
    """[id, source, text] with text = title + newline + the first `summary_chars` of the summary.

    Past `max_docs` mentions, an even sample by id (every k-th) keeps the cost bounded; the frame's
    `attrs["sampled_every"]` says k (1 = every mention).
    """
    bounds = (to_epoch(since), to_epoch(until))
    every = 1
    if max_docs is not None:
        total = reader.query(
            "SELECT COUNT(*) FROM mentions WHERE published_at >= ? AND published_at < ?", bounds
        )
        every = max(1, -(-int(total[0][0]) // max(1, max_docs)))
    rows = reader.query(
        """SELECT id, source_id, title || '\n' || substr(summary, 1, ?) FROM mentions
           WHERE published_at >= ? AND published_at < ? AND id % ? = 0 ORDER BY id""",
        (summary_chars, *bounds, every),
    )
    frame = pd.DataFrame(rows, columns=["id", "source", "text"])
    frame["id"] = frame["id"].astype(np.int64)
    frame["text"] = frame["text"].astype("str")
    frame = reader.finish_aggregate(frame)
    frame.attrs["sampled_every"] = every
    return frame


__all__ = [
    "STOPWORDS",
    "TREND_COLUMNS",
    "log_odds_scores",
    "term_counts",
    "texts",
    "tokenise",
    "trending_terms",
]
