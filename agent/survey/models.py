"""What a survey run is asked for (the requests), and the typed results of each stage.

Every result round-trips through JSON, so a run can resume.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from agent.core.errors import SurveyError
from agent.core.paper import ascii_fold

T = TypeVar("T")


def slug(text: str, limit: int = 60) -> str:
    """A file-name form of `text`: lower-case ASCII words joined by '-', at most `limit` characters."""
    words = re.findall(r"[a-z0-9]+", ascii_fold(text).lower())
    out = "-".join(words)[:limit].rstrip("-")
    return out or "survey"


# --- requests: the one place the writer's parameters are spelled out ------------------------------
# The CLI, the MCP server and SurveyAgent's keyword arguments all build one of these; each checks its
# own values on construction, so every door reports the same one-line error.

# --papers is a cap, not a quota: the writer keeps the relevant papers, at most this many (a 1.5B model
# drafts ~9 s a paper on 2 cores: 60 papers is ~8 minutes, and 15 keep related work near 2 minutes).
SURVEY_CAP = 60
RELATED_CAP = 15


@dataclass(frozen=True, kw_only=True)
class WritingRequest:
    """What both kinds of writing take: how many papers and themes, which papers to leave out, the
    model, the output file, and whether to start over (`fresh`) or overwrite (`force`)."""

    papers: int | None = None  # most papers kept; None: SURVEY_CAP or RELATED_CAP
    sections: int | None = None  # number of themes; None: chosen by silhouette
    exclude: list[str] | None = None
    model: str | None = None  # None: the agent's model
    output: str | Path | None = None  # None: outputs/<default_name>.md
    fresh: bool = False
    force: bool = False

    @property
    def default_name(self) -> str:
        """The output file's name (without .md) when no `output` is given."""
        raise NotImplementedError

    @property
    def target(self) -> Path:
        """Where the Markdown goes: `output`, or outputs/<default_name>.md."""
        return Path(self.output) if self.output else Path("outputs") / f"{self.default_name}.md"


def numbering(parents: list[str]) -> list[str]:
    """Section numbers as rendered, from each section's parent ("" for a top-level one): "1", "2.1", "2.2", "3"."""
    out: list[str] = []
    n = m = 0
    previous = None
    for parent in parents:
        if parent and parent == previous:
            m += 1
        else:
            n, m = n + 1, 1
        previous = parent
        out.append(f"{n}.{m}" if parent else str(n))
    return out


def _cap(request: WritingRequest, default: int) -> None:
    if request.papers is None:
        object.__setattr__(request, "papers", default)


@dataclass(frozen=True)
class SurveyRequest(WritingRequest):
    """A survey of `topic`, optionally following a Markdown `outline` and pinning `include` papers in."""

    topic: str
    outline: str | Path | None = field(default=None, kw_only=True)
    include: list[str] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic", " ".join(self.topic.split()))
        if not self.topic:
            raise SurveyError("empty topic; say what the survey is about")
        _cap(self, SURVEY_CAP)
        if self.papers < 1:
            raise SurveyError("--papers must be at least 1")
        if self.sections is not None and self.sections < 1:
            raise SurveyError("--sections must be at least 1")

    @property
    def default_name(self) -> str:
        return slug(self.topic)


@dataclass(frozen=True)
class RelatedWorkRequest(WritingRequest):
    """The related-work section of the user's paper (its title and abstract), discussing every `cite` key."""

    title: str
    abstract: str
    cite: list[str] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", " ".join(self.title.split()))
        object.__setattr__(self, "abstract", " ".join(self.abstract.split()))
        if not self.title:
            raise SurveyError("empty title; pass --title, or --from a Markdown draft with a '# Title'")
        if not self.abstract:
            raise SurveyError("empty abstract; pass --abstract, or --from a draft with an Abstract section")
        _cap(self, RELATED_CAP)
        if self.papers < 1:
            raise SurveyError("--papers must be at least 1")

    @property
    def default_name(self) -> str:
        return "related-work-" + slug(self.title, 40)


# --- stage results ---------------------------------------------------------------------------------

class _Spelled(str, Enum):
    """A vocabulary whose members are their JSON spelling: they compare, hash, print and serialize as it,
    so a kind read back from a JSON or stage file equals the member that wrote it."""

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class SectionKind(_Spelled):
    """What a survey section is (`Section.kind`)."""

    INTRODUCTION = "introduction"  # code-written: scope and structure, about the survey itself (cites nothing)
    THEME = "theme"  # one per theme of the outline, drafted from its papers' cards
    OPEN_PROBLEMS = "open_problems"  # drafted from the limitations the abstracts name
    CONCLUSION = "conclusion"  # code-written: a synthesis of the survey's structure and checks (cites nothing)

    @property
    def code_written(self) -> bool:
        """Written by code from what the drafted sections hold (`Section.text`); repeats none of their sentences."""
        return self in (SectionKind.INTRODUCTION, SectionKind.CONCLUSION)


class SentenceKind(_Spelled):
    """What a survey sentence is (`Sentence.kind`); a section's drafted sentences are of one kind."""

    PAPER = "paper"  # what one paper does or finds, cited to it
    COMPARISON = "comparison"  # two papers of a drafting group side by side
    OPEN_PROBLEM = "open_problem"  # the open problem one paper points to
    POSITION = "position"  # the user's paper against a paragraph's papers (related work; not verified)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """A dataclass from its `asdict` form (nested types are rebuilt by the callers that know them)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Scope:
    """The papers a survey is about, how they were found, and the ones considered and left out."""

    topic: str
    queries: list[str]  # the searches run
    keys: list[str]  # most relevant first
    relevance: dict[str, float]  # key -> relevance (mean z-score against the store; >= 1.5 is on topic)
    sources: dict[str, int]  # source file name -> papers kept from it
    candidates: int = 0  # papers the searches returned
    below_floor: int = 0  # candidates judged off-topic
    pinned: list[str] = field(default_factory=list)
    relevant: int = 0  # candidates judged on topic (more than `keys` when the --papers cap cut some)
    cap: int | None = None
    broad_queries: list[dict[str, Any]] = field(default_factory=list)  # {"query", "share"}: not searched, too generic
    left_out: list[dict[str, Any]] = field(default_factory=list)  # {"key", "title", "relevance", "reason"}
    summary: str = ""  # one sentence: how many papers are about the topic and what the output covers


@dataclass
class PaperCard:
    """What code can say about one paper from its metadata and abstract: the only thing the model sees."""

    key: str
    title: str
    year: int | None
    venue: str | None
    authors: list[str]
    problem: str = ""
    method: str = ""
    result: str = ""
    limitation: str = ""  # a sentence naming what remains hard, when the abstract has one
    datasets: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    headline: str = ""  # the result phrase with a number, for the comparison table
    truncated: bool = False
    name: str = ""  # how a sentence can name the paper: "InfiniBench", "Smith et al.", or "" when neither fits
    method_kind: str = ""  # its most telling field phrase another paper of the scope shares ("token pruning")
    training: str = ""  # "training-free", "trained" or "" (the abstract does not say)
    prior_gap: bool = False  # its `limitation` is of earlier work ("existing methods fail to ..."), not its own

    @property
    def brief(self) -> str:
        """The card text shown to the model: the chosen sentences, within ~350 characters (~90 tokens)."""
        out: list[str] = []
        for s in (self.method, self.result, self.problem):  # what it does and finds first
            if s and s not in out and (not out or sum(map(len, out)) + len(s) <= 350):
                out.append(s)
        return " ".join(out)

    @property
    def text(self) -> str:
        """Everything the card says, title first: what a sentence about the paper may draw on."""
        return f"{self.title} {self.problem} {self.method} {self.result} {self.limitation}"

    @property
    def sentences(self) -> list[str]:
        """Problem, method, result: the 2-3 abstract sentences shown to the model, without repeats."""
        out: list[str] = []
        for s in (self.problem, self.method, self.result):
            if s and s not in out:
                out.append(s)
        return out


@dataclass
class Theme:
    """One section of the outline: a name and the papers placed under it."""

    name: str
    keys: list[str]
    keywords: list[str] = field(default_factory=list)
    named_by: str = "model"  # model | keywords | kind | topic | user
    parent: str = ""  # a subsection's section (its name starts "parent: "); "" for a section


@dataclass
class Outline:
    themes: list[Theme]
    k_tried: dict[str, float] = field(default_factory=dict)  # number of themes -> silhouette score
    source: str = "clusters"  # clusters | user outline file

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Outline":
        return cls([from_dict(Theme, t) for t in data["themes"]], data.get("k_tried", {}), data.get("source", "clusters"))


@dataclass
class Sentence:
    """One sentence of the survey, with its citations and what the verifier said."""

    text: str  # as rendered, with [@key] citations
    claim: str  # the text judged (citations removed)
    keys: list[str]
    status: str  # supported | unsupported | uncertain | contradicted | uncited | position (not verified)
    kind: str = SentenceKind.PAPER  # a SentenceKind
    repair: str = ""
    group: int = 0  # drafting group within its section (one paragraph each)
    relevant: list[str] = field(default_factory=list)  # citations that count as relevant (ALCE precision)
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # key, label, score, evidence


@dataclass
class Section:
    """A drafted section: its sentences (after gate, verification and repair) and how they fared."""

    title: str
    kind: str  # a SectionKind
    keys: list[str] = field(default_factory=list)  # papers placed here
    keywords: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    text: str = ""  # code-written prose (introduction, conclusion) shown before the sentences
    flagged: list[dict[str, Any]] = field(default_factory=list)  # removed or marked sentences, with why
    claims: int = 0  # sentences judged
    citation_recall: float = 1.0
    citation_precision: float = 1.0
    problems: list[str] = field(default_factory=list)
    parent: str = ""  # a subsection's section (its title starts "parent: "); "" for a section

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Section":
        section = from_dict(cls, data)
        section.sentences = [from_dict(Sentence, s) for s in data.get("sentences", [])]
        return section

    @property
    def cited(self) -> list[str]:
        return list(dict.fromkeys(k for s in self.sentences for k in s.keys))


@dataclass
class Survey:
    """A written survey or related-work section: what the Markdown, BibTeX and JSON are made from."""

    kind: str  # survey | related-work
    topic: str
    title: str
    created: str
    model: str
    settings: dict[str, Any]
    scope: Scope
    sections: list[Section]
    references: list[dict[str, Any]]  # cited papers only, in order of first citation (Paper.to_dict)
    table: list[dict[str, Any]] = field(default_factory=list)  # comparison table rows (surveys)
    coverage: dict[str, Any] = field(default_factory=dict)  # placed, cited, missing: [{key, reason}]
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    abstract: str = ""  # related-work: the user's abstract
    outline_file: str = ""
    files: dict[str, str] = field(default_factory=dict)  # kind -> path, once written

    @property
    def cited(self) -> list[str]:
        """Every cited key, in order of first citation."""
        return list(dict.fromkeys(k for s in self.sections for k in s.cited))

    @property
    def claims(self) -> int:
        return sum(s.claims for s in self.sections)

    def citation_scores(self) -> tuple[float, float]:
        """Claim-weighted citation recall and precision over all sections."""
        judged = [s for s in self.sections if s.claims]
        total = sum(s.claims for s in judged)
        if not total:
            return 1.0, 1.0
        recall = sum(s.citation_recall * s.claims for s in judged) / total
        precision = sum(s.citation_precision * s.claims for s in judged) / total
        return recall, precision

    def to_dict(self) -> dict[str, Any]:
        """The whole structure, as written to the `.json` file and printed by `--json`."""
        data = asdict(self)
        recall, precision = self.citation_scores()
        data["verification"] = {"claims": self.claims, "citation_recall": round(recall, 4),
                                "citation_precision": round(precision, 4), "cited_papers": len(self.cited)}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Survey":
        survey = from_dict(cls, data)
        survey.scope = from_dict(Scope, data["scope"])
        survey.sections = [Section.from_dict(s) for s in data["sections"]]
        return survey
