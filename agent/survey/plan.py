"""What one run of the writer produces, as data: its sections in reading order, and where a survey and a
related-work section differ.

`SurveyWriter` runs every plan through the same stages: scope, cards, outline, the drafted sections (one
group of papers at a time: draft, gate, verify, repair), the code-written sections, references, render,
save. A survey and related work differ only in what their `Plan` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.survey.models import Outline, Scope, SectionKind, SentenceKind


@dataclass(frozen=True)
class Planned:
    """One section of a plan. A `THEME` entry stands for every theme of the outline, in the outline's order."""

    kind: SectionKind
    title: str = ""  # a fixed section's heading; themes are named by the outline
    sentences: SentenceKind = SentenceKind.PAPER  # what its drafted sentences are
    positioned: bool = False  # each section ends by positioning the user's paper against its papers


SURVEY = (
    Planned(SectionKind.INTRODUCTION, "Introduction"),
    Planned(SectionKind.THEME),
    Planned(SectionKind.OPEN_PROBLEMS, "Open problems", SentenceKind.OPEN_PROBLEM),
    Planned(SectionKind.CONCLUSION, "Conclusion"),
)
RELATED_WORK = (Planned(SectionKind.THEME, positioned=True),)


@dataclass
class Plan:
    """A run's plan: its sections, what it is about, and the few steps that differ per kind of document."""

    kind: str  # `Survey.kind`: survey | related-work
    title: str  # the document's title
    topic: str  # what the store is searched and the papers' cards are read for
    subject: str  # what the themes and the drafted sentences are about: the topic, or the user's title
    sections: tuple[Planned, ...]
    papers: int  # how many papers the scope may keep
    themes: int | None  # how many themes were asked for (--sections), else chosen by clustering
    k_range: tuple[int, int]  # the numbers of themes clustering may choose between
    scope_inputs: dict[str, Any]  # what the scope stage depends on (a change redoes it on resume)
    find_scope: Callable[[], Scope]  # the papers, when no saved scope fits
    no_cards: Callable[[Scope], str]  # the error when none of the scope's papers has an abstract
    announce: Callable[[int, Scope, int, int], str]  # the progress line: (papers kept, scope, themes, groups)
    user_outline: Outline | None = None  # themes the user wrote, instead of clustering
    outline_file: str = ""  # the user's outline file
    editable_outline: bool = False  # write the outline beside the output for the user to edit (and time it)
    table: bool = False  # a comparison table of the cited papers' reported results
    compare: bool = True  # a comparison sentence per drafting group
    abstract: str = ""  # the user's abstract, positioned against
    must_cite: list[str] | None = None  # keys the user wants discussed (coverage reports each)

    def settings(self) -> dict[str, Any]:
        """What the survey's settings record of the request."""
        asked: dict[str, Any] = {"papers": self.papers, "sections": self.themes}
        if self.must_cite is not None:
            asked["cite"] = self.must_cite
        return asked

    def planned(self, kind: SectionKind) -> bool:
        return any(p.kind == kind for p in self.sections)

    @property
    def positioned(self) -> bool:
        return any(p.positioned for p in self.sections)
