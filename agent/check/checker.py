"""The one check step for generated text: citation gate, then verify, then repair.

`ask`, every survey section and related-work all pass their drafts through `Checker.check`, so a
citation the model was not shown never reaches a reader, and nothing unsupported stays unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.check.claims import cited_sentences
from agent.check.repair import Repairer, parse_modes
from agent.check.verify import ClaimCheck, VerificationReport, Verifier
from agent.core.citations import UNCITED, drop_keys, normalize, tidy_citation
from agent.core.text import clip

if TYPE_CHECKING:
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient
    from agent.store.store import Store


@dataclass
class Gated:
    """A draft after the citation gate: only allowed keys remain, uncited sentences are marked."""

    text: str
    cited: list[str]  # allowed keys cited, in order of first appearance
    problems: list[str] = field(default_factory=list)
    abstained: bool = False  # the model wrote the abstain marker
    sentences: list[str] = field(default_factory=list)


def gate(draft: str, allowed: list[str], abstain_marker: str | None = None, mark_uncited: bool = True) -> Gated:
    """Keep only citations of `allowed` keys; mark (or drop) sentences left without one.

    An invented key is removed, never mapped to the nearest real paper. A sentence cut off by the
    token limit is dropped: an unfinished sentence is not a claim.
    """
    problems: list[str] = []
    text = normalize(draft.strip(), allowed)
    sentences = cited_sentences(text) if text else []
    if sentences and not re.search(r"[.!?\]]\s*$", sentences[-1].text):
        sentences.pop()
        problems.append("dropped the unfinished last sentence")
    allowed_set = set(allowed)
    kept: list[str] = []
    cited: list[str] = []
    abstained = bool(abstain_marker) and abstain_marker.lower() in text.lower()
    for sentence in sentences:
        if abstain_marker and abstain_marker.lower() in sentence.text.lower():
            continue
        bad = {k for k in sentence.keys if k not in allowed_set}
        body = sentence.text
        if bad:
            problems.append(f"dropped citation(s) to papers not in the evidence: {', '.join(sorted(bad))}")
            body = drop_keys(body, bad)
        good = [k for k in sentence.keys if k in allowed_set]
        if not good:
            if not mark_uncited:
                problems.append(f"removed uncited sentence: {clip(body, 80)}")
                continue
            problems.append(f"uncited sentence: {clip(body, 80)}")
            body = body.rstrip(".") + f" {UNCITED}."
        cited += [k for k in good if k not in cited]
        kept.append(tidy_citation(body))
    return Gated(" ".join(kept), cited, problems, abstained, kept)


@dataclass
class Checked:
    """Text after gate, verification and repair, with the report of what stayed and of everything."""

    text: str
    report: VerificationReport  # the sentences kept, after repair
    checks: list[ClaimCheck]  # every sentence judged, removed ones included (their `repair` says so)
    problems: list[str] = field(default_factory=list)
    draft_recall: float = 1.0  # citation recall of the text before repair


class Checker:
    """Gate + verify + repair over one store (judge: settings.verify_model; modes: settings.repair)."""

    def __init__(self, store: "Store", settings: "Settings", llm: "LLMClient | None" = None) -> None:
        self.store, self.settings, self.llm = store, settings, llm
        self._verifier: Verifier | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.store, self.settings, self.llm)
        return self._verifier

    def verify_and_repair(self, text: str, without: tuple[str, ...] = ()) -> Checked:
        """Judge every cited sentence against its abstracts, then repair what fails (SURVEY_REPAIR).

        `without` leaves repair modes out (a survey never re-cites a sentence to another paper).
        """
        report = self.verifier.verify_text(text)
        before = report.citation_recall
        modes = [m for m in parse_modes(self.settings.repair) if m not in without] or ["flag"]
        repaired, kept = Repairer(self.verifier, modes, self.llm).repair(text, report)
        problems = [f"{c.repair}: {clip(c.claim.text, 80)}" for c in report.checks if c.repair]
        return Checked(repaired, kept, report.checks, problems, before)

    def check(self, draft: str, allowed: list[str], mark_uncited: bool = True, without: tuple[str, ...] = ()) -> Checked:
        """`check(text, allowed_keys) -> (text, report)`: the citation gate, then verify and repair."""
        gated = gate(draft, allowed, mark_uncited=mark_uncited)
        checked = self.verify_and_repair(gated.text, without) if gated.text else self._empty()
        checked.problems = gated.problems + checked.problems
        return checked

    def _empty(self) -> Checked:
        return Checked("", VerificationReport([], self.settings.verify_model), [])
