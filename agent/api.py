"""`SurveyAgent`: the library entry point the CLI, the MCP server and other agents call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

from agent.ask import Answer, Asker, Conversation
from agent.core.errors import SurveyError
from agent.core.paper import Paper
from agent.core.settings import Settings
from agent.llm.client import LLMClient, OnToken
from agent.sources import FORMATS
from agent.store.ingest import IngestReport, ingest_paths
from agent.store.search import Filters, SearchHit
from agent.store.store import Progress, Store

if TYPE_CHECKING:
    from agent.check.evaluate import EvalShape
    from agent.check.verdict import Verdict
    from agent.check.verify import VerificationReport, Verifier
    from agent.store.doctor import DoctorReport
    from agent.survey import Survey
    from agent.survey.models import RelatedWorkRequest, SurveyRequest
    from agent.survey.writer import OnProgress


# The JSON shapes of `remove` and `export` (docs/schema/ is generated from them by agent.schema).
class RemoveShape(TypedDict):
    """`survey remove --json`."""

    removed: list[str]
    kept_from_other_files: list[str]
    papers_in_store: int


class ExportShape(TypedDict):
    """`survey export --bib --json`."""

    entries: int
    output: str | None
    bibtex: str


def _filters(filters: Filters | None, year_from: int | None, year_to: int | None, source: str | None) -> Filters:
    """`filters`, or the filters the keyword arguments name (a call gives one or the other)."""
    named = Filters(year_from, year_to, source)
    if filters is None:
        return named
    if named != Filters():
        raise SurveyError("pass either filters= or year_from / year_to / source, not both")
    return filters


def sample_papers() -> Path:
    """The bundled sample corpus (three paper-listing pages)."""
    return Path(str(resources.files("agent") / "data" / "sample"))


class SurveyAgent:
    """A paper store and what can be done with it.

    >>> agent = SurveyAgent(store="store")
    >>> agent.ingest(["papers.bib"])
    >>> agent.search("long video benchmark", k=5)
    """

    def __init__(self, store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        settings = settings or Settings()
        self.settings = settings.with_overrides(store=Path(store) if store is not None else None, **overrides)
        self.store = Store(self.settings)
        self._llm: LLMClient | None = None
        self._verifier: "Verifier | None" = None
        self._lock = threading.RLock()  # threads sharing this agent build its client and verifier once

    def ingest(self, paths: Iterable[str | Path], format: str | None = None, progress: Progress | None = None) -> IngestReport:
        """Add papers from files or folders; then bring vectors and keyword index up to date."""
        if format is not None and format not in FORMATS:
            raise SurveyError(f"unknown --format {format!r}; use one of {', '.join(FORMATS)}")
        started = time.perf_counter()
        chunking = (self.settings.chunk_chars, self.settings.chunk_overlap)
        report = ingest_paths(self.store.catalog, [Path(p) for p in paths], format, chunking, progress)
        report.embedded = self.store.sync(progress)
        report.papers_in_store = self.store.catalog.count()
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, keys: Iterable[str] = (), source: str | Path | None = None) -> dict[str, Any]:
        """Remove papers by key, or every paper read from file `source` (one also read from another file
        only loses that source). Catalog, vectors and keyword index change together; an unknown key or
        a file the store never read is an error and nothing is removed."""
        keys = list(dict.fromkeys(keys))
        if not keys and source is None:
            raise SurveyError("name the papers to remove: KEY... or --source FILE")
        self.store.require_papers()
        catalog = self.store.catalog
        unknown = [k for k in keys if catalog.get(k) is None]
        if unknown:
            raise SurveyError(f"no paper with key {', '.join(unknown)} in the store; `survey papers` lists the keys")
        shared: list[str] = []
        path = str(Path(source).expanduser().resolve()) if source is not None else ""
        if path:
            only, shared = catalog.from_source(path)
            if not only and not shared and catalog.file(path) is None:
                raise SurveyError(f"the store has no papers read from {source}; `survey papers` shows each paper's source")
            keys += [k for k in only if k not in keys]
        with catalog.transaction():
            removed = catalog.remove(keys)
            for key in shared:
                if key not in removed:
                    catalog.drop_source(key, path)
            if path:
                catalog.forget_file(path)
        self.store.sync()
        return {"removed": removed, "kept_from_other_files": [k for k in shared if k not in removed],
                "papers_in_store": catalog.count()}

    def doctor(self, fix: bool = False) -> "DoctorReport":
        """Check catalog integrity and that keyword index and vectors match the catalog; with `fix`,
        restore a damaged catalog from its newest backup and rebuild what is derived from it."""
        from agent.store.doctor import diagnose

        return diagnose(self.store, fix)

    def bibtex(self, keys: Iterable[str] = ()) -> str:
        """BibTeX of the given papers (all papers without keys), written as the survey writes its `.bib`."""
        from agent.survey.render import bibtex_entries

        keys = list(keys)
        found = [self.paper(k) for k in keys] if keys else self.papers()
        unknown = [k for k, p in zip(keys, found) if p is None]
        if unknown:
            raise SurveyError(f"no paper with key {', '.join(unknown)} in the store; `survey papers` lists the keys")
        return bibtex_entries([p.to_dict() for p in found if p is not None])

    def require_papers(self) -> int:
        """The number of papers in the store; a one-line error when there is no store or it is empty."""
        self.store.require_papers()
        return self.store.catalog.count()

    def undated(self) -> int:
        """Papers without a year: what a year filter leaves out (`Filters.by_year`)."""
        return self.store.catalog.count_undated() if self.store.exists() else 0

    def papers(self) -> list[Paper]:
        """Every paper in the store, in the order it was added."""
        if not self.store.exists():
            return []
        return self.store.catalog.papers()

    def paper(self, key: str) -> Paper | None:
        return self.store.catalog.get(key) if self.store.exists() else None

    def search(
        self,
        query: str,
        k: int | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        source: str | None = None,
        mode: str = "hybrid",
        filters: Filters | None = None,
    ) -> list[SearchHit]:
        """Ranked papers for a query (hybrid BM25 + dense, one hit per paper).

        `year_from` / `year_to` / `source` limit the papers; or pass them together as `filters`.
        """
        if mode not in ("hybrid", "keyword", "dense"):
            raise SurveyError(f"unknown search mode {mode!r}; use hybrid, keyword or dense")
        chosen = _filters(filters, year_from, year_to, source)
        return self.store.search(query, k or self.settings.search_k, chosen, mode)

    @property
    def llm(self) -> LLMClient:
        """The one LLM client of this agent (its `usage` sums every call)."""
        if self._llm is None:
            with self._lock:
                if self._llm is None:
                    self._llm = LLMClient(self.settings)
        return self._llm

    def ask(
        self,
        question: str,
        k: int | None = None,
        model: str | None = None,
        conversation: Conversation | None = None,
        on_token: OnToken | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        source: str | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer from the papers in the store with `[@key]` citations, or say the store does not answer.

        `year_from` / `year_to` / `source` (or `filters`) limit the evidence as they limit `search`.
        """
        if not question.strip():
            raise SurveyError("empty question; ask something")
        chosen = _filters(filters, year_from, year_to, source)
        return Asker(self.store, self.llm, self.settings).ask(question, conversation, k, model, on_token, chosen)

    async def aask(self, question: str, **kwargs: Any) -> Answer:
        """`ask` for asyncio callers (the blocking work runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.ask, question, **kwargs)

    def use_model(self, model: str) -> None:
        """Switch the answering model (chat's /model): checked first, then every cached client reset.

        An unknown provider or a missing API key is a one-line error and the old model stays.
        """
        from agent.llm.client import check_model

        check_model(model, self.settings)
        with self._lock:
            self.settings = self.settings.with_overrides(model=model)
            self._llm, self._verifier = None, None  # the verifier holds the old client

    @property
    def verifier(self) -> "Verifier":
        """Checks claims against the abstracts in this store (judge: SURVEY_VERIFY_MODEL)."""
        from agent.check.verify import Verifier

        if self._verifier is None:
            with self._lock:
                if self._verifier is None:
                    self._verifier = Verifier(self.store, self.settings, self.llm)
        return self._verifier

    def verify_claim(self, claim: str, key: str) -> "Verdict":
        """SUPPORTED / CONTRADICTED / NOT_ENOUGH_INFO for one claim against paper `key`, with evidence."""
        return self.verifier.verify_claim(claim, key)

    def verify_text(self, markdown: str, suggest: bool = False) -> "VerificationReport":
        """Every claim sentence of a Markdown text against the papers it cites (reported, never changed)."""
        return self.verifier.verify_text(markdown, suggest)

    def write(
        self,
        topic: str | None = None,
        *,
        papers: int | None = None,
        sections: int | None = None,
        outline: str | Path | None = None,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        model: str | None = None,
        output: str | Path | None = None,
        fresh: bool = False,
        force: bool = False,
        on_progress: "OnProgress | None" = None,
        request: "SurveyRequest | None" = None,
    ) -> "Survey":
        """A verified survey of `topic` from the store, written as Markdown + BibTeX + JSON (default outputs/<slug>.md).

        A rerun with the same arguments resumes from the last finished stage; `fresh` starts over.
        `request`: a ready `SurveyRequest` in place of `topic` and the options.
        """
        from agent.survey import SurveyWriter
        from agent.survey.models import SurveyRequest

        if request is None:
            request = SurveyRequest(topic or "", papers=papers, sections=sections, outline=outline, include=include,
                                    exclude=exclude, model=model, output=output, fresh=fresh, force=force)
        elif topic is not None:
            raise SurveyError("pass either a topic or request=, not both")
        return SurveyWriter(self.store, self.settings, self.llm, on_progress).write(request)

    def related_work(
        self,
        title: str | None = None,
        abstract: str | None = None,
        *,
        cite: list[str] | None = None,
        papers: int | None = None,
        sections: int | None = None,
        exclude: list[str] | None = None,
        model: str | None = None,
        output: str | Path | None = None,
        fresh: bool = False,
        force: bool = False,
        on_progress: "OnProgress | None" = None,
        request: "RelatedWorkRequest | None" = None,
    ) -> "Survey":
        """The related-work section of the user's paper (title + abstract), every `cite` key discussed.

        `request`: a ready `RelatedWorkRequest` in place of `title`, `abstract` and the options.
        """
        from agent.survey import SurveyWriter
        from agent.survey.models import RelatedWorkRequest

        if request is None:
            request = RelatedWorkRequest(title or "", abstract or "", cite=cite, papers=papers, sections=sections,
                                         exclude=exclude, model=model, output=output, fresh=fresh, force=force)
        elif title is not None or abstract is not None:
            raise SurveyError("pass either a title and abstract or request=, not both")
        return SurveyWriter(self.store, self.settings, self.llm, on_progress).related_work(request)

    async def awrite(self, topic: str | None = None, **kwargs: Any) -> "Survey":
        """`write` for asyncio callers (the blocking work runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.write, topic, **kwargs)

    async def arelated_work(self, title: str | None = None, abstract: str | None = None, **kwargs: Any) -> "Survey":
        """`related_work` for asyncio callers."""
        import asyncio

        return await asyncio.to_thread(self.related_work, title, abstract, **kwargs)

    def evaluate(self, claims: str | Path, corpus: str | Path, dataset: str = "scifact",
                 limit: int | None = None) -> "EvalShape":
        """Score this agent's claim judge (SURVEY_VERIFY_MODEL) on a labeled file in SciFact's format.

        Needs no store: the corpus file holds the abstracts. Accuracy, macro-F1, supported-vs-not
        balanced accuracy, the confusion matrix and pairs/s, as `survey eval --json` prints them, and
        the pairs the file labels twice differently (no judge can match both; `accuracy_ceiling`).
        """
        from agent.check.evaluate import label_conflicts, load_pairs, run
        from agent.check.judges import make_judge

        if limit is not None and limit < 1:
            raise SurveyError("--limit must be at least 1")
        pairs = load_pairs(Path(claims), Path(corpus))[:limit]
        before = self.llm.usage.cost_usd
        scores, _, seconds = run(pairs, make_judge(self.settings.verify_model, self.llm))
        return {"dataset": dataset, "judge": self.settings.verify_model, **scores.to_dict(),  # type: ignore[typeddict-item]
                "pairs_per_s": round(len(pairs) / max(seconds, 1e-9), 2), "seconds": round(seconds, 2),
                "cost_usd": round(self.llm.usage.cost_usd - before, 6), **label_conflicts(pairs)}

    # asyncio callers: the blocking work runs in a worker thread; the agent is safe across threads.
    async def aingest(self, paths: Iterable[str | Path], **kwargs: Any) -> IngestReport:
        """`ingest` for asyncio callers."""
        import asyncio

        return await asyncio.to_thread(self.ingest, list(paths), **kwargs)

    async def asearch(self, query: str, **kwargs: Any) -> list[SearchHit]:
        """`search` for asyncio callers."""
        import asyncio

        return await asyncio.to_thread(self.search, query, **kwargs)

    async def averify_claim(self, claim: str, key: str) -> "Verdict":
        """`verify_claim` for asyncio callers."""
        import asyncio

        return await asyncio.to_thread(self.verify_claim, claim, key)

    async def averify_text(self, markdown: str, suggest: bool = False) -> "VerificationReport":
        """`verify_text` for asyncio callers."""
        import asyncio

        return await asyncio.to_thread(self.verify_text, markdown, suggest)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "SurveyAgent":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verify_claim(claim: str, key: str, store: str | Path | None = None) -> "Verdict":
    """One claim against one paper of a store (default SURVEY_STORE): label, score, evidence."""
    with SurveyAgent(store=store) as agent:
        return agent.verify_claim(claim, key)


def verify_text(markdown: str, store: str | Path | None = None) -> "VerificationReport":
    """Every cited claim of a Markdown text against the abstracts of a store."""
    with SurveyAgent(store=store) as agent:
        return agent.verify_text(markdown)
