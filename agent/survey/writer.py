"""The survey pipeline: scope -> cards -> outline -> draft (attribute-first) -> check -> render.

A survey and a related-work section are two plans (survey/plan.py) run by the same stages. Each stage's
result is saved in the run folder beside the output, keyed by a hash of its inputs; a rerun of the same
command reuses what is done and goes on from there.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.check.checker import Checker
from agent.check.claims import about_document, cited_sentences
from agent.check.sentences import lcs_ratio, words
from agent.core.errors import SurveyError
from agent.core.hashing import file_sha256, sha256
from agent.core.templates import render_template
from agent.evidence import best_sentences
from agent.survey.cards import make_card
from agent.survey.draft import Drafter, GroupDraft
from agent.survey.facets import Vocabulary, contributes
from agent.survey.models import (
    Outline,
    PaperCard,
    RelatedWorkRequest,
    Scope,
    Section,
    SectionKind,
    Sentence,
    SentenceKind,
    Survey,
    SurveyRequest,
    Theme,
    WritingRequest,
    from_dict,
    numbering,
)
from agent.survey.outline import make_outline, outline_markdown, parse_outline
from agent.survey.plan import RELATED_WORK, SURVEY, Plan, Planned
from agent.survey.position import closest, contributions, position_sentence, their_phrase
from agent.survey.render import bibtex, markdown, to_json
from agent.survey.scope import find_scope, sources_of
from agent.survey.state import RunState, write_atomic
from agent.survey.synthesis import Group, names_list, plan_groups, subjects

if TYPE_CHECKING:
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient
    from agent.store.store import Store


@dataclass
class ProgressEvent:
    """What the writer is doing, for a progress display (the CLI prints it on stderr)."""

    stage: str  # scope | outline | draft | write, or the kind of a section drafted on its own (open problems)
    message: str
    done: int = 0
    total: int = 0
    elapsed: float = 0.0
    tokens: int = 0
    remaining: float | None = None  # estimated seconds left, when known


OnProgress = Callable[[ProgressEvent], None]


@dataclass
class _Run:
    """One run between its stages: what the section builders read, and the sections built so far."""

    state: RunState
    plan: Plan
    model: str | None
    scope: Scope
    cards: dict[str, PaperCard]
    outline: Outline
    groups: list[tuple[Theme, Group]]  # the themes' papers in drafting groups, in order
    drafter: Drafter
    estimate: float  # seconds the drafting will take
    by_theme: dict[str, list[GroupDraft]] = field(default_factory=dict)
    built: dict[SectionKind, list[Section]] = field(default_factory=dict)


class SurveyWriter:
    """Writes surveys and related-work sections from one store with one LLM client."""

    def __init__(self, store: "Store", settings: "Settings", llm: "LLMClient", on_progress: OnProgress | None = None) -> None:
        self.store, self.settings, self.llm = store, settings, llm
        self.checker = Checker(store, settings, llm)
        self.on_progress = on_progress
        self._start_run()

    # --- plumbing ------------------------------------------------------------------------------
    def _start_run(self) -> None:
        """Clock and usage from here: an agent's client sums every call it ever made."""
        self._started = time.perf_counter()
        self._usage_before = self.llm.usage.to_dict()
        self._tokens_before = self.llm.usage.prompt_tokens + self.llm.usage.completion_tokens
    def _emit(self, stage: str, message: str, done: int = 0, total: int = 0, remaining: float | None = None) -> None:
        if self.on_progress is not None:
            tokens = self.llm.usage.prompt_tokens + self.llm.usage.completion_tokens - self._tokens_before
            self.on_progress(ProgressEvent(stage, message, done, total, time.perf_counter() - self._started, tokens, remaining))

    def _output(self, request: WritingRequest) -> Path:
        """The Markdown path; refuses to overwrite a file this tool did not write as it is now."""
        path, force = request.target, request.force
        if path.suffix.lower() != ".md":
            path = path.with_name(path.name + ".md")
        if path.exists() and path.is_dir():
            raise SurveyError(f"{path} is a directory; pass -o with a file name ending in .md")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SurveyError(f"cannot create the folder {path.parent} ({exc.strerror}); pass -o with a writable path") from None
        if path.exists() and not force:
            manifest = self._run_folder(path) / "written.json"
            ours = manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("sha256") == file_sha256(path)
            if not ours:
                raise SurveyError(f"{path} already exists and was not written by this command as it is now; "
                                  "pass -o another path, or --force to overwrite it")
        probe = path.parent / f".{path.name}.probe"
        try:
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            raise SurveyError(f"cannot write to {path.parent} ({exc.strerror}); pass -o with a writable path") from None
        return path

    @staticmethod
    def _run_folder(path: Path) -> Path:
        return path.with_name(path.stem + ".run")

    @staticmethod
    def _scope(state: RunState, plan: Plan) -> Scope:
        saved = state.load("scope", plan.scope_inputs)
        if saved is not None:
            return from_dict(Scope, saved)
        scope = plan.find_scope()
        state.save("scope", plan.scope_inputs, asdict(scope))
        return scope

    def _cards(self, state: RunState, scope: Scope, topic: str) -> dict[str, PaperCard]:
        inputs = {"keys": scope.keys, "topic": topic, "generation": self.store.catalog.generation, "facets": 1}
        saved = state.load("cards", inputs)
        if saved is not None:
            return {c["key"]: from_dict(PaperCard, c) for c in saved}
        papers = self.store.catalog.papers(scope.keys)
        cards = [make_card(p, topic) for p in papers if p.abstract]
        vocabulary = self._vocabulary(list(c.key for c in cards), topic)
        for card in cards:
            card.method_kind = vocabulary.method_kind(card.key, card.method)
        state.save("cards", inputs, [asdict(c) for c in cards])
        return {c.key: c for c in cards}

    def _vocabulary(self, keys: list[str], topic: str) -> Vocabulary:
        """The field phrases of the papers kept, with how many of them use each (facets.Vocabulary)."""
        return Vocabulary({p.key: f"{p.title}. {p.abstract or ''}" for p in self.store.catalog.papers(keys) if p}, topic)

    def _outline(self, state: RunState, cards: dict[str, PaperCard], topic: str, sections: int | None,
                 k_range: tuple[int, int], user_outline: Outline | None, model: str | None) -> Outline:
        if user_outline is not None:
            return user_outline
        keys = list(cards)
        inputs = {"keys": keys, "sections": sections, "k_range": k_range, "model": model or self.settings.model,
                  "generation": self.store.catalog.generation, "grouping": "what-it-does", "names": "abstracts"}
        saved = state.load("outline", inputs)
        if saved is not None:
            return Outline.from_dict(saved)
        self._emit("outline", f"clustering {len(keys)} papers into themes")
        # Papers are grouped by what they do (their cards' method sentences), not by whole-abstract
        # vectors; without an embedder (embedding_model "none") TF-IDF alone groups them.
        embedder = self.store.embedder
        abstracts = {p.key: p.abstract or "" for p in self.store.catalog.papers(keys)}
        outline = make_outline([cards[k] for k in keys], None, topic, self.llm, k_range, sections, model,
                               embed=embedder.embed if embedder is not None else None, abstracts=abstracts)
        state.save("outline", inputs, asdict(outline))
        return outline

    def _estimate(self, groups: int, papers: int, model: str) -> float:
        """Seconds the drafting will take: llama.cpp speeds measured on 2 cores, or ~3 s per remote call."""
        if model == "local":
            # Measured (bench/write.py): ~15 s per group (cards prefix, comparison) and ~9 s per paper (its
            # call, ~35 tokens generated at ~8 tok/s, sometimes a rewording call, verification).
            return groups * 15.0 + papers * 9.0
        return groups * 3.0 + papers * 1.5

    def _draft_group(self, state: RunState, drafter: Drafter, cards: list[PaperCard], theme: str, kind: SentenceKind,
                     stage: str, model: str | None, compare: bool = True, group: Group | None = None,
                     names: dict[str, str] | None = None) -> GroupDraft:
        inputs = {"keys": [asdict(c) for c in cards], "theme": theme, "topic": drafter.topic, "kind": kind,
                  "model": model or self.settings.model, "judge": self.settings.verify_model,
                  "repair": self.settings.repair, "compare": compare, "plan": asdict(group) if group else None,
                  "names": names}
        saved = state.load(stage, inputs)
        if saved is not None:
            return GroupDraft(saved["keys"], [from_dict(Sentence, s) for s in saved["sentences"]], saved["flagged"],
                              saved["problems"], saved["judged"], saved["draft_recall"], saved["missing"])
        result = drafter.draft(cards, theme, kind, compare, group, names)
        state.save(stage, inputs, result.to_dict())
        return result

    @staticmethod
    def _section(title: str, kind: SectionKind, keys: list[str], drafts: list[GroupDraft], keywords: list[str] | None = None) -> Section:
        section = Section(title, kind, keys, keywords or [])
        for n, draft in enumerate(drafts):
            for s in draft.sentences:
                s.group = n
                section.sentences.append(s)
            section.flagged += draft.flagged
            section.problems += draft.problems
            section.claims += draft.judged
        return SurveyWriter._score(section)

    @staticmethod
    def _score(section: Section) -> Section:
        """The section's citation recall and precision over the sentences it keeps."""
        kept = section.sentences
        if kept:
            section.citation_recall = round(sum(s.status == "supported" for s in kept) / len(kept), 4)
        cited = sum(len(s.verdicts) for s in kept)
        if cited:
            section.citation_precision = round(sum(len(s.relevant) for s in kept) / cited, 4)
        return section

    # --- surveys -------------------------------------------------------------------------------
    def write(self, request: SurveyRequest) -> Survey:
        """A verified survey of `request.topic` from the store: Markdown, BibTeX and JSON beside each other."""
        self.store.require_papers()
        self._start_run()
        user_outline, outline_text, outline = None, "", request.outline
        if outline is not None:
            try:
                outline_text = Path(outline).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SurveyError(f"{outline}: cannot read the outline ({exc.__class__.__name__}); pass a UTF-8 Markdown file") from None
            user_outline = parse_outline(outline_text, set(self.store.catalog.keys()), str(outline))
        path = self._output(request)
        with RunState(self._run_folder(path), request.fresh) as state:
            return self._write(state, path, request, outline_text, user_outline)

    def _write(self, state: RunState, path: Path, request: SurveyRequest, outline_text: str,
               user_outline: Outline | None) -> Survey:
        """A survey: introduction, one section per theme, open problems, conclusion; a comparison table and
        the outline beside it for the user to edit."""
        topic, papers, outline = request.topic, request.papers, request.outline
        def scope() -> Scope:
            if user_outline is not None:
                keys = [k for th in user_outline.themes for k in th.keys]
                return Scope(topic, [], keys, {k: 1.0 for k in keys}, sources_of(self.store.catalog.papers(keys)),
                             len(keys), 0, keys)
            self._emit("scope", f"searching the store for {topic!r}")
            return find_scope(self.store, topic, papers, request.include, request.exclude)

        def announce(kept: int, scope: Scope, themes: int, groups: int) -> str:
            sources = ", ".join(f"{n} from {name}" for name, n in sorted(scope.sources.items(), key=lambda x: -x[1]))
            return f"kept {kept} papers ({sources}); {themes} themes, {groups} groups to draft"

        plan = Plan(
            "survey", f"{topic[:1].upper()}{topic[1:]}: a survey", topic, topic, SURVEY, papers, request.sections, (2, 6),
            scope_inputs={"topic": topic, "papers": papers, "include": request.include, "exclude": request.exclude,
                          "outline": outline_text, "generation": self.store.catalog.generation},
            find_scope=scope,
            no_cards=lambda scope: f"none of the {len(scope.keys)} papers found for {topic!r} has an abstract to write from",
            announce=announce, user_outline=user_outline, outline_file=str(outline) if outline else "",
            editable_outline=True, table=True,
        )
        return self._run(state, path, plan, request.model)

    def _run(self, state: RunState, path: Path, plan: Plan, model: str | None) -> Survey:
        """Every stage of a plan, each saved as it finishes: scope, cards, outline, the drafted sections, the
        code-written ones, references, render, save."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        scope = self._scope(state, plan)
        timings["scope"] = time.perf_counter() - t

        t = time.perf_counter()
        cards = self._cards(state, scope, plan.topic)
        if not cards:
            raise SurveyError(plan.no_cards(scope))
        outline = self._outline(state, cards, plan.subject, plan.themes, plan.k_range, plan.user_outline, model)
        for theme in outline.themes:  # a user outline may place papers without an abstract
            theme.keys = [k for k in theme.keys if k in cards]
        outline.themes = [th for th in outline.themes if th.keys]
        outline_path = path.with_name(path.stem + ".outline.md")
        if plan.editable_outline:
            write_atomic(outline_path, outline_markdown(outline, plan.subject, {k: c.title for k, c in cards.items()}))
            timings["outline"] = time.perf_counter() - t
        model_name = model or self.settings.model
        vocabulary = self._vocabulary(list(cards), plan.subject)
        groups = [(th, g) for th in outline.themes for g in plan_groups(th.keys, vocabulary, self._group_size(model_name))]
        # Beyond the themes' groups: one group of open problems, one positioning call per theme.
        extra = plan.planned(SectionKind.OPEN_PROBLEMS) + (len(outline.themes) if plan.positioned else 0)
        estimate = self._estimate(len(groups) + extra, len(cards), model_name)
        if scope.summary:
            self._emit("scope", scope.summary)
        self._emit("scope", f"{plan.announce(len(cards), scope, len(outline.themes), len(groups))}; "
                   f"about {estimate / 60:.1f} min", remaining=estimate)

        # Draft, gate, verify, repair: one group at a time, each saved as it finishes; then the code-written
        # sections from what was verified.
        t = time.perf_counter()
        run = _Run(state, plan, model, scope, cards, outline, groups,
                   Drafter(self.llm, self.checker, plan.subject, model), estimate)
        build: dict[SectionKind, Callable[[Planned, _Run], list[Section]]] = {
            SectionKind.THEME: self._themes, SectionKind.OPEN_PROBLEMS: self._open_problems,
            SectionKind.INTRODUCTION: self._introduction, SectionKind.CONCLUSION: self._conclusion,
        }
        for planned in plan.sections:
            if not planned.kind.code_written:
                run.built[planned.kind] = build[planned.kind](planned, run)
        timings["draft_and_verify"] = time.perf_counter() - t
        # A drafted sentence said twice (two groups, or a theme and the open problems, can end on the same
        # abstract sentence) is kept once, before the code-written sections count what was kept.
        repeated = drop_repeats([s for p in plan.sections if not p.kind.code_written for s in run.built[p.kind]])
        for planned in plan.sections:
            if planned.kind.code_written:
                run.built[planned.kind] = build[planned.kind](planned, run)

        parts = [section for planned in plan.sections for section in run.built[planned.kind]]
        repeated |= drop_repeats(parts)  # the last guard: no sentence is said twice in one document
        missing = {k: r for d in run.by_theme.values() for g in d for k, r in g.missing.items()} | repeated
        for key in plan.must_cite or []:
            if key not in cards:
                missing[key] = "it has no abstract in the store to write from"
        survey = self._assemble(plan.kind, plan.subject, plan.title, model_name, scope, parts, cards, outline, missing,
                                timings, **plan.settings())
        if plan.editable_outline:
            survey.outline_file = plan.outline_file or str(outline_path)
        if plan.table:
            survey.table = self._table(survey, cards, outline)
        survey.abstract = plan.abstract
        if plan.must_cite is not None:
            cited = set(survey.cited)
            survey.coverage["must_cite"] = {k: k in cited for k in plan.must_cite}
        return self._save(survey, path, state, outline_path if plan.editable_outline else None)

    def _draft_all(self, state: RunState, drafter: Drafter, groups: list[tuple[Theme, Group]],
                   cards: dict[str, PaperCard], model: str | None, estimate: float, kind: SentenceKind,
                   compare: bool = True) -> dict[str, list[GroupDraft]]:
        """Every group, in order, each saved as it finishes; progress after each."""
        t = time.perf_counter()
        by_theme: dict[str, list[GroupDraft]] = {}
        verified = kept = 0
        names: dict[str, dict[str, str]] = {}
        for n, (theme, group) in enumerate(groups):
            left = estimate if n == 0 else (time.perf_counter() - t) / n * (len(groups) - n)
            done = f"; {kept}/{verified} sentences supported so far" if verified else ""
            self._emit("draft", f"drafting {theme.name!r} ({len(group.keys)} papers){done}", n, len(groups), left)
            if theme.name not in names:  # "One study", "Another study" vary over a whole section
                names[theme.name] = subjects([cards[k] for k in theme.keys])
            draft = self._draft_group(state, drafter, [cards[k] for k in group.keys], theme.name, kind,
                                      f"draft-{digest_of(theme.name)}-{n}", model, compare, group,
                                      {k: names[theme.name][k] for k in group.keys})
            verified += draft.judged
            kept += sum(s.status == "supported" for s in draft.sentences)
            by_theme.setdefault(theme.name, []).append(draft)
        self._emit("draft", f"drafted every group; {kept}/{verified} sentences supported", len(groups), len(groups), 0.0)
        return by_theme

    def _themes(self, planned: Planned, run: _Run) -> list[Section]:
        """A section per theme, its papers drafted group by group; positioned against the user's paper if planned."""
        run.by_theme = self._draft_all(run.state, run.drafter, run.groups, run.cards, run.model, run.estimate,
                                       planned.sentences, run.plan.compare)
        sections = [replace(self._section(th.name, planned.kind, th.keys, run.by_theme.get(th.name, []), th.keywords),
                            parent=th.parent) for th in run.outline.themes]
        if planned.positioned:
            self._positioned(run, sections)
        return sections

    def _positioned(self, run: _Run, sections: list[Section]) -> None:
        """Each section ends with one sentence on how the user's paper differs from its closest works there:
        those works named, what they do (the model's phrase from their titles), and the user's contribution
        clause nearest to them that no earlier paragraph used, so no two paragraphs end alike."""
        used: set[str] = set()
        ours = contributions(run.plan.abstract)
        for n, section in enumerate(sections):
            near = self._closest(run, section.cited)
            if not near or not ours:
                continue
            clause = closest(ours, " ".join(run.cards[k].text for k in near), used)
            position = self._position(run.state, run.plan.abstract, [run.cards[k].title for k in near], clause,
                                      names_list([run.cards[k].name for k in near]) if all(run.cards[k].name for k in near)
                                      else "", run.model, section.title)
            if position and position in {x.text for before in sections[:n] for x in before.sentences}:
                position = ""  # the same sentence under every paragraph positions nothing
            if position and section.sentences:
                used.add(clause)
                # About the user's paper, it is not verified: its status says so.
                section.sentences.append(Sentence(position, position, [], SentenceKind.POSITION, SentenceKind.POSITION,
                                                  group=max(s.group for s in section.sentences)))

    @staticmethod
    def _closest(run: _Run, cited: list[str], most: int = 2) -> list[str]:
        """The `most` cited papers of a paragraph sharing the most words with the user's abstract."""
        mine = set(re.findall(r"[a-z]{4,}", run.plan.abstract.lower()))
        known = [k for k in cited if k in run.cards]
        return sorted(known, key=lambda k: -len(set(re.findall(r"[a-z]{4,}", run.cards[k].text.lower())) & mine))[:most]

    def _open_problems(self, planned: Planned, run: _Run) -> list[Section]:
        """One group of papers whose abstracts name what remains hard, drafted from those sentences."""
        cards = self._open_problem_cards(run.outline, run.cards, run.scope)
        if not cards:
            return [Section(planned.title, planned.kind)]
        self._emit(planned.kind.value, f"open problems from {len(cards)} papers")
        draft = self._draft_group(run.state, run.drafter, cards, planned.title, planned.sentences, "open-problems",
                                  run.model, names=subjects(cards))
        section = self._section(planned.title, planned.kind, [c.key for c in cards], [draft])
        if len(cards) < 3:
            # Few abstracts state a limitation: the section stays short and says so, rather than padding.
            said = "1 of the surveyed papers' abstracts states" if len(cards) == 1 else \
                f"{len(cards)} of the surveyed papers' abstracts state"
            section.text = f"This section is short: only {said} a limitation or an open question."
        return [section]

    def _group_size(self, model: str) -> int:
        # A 1.5B model keeps track of ~5 papers per call; a remote model handles more.
        return 5 if model == "local" else 6

    @staticmethod
    def _open_problem_cards(outline: Outline, cards: dict[str, PaperCard], scope: Scope) -> list[PaperCard]:
        """Up to 6 papers whose abstracts name what remains hard, spread over the themes."""
        picked: list[PaperCard] = []
        for theme in outline.themes:
            # A limitation the paper states, not a sentence about what it contributes ("we propose ...").
            with_limit = [cards[k] for k in theme.keys if cards[k].limitation and not contributes(cards[k].limitation)]
            with_limit.sort(key=lambda c: -scope.relevance.get(c.key, 0.0))
            picked += with_limit[:2]
        picked.sort(key=lambda c: -scope.relevance.get(c.key, 0.0))
        return picked[:6]

    @staticmethod
    def _numbered(run: _Run) -> list[tuple[str, Section | None, Planned]]:
        """Every section of a survey with its number as rendered ("2", or "2.1" for a subsection), in order; None
        for the code-written ones (not built yet when the introduction is)."""
        out: list[tuple[Section | None, Planned]] = []
        for planned in run.plan.sections:
            built = run.built.get(planned.kind) if not planned.kind.code_written else None
            for section in built if built is not None else [None]:
                out.append((section, planned))
        numbers = numbering([s.parent if s is not None else "" for s, _ in out])
        return [(number, s, planned) for number, (s, planned) in zip(numbers, out)]

    @staticmethod
    def _papers(n: int) -> str:
        return f"{n} paper{'s' if n != 1 else ''}"

    def _introduction(self, planned: Planned, run: _Run) -> list[Section]:
        """Code-written: what the survey covers (topic, papers, years, sources), why that many, and its structure.

        It repeats no sentence of the body, and cites nothing: each sentence is about the survey itself and
        starts by naming it or one of its sections ("This survey ...", "Section 2 ..."), which `survey verify`
        reads as no claim about a paper (`check.claims.about_document`).
        """
        themes = run.built[SectionKind.THEME]
        placed = [k for s in themes for k in s.keys]
        years = sorted(year for k in placed if (year := run.cards[k].year))
        span = (f", published {years[0]}–{years[-1]}" if years[0] != years[-1] else f", published in {years[0]}") if years else ""
        sources = sorted(sources_of(self.store.catalog.papers(placed)).items(), key=lambda x: (-x[1], x[0]))
        origin = " from the store"
        if any(re.search(r"[0-9a-f]{12}", name) for name, _ in sources):
            sources = []  # generated file names ("000_8a34393494af.txt") tell a reader nothing
        if len(sources) == 1:
            origin = f", all from the store's {sources[0][0]}"
        elif sources:
            named = [f"{name} ({n})" for name, n in sources[:4]]
            rest = sum(n for _, n in sources[4:])
            origin = ", drawn from the store's " + names_list(named + ([f"{len(sources) - 4} other files ({rest})"] if rest else []))
        sentences = [f"This survey covers {self._papers(len(placed))} on {run.plan.subject}{span}{origin}."]
        summary = run.scope.summary  # why the set is that size, as the scope stage tells it ("" for a user outline)
        if summary and not about_document(summary):  # said as the survey's own sentence: it reads as no claim
            lower = summary[:1].lower() if summary[1:2].islower() else summary[:1]
            summary = f"This survey's scope: {lower}{summary[1:]}"
        if summary:
            sentences.append(summary)
        parts = []
        for number, section, part in self._numbered(run)[1:]:
            if part.kind == SectionKind.THEME and section is not None:
                parts.append(f"Section {number} covers *{section.title}* ({self._papers(len(section.keys))})")
            elif part.kind == SectionKind.OPEN_PROBLEMS and section is not None:
                whose = "1 paper's abstract" if len(section.cited) == 1 else f"{len(section.cited)} papers' abstracts"
                none = "none passed verification" if section.keys else "no abstract names one"
                parts.append(f"Section {number} gathers the open problems that {whose} name" if section.sentences
                             else f"Section {number} would list open problems, but {none}")
            elif part.kind == SectionKind.CONCLUSION:
                parts.append(f"Section {number} sums up what the survey found")
        if parts:
            sentences.append("; ".join(parts) + ".")
        intro = Section(planned.title, planned.kind)
        intro.text = " ".join(sentences)
        return [intro]

    def _conclusion(self, planned: Planned, run: _Run) -> list[Section]:
        """Code-written: a synthesis of the survey's own structure (largest themes, coverage, what verification
        kept, what the open problems section found), citing nothing and copying no body sentence."""
        numbered = self._numbered(run)
        themes = [s for _, s, p in numbered if s is not None and p.kind == SectionKind.THEME]
        drafted = [s for _, s, p in numbered if s is not None]
        placed = list(dict.fromkeys(k for s in themes for k in s.keys))
        sentences = []
        if len(themes) > 1:
            ranked = sorted(themes, key=lambda s: -len(s.keys))
            top = [f"*{s.title}*" for s in ranked if len(s.keys) == len(ranked[0].keys)]
            if len(top) == 1:
                others = names_list([f"*{s.title}* ({len(s.keys)})" for s in ranked[1:3]])
                sentences.append(f"This survey's largest theme is {top[0]}, with {len(ranked[0].keys)} of its "
                                 f"{self._papers(len(placed))}, followed by {others}.")
            else:
                sentences.append(f"This survey's largest themes are {names_list(top)}, with {len(ranked[0].keys)} of its "
                                 f"{self._papers(len(placed))} each.")
        elif themes:
            sentences.append(f"This survey gathers its {self._papers(len(placed))} in one theme, *{themes[0].title}*.")
        cited = {k for s in drafted for k in s.cited}
        n_cited = sum(k in cited for k in placed)
        sentences.append(f"This survey cites every one of the {self._papers(len(placed))} it placed." if n_cited == len(placed)
                         else f"This survey cites {n_cited} of the {self._papers(len(placed))} it placed; the appendix "
                         "gives the reason for each of the others.")
        kept = [x for s in drafted for x in s.sentences if x.kind != SentenceKind.POSITION]
        judged = sum(s.claims for s in drafted)
        if judged:
            supported = sum(x.status == "supported" for x in kept)
            rest = "; the appendix lists the rest" if len(kept) < judged else ""
            sentences.append(f"This survey kept {len(kept)} of the {judged} drafted sentences checked against the "
                             f"cited abstracts, {supported} of them judged supported{rest}.")
        for number, section, part in numbered:
            if part.kind == SectionKind.OPEN_PROBLEMS and section is not None:
                if section.sentences:
                    where = [f"*{s.title}*" for s in themes if set(s.keys) & set(section.cited)]
                    sentences.append(f"Section {number} draws its open problems from {self._papers(len(section.cited))}"
                                     + (f", in {names_list(where)}." if where else "."))
                else:
                    sentences.append(f"Section {number} found no open problem in the abstracts that passed verification."
                                     if section.keys else f"Section {number} found no abstract that names an open problem.")
        conclusion = Section(planned.title, planned.kind)
        conclusion.text = " ".join(sentences)
        return [conclusion]

    def _table(self, survey: Survey, cards: dict[str, PaperCard], outline: Outline) -> list[dict[str, Any]]:
        """A row per cited paper: its kind of method, whether it trains, the benchmarks it names and a headline
        result, each found in its abstract (facets); its year is the store's (None if unknown)."""
        cited = set(survey.cited)
        years = {p["key"]: p.get("year") for p in survey.references}
        rows = []
        for theme in outline.themes:
            for key in theme.keys:
                card = cards[key]
                if key in cited:
                    rows.append({"key": key, "title": card.title, "year": years.get(key), "theme": theme.name,
                                 "method": card.method_kind, "training": card.training,
                                 "task": ", ".join(card.datasets[:2]), "headline": card.headline})
        return rows

    def _assemble(self, kind: str, topic: str, title: str, model: str, scope: Scope, parts: list[Section],
                  cards: dict[str, PaperCard], outline: Outline, missing: dict[str, str], timings: dict[str, float],
                  **settings: Any) -> Survey:
        cited = list(dict.fromkeys(k for s in parts for k in s.cited))
        references = []
        for key in cited:
            paper = self.store.catalog.get(key)
            if paper is None:  # never: the gate only lets through keys of the store's papers
                raise SurveyError(f"internal: cited key {key!r} is not in the store")
            references.append(paper.to_dict())
        placed = [k for th in outline.themes for k in th.keys]
        cited_set = set(cited)
        coverage = {
            "placed": len(placed),
            "cited": sum(k in cited_set for k in placed),
            "missing": [{"key": k, "reason": missing.get(k, "no sentence about it passed verification")}
                        for k in placed if k not in cited_set],
        }
        timings["total"] = time.perf_counter() - self._started
        usage = {k: v - self._usage_before.get(k, 0) for k, v in self.llm.usage.to_dict().items()}  # this run only
        judge = self.checker.judge
        return Survey(
            kind=kind, topic=topic, title=title, created=_dt.date.today().isoformat(), model=model,
            settings={**settings, "judge": judge.name, "judge_caveat": judge.caveat, "repair": self.settings.repair,
                      "store": str(self.store.root), "themes": [{"name": t.name, "named_by": t.named_by,
                                                                 "keywords": t.keywords} for t in outline.themes],
                      "silhouette": outline.k_tried},
            scope=scope, sections=parts, references=references, coverage=coverage, usage=usage,
            timings={k: round(v, 2) for k, v in timings.items()},
        )

    def _save(self, survey: Survey, path: Path, state: RunState, outline: Path | None) -> Survey:
        """BibTeX and JSON first, Markdown last: a Markdown file on disk means the run finished."""
        self._emit("write", f"writing {path}")
        bib, js = path.with_suffix(".bib"), path.with_suffix(".json")
        survey.files = {"markdown": str(path), "bib": str(bib), "json": str(js), "run": str(state.folder)}
        if outline is not None:
            survey.files["outline"] = str(outline)
        write_atomic(bib, bibtex(survey))
        write_atomic(js, to_json(survey))
        write_atomic(path, markdown(survey))
        state.write_text("written.json", json.dumps({"sha256": file_sha256(path)}))
        return survey

    # --- related work --------------------------------------------------------------------------
    def related_work(self, request: RelatedWorkRequest) -> Survey:
        """2-4 paragraphs positioning the user's paper against the store, every --cite key discussed."""
        self.store.require_papers()
        self._start_run()
        path = self._output(request)
        with RunState(self._run_folder(path), request.fresh) as state:
            return self._related(state, path, request)

    def _related(self, state: RunState, path: Path, request: RelatedWorkRequest) -> Survey:
        """Related work: a paragraph per theme, each ending by positioning the user's paper; every --cite key
        discussed, and reported as discussed."""
        title, abstract, papers, exclude, model = request.title, request.abstract, request.papers, request.exclude, request.model
        cite = list(dict.fromkeys(request.cite or []))
        topic = f"{title}. {abstract}"

        def scope() -> Scope:
            self._emit("scope", f"searching the store for work related to {title!r}")
            # Judged against the title (what the paper is about); the abstract's key sentences only search.
            return find_scope(self.store, title, papers, cite, exclude, best_sentences(abstract, title, 2),
                              noun="section discusses", about="relate to")

        plan = Plan(
            "related-work", f"Related work for “{title}”", topic, title, RELATED_WORK, papers, request.sections, (2, 4),
            scope_inputs={"title": title, "abstract": abstract, "cite": cite, "papers": papers, "exclude": exclude,
                          "generation": self.store.catalog.generation},
            find_scope=scope,
            no_cards=lambda _: f"none of the papers found for {title!r} has an abstract to write from",
            announce=lambda kept, _, themes, groups: f"kept {kept} papers; {themes} paragraphs, {groups} groups",
            abstract=abstract, must_cite=cite,
        )
        return self._run(state, path, plan, model)

    def _position(self, state: RunState, abstract: str, titles: list[str], ours: str, names: str,
                  model: str | None, theme: str) -> str:
        """One sentence on how the user's paper relates to a paragraph's closest works (about the user's paper:
        not verified)."""
        inputs = {"abstract": abstract, "titles": titles, "ours": ours, "names": names,
                  "model": model or self.settings.model}
        stage = f"position-{digest_of(theme)}"
        saved = state.load(stage, inputs)
        if saved is not None:
            return str(saved)
        reply = self.llm.complete([{"role": "user", "content": render_template("write_position", titles=titles)}],
                                  model=model, max_tokens=24, allow_empty=True).text
        sentence = position_sentence(their_phrase(reply, abstract), ours, names)
        state.save(stage, inputs, sentence)
        return sentence


def _norm(text: str) -> str:
    return " ".join(text.split())


RESTATED = 0.6  # share of a sentence's words, in order, that an earlier sentence on the same papers has


def _restates(sentence: Sentence, said: list[tuple[frozenset[str], list[str]]]) -> bool:
    """True when an earlier sentence citing the same papers says nearly the same words ("X is a MLLM designed
    for documents ..." then "X presents a MLLM designed for documents ...")."""
    keys, mine = frozenset(sentence.keys), words(sentence.text)
    return bool(keys) and any(k == keys and lcs_ratio(mine, theirs) >= RESTATED for k, theirs in said)


def drop_repeats(sections: list[Section]) -> dict[str, str]:
    """Remove every sentence (drafted, or of a section's code-written text) whose text appeared earlier in the
    document, after whitespace is normalised, and every drafted one that restates an earlier sentence on the
    same papers: no sentence is said twice. A removed drafted sentence is listed
    among its section's flagged ones and the section's scores are recounted. Returns, for each paper no longer
    cited because of it, why (for coverage)."""
    before = {k for s in sections for k in s.cited}
    seen: set[str] = set()
    said: list[tuple[frozenset[str], list[str]]] = []
    for section in sections:
        if section.text:
            kept = []
            for sentence in cited_sentences(section.text):
                if _norm(sentence.text) not in seen:
                    seen.add(_norm(sentence.text))
                    kept.append(sentence.text)
            section.text = " ".join(kept)
        sentences = []
        for s in section.sentences:
            if _norm(s.text) in seen or _restates(s, said):
                section.flagged.append({"text": s.text, "status": s.status, "repair": "removed as a repeat",
                                        "keys": s.keys, "verdicts": s.verdicts})
                continue
            seen.add(_norm(s.text))
            said.append((frozenset(s.keys), words(s.text)))
            sentences.append(s)
        if len(sentences) < len(section.sentences):
            section.sentences = sentences
            SurveyWriter._score(section)
    after = {k for s in sections for k in s.cited}
    return {k: "its only sentence repeated an earlier one and was removed" for k in before - after}


def digest_of(text: str) -> str:
    """A short, stable stage-file name part for a theme's name."""
    return sha256(text)[:8]
