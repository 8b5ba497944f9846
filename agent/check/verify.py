"""Verify cited claims against the cited papers' abstracts; score citations ALCE-style; repair.

Citation recall (ALCE): share of claim sentences fully supported by their citations; an uncited claim
sentence counts as unsupported. Citation precision: share of citations that are relevant, a citation
being irrelevant when it alone does not support its sentence and removing it does not hurt support.
A sentence is judged against each cited paper alone and, when it cites several and none supports it
alone, against all of them together (their abstracts' sentences pooled): support may be joint. A
citation is then relevant when its paper supports the sentence alone, or when the sentence is
supported and the other citations without it are not.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

from agent.check.claims import Claim, split_claims
from agent.check.clauses import parts
from agent.check.compare import Comparison, cases_for, decide, plan
from agent.check.judges import make_judge
from agent.check.names import paper_names
from agent.check.verdict import CONTRADICTED, SUPPORTED, UNCERTAIN, Case, Judge, Verdict
from agent.core.citations import UNCITED
from agent.core.errors import SurveyError
from agent.core.paper import normalize_title
from agent.core.text import split_sentences

if TYPE_CHECKING:
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient
    from agent.store.store import Store


# The JSON shape of `VerificationReport.to_dict` (docs/schema/ is generated from it by agent.schema).
class ClauseVerdictShape(TypedDict):
    key: str  # the paper ("a+b": a relation judged against both abstracts together)
    claim: str  # what the clause says of it, as judged
    label: str
    score: float
    problem: str  # a code check that failed before the judge ran ("" if none)
    evidence: str


class ClauseShape(TypedDict):
    """One clause of a sentence citing several papers: `one` paper's, said of `each` listed paper, or a `joint` relation."""

    text: str
    kind: str
    verdicts: list[ClauseVerdictShape]


class ClaimShape(TypedDict):
    claim: str
    line: int
    section: str
    keys: list[str]
    unknown_keys: list[str]
    status: str  # supported | contradicted | uncertain | unsupported | uncited
    verdicts: list[Verdict]
    joint: Verdict | None
    relevant: list[str]
    clauses: list[ClauseShape]  # a sentence naming several cited papers, judged clause by clause ([] otherwise)
    repair: str
    supported_instead_by: str | None


class VerificationShape(TypedDict):
    """A verification report: per-claim verdicts and the ALCE citation scores."""

    citation_recall: float
    citation_precision: float
    claims: list[ClaimShape]
    failing: list[str]
    unknown_keys: list[str]
    judge: str
    judge_caveat: str
    seconds: float


class VerifyFileShape(VerificationShape):
    """`survey verify FILE --json`."""

    file: str


@dataclass
class ClaimCheck:
    """One claim sentence, its citations' verdicts, and what repair did to it."""

    claim: Claim
    verdicts: list[Verdict] = field(default_factory=list)
    repair: str = ""
    joint: Verdict | None = None  # all cited papers together, judged when none supports the claim alone
    relevant: list[str] = field(default_factory=list)  # citation keys that are relevant (ALCE precision)
    instead: str = ""  # a store paper that supports the claim when the cited ones do not
    comparison: Comparison | None = None  # a sentence naming several cited papers, judged clause by clause

    @property
    def status(self) -> str:
        """supported | contradicted | uncertain | unsupported | uncited.

        `uncertain`: the judge leaned to support without the calibrated margin it needs; like
        unsupported, it counts against citation recall and generated text is repaired. A sentence naming
        several cited papers is supported only when each clause holds for the paper it is about.
        """
        if self.comparison is not None:
            return "supported" if self.comparison.supported else self.comparison.label
        if any(v.label == SUPPORTED for v in self.verdicts) or (self.joint is not None and self.joint.supported):
            return "supported"
        if not self.claim.keys and not self.claim.unknown:
            return "uncited"  # a citation of a paper not in the store is a citation, and an unsupporting one
        if any(v.label == CONTRADICTED for v in self.verdicts):
            return "contradicted"
        if any(v.label == UNCERTAIN for v in self.verdicts) or (self.joint is not None and self.joint.label == UNCERTAIN):
            return "uncertain"
        return "unsupported"

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "claim": c.text,
            "line": c.line,
            "section": c.section,
            "keys": c.keys,
            "unknown_keys": c.unknown,
            "status": self.status,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "joint": self.joint.to_dict() if self.joint else None,
            "relevant": self.relevant,
            "clauses": self.comparison.to_dict() if self.comparison else [],
            "repair": self.repair,
            "supported_instead_by": self.instead or None,
        }


@dataclass
class VerificationReport:
    """Per-claim verdicts of one text, the two citation scores, and keys the store does not know."""

    checks: list[ClaimCheck]
    judge: str
    seconds: float = 0.0
    caveat: str = ""  # the judge's measured accuracy, when known

    @property
    def unknown_keys(self) -> list[str]:
        return sorted({k for c in self.checks for k in c.claim.unknown})

    @property
    def citation_recall(self) -> float:
        if not self.checks:
            return 1.0
        return sum(c.status == "supported" for c in self.checks) / len(self.checks)

    @property
    def citation_precision(self) -> float:
        cited = sum(len(c.verdicts) for c in self.checks) + len(self.unknown_keys)
        if not cited:
            return 1.0
        return sum(len(c.relevant) for c in self.checks) / cited

    @property
    def failing(self) -> list[ClaimCheck]:
        return [c for c in self.checks if c.status != "supported"]

    def summary(self) -> str:
        n = len(self.checks)
        if not n:
            return "no cited claim to check"
        ok = n - len(self.failing)
        return f"{ok}/{n} claims supported · citation recall {self.citation_recall:.2f} · precision {self.citation_precision:.2f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "citation_recall": round(self.citation_recall, 4),
            "citation_precision": round(self.citation_precision, 4),
            "claims": [c.to_dict() for c in self.checks],
            "failing": [c.claim.text for c in self.failing],
            "unknown_keys": self.unknown_keys,
            "judge": self.judge,
            "judge_caveat": self.caveat,
            "seconds": round(self.seconds, 3),
        }


def pooled(cases: list[Case]) -> Case:
    """Several papers as one: their abstracts' sentences pooled, for judging joint support."""
    return Case(cases[0].claim, "+".join(c.key for c in cases), " / ".join(c.title for c in cases),
                [s for c in cases for s in c.sentences])


def resolve_titles(claim: Claim, titles: dict[str, str]) -> None:
    """Numeric citations whose reference entry names a paper by title, not by key: find it in the store."""
    for entry in list(claim.unknown):
        wanted = normalize_title(entry)
        key = titles.get(wanted) or next((k for t, k in titles.items() if t in wanted), None)
        if key:
            claim.unknown.remove(entry)
            if key not in claim.keys:
                claim.keys.append(key)


class Verifier:
    """Claims against the abstracts in one store, judged by `settings.verify_model`."""

    def __init__(self, store: "Store", settings: "Settings", llm: "LLMClient | None" = None) -> None:
        self.store, self.settings, self.llm = store, settings, llm
        self._judge: Judge | None = None

    @property
    def judge(self) -> Judge:
        if self._judge is None:
            self._judge = make_judge(self.settings.verify_model, self.llm)
        return self._judge

    def case(self, claim: str, key: str) -> Case:
        paper = self.store.catalog.get(key) if self.store.exists() else None
        if paper is None:
            raise SurveyError(f"no paper with key {key!r} in the store {self.store.root}; see `survey papers`")
        return Case(claim, paper.key, paper.title, split_sentences(paper.abstract or ""))

    def judge_jointly(self, checks: list[ClaimCheck], cases: dict[tuple[int, str], Case]) -> None:
        """Joint support and ALCE relevance for claims citing several papers, none supporting them alone.

        `cases` holds the (check index, key) cases already judged one paper at a time: pooled cases are
        built from them, without reading the papers again.
        """
        def pool(n: int, keys: list[str]) -> Case:
            return pooled([cases[(n, k)] for k in keys])

        joint = [n for n, c in enumerate(checks)
                 if len(c.verdicts) > 1 and not any(v.supported for v in c.verdicts) and c.comparison is None]
        for n, verdict in zip(joint, self.judge.judge([pool(n, checks[n].claim.keys) for n in joint])):
            checks[n].joint = verdict
        for n, check in enumerate(checks):
            keys = [v.key for v in check.verdicts]
            if check.comparison is not None:
                continue
            if check.joint is None or not check.joint.supported:
                check.relevant = [v.key for v in check.verdicts if v.supported]
                continue
            # Jointly supported: a citation is relevant unless the others still support the claim without it.
            rest = [[k for k in keys if k != key] for key in keys]
            bigger = [r for r in rest if len(r) > 1]  # a single remaining paper was already judged alone
            held = self.judge.judge([pool(n, r) for r in bigger])
            still = {tuple(r): v.supported for r, v in zip(bigger, held)}
            check.relevant = [key for key, r in zip(keys, rest) if not still.get(tuple(r), False)]

    def compare(self, checks: list[ClaimCheck], cases: dict[tuple[int, str], Case]) -> None:
        """Sentences naming several cited papers, clause by clause against the paper each clause is about
        (check/compare.py). A sentence that names none of them keeps the pooled check (`judge_jointly`)."""
        todo: list[tuple[ClaimCheck, Any, list[Any], dict[str, Case]]] = []
        for n, check in enumerate(checks):
            keys = check.claim.keys
            if len(keys) < 2:
                continue
            papers = {k: cases[(n, k)] for k in keys}
            names = {k: paper_names(k, c.title, " ".join(c.sentences)) for k, c in papers.items()}
            parted = parts(check.claim.source, keys, names)
            if any(c.keys for c in parted.clauses):
                todo.append((check, parted, plan(parted, papers, names), papers))
        judged = [(o, papers, parted.extra) for _, parted, obligations, papers in todo for o in obligations if not o.problem]
        # One judge call each: the encoder's verdict shifts with what else shares its batch, and a clause's
        # verdict should not depend on the rest of the document.
        for o, p, _ in judged:
            o.verdict = self.judge.judge(cases_for([o], p))[0]
        # A clause its own papers do not support may lean on the sentence's unnamed citations (ALCE joint support).
        retry = [(o, p, extra) for o, p, extra in judged if extra and not o.met]
        for o, p, extra in retry:
            verdict = self.judge.judge(cases_for([o], p, tuple(extra)))[0]
            if verdict.supported:
                o.verdict, o.helped = verdict, list(extra)
        for check, parted, obligations, _ in todo:
            check.comparison = decide(parted, obligations, {v.key: v for v in check.verdicts})
            check.relevant = check.comparison.relevant

    def verify_claim(self, claim: str, key: str) -> Verdict:
        """One claim against one paper's abstract."""
        if not claim.strip():
            raise SurveyError("empty claim; pass the sentence to check with --claim")
        return self.judge.judge([self.case(claim, key)])[0]

    def verify_text(self, markdown: str, suggest: bool = False) -> VerificationReport:
        """Every claim sentence of a Markdown text against the papers it cites.

        `suggest`: for each claim its citations do not support, look for a store paper that does.
        """
        started = time.perf_counter()
        catalog = self.store.catalog if self.store.exists() else None
        # Keys only: parsing every stored paper costs ~1 s at 75k papers, on every answer.
        document = split_claims(markdown, set(catalog.keys()) if catalog else set())
        titles: dict[str, str] | None = None
        for claim in document.claims:
            if claim.unknown and catalog is not None:
                titles = titles if titles is not None else {t: k for t, k in catalog.titles().items() if len(t) > 12}
                resolve_titles(claim, titles)
            # The ask loop's own marker for an uncited sentence is not part of the claim.
            claim.text = re.sub(rf"\s*{re.escape(UNCITED)}", "", claim.text)
        checks = [ClaimCheck(c) for c in document.claims]
        cases = {(n, key): self.case(c.text, key) for n, c in enumerate(document.claims) for key in c.keys}
        for (n, _), verdict in zip(cases, self.judge.judge(list(cases.values()))):
            checks[n].verdicts.append(verdict)
        self.compare(checks, cases)
        self.judge_jointly(checks, cases)
        if suggest:
            self.suggest(checks)
        return VerificationReport(checks, self.judge.name, time.perf_counter() - started, self.judge.caveat)

    def suggest(self, checks: list[ClaimCheck], k: int = 3) -> None:
        """For a claim its citations do not support, the store paper that does, if one of the `k` papers
        a search for the claim finds supports it ("supported by @hu2022lora instead")."""
        for check in checks:
            if check.status not in ("unsupported", "uncertain", "contradicted") or not check.claim.keys:
                continue
            others = [h.key for h in self.store.search(check.claim.text, k + len(check.claim.keys))
                      if h.key not in check.claim.keys][:k]
            verdicts = self.judge.judge([self.case(check.claim.text, key) for key in others])
            best = max((v for v in verdicts if v.supported), key=lambda v: v.score, default=None)
            check.instead = best.key if best else ""
