"""Is a paper about the topic? Code signals, each measured against the store's own background.

Three signals per paper, each turned into a z-score against a fixed random sample of the store (so
"how unusual is this match here", not an absolute number a small embedding model cannot calibrate):
- coverage: the IDF-weighted share of the topic's content words *and adjacent word pairs* found in the
  title and abstract. Pairs matter: "token compression" is rare where "token" and "compression" alone
  are everywhere;
- lead: the same, on the title and the first two abstract sentences (what the paper says it is about);
- dense: the cosine of the topic's and the paper's embeddings (absent in a keyword-only store).

A word that most of the store uses ("multimodal", "large", "language" in a store of MLLM papers) gets an
IDF near zero, so a generic phrase in the topic neither helps nor hurts a paper. The embedded 1.5B model's
yes/no judgment was measured on the labeled topics in bench/topics and ranked papers barely better than
chance (AUC 0.59 on one topic, 1.7 s a paper), so it plays no part here: code decides.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.core.paper import Paper
from agent.core.text import STOP, split_sentences, stemmer

RELEVANT_Z = 1.5  # mean z of the signals above which a paper is about the topic (chosen on bench/topics)
FULL_COVERAGE = 0.8  # ... or this share of the topic's weighted terms in its title and lead (small stores)
MIN_COVERAGE = 0.05  # and never without some of the topic's own words: a z-score alone finds an outlier anywhere
# A store this small (a user's own .bib) has no background to measure against: its words get equal weight
# and a paper is relevant when it has this share of the topic's words and word pairs.
SMALL_STORE = 30
SMALL_COVERAGE = 0.34
BROAD_SHARE = 0.2  # a query phrase whose words occur together in more of the store than this is generic
BACKGROUND = 1500  # papers sampled from the store to measure what an ordinary match looks like
_WORD = re.compile(r"[a-z0-9]+")  # "hour-long" is "hour long": papers write "long videos" too
_PHRASE_SPLIT = re.compile(
    r"\s*(?:[,;:/()?!.]|\b(?:in|for|of|and|or|on|with|via|from|to|under|using|towards?|by|versus|vs|"
    r"against|without|through|how|what|when|which|the|a|an)\b)\s*", re.IGNORECASE)


def tokens(text: str) -> list[str]:
    """Stemmed content words in order (stop words dropped)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP and len(w) > 1]
    return stemmer().stemWords(words)


def word_pairs(words: list[str], window: int = 3) -> set[tuple[str, str]]:
    """Ordered pairs of words at most `window - 1` apart: "visual token compression" has (token, compress)."""
    return {(a, b) for i, a in enumerate(words) for b in words[i + 1:i + window] if a != b}


def phrases(text: str) -> list[str]:
    """The text's phrases between connectives: "pruning for efficient MLLMs" -> "pruning", "efficient MLLMs"."""
    parts = [p.strip() for p in _PHRASE_SPLIT.split(text) if p and p.strip()]
    return list(dict.fromkeys(p for p in parts if tokens(p)))


def topic_pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent word pairs inside each of the topic's phrases (never across a connective)."""
    out: set[tuple[str, str]] = set()
    for phrase in phrases(text):
        words = tokens(phrase)
        out |= {(a, b) for a, b in zip(words, words[1:]) if a != b}
    return out


@dataclass
class Profile:
    """A paper's words and word pairs, over its whole text and over its title and lead sentences."""

    words: set[str]
    pairs: set[tuple[str, str]]
    lead_words: set[str]
    lead_pairs: set[tuple[str, str]]

    @classmethod
    def of(cls, paper: Paper) -> "Profile":
        whole = tokens(f"{paper.title}. {paper.abstract or ''}")
        lead = tokens(f"{paper.title}. {' '.join(split_sentences(paper.abstract or '')[:2])}")
        return cls(set(whole), word_pairs(whole), set(lead), word_pairs(lead))


@dataclass
class Relevance:
    """How strongly one paper is about the topic: the mean z-score and the signals behind it."""

    key: str
    score: float  # mean z-score of the signals against the store's background
    coverage: float  # weighted share of the topic's terms in title + abstract (0..1)
    lead: float  # the same in the title and first two sentences
    dense: float | None  # cosine of the embeddings, None in a keyword-only store
    small_store: bool = False  # judged by coverage alone (see SMALL_STORE)

    @property
    def relevant(self) -> bool:
        if self.small_store:
            return self.coverage >= SMALL_COVERAGE
        return self.coverage >= MIN_COVERAGE and (self.score >= RELEVANT_Z or self.lead >= FULL_COVERAGE)


def background_keys(keys: list[str], n: int = BACKGROUND) -> list[str]:
    """A fixed random sample of the store (the same store gives the same sample)."""
    ordered = sorted(keys)
    return ordered if len(ordered) <= n else random.Random(0).sample(ordered, n)


def share_matching(phrase: str, profiles: Iterable[Profile]) -> float:
    """Share of papers whose text has every content word of a phrase: how much of the store a query matches."""
    words = set(tokens(phrase))
    profiles = list(profiles)
    if not words or not profiles:
        return 0.0
    return sum(words <= p.words for p in profiles) / len(profiles)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _z(values: list[float], background: list[float]) -> list[float]:
    mean = sum(background) / len(background)
    sd = math.sqrt(sum((v - mean) ** 2 for v in background) / len(background))
    return [(v - mean) / sd if sd > 1e-9 else 0.0 for v in values]


def sample(papers: list[Paper]) -> dict[str, Profile]:
    """The background: profiles of a sample of the store (`background_keys`), made once per scope."""
    return {p.key: Profile.of(p) for p in papers}


def judge(
    topic: str,
    papers: list[Paper],
    background: dict[str, Profile],
    vectors: Callable[[list[str]], dict[str, list[float]] | None],
    topic_vector: list[float] | None,
) -> dict[str, Relevance]:
    """Relevance of each paper to `topic`, measured against `background` (a sample of the same store)."""
    profiles = {**background, **{p.key: Profile.of(p) for p in papers if p.key not in background}}
    back_keys = list(background) or [p.key for p in papers]
    back = [profiles[k] for k in back_keys]
    n = len(back)
    words, pairs = set(tokens(topic)), topic_pairs(topic)
    small = n < SMALL_STORE
    idf_w = {w: 1.0 if small else math.log((n + 1) / (1 + sum(w in p.words for p in back))) for w in words}
    idf_p = {q: 1.0 if small else math.log((n + 1) / (1 + sum(q in p.pairs for p in back))) for q in pairs}
    total = sum(idf_w.values()) + sum(idf_p.values()) or 1.0

    def cover(have_words: set[str], have_pairs: set[tuple[str, str]]) -> float:
        return (sum(v for w, v in idf_w.items() if w in have_words)
                + sum(v for q, v in idf_p.items() if q in have_pairs)) / total

    def signals(keys: list[str]) -> tuple[list[float], list[float]]:
        return ([cover(profiles[k].words, profiles[k].pairs) for k in keys],
                [cover(profiles[k].lead_words, profiles[k].lead_pairs) for k in keys])

    keys = [p.key for p in papers]
    cov, lead = signals(keys)
    cov_b, lead_b = signals(back_keys)
    columns = [_z(cov, cov_b), _z(lead, lead_b)]
    dense: list[float | None] = [None] * len(keys)
    if topic_vector is not None:
        found = vectors(list(dict.fromkeys([*keys, *back_keys]))) or {}
        if all(k in found for k in keys):
            dense = [_cosine(topic_vector, found[k]) for k in keys]
            dense_b = [_cosine(topic_vector, found[k]) for k in back_keys if k in found]
            columns.append(_z([d or 0.0 for d in dense], dense_b or [d or 0.0 for d in dense]))
    out: dict[str, Relevance] = {}
    for i, key in enumerate(keys):
        score = sum(col[i] for col in columns) / len(columns)
        out[key] = Relevance(key, round(score, 3), round(cov[i], 3), round(lead[i], 3),
                             None if dense[i] is None else round(dense[i], 3), small)
    return out
