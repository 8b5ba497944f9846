"""The one check step for generated text: citation gate, then verify, then repair.

`ask`, every survey section and related-work all pass their drafts through `Checker.check`, so a
citation the model was not shown never reaches a reader, and nothing unsupported stays unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.check.claims import cited_sentences
from agent.check.repair import Repairer, parse_modes
from agent.check.sentences import copies, misattributed, only_title, specific
from agent.check.verdict import Judge
from agent.check.verify import ClaimCheck, VerificationReport, Verifier
from agent.core.citations import CITE_GROUP, UNCITED, drop_keys, normalize, tidy_citation
from agent.core.text import clip

if TYPE_CHECKING:
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient
    from agent.store.store import Store


# What the gate does with a sentence citing none of the allowed papers: mark it `[citation needed]` (a
# reader sees it flagged), keep it as it is (the caller cites it itself) or drop it.
Uncited = Literal["mark", "keep", "drop"]


@dataclass
class Gated:
    """A draft after the citation gate: only allowed keys remain; uncited sentences marked, kept or dropped."""

    text: str
    cited: list[str]  # allowed keys cited, in order of first appearance
    problems: list[str] = field(default_factory=list)
    abstained: bool = False  # the model wrote the abstain marker
    sentences: list[str] = field(default_factory=list)
    uncited: list[str] = field(default_factory=list)  # the sentences kept without a citation, as in `sentences`


def gate(draft: str, allowed: list[str], abstain_marker: str | None = None, uncited: Uncited = "mark") -> Gated:
    """Keep only citations of `allowed` keys; mark, keep or drop sentences left without one (`uncited`).

    An invented key is removed, never mapped to the nearest real paper. A sentence cut off by the
    token limit is dropped: an unfinished sentence is not a claim. A marked or dropped uncited sentence
    is reported in `problems`; every one kept is listed in `uncited`.
    """
    problems: list[str] = []
    text = normalize(draft.strip(), allowed)
    sentences = cited_sentences(text) if text else []
    if sentences and not re.search(r"[.!?\]]\s*$", sentences[-1].text):
        sentences.pop()
        problems.append("dropped the unfinished last sentence")
    allowed_set = set(allowed)
    kept: list[str] = []
    kept_uncited: list[str] = []
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
            if uncited == "drop":
                problems.append(f"removed uncited sentence: {clip(body, 80)}")
                continue
            if uncited == "mark":
                problems.append(f"uncited sentence: {clip(body, 80)}")
                body = body.rstrip(".") + f" {UNCITED}."
        cited += [k for k in good if k not in cited]
        kept.append(tidy_citation(body))
        if not good:
            kept_uncited.append(kept[-1])
    return Gated(" ".join(kept), cited, problems, abstained, kept, kept_uncited)


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

    def check(self, draft: str, allowed: list[str], uncited: Uncited = "mark", without: tuple[str, ...] = ()) -> Checked:
        """`check(text, allowed_keys) -> (text, report)`: the citation gate, then verify and repair."""
        gated = gate(draft, allowed, uncited=uncited)
        checked = self.verify_and_repair(gated.text, without) if gated.text else self._empty()
        checked.problems = gated.problems + checked.problems
        return checked

    def _empty(self) -> Checked:
        return Checked("", VerificationReport([], self.settings.verify_model), [])

    @property
    def judge(self) -> Judge:
        """The judge verification uses (its name and caveat go into a survey's settings)."""
        return self.verifier.judge

    def supported(self, sentence: str, key: str) -> bool:
        """Whether paper `key` supports one sentence (its citations aside): a rewording is kept only if so."""
        return self.verifier.verify_claim(CITE_GROUP.sub("", sentence).strip(), key).supported

    # --- rules for one drafted sentence (check/sentences.py), before any judge reads it ----------------
    @staticmethod
    def attribution(sentence: str, key: str, title: str, own: str, others: dict[str, str], topic: str) -> str:
        """Why a sentence written about paper `key` is not a sentence about it ("" when it is): only its
        `title`, or closer to another paper's card (`others`: key -> what it says) than to its own (`own`)."""
        if only_title(sentence, title):
            return f"@{key}: the model wrote only the paper's title"
        if other := misattributed(sentence, own, others, topic):
            return f"@{key}: its sentence describes @{other}'s card, not its own; dropped"
        return ""

    @staticmethod
    def comparison(sentence: str, cited: list[str], topic: str) -> str:
        """Why a comparison checks nothing ("" when it names something specific of each paper it cites;
        `cited`: what each of their cards says)."""
        if specific(sentence, cited, topic):
            return ""
        return f"dropped a comparison that names nothing specific of each paper: {clip(sentence, 80)}"

    @staticmethod
    def copied(sentence: str, sources: list[str]) -> bool:
        """Whether a sentence nearly copies one of its source sentences (then it is said again in other words)."""
        return copies(sentence, sources)
