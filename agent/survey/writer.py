"""The survey pipeline: scope -> cards -> outline -> draft (attribute-first) -> check -> render.

Each stage's result is saved in the run folder beside the output, keyed by a hash of its inputs; a
rerun of the same command reuses what is done and goes on from there.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.core.errors import SurveyError
from agent.core.templates import render_template
from agent.survey.cards import make_card
from agent.survey.draft import Drafter, GroupDraft, groups_of
from agent.survey.models import (
    Outline,
    PaperCard,
    RelatedWorkRequest,
    Scope,
    Section,
    Sentence,
    Survey,
    SurveyRequest,
    from_dict,
)
from agent.survey.outline import make_outline, outline_markdown, parse_outline
from agent.survey.position import contribution, position_sentence, their_phrase
from agent.survey.render import bibtex, markdown, to_json
from agent.survey.scope import find_scope, key_phrases, sources_of
from agent.survey.state import RunState, write_atomic

if TYPE_CHECKING:
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient
    from agent.store.store import Store


@dataclass
class ProgressEvent:
    """What the writer is doing, for a progress display (the CLI prints it on stderr)."""

    stage: str  # scope | outline | draft | open_problems | related | write
    message: str
    done: int = 0
    total: int = 0
    elapsed: float = 0.0
    tokens: int = 0
    remaining: float | None = None  # estimated seconds left, when known


OnProgress = Callable[[ProgressEvent], None]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SurveyWriter:
    """Writes surveys and related-work sections from one store with one LLM client."""

    def __init__(self, store: "Store", settings: "Settings", llm: "LLMClient", on_progress: OnProgress | None = None) -> None:
        from agent.check.checker import Checker

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

    def _output(self, output: str | Path | None, default_name: str, force: bool) -> Path:
        """The Markdown path; refuses to overwrite a file this tool did not write as it is now."""
        path = Path(output) if output else Path("outputs") / f"{default_name}.md"
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
            ours = manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("sha256") == _sha(path)
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

    def _cards(self, state: RunState, scope: Scope, topic: str) -> dict[str, PaperCard]:
        inputs = {"keys": scope.keys, "topic": topic, "generation": self.store.catalog.generation}
        saved = state.load("cards", inputs)
        if saved is not None:
            return {c["key"]: from_dict(PaperCard, c) for c in saved}
        papers = self.store.catalog.papers(scope.keys)
        cards = [make_card(p, topic) for p in papers if p.abstract]
        state.save("cards", inputs, [asdict(c) for c in cards])
        return {c.key: c for c in cards}

    def _outline(self, state: RunState, cards: dict[str, PaperCard], topic: str, sections: int | None,
                 k_range: tuple[int, int], user_outline: Outline | None, model: str | None) -> Outline:
        if user_outline is not None:
            return user_outline
        keys = list(cards)
        inputs = {"keys": keys, "sections": sections, "k_range": k_range, "model": model or self.settings.model,
                  "generation": self.store.catalog.generation}
        saved = state.load("outline", inputs)
        if saved is not None:
            return Outline.from_dict(saved)
        vectors_by_key = self.store.paper_vectors(keys)
        vectors = [vectors_by_key[k] for k in keys] if vectors_by_key and all(k in vectors_by_key for k in keys) else None
        self._emit("outline", f"clustering {len(keys)} papers into themes")
        outline = make_outline([cards[k] for k in keys], vectors, topic, self.llm, k_range, sections, model)
        state.save("outline", inputs, asdict(outline))
        return outline

    def _estimate(self, groups: int, papers: int, model: str) -> float:
        """Seconds the drafting will take: llama.cpp speeds measured on 2 cores, or ~3 s per remote call."""
        if model == "local":
            # Measured (bench/write.py): ~15 s per group (cards prefix, comparison) and ~9 s per paper (its
            # call, ~35 tokens generated at ~8 tok/s, sometimes a rewording call, verification).
            return groups * 15.0 + papers * 9.0
        return groups * 3.0 + papers * 1.5

    def _draft_group(self, state: RunState, drafter: Drafter, cards: list[PaperCard], theme: str, kind: str,
                     stage: str, model: str | None, compare: bool = True) -> GroupDraft:
        inputs = {"keys": [asdict(c) for c in cards], "theme": theme, "topic": drafter.topic, "kind": kind,
                  "model": model or self.settings.model, "judge": self.settings.verify_model,
                  "repair": self.settings.repair, "compare": compare}
        saved = state.load(stage, inputs)
        if saved is not None:
            return GroupDraft(saved["keys"], [from_dict(Sentence, s) for s in saved["sentences"]], saved["flagged"],
                              saved["problems"], saved["judged"], saved["draft_recall"], saved["missing"])
        result = drafter.draft(cards, theme, kind, compare)
        state.save(stage, inputs, result.to_dict())
        return result

    @staticmethod
    def _section(title: str, kind: str, keys: list[str], drafts: list[GroupDraft], keywords: list[str] | None = None) -> Section:
        section = Section(title, kind, keys, keywords or [])
        for n, draft in enumerate(drafts):
            for s in draft.sentences:
                s.group = n
                section.sentences.append(s)
            section.flagged += draft.flagged
            section.problems += draft.problems
            section.claims += draft.judged
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
        path = self._output(request.output, request.default_name, request.force)
        with RunState(self._run_folder(path), request.fresh) as state:
            return self._write(state, path, request.topic, request.papers, request.sections, outline, outline_text,
                               user_outline, request.include, request.exclude, request.model)

    def _write(self, state: RunState, path: Path, topic: str, papers: int, sections: int | None,
               outline: str | Path | None, outline_text: str, user_outline: Outline | None,
               include: list[str] | None, exclude: list[str] | None, model: str | None) -> Survey:
        timings: dict[str, float] = {}

        # 1. Scope
        t = time.perf_counter()
        scope_inputs = {"topic": topic, "papers": papers, "include": include, "exclude": exclude,
                        "outline": outline_text, "generation": self.store.catalog.generation}
        saved = state.load("scope", scope_inputs)
        if saved is not None:
            scope = from_dict(Scope, saved)
        elif user_outline is not None:
            keys = [k for th in user_outline.themes for k in th.keys]
            scope = Scope(topic, [], keys, {k: 1.0 for k in keys}, sources_of(self.store.catalog.papers(keys)), len(keys), 0, keys)
        else:
            self._emit("scope", f"searching the store for {topic!r}")
            scope = find_scope(self.store, topic, papers, include, exclude)
        state.save("scope", scope_inputs, asdict(scope))
        timings["scope"] = time.perf_counter() - t

        # 2. Cards, 3. Outline
        t = time.perf_counter()
        cards = self._cards(state, scope, topic)
        if not cards:
            raise SurveyError(f"none of the {len(scope.keys)} papers found for {topic!r} has an abstract to write from")
        the_outline = self._outline(state, cards, topic, sections, (2, 6), user_outline, model)
        for theme in the_outline.themes:
            theme.keys = [k for k in theme.keys if k in cards]
        the_outline.themes = [th for th in the_outline.themes if th.keys]
        titles = {k: c.title for k, c in cards.items()}
        outline_path = path.with_name(path.stem + ".outline.md")
        write_atomic(outline_path, outline_markdown(the_outline, topic, titles))
        timings["outline"] = time.perf_counter() - t
        model_name = model or self.settings.model
        plan = [(th, g) for th in the_outline.themes for g in groups_of(th.keys, self._group_size(model_name))]
        estimate = self._estimate(len(plan) + 1, len(cards), model_name)
        source_list = ", ".join(f"{n} from {name}" for name, n in sorted(scope.sources.items(), key=lambda x: -x[1]))
        self._emit("scope", f"kept {len(cards)} papers ({source_list}); {len(the_outline.themes)} themes, "
                   f"{len(plan)} groups to draft; about {estimate / 60:.1f} min", remaining=estimate)

        # 4-6. Draft, gate, verify, repair: one group at a time, each saved as it finishes
        t = time.perf_counter()
        drafter = Drafter(self.llm, self.checker, topic, model)
        by_theme = self._draft_all(state, drafter, plan, cards, model, estimate)
        theme_sections = [self._section(th.name, "theme", th.keys, by_theme.get(th.name, []), th.keywords)
                          for th in the_outline.themes]
        open_cards = self._open_problem_cards(the_outline, cards, scope)
        open_section = Section("Open problems", "open_problems")
        if open_cards:
            self._emit("open_problems", f"open problems from {len(open_cards)} papers")
            draft = self._draft_group(state, drafter, open_cards, "Open problems", "open_problem", "open-problems", model)
            open_section = self._section("Open problems", "open_problems", [c.key for c in open_cards], [draft])
        timings["draft_and_verify"] = time.perf_counter() - t

        intro = self._introduction(topic, cards, theme_sections)
        conclusion = self._conclusion(theme_sections, intro)
        all_sections = [intro, *theme_sections, open_section, conclusion]
        missing = {k: r for d in by_theme.values() for g in d for k, r in g.missing.items()}
        survey = self._assemble("survey", topic, f"{topic[:1].upper()}{topic[1:]}: a survey", model_name, scope,
                                all_sections, cards, the_outline, missing, timings, papers=papers, sections=sections)
        survey.outline_file = str(outline) if outline else str(outline_path)
        survey.table = self._table(survey, cards, the_outline)
        return self._save(survey, path, state)

    def _draft_all(self, state: RunState, drafter: Drafter, plan: list[tuple[Any, list[str]]],
                   cards: dict[str, PaperCard], model: str | None, estimate: float,
                   compare: bool = True) -> dict[str, list[GroupDraft]]:
        """Every group of the plan, in order, each saved as it finishes; progress after each."""
        t = time.perf_counter()
        by_theme: dict[str, list[GroupDraft]] = {}
        verified = kept = 0
        for n, (theme, group) in enumerate(plan):
            left = estimate if n == 0 else (time.perf_counter() - t) / n * (len(plan) - n)
            done = f"; {kept}/{verified} sentences supported so far" if verified else ""
            self._emit("draft", f"drafting {theme.name!r} ({len(group)} papers){done}", n, len(plan), left)
            draft = self._draft_group(state, drafter, [cards[k] for k in group], theme.name, "paper",
                                      f"draft-{digest_of(theme.name)}-{n}", model, compare)
            verified += draft.judged
            kept += sum(s.status == "supported" for s in draft.sentences)
            by_theme.setdefault(theme.name, []).append(draft)
        self._emit("draft", f"drafted every group; {kept}/{verified} sentences supported", len(plan), len(plan), 0.0)
        return by_theme

    def _group_size(self, model: str) -> int:
        # A 1.5B model keeps track of ~5 papers per call; a remote model handles more.
        return 5 if model == "local" else 6

    @staticmethod
    def _open_problem_cards(outline: Outline, cards: dict[str, PaperCard], scope: Scope) -> list[PaperCard]:
        """Up to 6 papers whose abstracts name what remains hard, spread over the themes."""
        picked: list[PaperCard] = []
        for theme in outline.themes:
            with_limit = [cards[k] for k in theme.keys if cards[k].limitation]
            with_limit.sort(key=lambda c: -scope.relevance.get(c.key, 0.0))
            picked += with_limit[:2]
        picked.sort(key=lambda c: -scope.relevance.get(c.key, 0.0))
        return picked[:6]

    @staticmethod
    def _best(section: Section, used: set[str]) -> Sentence | None:
        """The section's most strongly supported single-paper sentence not used yet."""
        candidates = [s for s in section.sentences if s.status == "supported" and s.kind == "paper" and s.text not in used]
        if not candidates:
            return None
        return max(candidates, key=lambda s: max((v["score"] for v in s.verdicts if v["label"] == "SUPPORTED"), default=0.0))

    def _introduction(self, topic: str, cards: dict[str, PaperCard], themes: list[Section]) -> Section:
        """Code-written: what the survey covers, then one verified sentence from each theme.

        The lead is one sentence ending in a colon: it states no finding, so it needs no citation.
        """
        years = sorted(c.year for c in cards.values() if c.year)
        span = f", published {years[0]}–{years[-1]}," if years and years[0] != years[-1] else (f", published {years[0]}," if years else "")
        names = "; ".join(f"{s.title} ({len(s.keys)} papers)" for s in themes)
        intro = Section("Introduction", "introduction")
        used: set[str] = set()
        for section in themes:
            best = self._best(section, used)
            if best is not None:
                used.add(best.text)
                intro.sentences.append(replace(best, group=0))
        count = f"{len(themes)} theme{'s' if len(themes) != 1 else ''}"
        tail = "with one checked finding from each:" if intro.sentences else "each summarized in its own section below:"
        intro.text = f"This survey covers {len(cards)} papers on {topic} from the store{span} in {count} ({names}), {tail}"
        return intro

    def _conclusion(self, themes: list[Section], intro: Section) -> Section:
        """Code-written: the verified comparisons, else each theme's next strongest verified sentence."""
        conclusion = Section("Conclusion", "conclusion")
        used = {s.text for s in intro.sentences}
        for section in themes:
            for s in section.sentences:
                if s.kind == "comparison" and s.status == "supported" and s.text not in used:
                    conclusion.sentences.append(replace(s, group=0))
                    used.add(s.text)
        if not conclusion.sentences:
            for section in themes:
                best = self._best(section, used)
                if best is not None:
                    used.add(best.text)
                    conclusion.sentences.append(replace(best, group=0))
        comparisons = any(s.kind == "comparison" for s in conclusion.sentences)
        conclusion.text = ("Set side by side, the papers compare as follows (each comparison checked against both abstracts):"
                           if comparisons else "No comparison between papers passed verification; the strongest "
                           "remaining finding of each theme is:" if conclusion.sentences
                           else "The comparison table above sets the papers' reported results side by side:")
        return conclusion

    def _table(self, survey: Survey, cards: dict[str, PaperCard], outline: Outline) -> list[dict[str, Any]]:
        cited = set(survey.cited)
        rows = []
        for theme in outline.themes:
            for key in theme.keys:
                card = cards[key]
                if key in cited and (card.datasets or card.headline):
                    rows.append({"key": key, "title": card.title, "year": card.year, "theme": theme.name,
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
        judge = self.checker.verifier.judge
        return Survey(
            kind=kind, topic=topic, title=title, created=_dt.date.today().isoformat(), model=model,
            settings={**settings, "judge": judge.name, "judge_caveat": judge.caveat, "repair": self.settings.repair,
                      "store": str(self.store.root), "themes": [{"name": t.name, "named_by": t.named_by,
                                                                 "keywords": t.keywords} for t in outline.themes],
                      "silhouette": outline.k_tried},
            scope=scope, sections=parts, references=references, coverage=coverage, usage=usage,
            timings={k: round(v, 2) for k, v in timings.items()},
        )

    def _save(self, survey: Survey, path: Path, state: RunState) -> Survey:
        """BibTeX and JSON first, Markdown last: a Markdown file on disk means the run finished."""
        self._emit("write", f"writing {path}")
        bib, js = path.with_suffix(".bib"), path.with_suffix(".json")
        survey.files = {"markdown": str(path), "bib": str(bib), "json": str(js), "run": str(state.folder)}
        if survey.kind == "survey":
            survey.files["outline"] = str(path.with_name(path.stem + ".outline.md"))
        write_atomic(bib, bibtex(survey))
        write_atomic(js, to_json(survey))
        write_atomic(path, markdown(survey))
        state.write_text("written.json", json.dumps({"sha256": _sha(path)}))
        return survey

    # --- related work --------------------------------------------------------------------------
    def related_work(self, request: RelatedWorkRequest) -> Survey:
        """2-4 paragraphs positioning the user's paper against the store, every --cite key discussed."""
        self.store.require_papers()
        self._start_run()
        cite = list(dict.fromkeys(request.cite or []))
        path = self._output(request.output, request.default_name, request.force)
        with RunState(self._run_folder(path), request.fresh) as state:
            return self._related(state, path, request.title, request.abstract, cite, request.papers,
                                 request.sections, request.exclude, request.model)

    def _related(self, state: RunState, path: Path, title: str, abstract: str, cite: list[str], papers: int,
                 sections: int | None, exclude: list[str] | None, model: str | None) -> Survey:
        timings: dict[str, float] = {}
        from agent.evidence import best_sentences

        t = time.perf_counter()
        topic = f"{title}. {abstract}"
        queries = list(dict.fromkeys([title, *key_phrases(title), *best_sentences(abstract, title, 2)]))
        scope_inputs = {"title": title, "abstract": abstract, "cite": cite, "papers": papers, "exclude": exclude,
                        "generation": self.store.catalog.generation}
        saved = state.load("scope", scope_inputs)
        if saved is not None:
            scope = from_dict(Scope, saved)
        else:
            self._emit("scope", f"searching the store for work related to {title!r}")
            scope = find_scope(self.store, topic, papers, cite, exclude, queries)
            state.save("scope", scope_inputs, asdict(scope))
        timings["scope"] = time.perf_counter() - t
        cards = self._cards(state, scope, topic)
        no_abstract = [k for k in cite if k not in cards]
        if len(cards) == 0:
            raise SurveyError(f"none of the papers found for {title!r} has an abstract to write from")
        the_outline = self._outline(state, cards, title, sections, (2, 4), None, model)
        model_name = model or self.settings.model
        plan = [(th, g) for th in the_outline.themes for g in groups_of(th.keys, self._group_size(model_name))]
        estimate = self._estimate(len(plan) + len(the_outline.themes), len(cards), model_name)
        self._emit("scope", f"kept {len(cards)} papers; {len(the_outline.themes)} paragraphs, {len(plan)} groups; "
                   f"about {estimate / 60:.1f} min", remaining=estimate)
        t = time.perf_counter()
        drafter = Drafter(self.llm, self.checker, title, model)
        # With the local model a related-work section spends its time on the papers and on positioning the
        # user's paper, not on comparing two store papers with each other (~7 s a group on 2 cores).
        by_theme = self._draft_all(state, drafter, plan, cards, model, estimate, compare=model_name != "local")
        sections_out = []
        for theme in the_outline.themes:
            section = self._section(theme.name, "theme", theme.keys, by_theme.get(theme.name, []), theme.keywords)
            position = self._position(state, title, abstract, [cards[k].title for k in section.cited if k in cards],
                                      model, theme.name)
            if position and position in {x.text for sec in sections_out for x in sec.sentences}:
                position = ""  # the same sentence under every paragraph positions nothing
            if position and section.sentences:
                section.sentences.append(Sentence(position, position, [], "position", "position",
                                                  group=max(s.group for s in section.sentences)))
            sections_out.append(section)
        timings["draft_and_verify"] = time.perf_counter() - t
        missing = {k: r for d in by_theme.values() for g in d for k, r in g.missing.items()}
        for key in no_abstract:
            missing[key] = "it has no abstract in the store to write from"
        survey = self._assemble("related-work", title, f"Related work for “{title}”", model_name, scope, sections_out,
                                cards, the_outline, missing, timings, papers=papers, sections=sections, cite=cite)
        survey.abstract = abstract
        cited = set(survey.cited)
        survey.coverage["must_cite"] = {k: k in cited for k in cite}
        return self._save(survey, path, state)

    def _position(self, state: RunState, title: str, abstract: str, titles: list[str], model: str | None, theme: str) -> str:
        """One sentence on how the user's paper relates to a paragraph's papers (about the user's paper: not verified)."""
        if not titles:
            return ""
        inputs = {"title": title, "abstract": abstract, "titles": titles, "model": model or self.settings.model}
        stage = f"position-{digest_of(theme)}"
        saved = state.load(stage, inputs)
        if saved is not None:
            return str(saved)
        ours = contribution(abstract)
        if not ours:
            state.save(stage, inputs, "")
            return ""  # no "we propose ..." sentence to say what the user's paper does
        reply = self.llm.complete([{"role": "user", "content": render_template("write_position", titles=titles)}],
                                  model=model, max_tokens=24, allow_empty=True).text
        sentence = position_sentence(their_phrase(reply, abstract), ours)
        state.save(stage, inputs, sentence)
        return sentence


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
