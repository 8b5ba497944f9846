"""The cascade judge: the trained encoder decides; an LLM is asked only where it is UNCERTAIN.

The LLM answers Yes or No in one token, and its answer is read as probabilities: the log-probabilities
of the "Yes" and "No" tokens among the top 5 of that token (llama.cpp returns them through its
OpenAI-compatible API), not as free text, which a 1.5B model mostly answers NOT_ENOUGH_INFO. A Yes
above `threshold` makes the verdict SUPPORTED; a No makes it the encoder's next label (contradicted or
not enough info). `SURVEY_VERIFY_MODEL=cascade` (the embedded model) or `cascade:MODEL`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agent.check.judges import CONTRADICTED, NOT_ENOUGH_INFO, SUPPORTED, UNCERTAIN, Case, Verdict, overrule
from agent.check.rationale import candidates

if TYPE_CHECKING:
    from agent.check.judges import TrainedJudge
    from agent.llm.client import LLMClient

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
        from agent.core.templates import render

        shown = [case.sentences[i] for i in candidates(case.claim, case.sentences, self.k)]
        prompt = render("verify_yesno", claim=case.claim, title=case.title, sentences=shown)
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
