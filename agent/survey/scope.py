"""Scope: a topic becomes several queries, hybrid search, a relevance floor, and the paper set."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agent.core.errors import SurveyError
from agent.core.text import STOP, stems
from agent.survey.models import Scope

if TYPE_CHECKING:
    from agent.core.paper import Paper
    from agent.store.store import Store

# Words that split a topic into its key phrases: "hallucination in multimodal LLMs" -> both halves.
_SPLIT = re.compile(r"\s*(?:[,;:/()]|\b(?:in|for|of|and|on|with|via|from|to|under|using|towards?|by|versus|vs)\b)\s*",
                    re.IGNORECASE)
DENSE_FLOOR = 0.30  # cosine of MiniLM vectors: unrelated abstracts score ~0.0-0.2 against a topic
LEXICAL_FLOOR = 0.5  # share of the topic's IDF-weighted content words found in title + abstract


def key_phrases(topic: str) -> list[str]:
    """The topic's phrases that carry content, longest first ("multimodal LLMs", "hallucination")."""
    phrases = [p.strip() for p in _SPLIT.split(topic) if p and p.strip()]
    useful = [p for p in phrases if any(w.lower() not in STOP for w in re.findall(r"\w+", p))]
    return sorted(dict.fromkeys(useful), key=lambda p: -len(p))


def queries_for(topic: str) -> list[str]:
    """The topic itself, then its key phrases when it has more than one."""
    phrases = key_phrases(topic)
    return list(dict.fromkeys([topic.strip(), *(phrases if len(phrases) > 1 else [])]))


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def lexical_relevance(topic: str, text: str, df: dict[str, int], n_docs: int) -> float:
    """IDF-weighted share of the topic's content words that the text uses."""
    wanted = stems(topic)
    if not wanted:
        return 0.0
    idf = {w: math.log(1 + (n_docs + 1) / (1 + df.get(w, 0))) for w in sorted(wanted)}
    have = stems(text)
    return sum(idf[w] for w in sorted(wanted & have)) / sum(idf.values())


def sources_of(papers: list["Paper | None"]) -> dict[str, int]:
    """Papers per source file name, for "kept 40 papers (20 from a.bib, ...)"."""
    counts: dict[str, int] = {}
    for paper in papers:
        name = Path(paper.source).name if paper is not None and paper.source else "unknown"
        counts[name] = counts.get(name, 0) + 1
    return counts


def find_scope(
    store: "Store",
    topic: str,
    papers: int,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    queries: list[str] | None = None,
) -> Scope:
    """The `papers` most relevant papers for a topic, above a relevance floor; pinned ones always in."""
    include, exclude = list(include or []), set(exclude or [])
    catalog = store.catalog
    unknown = [k for k in [*include, *exclude] if catalog.get(k) is None]
    if unknown:
        raise SurveyError(f"unknown paper key(s) {', '.join(unknown)} in --include/--exclude; see `survey papers`")
    queries = list(dict.fromkeys(queries or queries_for(topic)))
    depth = max(50, 3 * papers)
    fused: dict[str, float] = {}
    for n, query in enumerate(queries):
        weight = 2.0 if n == 0 else 1.0  # the topic as written counts most
        for hit in store.search(query, depth):
            fused[hit.key] = fused.get(hit.key, 0.0) + weight * hit.score
    candidates = [k for k in fused if k not in exclude]
    found = catalog.papers(candidates)
    texts = {p.key: f"{p.title} {p.abstract}" for p in found}
    df: dict[str, int] = {}
    for text in texts.values():
        for w in stems(text):
            df[w] = df.get(w, 0) + 1
    topic_vector = store.embed_text(topic)
    vectors = store.paper_vectors(list(texts)) if topic_vector is not None else None
    relevance: dict[str, float] = {}
    kept: list[str] = []
    for key in texts:
        lexical = lexical_relevance(topic, texts[key], df, len(texts))
        dense = _cosine(topic_vector, vectors[key]) if vectors and key in vectors and topic_vector else 0.0
        relevance[key] = round(max(lexical * 0.6, dense), 4)
        if dense >= DENSE_FLOOR or lexical >= LEXICAL_FLOOR:
            kept.append(key)
    # Most relevant first; fused search score breaks ties, then the key (deterministic).
    kept.sort(key=lambda k: (-relevance[k], -fused[k], k))
    chosen = [k for k in include if k not in exclude]
    for key in kept:
        if len(chosen) >= max(papers, len(include)):
            break
        if key not in chosen:
            chosen.append(key)
    if not chosen:
        raise SurveyError(f"no paper in the store {store.root} is about {topic!r}; try other words, "
                          "or `survey search` to see what the store holds")
    for key in include:
        relevance.setdefault(key, 0.0)
    by_key = {p.key: p for p in found}
    sources = sources_of([by_key[k] if k in by_key else catalog.get(k) for k in chosen])
    return Scope(topic, queries, chosen, {k: relevance[k] for k in chosen}, sources,
                 candidates=len(candidates), below_floor=len(candidates) - len(kept), pinned=include)
