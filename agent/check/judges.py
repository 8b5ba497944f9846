"""Judges: who decides whether a paper's abstract supports a claim.

`TrainedJudge` (default, offline, ~20 pairs/s on 2 cores) is the MiniLM cross-encoder from
train/verifier.py. `LLMJudge` asks any litellm model (the embedded one, a remote one, or
MiniCheck served by Ollama with its own document/claim format). Both see the same candidate
sentences, picked by code, and both are overruled by the deterministic checks.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agent.check import rules as checks
from agent.check.calibration import calibrate, softmax
from agent.check.rationale import candidates, overlap_scores, stems, top_k

if TYPE_CHECKING:
    from agent.llm.client import LLMClient
    from agent.check.nli import NLIModel


# The verdict vocabulary, shared by judges, reports and benchmarks.
SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO = "SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO"
LABELS = [SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO]
# The trained judge leans to SUPPORTED but without the calibrated margin it needs (meta.json
# `support_threshold`): not a support, and a case for a stronger judge (the cascade). Benchmarks score it
# as NOT_ENOUGH_INFO (3-way) and as not supported (binary).
UNCERTAIN = "UNCERTAIN"


@dataclass
class Verdict:
    """How one paper stands to one claim, and the abstract sentences that decided it."""

    claim: str
    key: str
    label: str
    score: float
    evidence: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    judge: str = ""

    @property
    def supported(self) -> bool:
        return self.label == SUPPORTED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Case:
    """What a judge is shown: a claim, the cited paper's key and title, and its abstract sentences."""

    claim: str
    key: str
    title: str
    sentences: list[str]

    @property
    def paper_text(self) -> str:
        return " ".join([self.title, *self.sentences])


class Judge(Protocol):
    name: str
    caveat: str  # what is known of the judge's accuracy ("" if nothing was measured)

    def judge(self, cases: list[Case]) -> list[Verdict]: ...


def overrule(verdict: Verdict, case: Case, enforce: str = "all") -> Verdict:
    """Apply the deterministic checks: what the paper never states cannot be supported by it.

    `enforce`: "all" (numbers and names), "numbers", or "off" (problems are still listed).
    """
    quote = checks.quoted_in(case.claim, case.sentences)
    if quote is not None:  # the paper's own words: nothing to doubt, and nothing the checks could find
        verdict.label, verdict.score, verdict.evidence = SUPPORTED, 0.99, [quote]
        verdict.probabilities = {SUPPORTED: 0.99, CONTRADICTED: 0.005, NOT_ENOUGH_INFO: 0.005}
        return verdict
    found = list(checks.problems(case.claim, case.paper_text))
    blocking = [f for f in found if enforce == "all" or (enforce == "numbers" and f.startswith("number"))]
    if blocking and verdict.label in (SUPPORTED, UNCERTAIN):
        verdict.label, verdict.score = NOT_ENOUGH_INFO, max(0.5, 1 - verdict.score)
    conflicts = checks.conflicting_numbers(case.claim, case.paper_text) if enforce != "off" else ()
    if conflicts and verdict.label != CONTRADICTED:
        # The paper states another value for what the claim measures: that is a contradiction, and the
        # sentence that says so is the evidence.
        verdict.label, verdict.score = CONTRADICTED, max(0.75, verdict.score)
        verdict.evidence = [conflicts[0][2]]
    found += [f"the paper states {theirs} where the claim says {ours}" for ours, theirs, _ in conflicts]
    verdict.problems = [*verdict.problems, *found]
    return verdict


FEATURES = [
    "overlap_max", "overlap_second", "p_support_max", "p_contradict_max", "p_neither_min", "p_support_top",
    "p_contradict_top", "claim_negated", "sentence_negated", "negation_mismatch", "direction_mismatch",
    "missing_numbers", "missing_names", "claim_words", "overlap_decisive", "claim_coverage", "claim_direction",
]


def features(case: Case, idx: list[int], p: Any, overlap: list[float]) -> list[float]:
    """What the combiner sees for one (claim, paper): word overlap, the model's sentence scores, checks."""
    ranked = sorted(overlap, reverse=True) + [0.0, 0.0]
    top = max(range(len(idx)), key=lambda j: overlap[idx[j]])  # the sentence sharing most words
    decisive = int(p[:, 2].argmin())  # the sentence the model finds least neutral
    sentence = case.sentences[idx[decisive]]
    claim_neg, sent_neg = checks.negated(case.claim), checks.negated(sentence)
    d_claim, d_sent = checks.direction(case.claim), checks.direction(sentence)
    paper = case.paper_text
    wanted = stems(case.claim)
    coverage = len(wanted & stems(paper)) / max(1, len(wanted))
    # The same (cached) scan that overrule() reads, so the checks run once per (claim, paper).
    found = checks.problems(case.claim, paper)
    return [
        ranked[0], ranked[1], float(p[:, 0].max()), float(p[:, 1].max()), float(p[:, 2].min()),
        float(p[top, 0]), float(p[top, 1]), float(claim_neg), float(sent_neg), float(claim_neg != sent_neg),
        float(d_claim * d_sent < 0), min(2, sum(f.startswith("number ") for f in found)),
        min(2, sum(f.startswith("name ") for f in found)), math.log1p(len(case.claim.split())),
        overlap[idx[decisive]], coverage, float(d_claim),
    ]


def combine(x: Any, stacker: dict[str, Any]) -> Any:
    """Label probabilities [S, C, N] from feature rows: a multinomial logistic regression fit on CV folds."""
    z = (np.asarray(x, dtype=np.float64) - stacker["mean"]) / stacker["scale"]
    return softmax(z @ np.asarray(stacker["coef"]).T + stacker["intercept"])


def decide(case: Case, idx: list[int], p: Any, overlap: list[float], meta: dict[str, Any], judge: str) -> Verdict:
    """One paper's verdict from its candidate sentences' probabilities (rows: S, C, N)."""
    if not idx:
        return Verdict(case.claim, case.key, NOT_ENOUGH_INFO, 1.0, [], {}, [], judge)
    stacker = meta["stacker"]
    probs = calibrate(combine([features(case, idx, p, overlap)], stacker), stacker.get("temperature", 1.0))[0]
    n = int(probs.argmax())
    label = LABELS[n]
    if label == SUPPORTED and probs[n] < stacker.get("support_threshold", 0.0):
        label = UNCERTAIN  # its score stays P(supported): how close it came
    # The deciding sentence: the model alone picks evidence poorly; its score for the verdict plus word
    # overlap picks the sentence a reader expects (word overlap alone for neither).
    best = max(range(len(idx)), key=lambda j: overlap[idx[j]] + (float(p[j, n]) if n < 2 else 0.0))
    probabilities = {name: round(float(v), 4) for name, v in zip(LABELS, probs)}
    return Verdict(case.claim, case.key, label, round(float(probs[n]), 4), [case.sentences[idx[best]]], probabilities, [], judge)


class TrainedJudge:
    """The shipped cross-encoder scores candidate sentences; a small combiner turns them into a verdict."""

    def __init__(self, model: "NLIModel | None" = None, support_threshold: float | None = None) -> None:
        from agent.check.nli import NLIModel

        self.model = model or NLIModel()
        # A wider margin than meta.json's (the cascade's: more pairs for its LLM), or None for meta.json's.
        self.support_threshold = support_threshold
        self.name = f"trained:{self.model.meta.get('name', 'minilm-verifier')}"
        # Told with every report, so that "supported" is read with the judge's measured error rate in mind.
        cv = self.model.meta.get("cv", {}).get("scifact")
        held = self.model.meta.get("held_out", {}).get("covid_dev")
        if held:  # numbers on claims and papers neither the encoder nor the combiner was fit on
            self.caveat = (f"the offline judge agrees with held-out labels (Check-COVID dev) at balanced accuracy "
                           f"{held['binary_bacc']:.2f} (macro-F1 {held['macro_f1']:.2f}); it says UNCERTAIN when it "
                           "leans to supported without a calibrated margin; --judge MODEL for a stronger one")
        else:
            self.caveat = (f"the offline judge agrees with SciFact's labels at balanced accuracy {cv['binary_bacc']:.2f} "
                           f"(macro-F1 {cv['macro_f1']:.2f}, cross-validated); --judge MODEL for a stronger one") if cv else ""

    def judge(self, cases: list[Case]) -> list[Verdict]:
        meta = self.model.meta
        if self.support_threshold is not None:
            meta = {**meta, "stacker": {**meta["stacker"], "support_threshold": self.support_threshold}}
        overlaps = [overlap_scores(c.claim, c.sentences) for c in cases]
        picked = [top_k(o, meta["k"]) for o in overlaps]
        claims = [c.claim for c, idx in zip(cases, picked) for _ in idx]
        sentences = [c.sentences[i] for c, idx in zip(cases, picked) for i in idx]
        probs = self.model.probabilities(claims, sentences)
        verdicts, row = [], 0
        for case, idx, overlap in zip(cases, picked, overlaps):
            p = probs[row : row + len(idx)]
            row += len(idx)
            verdicts.append(overrule(decide(case, idx, p, overlap, meta, self.name), case, meta.get("checks", "all")))
        return verdicts


_LABEL_WORDS = re.compile(r"\b(SUPPORTED|CONTRADICTED|NOT[ _]ENOUGH[ _]INFO)\b", re.I)


class LLMJudge:
    """Any litellm model as judge; `ollama/bespoke-minicheck` gets MiniCheck's Yes/No format."""

    def __init__(self, llm: "LLMClient", model: str, k: int = 6) -> None:
        self.llm, self.model, self.k = llm, model, k
        self.name = model
        self.caveat = ""
        self.minicheck = "minicheck" in model.lower()

    def judge(self, cases: list[Case]) -> list[Verdict]:
        return [overrule(self._one(c), c) for c in cases]

    def _one(self, case: Case) -> Verdict:
        from agent.core.templates import render

        idx = candidates(case.claim, case.sentences, self.k)
        shown = [case.sentences[i] for i in idx]
        if self.minicheck:
            prompt = render("minicheck", document=" ".join(shown), claim=case.claim)
            reply = self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=4).text
            yes = reply.strip().lower().startswith("yes")
            label = SUPPORTED if yes else NOT_ENOUGH_INFO
            return Verdict(case.claim, case.key, label, 1.0, shown[:1], {}, [], self.name)
        prompt = render("verify", claim=case.claim, title=case.title, sentences=shown)
        reply = self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=24).text
        return parse_reply(reply, case, shown, self.name)


def parse_reply(reply: str, case: Case, shown: list[str], judge: str) -> Verdict:
    """`LABEL n` from a model's reply; anything unreadable is NOT_ENOUGH_INFO with score 0."""
    m = _LABEL_WORDS.search(reply)
    if not m:
        return Verdict(case.claim, case.key, NOT_ENOUGH_INFO, 0.0, [], {}, [f"unreadable judge reply: {reply[:60]!r}"], judge)
    label = next(x for x in LABELS if x.replace("_", "") == re.sub(r"[ _]", "", m.group(1).upper()))
    number = re.search(r"\d+", reply[m.end() :])
    evidence = []
    if number and 1 <= int(number.group(0)) <= len(shown):
        evidence = [shown[int(number.group(0)) - 1]]
    elif shown and label != NOT_ENOUGH_INFO:
        evidence = shown[:1]
    return Verdict(case.claim, case.key, label, 1.0, evidence, {}, [], judge)


@lru_cache(maxsize=1)
def _trained_judge() -> TrainedJudge:
    # One ONNX session per process: chat verifies every answer, and a session takes ~0.3 s to load.
    return TrainedJudge()


def make_judge(model: str, llm: "LLMClient | None" = None) -> Judge:
    """The judge a `SURVEY_VERIFY_MODEL` value names: `trained`, `cascade[:MODEL]` or a litellm model string."""
    if model == "trained":
        return _trained_judge()
    if llm is None:
        raise ValueError("an LLM judge needs an LLM client")
    if model == "cascade" or model.startswith("cascade:"):
        from agent.check.cascade import CascadeJudge

        shared = _trained_judge()  # its ONNX session, with the cascade's own (wider) margin
        base = TrainedJudge(shared.model, shared.model.meta["stacker"].get("cascade_threshold"))
        return CascadeJudge(base, llm, model.partition(":")[2] or "local")
    return LLMJudge(llm, model)
