"""Scope: a topic becomes searches, each candidate is judged for relevance, and the relevant ones are kept.

`--papers` is a cap, never a quota: a topic with 7 relevant papers gives a 7-paper survey. A query phrase
that matches much of the store ("multimodal large language models" in a store of MLLM papers) is not
searched on its own, since it would only bring in candidates for the judge to turn away.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.core.errors import SurveyError
from agent.survey.models import Scope
from agent.survey.relevance import BROAD_SHARE, background_keys, judge, phrases, sample, share_matching

if TYPE_CHECKING:
    from agent.core.paper import Paper
    from agent.store.store import Store

LEFT_OUT_SHOWN = 20  # off-topic candidates listed with their scores, most relevant first


def key_phrases(topic: str) -> list[str]:
    """The topic's phrases that carry content, longest first ("multimodal LLMs", "hallucination")."""
    return sorted(phrases(topic), key=lambda p: -len(p))


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
    noun: str = "survey covers",
    about: str = "are about",
) -> Scope:
    """The papers relevant to `topic`, at most `papers` of them; pinned ones always in.

    `queries` add searches (a related-work section searches with sentences of the user's abstract too);
    `noun` finishes the summary sentence ("the survey covers them").
    """
    include, exclude = list(include or []), set(exclude or [])
    catalog = store.catalog
    unknown = [k for k in [*include, *exclude] if catalog.get(k) is None]
    if unknown:
        raise SurveyError(f"unknown paper key(s) {', '.join(unknown)} in --include/--exclude; see `survey papers`")
    background = sample(catalog.papers(background_keys(catalog.keys())))
    searched, broad = [topic.strip()], []
    for phrase in [*key_phrases(topic), *(queries or [])]:
        share = share_matching(phrase, background.values())
        if share > BROAD_SHARE:
            broad.append({"query": phrase, "share": round(share, 3)})
        elif phrase not in searched:
            searched.append(phrase)
    depth = max(100, 3 * papers)
    pool: dict[str, None] = {}
    for query in searched:
        for hit in store.search(query, depth):
            if hit.key not in exclude:
                pool.setdefault(hit.key)
    found = catalog.papers(list(pool))
    # Meaning is compared only where the store holds vectors: a keyword-only store opened with an embedder
    # would otherwise embed the whole background sample (1,500 abstracts, minutes on 2 cores) for one survey.
    judged = judge(topic, found, background, store.paper_vectors,
                   store.embed_text(topic) if store.holds_vectors else None)
    ranked = sorted(judged.values(), key=lambda r: (-r.score, r.key))
    relevant = [r.key for r in ranked if r.relevant]
    chosen = [k for k in include if k not in exclude]
    room = max(papers, len(chosen))
    for key in relevant:
        if len(chosen) >= room:
            break
        if key not in chosen:
            chosen.append(key)
    by_key = {p.key: p for p in found}
    left_out = [{"key": r.key, "title": by_key[r.key].title, "relevance": r.score,
                 "reason": "over the --papers cap" if r.relevant else "off-topic"}
                for r in ranked if r.key not in chosen][:LEFT_OUT_SHOWN]
    if not chosen:
        near = ", ".join(f"{x['key']} ({x['relevance']:+.1f})" for x in left_out[:3])
        raise SurveyError(f"no paper in the store {store.root} is about {topic!r} (nearest: {near or 'none'}); "
                          "try other words, --include KEY to pin a paper, or `survey search` to see what the store holds")
    on_topic = set(relevant)
    summary = _summary(topic, len(relevant), sum(k in on_topic for k in chosen),
                       sum(k not in on_topic for k in chosen), papers, noun, about)
    relevance = {k: (judged[k].score if k in judged else 0.0) for k in chosen}
    sources = sources_of([by_key[k] if k in by_key else catalog.get(k) for k in chosen])
    return Scope(topic, searched, chosen, relevance, sources, candidates=len(found),
                 below_floor=len(found) - len(relevant), pinned=include, relevant=len(relevant), cap=papers,
                 broad_queries=broad, left_out=left_out, summary=summary)


def _summary(topic: str, relevant: int, kept: int, pinned: int, cap: int, noun: str, verb: str) -> str:
    """"7 papers in the store are about X; the survey covers them." (or the cap, or the pinned papers)."""
    if relevant == 1:  # "are about" -> "is about", "relate to" -> "relates to"
        verb = "is " + verb.split(" ", 1)[1] if verb.startswith("are ") else verb.replace(" ", "s ", 1)
    about = f"{relevant} paper{'s' if relevant != 1 else ''} in the store {verb} {topic}"
    which = ("the " + str(kept) + " most relevant (--papers " + str(cap) + ")" if kept < relevant
             else "it" if relevant == 1 else "none of them" if relevant == 0 else "them")
    extra = f" and {pinned} pinned with --include" if pinned else ""
    return f"{about}; the {noun} {which}{extra}."
