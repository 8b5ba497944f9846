"""Evidence: which papers, and which sentences of their abstracts, a model is shown.

Shared by `ask` and the survey writer: code retrieves and picks short evidence, the model only writes.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.injection import instructions_in, is_instruction
from agent.check.rationale import split_sentences, stems
from agent.store.search import SearchHit
from agent.core.templates import render

if TYPE_CHECKING:
    from agent.llm.client import LLMClient
    from agent.core.settings import Settings
    from agent.store.store import Store


@dataclass
class Evidence:
    """Sentences of one paper's abstract put in front of the model."""

    key: str
    title: str
    year: int | None
    text: str
    score: float
    flagged: list[str] = field(default_factory=list)  # its sentences that read as instructions: left out


@dataclass
class Retrieval:
    """What one retrieval found: hits, the evidence chosen from them, and the queries run."""

    hits: list[SearchHit]
    evidence: list[Evidence]
    queries: list[str] = field(default_factory=list)


def coverage(question: str, evidence: list[Evidence]) -> float:
    """Share of the question's content words that occur somewhere in the evidence."""
    wanted = stems(question)
    if not wanted:
        return 1.0
    have: set[str] = set()
    for e in evidence:
        have |= stems(f"{e.title} {e.text}")
    return len(wanted & have) / len(wanted)


# Words of how a question is asked, not of what it is about.
_ASKING = stems("what which who whom whose when where why how many much does do did is are was were "
                "use used using paper papers work approach method study describe explain compare differ "
                "difference between mean")
def names_in(question: str) -> list[str]:
    """What a question names: the verifier's name-like terms (AlphaGo, BERT, GPT-4), and capitalized words
    not at the start of a sentence (Kingma)."""
    from agent.check.rules import names

    found = sorted(names(question))
    found += [m.group(1) for m in re.finditer(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]{2,})\b", question.strip())]
    return list(dict.fromkeys(found))


def addresses(question: str, answer: str) -> str:
    """"" when an answer is about the question; otherwise why not (it then counts as an abstention).

    A sentence can be true of a cited paper and still not answer the question ("We introduce Adam ..."
    for a question about AlphaGo Zero): it must mention one of the things the question names, or, for a
    question that names nothing, share at least two of its content words (one, for a one-word question).
    """
    said = answer.lower()
    names = names_in(question)
    if names:
        if any(n.lower() in said for n in names):
            return ""
        return f"the answer mentions none of what the question names ({', '.join(names[:4])})"
    wanted = stems(question) - _ASKING
    shared = wanted & stems(answer)
    if len(shared) >= min(2, len(wanted)):
        return ""
    return "the answer shares too few words with the question to be an answer to it"


def best_sentences(text: str, query: str, n: int, skip: list[str] | None = None) -> list[str]:
    """The `n` sentences of an abstract sharing most content words with the query, in abstract order
    (never one of `skip`)."""
    wanted = stems(query)
    sentences = [s for s in split_sentences(text) if s not in (skip or [])]
    scored = sorted(range(len(sentences)), key=lambda i: (-len(stems(sentences[i]) & wanted), i))
    return [sentences[i] for i in sorted(scored[:n])]


def select_evidence(question: str, hits: list[SearchHit], store: "Store", settings: "Settings") -> list[Evidence]:
    """Per paper, the abstract sentences sharing most words with the question, within a token budget."""
    chosen: list[Evidence] = []
    budget = settings.evidence_tokens * 4  # ~4 characters per token
    for hit in hits:
        paper = store.catalog.get(hit.key)
        if paper is None or not paper.abstract:
            continue
        # Paper text is data: a sentence addressed to the model is never shown to it, and is reported.
        flagged = instructions_in(paper.abstract)
        title = " ".join(paper.title.split())
        if is_instruction(title):
            flagged, title = [title, *flagged], "(title left out: it reads as instructions to an assistant)"
        # One line per paper: a newline in the text could otherwise fake another paper's header.
        text = " ".join(" ".join(best_sentences(paper.abstract, question, settings.evidence_sentences, flagged)).split())
        if not text and not flagged:
            continue
        if len(text) > budget and chosen:
            break
        chosen.append(Evidence(hit.key, title, paper.year, text[:budget], hit.score, flagged))
        budget -= len(text) + len(paper.title) + 20
        if budget <= 0:
            break
    return chosen


def retrieve(store: "Store", llm: "LLMClient", settings: "Settings", question: str, k: int, context: str = "",
             filters: dict[str, Any] | None = None) -> Retrieval:
    """Search; if the evidence covers too little of the question, reformulate once and search again.

    `filters`: `year_from`, `year_to`, `source`, as for search.
    """
    filters = filters or {}
    query = f"{context} {question}".strip()
    queries = [query]
    hits = store.search(query, k, **filters)
    evidence = select_evidence(question, hits, store, settings)
    if settings.reformulate and coverage(question, evidence) < 0.5:
        prompt = render("reformulate", question=question, context=context)
        rewritten = llm.complete([{"role": "user", "content": prompt}], max_tokens=32, allow_empty=True).text
        rewritten = rewritten.strip().strip('"').splitlines()[0][:200] if rewritten.strip() else ""
        if rewritten and rewritten.lower() != query.lower():
            queries.append(rewritten)
            merged = {h.key: h for h in store.search(rewritten, k, **filters)}
            for h in hits:
                merged.setdefault(h.key, h)
            hits = list(merged.values())[:k]
            evidence = select_evidence(f"{question} {rewritten}", hits, store, settings)
    return Retrieval(hits, evidence, queries)
