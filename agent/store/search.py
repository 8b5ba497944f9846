"""Hybrid retrieval: BM25 and dense rankings fused by reciprocal rank, one hit per paper."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from agent.core.text import split_sentences

RRF_K = 60  # the constant from Cormack et al. (2009); dampens the weight of the very top ranks


@dataclass(frozen=True)
class Filters:
    """Which papers a search (and so the evidence of an answer) may return: `--from`, `--to`, `--source`."""

    year_from: int | None = None
    year_to: int | None = None
    source: str | None = None  # part of the path of a file the paper was read from

    @property
    def active(self) -> bool:
        """True when any filter is set (an empty `source` sets none)."""
        return self.by_year or bool(self.source)

    @property
    def by_year(self) -> bool:
        """True when a year bound is set: papers without a year are then left out."""
        return self.year_from is not None or self.year_to is not None


@dataclass
class SearchHit:
    """A paper that matched, with the chunk that matched best."""

    key: str
    title: str
    score: float
    snippet: str
    year: int | None
    source: str
    chunk_id: str
    section: str
    keyword_rank: int | None = None
    dense_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def papers_in_order(ranked_chunks: list[tuple[str, float]], chunk_key: dict[str, str]) -> list[tuple[str, str]]:
    """Collapse a chunk ranking to a paper ranking: (key, best chunk id), first occurrence wins."""
    seen: dict[str, str] = {}
    for cid, _ in ranked_chunks:
        key = chunk_key.get(cid)
        if key is not None and key not in seen:
            seen[key] = cid
    return list(seen.items())


def fuse(rankings: list[list[tuple[str, str]]], k: int) -> list[tuple[str, float, str, list[int | None]]]:
    """Reciprocal-rank fusion of paper rankings -> (key, score, best chunk, rank in each list)."""
    scores: dict[str, float] = {}
    best: dict[str, tuple[int, str]] = {}
    ranks: dict[str, list[int | None]] = {}
    for which, ranking in enumerate(rankings):
        for rank, (key, cid) in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            ranks.setdefault(key, [None] * len(rankings))[which] = rank
            if key not in best or rank < best[key][0]:
                best[key] = (rank, cid)
    ordered = sorted(scores, key=lambda key: (-scores[key], best[key][0]))
    return [(key, scores[key], best[key][1], ranks[key]) for key in ordered[:k]]


def snippet(text: str, query: str, width: int = 240) -> str:
    """The sentence of `text` sharing most words with the query, trimmed to `width` characters."""
    body = text.split("\n", 1)[-1]
    words = {w for w in re.findall(r"\w{3,}", query.lower())}
    sentences = split_sentences(body) or [body]
    best = max(sentences, key=lambda s: len(words & set(re.findall(r"\w{3,}", s.lower()))))
    return best if len(best) <= width else best[: width - 1].rsplit(" ", 1)[0] + "…"
