"""Repair generated text so no claim goes out unchecked.

Modes, tried in the order configured (`SURVEY_REPAIR`, default `drop,recite,remove`):
- `drop`: on a supported sentence, remove citations whose paper does not support it (precision); from a
  sentence that says one thing of a list of papers ("X, Y and Z all ..."), take out the papers it is not
  true of, name and citation, when two or more remain and it holds for them.
- `recite`: cite a paper of the store that supports the sentence instead (search, then judge).
- `rewrite`: the model rewrites the sentence from the cited paper's evidence; kept only if verified.
  Neither for a sentence naming several papers: it cannot become a sentence about one.
- `remove`: delete the sentence.
- `flag`: keep it, marked `[unverified]`.
A failing sentence that no mode fixes is flagged: it never stays as if verified. User files are
never repaired, only reported on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.check.claims import plain
from agent.check.clauses import without
from agent.check.verdict import Case, Verdict
from agent.check.verify import ClaimCheck, VerificationReport, Verifier
from agent.core.citations import CITE_GROUP, drop_keys
from agent.core.citations import with_citation as _cite
from agent.core.errors import SurveyError
from agent.core.templates import render_template

if TYPE_CHECKING:
    from agent.llm.client import LLMClient

MODES = ("drop", "recite", "rewrite", "remove", "flag")
UNVERIFIED = "[unverified]"


def parse_modes(value: str) -> list[str]:
    modes = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise SurveyError(f"SURVEY_REPAIR: unknown mode {bad[0]!r}; use a comma list of {', '.join(MODES)}")
    return modes


def _replace(text: str, old: str, new: str) -> str:
    """Replace a sentence, tolerating different whitespace (sentences may span lines)."""
    if old in text:
        return text.replace(old, new, 1)
    pattern = r"\s+".join(re.escape(w) for w in old.split())
    return re.sub(pattern, lambda _: new, text, count=1)


class Repairer:
    """Applies the repair modes to one generated text and its verification report."""

    def __init__(self, verifier: Verifier, modes: list[str], llm: "LLMClient | None" = None, search_k: int = 5) -> None:
        self.verifier, self.modes, self.llm, self.search_k = verifier, modes, llm, search_k

    def repair(self, text: str, report: VerificationReport) -> tuple[str, VerificationReport]:
        kept: list[ClaimCheck] = []
        for check in report.checks:
            text, keep = self._one(text, check)
            if keep:
                kept.append(check)
        return text.strip(), VerificationReport(kept, report.judge, report.seconds, report.caveat)

    def _one(self, text: str, check: ClaimCheck) -> tuple[str, bool]:
        source = check.claim.source
        if check.status == "supported":
            # Irrelevant citations (ALCE): those whose removal leaves the sentence supported.
            bad = [v.key for v in check.verdicts if v.key not in check.relevant]
            if "drop" in self.modes and bad:
                good = [v.key for v in check.verdicts if v.key in check.relevant]
                # A comparison's citations stand beside the names they cite: drop in place, never regroup.
                check.claim.source = drop_keys(source, set(bad)) if check.comparison else _cite(source, good)
                text = _replace(text, source, check.claim.source)
                check.verdicts = [v for v in check.verdicts if v.key in check.relevant]
                check.claim.keys = good
                check.repair = "dropped " + ", ".join("@" + k for k in bad)
            return text, True
        if "drop" in self.modes and check.comparison is not None and check.comparison.droppable:
            return self._drop_papers(text, check), True
        for mode in self.modes:
            if check.comparison is not None and mode in ("recite", "rewrite"):
                continue  # a sentence naming several papers cannot be re-cited or rewritten to one of them
            if mode == "recite" and (found := self._recite(check)):
                new = _cite(source, [found.key])
                check.claim.keys, check.verdicts, check.relevant, check.joint = [found.key], [found], [found.key], None
                check.repair = f"re-cited to @{found.key}"
                check.claim.source = new
                return _replace(text, source, new), True
            if mode == "rewrite" and (rewritten := self._rewrite(check)):
                sentence, verdict = rewritten
                check.claim.text, check.claim.source, check.verdicts = verdict.claim, sentence, [verdict]
                check.claim.keys, check.relevant, check.joint = [verdict.key], [verdict.key], None
                check.repair = "rewritten from the evidence"
                return _replace(text, source, sentence), True
            if mode == "remove":
                check.repair = "removed"
                return _replace(text, source, ""), False
            if mode == "flag":
                break
        check.repair = "flagged"
        if UNVERIFIED not in source:
            new = f"{source} {UNVERIFIED}"
            text, check.claim.source = _replace(text, source, new), new
        return text, True

    def _drop_papers(self, text: str, check: ClaimCheck) -> str:
        """A list sentence false of some of its papers, said of the others only (each of them holds)."""
        assert check.comparison is not None
        gone = check.comparison.droppable
        new = without(check.comparison.parts, gone)
        assert new is not None  # `droppable` is only set when it is not
        source = check.claim.source
        keep = [k for k in check.claim.keys if k not in gone]
        comparison = check.comparison
        comparison.obligations = [o for o in comparison.obligations if not set(o.key.split("+")) & set(gone)]
        comparison.relevant, comparison.droppable = keep, []
        check.claim.source, check.claim.text, check.claim.keys = new, plain(new), keep
        check.verdicts = [v for v in check.verdicts if v.key in keep]
        check.relevant, check.joint = keep, None
        check.repair = "dropped " + ", ".join("@" + k for k in gone) + " from the list: its abstract does not support what the sentence says of it"
        return _replace(text, source, new)

    def _recite(self, check: ClaimCheck) -> Verdict | None:
        """A paper in the store, not already cited, that supports the claim."""
        store = self.verifier.store
        hits = store.search(check.claim.text, self.search_k)
        cases = [self.verifier.case(check.claim.text, h.key) for h in hits if h.key not in check.claim.keys]
        verdicts = self.verifier.judge.judge(cases) if cases else []
        supported = [v for v in verdicts if v.supported]
        return max(supported, key=lambda v: v.score) if supported else None

    def _rewrite(self, check: ClaimCheck) -> tuple[str, Verdict] | None:
        """The model restates the claim from its best evidence sentence; None unless the result verifies."""
        with_evidence = [v for v in check.verdicts if v.evidence]
        if self.llm is None or not with_evidence:
            return None
        best = max(with_evidence, key=lambda v: v.probabilities.get("SUPPORTED", 0.0))
        prompt = render_template("rewrite", key=best.key, evidence=" ".join(best.evidence), sentence=check.claim.text)
        reply = self.llm.complete([{"role": "user", "content": prompt}], max_tokens=80, allow_empty=True).text.strip().splitlines()
        sentence = reply[0].strip() if reply else ""
        if not sentence:
            return None
        sentence = _cite(sentence, [best.key])
        plain = CITE_GROUP.sub("", sentence).strip()
        verdict = self.verifier.judge.judge([Case(plain, best.key, *self._paper(best.key))])[0]
        return (sentence, verdict) if verdict.supported else None

    def _paper(self, key: str) -> tuple[str, list[str]]:
        case = self.verifier.case("", key)
        return case.title, case.sentences
