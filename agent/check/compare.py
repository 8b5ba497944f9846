"""Comparison sentences checked clause by clause, each clause against the paper it is about.

A sentence citing several papers is taken apart (`clauses.py`). What it says of a paper it names is an
obligation that paper must meet alone: "X, Y and Z all prune tokens" is three claims, "X does A, whereas
Y does B" two. Per-paper judging of decomposed claims is what helps a small verifier most (WiCE; Decomposition
Dilemmas, NAACL 2025): pooled abstracts let one paper's sentence vouch for another paper's name.
Before the judge, code checks what it can (`wording.py`): a name the claim gives must be in the paper, what
it says a paper does without must be negated there, and a term of art said of a list must not be borrowed
from another listed paper. The judge then reads each claim with the paper's name made "This work".

Citations of papers the sentence does not name support it the ALCE way (princeton-nlp/ALCE, eval.py
`compute_autoais`): the sentence's clauses must be supported by the cited abstracts together (recall); a
citation is relevant if its paper alone supports the sentence or removing it breaks that support, and an
over-citation if it alone fails while the rest still support the sentence (precision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.check import rules
from agent.check.clauses import EACH, JOINT, Parts, claim_for, without
from agent.check.verdict import CONTRADICTED, NOT_ENOUGH_INFO, UNCERTAIN, Case, Verdict
from agent.check.wording import anonymous, borrowed, negated_in, spelled, split_negated


@dataclass
class Obligation:
    """One clause as said of one paper, and how it fared."""

    clause: int
    key: str  # the paper ("+"-joined keys for a clause judged against several abstracts together)
    claim: str  # what the clause says of it, as judged
    negated: list[str] = field(default_factory=list)  # what the paper must say it does without
    problem: str = ""  # a code check that failed before any judge ran
    verdict: Verdict | None = None
    helped: list[str] = field(default_factory=list)  # unnamed cited papers whose abstracts it needed (ALCE joint)

    @property
    def met(self) -> bool:
        return not self.problem and self.verdict is not None and self.verdict.supported


@dataclass
class Comparison:
    """A multi-citation sentence judged clause by clause: what holds, for which paper, and what repair may do."""

    parts: Parts
    obligations: list[Obligation]
    relevant: list[str] = field(default_factory=list)  # ALCE: citations that are right
    droppable: list[str] = field(default_factory=list)  # papers repair may take out (name and citation)

    @property
    def supported(self) -> bool:
        return bool(self.obligations) and all(o.met for o in self.obligations)

    @property
    def failing(self) -> list[str]:
        """Papers that fail what the sentence says of them."""
        return list(dict.fromkeys(k for o in self.obligations if not o.met for k in o.key.split("+")))

    @property
    def label(self) -> str:
        """The sentence's status when not supported: contradicted, uncertain or unsupported."""
        labels = {o.verdict.label for o in self.obligations if not o.met and o.verdict and not o.problem}
        return "contradicted" if CONTRADICTED in labels else "uncertain" if UNCERTAIN in labels else "unsupported"

    def to_dict(self) -> list[dict[str, Any]]:
        """Per clause: its text, kind and the verdict for each paper it is about."""
        out = []
        for n, clause in enumerate(self.parts.clauses):
            judged = [o for o in self.obligations if o.clause == n]
            out.append({"text": clause.text.strip(" ,;"), "kind": clause.kind, "verdicts": [
                {"key": o.key, "claim": o.claim, "label": o.verdict.label if o.verdict and not o.problem else NOT_ENOUGH_INFO,
                 "score": round(o.verdict.score, 4) if o.verdict else 1.0, "problem": o.problem,
                 "evidence": o.verdict.evidence[0] if o.verdict and o.verdict.evidence else ""} for o in judged]})
        return out


def plan(parted: Parts, cases: dict[str, Case], names: dict[str, list[str]]) -> list[Obligation]:
    """What each named paper must support, code checks already applied (`cases`: key -> that paper; `names`:
    key -> what it is called)."""
    out: list[Obligation] = []
    for n, clause in enumerate(parted.clauses):
        if clause.kind == JOINT:  # a relation: the names stay, they are what it relates
            paper = " ".join(cases[k].paper_text for k in clause.keys)
            claim, negated = split_negated(claim_for(clause, clause.keys[0]))
            out.append(Obligation(n, "+".join(clause.keys), spelled(claim, paper), negated))
            continue
        for key in clause.keys:
            # The judge reads what is said, not who: which paper a clause is about is settled by its name.
            said = claim_for(clause, key, "This work") if clause.items else anonymous(claim_for(clause, key), names.get(key, []))
            claim, negated = split_negated(said)
            out.append(Obligation(n, key, spelled(claim, cases[key].paper_text), negated))
    for o in out:
        keys = o.key.split("+")
        paper = " ".join(cases[k].paper_text for k in keys)
        clause = parted.clauses[o.clause]
        others = " ".join(cases[k].paper_text for k in clause.keys if k not in keys) if clause.kind == EACH else ""
        unnamed = [p for p in rules.problems(o.claim, paper) if p.startswith("name ")]
        terms = borrowed(o.claim, paper, others)
        missing = [q for q in o.negated if not negated_in(q, paper)]
        o.problem = (unnamed[0] if unnamed else f"the paper never says {terms[0]!r}; another paper it is listed with does"
                     if terms else f"the paper does not say it does without {missing[0]!r}" if missing else "")
    return out


def cases_for(obligations: list[Obligation], cases: dict[str, Case], extra: tuple[str, ...] = ()) -> list[Case]:
    """The judge's cases for the obligations no code check failed: one paper's abstract, or several pooled for
    a relation; `extra` papers pooled in too (the sentence's unnamed citations, tried when one alone fails)."""
    out = []
    for o in obligations:
        papers = [cases[k] for k in [*o.key.split("+"), *extra]]
        out.append(Case(o.claim, o.key, " / ".join(p.title for p in papers), [s for p in papers for s in p.sentences]))
    return out


def decide(parted: Parts, obligations: list[Obligation], alone: dict[str, Verdict]) -> Comparison:
    """Support, ALCE relevance and what repair may drop, from the judged obligations (`alone`: each cited
    paper's verdict on the whole sentence)."""
    result = Comparison(parted, obligations)
    named = {k for c in parted.clauses for k in c.keys}
    helped = {k for o in obligations for k in o.helped}
    if result.supported:
        # A named paper is needed (without its citation what is said of it is unsupported); an unnamed one
        # is needed if a clause needed its abstract, else right only if it supports the sentence alone.
        result.relevant = [k for k in alone if k in named or k in helped or alone[k].supported]
        return result
    result.relevant = [k for k in alone if alone[k].supported]
    if without(parted, result.failing) is not None:  # every failing paper stands in a list that keeps two
        result.droppable = result.failing
    return result
