"""Judges: who decides whether a paper's abstract supports a claim.

`TrainedJudge` (default, offline, ~20 pairs/s on 2 cores) is the MiniLM cross-encoder from
train/verifier.py. `LLMJudge` asks any litellm model (the embedded one, a remote one, or
MiniCheck served by Ollama with its own document/claim format). Both see the same candidate
sentences, picked by code, and both are overruled by the deterministic checks. `CascadeJudge` asks an LLM
only where the trained judge is UNCERTAIN (below).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.check import rules as checks
from agent.check.calibration import calibrate, softmax
from agent.check.rationale import candidates, overlap_scores, top_k
from agent.check.verdict import CONTRADICTED, LABELS, NOT_ENOUGH_INFO, SUPPORTED, UNCERTAIN, Case, Judge, Verdict
from agent.core.templates import render_template
from agent.core.text import stems

if TYPE_CHECKING:
    from agent.check.nli import NLIModel
    from agent.llm.client import LLMClient


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
        idx = candidates(case.claim, case.sentences, self.k)
        shown = [case.sentences[i] for i in idx]
        if self.minicheck:
            prompt = render_template("minicheck", document=" ".join(shown), claim=case.claim)
            reply = self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=4).text
            yes = reply.strip().lower().startswith("yes")
            label = SUPPORTED if yes else NOT_ENOUGH_INFO
            return Verdict(case.claim, case.key, label, 1.0, shown[:1], {}, [], self.name)
        prompt = render_template("verify", claim=case.claim, title=case.title, sentences=shown)
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
        shared = _trained_judge()  # its ONNX session, with the cascade's own (wider) margin
        base = TrainedJudge(shared.model, shared.model.meta["stacker"].get("cascade_threshold"))
        return CascadeJudge(base, llm, model.partition(":")[2] or "local")
    return LLMJudge(llm, model)


# The cascade judge.
# The cascade judge: the trained encoder decides; an LLM is asked only where it is UNCERTAIN.
#
# The LLM answers Yes or No in one token, and its answer is read as probabilities: the log-probabilities
# of the "Yes" and "No" tokens among the top 5 of that token (llama.cpp returns them through its
# OpenAI-compatible API), not as free text, which a 1.5B model mostly answers NOT_ENOUGH_INFO. A Yes
# above `threshold` makes the verdict SUPPORTED; a No makes it the encoder's next label (contradicted or
# not enough info). `SURVEY_VERIFY_MODEL=cascade` (the embedded model) or `cascade:MODEL`.


def yes_probability(top: list[tuple[str, float]]) -> float | None:
    """P(Yes) / (P(Yes) + P(No)) from one token's top (token, log-probability) pairs; None when neither is there."""
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in top:
        word = token.strip().lower()
        if word in mass:
            mass[word] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total > 0 else None


class CascadeJudge:
    """Trained judge first; `model` (a litellm model string, `local` = embedded) on UNCERTAIN verdicts."""

    def __init__(self, base: "TrainedJudge", llm: "LLMClient", model: str = "local", k: int = 4,
                 threshold: float = 0.5) -> None:
        self.base, self.llm, self.model, self.k, self.threshold = base, llm, model, k, threshold
        self.name = f"cascade:{base.name}+{model}"
        self.caveat = base.caveat
        self.asked = 0  # LLM calls made (one per uncertain pair)

    def judge(self, cases: list[Case]) -> list[Verdict]:
        verdicts = self.base.judge(cases)
        for n, (case, verdict) in enumerate(zip(cases, verdicts)):
            if verdict.label == UNCERTAIN:
                verdicts[n] = overrule(self._ask(case, verdict), case, self.base.model.meta.get("checks", "all"))
        return verdicts

    def _ask(self, case: Case, verdict: Verdict) -> Verdict:
        shown = [case.sentences[i] for i in candidates(case.claim, case.sentences, self.k)]
        prompt = render_template("verify_yesno", claim=case.claim, title=case.title, sentences=shown)
        self.asked += 1
        try:
            top = self._top_logprobs(prompt)
        except Exception as exc:  # the LLM failing leaves the encoder's UNCERTAIN standing, said so
            verdict.problems = [*verdict.problems, f"cascade: {self.model} failed ({type(exc).__name__})"]
            return verdict
        p_yes = yes_probability(top)
        if p_yes is None:
            verdict.problems = [*verdict.problems, f"cascade: {self.model} answered neither Yes nor No"]
            return verdict
        probabilities = dict(verdict.probabilities)
        if p_yes >= self.threshold:
            label, score = SUPPORTED, p_yes
        else:
            p_c, p_n = probabilities.get(CONTRADICTED, 0.0), probabilities.get(NOT_ENOUGH_INFO, 0.0)
            label, score = (CONTRADICTED if p_c > p_n else NOT_ENOUGH_INFO), 1.0 - p_yes
        # P(supported) becomes the LLM's: it decided, and the ECE should measure what decided.
        probabilities[SUPPORTED] = round(p_yes, 4)
        return Verdict(case.claim, case.key, label, round(score, 4), verdict.evidence, probabilities,
                       list(verdict.problems), f"{self.base.name}+{self.model}")

    def _top_logprobs(self, prompt: str) -> list[tuple[str, float]]:
        """The top-5 log-probabilities of the reply's first token (through the one LLM client: retried, cached)."""
        return self.llm.first_token_logprobs([{"role": "user", "content": prompt}], model=self.model, top=5)
