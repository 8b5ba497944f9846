"""Judges: who decides whether a paper's abstract supports a claim.

`TrainedJudge` (default, offline, ~20 pairs/s on 2 cores) is the MiniLM cross-encoder from
train/verifier.py. `LLMJudge` asks any litellm model (the embedded one, a remote one, or
MiniCheck served by Ollama with its own document/claim format). Both see the same candidate
sentences, picked by code, and both are overruled by the deterministic checks.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agent import checks
from agent.evaluate import CONTRADICTED, LABELS, NOT_ENOUGH_INFO, SUPPORTED
from agent.rationale import candidates

if TYPE_CHECKING:
    from agent.llm import LLMClient
    from agent.nli import NLIModel


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


class Judge(Protocol):
    name: str

    def judge(self, cases: list[Case]) -> list[Verdict]: ...


def overrule(verdict: Verdict, case: Case, enforce: bool = True) -> Verdict:
    """Apply the deterministic checks: a number or name the paper never states cannot be supported."""
    found = list(checks.problems(case.claim, " ".join([case.title, *case.sentences])))
    if enforce and found and verdict.label == SUPPORTED:
        verdict.label, verdict.score = NOT_ENOUGH_INFO, max(0.5, 1 - verdict.score)
    verdict.problems = found
    return verdict


class TrainedJudge:
    """The shipped cross-encoder: per candidate sentence P(S/C/N), combined per paper by tuned thresholds."""

    def __init__(self, model: "NLIModel | None" = None) -> None:
        from agent.nli import NLIModel

        self.model = model or NLIModel()
        self.name = f"trained:{self.model.meta.get('name', 'minilm-verifier')}"

    def judge(self, cases: list[Case]) -> list[Verdict]:
        meta = self.model.meta
        picked = [candidates(c.claim, c.sentences, meta["k"]) for c in cases]
        claims = [c.claim for c, idx in zip(cases, picked) for _ in idx]
        sentences = [c.sentences[i] for c, idx in zip(cases, picked) for i in idx]
        probs = self.model.probabilities(claims, sentences)
        verdicts, row = [], 0
        for case, idx in zip(cases, picked):
            p = probs[row : row + len(idx)]
            row += len(idx)
            verdicts.append(overrule(decide(case, idx, p, meta, self.name), case, meta.get("checks", True)))
        return verdicts


def decide(case: Case, idx: list[int], p: Any, meta: dict[str, Any], judge: str) -> Verdict:
    """One paper's verdict from its candidate sentences' probabilities (rows: S, C, N)."""
    if not idx:
        return Verdict(case.claim, case.key, NOT_ENOUGH_INFO, 1.0, [], {}, [], judge)
    best_s, best_c = int(p[:, 0].argmax()), int(p[:, 1].argmax())
    ps, pc = float(p[best_s, 0]), float(p[best_c, 1])
    if ps >= meta["t_support"] and ps >= pc:
        label, score, best = SUPPORTED, ps, best_s
    elif pc >= meta["t_contradict"]:
        label, score, best = CONTRADICTED, pc, best_c
    else:
        label, score, best = NOT_ENOUGH_INFO, 1 - max(ps, pc), best_s
    probabilities = {SUPPORTED: ps, CONTRADICTED: pc, NOT_ENOUGH_INFO: float(p[:, 2].min())}
    return Verdict(case.claim, case.key, label, round(score, 4), [case.sentences[idx[best]]], probabilities, [], judge)


_LABEL_WORDS = re.compile(r"\b(SUPPORTED|CONTRADICTED|NOT[ _]ENOUGH[ _]INFO)\b", re.I)


class LLMJudge:
    """Any litellm model as judge; `ollama/bespoke-minicheck` gets MiniCheck's Yes/No format."""

    def __init__(self, llm: "LLMClient", model: str, k: int = 6) -> None:
        self.llm, self.model, self.k = llm, model, k
        self.name = model
        self.minicheck = "minicheck" in model.lower()

    def judge(self, cases: list[Case]) -> list[Verdict]:
        return [overrule(self._one(c), c) for c in cases]

    def _one(self, case: Case) -> Verdict:
        from agent.templates import render

        idx = candidates(case.claim, case.sentences, self.k)
        shown = [case.sentences[i] for i in idx]
        if self.minicheck:
            prompt = render("minicheck.j2", document=" ".join(shown), claim=case.claim)
            reply = self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=4).text
            yes = reply.strip().lower().startswith("yes")
            label = SUPPORTED if yes else NOT_ENOUGH_INFO
            return Verdict(case.claim, case.key, label, 1.0, shown[:1], {}, [], self.name)
        prompt = render("verify.j2", claim=case.claim, title=case.title, sentences=shown)
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


def make_judge(model: str, llm: "LLMClient | None" = None) -> Judge:
    """The judge a `SURVEY_VERIFY_MODEL` value names: `trained` or a litellm model string."""
    if model == "trained":
        return TrainedJudge()
    if llm is None:
        raise ValueError("an LLM judge needs an LLM client")
    return LLMJudge(llm, model)
