"""Drafting, attribute-first: per group of 3-6 papers, one sentence per paper from its card, cited to it.

Code decides what each call may cite (the group's keys), keeps one sentence per paper and at most one
comparison sentence per group, asks again for a paper left without a sentence, then sends everything
through the shared check step (gate, verify, repair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.check import gate
from agent.citations import parse_keys
from agent.survey.models import PaperCard, Sentence
from agent.templates import render

if TYPE_CHECKING:
    from agent.check import Checker
    from agent.llm import LLMClient
    from agent.verify import ClaimCheck


def groups_of(keys: list[str], size: int) -> list[list[str]]:
    """Split a theme's papers into near-equal groups of at most `size` (3-6 for a local model)."""
    if not keys:
        return []
    n = math.ceil(len(keys) / size)
    base, extra = divmod(len(keys), n)
    out, start = [], 0
    for i in range(n):
        end = start + base + (1 if i < extra else 0)
        out.append(keys[start:end])
        start = end
    return out


def cards_block(cards: list[PaperCard], text: str = "sentences") -> str:
    """The cards as evidence: key, title, year, then the card's sentences on one line."""
    rows = [{"key": c.key, "title": c.title, "year": c.year,
             "text": c.limitation if text == "limitation" else " ".join(c.sentences)} for c in cards]
    return render("cards", cards=rows)


@dataclass
class GroupDraft:
    """One group's sentences after the check step, and what happened on the way."""

    keys: list[str]
    sentences: list[Sentence] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checks: list["ClaimCheck"] = field(default_factory=list)  # kept sentences' checks (for section scores)
    judged: int = 0
    draft_recall: float = 1.0
    missing: dict[str, str] = field(default_factory=dict)  # key -> why it has no sentence

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"keys": self.keys, "sentences": [asdict(s) for s in self.sentences], "flagged": self.flagged,
                "problems": self.problems, "judged": self.judged, "draft_recall": self.draft_recall,
                "missing": self.missing}


def attribute_first(sentences: list[str], keys: list[str]) -> tuple[list[str], list[str]]:
    """One sentence per paper (its first), at most one comparison sentence; the rest are reported."""
    kept: list[str] = []
    dropped: list[str] = []
    covered: set[str] = set()
    compared = False
    for sentence in sentences:
        cited = [k for k in parse_keys(sentence) if k in keys]
        if len(cited) > 1:
            if compared:
                dropped.append(f"a second comparison sentence: {sentence[:80]}")
                continue
            compared = True
            kept.append(sentence)
        elif cited and cited[0] not in covered:
            covered.add(cited[0])
            kept.append(sentence)
        else:
            dropped.append(f"a second sentence on the same paper: {sentence[:80]}")
    return kept, dropped


class Drafter:
    """Writes and checks groups of cards with one LLM client and one checker."""

    def __init__(self, llm: "LLMClient", checker: "Checker", topic: str, model: str | None, recite_to: set[str]) -> None:
        self.llm, self.checker, self.topic, self.model, self.recite_to = llm, checker, topic, model, recite_to

    def _complete(self, prompt: str, max_tokens: int) -> str:
        return self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=max_tokens).text

    def draft(self, cards: list[PaperCard], theme: str, kind: str = "paper", compare: bool = True) -> GroupDraft:
        """Sentences for one group: written, gated, completed for missing papers, verified, repaired."""
        keys = [c.key for c in cards]
        by_key = {c.key: c for c in cards}
        compare = compare and len(cards) > 1
        if kind == "open_problem":
            prompt = render("write_open", cards_block=cards_block(cards, "limitation"), topic=self.topic, keys=keys)
        else:
            prompt = render("write_group", cards_block=cards_block(cards), theme=theme, topic=self.topic,
                            keys=keys, compare=compare)
        # ~45 tokens per sentence: a short budget keeps a weak model from rambling and costs seconds less.
        reply = self._complete(prompt, 45 * len(cards) + (45 if compare else 10))
        gated = gate(reply, keys, mark_uncited=False)
        sentences, dropped = attribute_first(gated.sentences, keys)
        problems = gated.problems + dropped
        covered = {k for s in sentences for k in parse_keys(s)}
        if kind != "open_problem":
            for key in [k for k in keys if k not in covered]:
                # One more, smaller call for a paper the group reply skipped.
                one = gate(self._complete(render("write_one", cards_block=cards_block([by_key[key]]), key=key), 60),
                           [key], mark_uncited=False)
                if one.sentences:
                    sentences.append(one.sentences[0])
                    problems.append(f"@{key} was written on its own (the group reply skipped it)")
        return self.check(sentences, keys, kind, problems)

    def check(self, sentences: list[str], keys: list[str], kind: str, problems: list[str]) -> GroupDraft:
        """Verify and repair the group's sentences; keep the survivors as `Sentence`s."""
        result = GroupDraft(keys, problems=list(problems))
        if not sentences:
            result.missing = {k: "the model wrote no usable sentence for it" for k in keys}
            return result
        # One sentence per paragraph: the verifier sees exactly the sentences the gate kept.
        checked = self.checker.verify_and_repair("\n\n".join(sentences), self.recite_to)
        result.judged, result.draft_recall = len(checked.checks), round(checked.draft_recall, 4)
        result.problems += checked.problems
        for check in checked.checks:
            verdicts = [{"key": v.key, "label": v.label, "score": round(v.score, 4),
                         "evidence": v.evidence[0] if v.evidence else ""} for v in check.verdicts]
            if check.repair == "removed" or check.repair == "flagged":
                result.flagged.append({"text": check.claim.source, "status": check.status, "repair": check.repair,
                                       "keys": check.claim.keys, "verdicts": verdicts})
                if check.repair == "removed":
                    continue
            result.checks.append(check)
            claim_keys = list(check.claim.keys)
            result.sentences.append(Sentence(
                text=check.claim.source, claim=check.claim.text, keys=claim_keys, status=check.status,
                kind="comparison" if len(claim_keys) > 1 and kind == "paper" else kind,
                repair=check.repair, verdicts=verdicts, relevant=list(check.relevant),
            ))
        cited = {k for s in result.sentences for k in s.keys}
        for key in keys:
            if key not in cited:
                failed = [f for f in result.flagged if key in f["keys"]]
                result.missing[key] = ("its sentence was not supported by its abstract and was removed" if failed
                                       else "the model wrote no usable sentence for it")
        return result
