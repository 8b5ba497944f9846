"""`survey`: a thin typer shell over `agent.api.SurveyAgent`. Parses arguments, calls, renders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from agent import offline  # noqa: F401
from agent.errors import SurveyError

app = typer.Typer(
    help="Turn a pile of research papers into cited answers and verified surveys — offline by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Store directory (default: SURVEY_STORE or ./store).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def _agent(store: Path | None, **overrides: Any):  # type: ignore[no-untyped-def]
    from agent.api import SurveyAgent

    return SurveyAgent(store=store, **overrides)


def _console(stderr: bool = False):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: listing .txt, .jsonl(.gz), .bib, .pdf.")],
    store: StoreOpt = None,
    format: Annotated[
        Optional[str], typer.Option("--format", "-f", help="Force a format: listing, jsonl, bibtex, pdf.")
    ] = None,
    keyword_only: Annotated[bool, typer.Option("--keyword-only", help="Skip embeddings (BM25 only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add papers to the store: deduplicated, keyed, embedded and keyword-indexed."""
    from rich.markup import escape

    from agent.ingest import display_path

    agent = _agent(store, embedding_model="none" if keyword_only else None)
    err = _console(stderr=True)
    with _progress(err, enabled=not as_json) as progress:
        report = agent.ingest(paths, format=format, progress=progress)
    rejected = report.rejected
    if as_json:
        _print_json(
            {
                "new": report.new,
                "updated": report.updated,
                "duplicate": report.duplicate,
                "rejected": [{"file": r.file, "line": r.line, "reason": r.reason} for r in rejected],
                "embedded_chunks": report.embedded,
                "papers_in_store": report.papers_in_store,
                "files": [
                    {"path": f.path, "new": f.new, "updated": f.updated, "duplicate": f.duplicate,
                     "unchanged": f.unchanged, "error": f.error}
                    for f in report.files
                ],
            }
        )
    else:
        out = _console()
        for f in report.files:
            state = "unchanged, skipped" if f.unchanged else (f"error: {f.error}" if f.error else "")
            counts = f"{f.new} new, {f.updated} updated, {f.duplicate} duplicate" + (f", {len(f.rejected)} rejected" if f.rejected else "")
            out.print(escape(f"{display_path(f.path)}: {state or counts}"))
        for r in rejected:
            err.print(f"[red]rejected[/red] {escape(str(r.__class__(display_path(r.file), r.reason, r.line)))}")
        out.print(
            f"[bold]{report.new} new, {report.updated} updated, {report.duplicate} duplicate, {len(rejected)} rejected[/bold]"
            f" — {report.papers_in_store} papers in {agent.settings.store}"
        )
    if rejected:
        raise typer.Exit(1)


class _progress:
    """A rich progress bar on stderr fed by the ingest's (phase, done, total) callback."""

    def __init__(self, console: Any, enabled: bool) -> None:
        self.console, self.enabled, self.bar, self.tasks = console, enabled and console.is_terminal, None, {}

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=self.console, transient=True)
        self.bar.start()
        return self.update

    def update(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
def papers(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List every paper in the store."""
    from agent.settings import Settings

    settings = Settings().with_overrides(store=store)
    catalog_path = Path(settings.store) / "catalog.sqlite"
    if not catalog_path.exists():
        found = []
    else:  # straight to the catalog: listing must not pay for loading Chroma
        from agent.catalog import Catalog

        found = Catalog(catalog_path, create=False).papers()
    if as_json:
        _print_json([
            {"key": p.key, "title": p.title, "year": p.year, "source": p.source, "authors": p.authors,
             "arxiv_id": p.arxiv_id, "doi": p.doi, "url": p.url, "abstract_truncated": p.abstract_truncated}
            for p in found
        ])
        return
    out = _console()
    if not found:
        out.print(f"No papers in {settings.store}. Run `survey ingest PATH` first.")
        return
    if len(found) > 500 or not out.is_terminal:  # a table of 75k rows takes rich minutes to lay out
        sys.stdout.writelines(
            f"{p.key}\t{p.year or ''}\t{p.title}\t{Path(p.source).name if p.source else ''}\n" for p in found
        )
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False, box=None, header_style="bold")
    for column in ("key", "year", "title", "source"):
        table.add_column(column, overflow="fold" if column == "title" else "ellipsis", no_wrap=column != "title")
    for p in found:
        table.add_row(escape(p.key), str(p.year or ""), escape(p.title), Path(p.source).name if p.source else "")
    out.print(table)
    out.print(f"{len(found)} papers")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for: a topic, a question, a title or an acronym.")],
    k: Annotated[Optional[int], typer.Option("-k", help="How many papers.")] = None,
    store: StoreOpt = None,
    year_from: Annotated[Optional[int], typer.Option("--from", help="Only papers from this year on.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--to", help="Only papers up to this year.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only papers from files whose path contains this.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, keyword or dense.")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Find papers by meaning or by name (BM25 + embeddings, fused)."""
    hits = _agent(store).search(query, k=k, year_from=year_from, year_to=year_to, source=source, mode=mode)
    if as_json:
        _print_json([h.to_dict() for h in hits])
        return
    out = _console()
    if not hits:
        out.print("No matching papers.")
        return
    from rich.markup import escape

    for rank, h in enumerate(hits, start=1):
        year = f" ({h.year})" if h.year else ""
        out.print(f"[bold]{rank}. {escape(f'[@{h.key}]')}[/bold] {escape(h.title)}{year}  [dim]{h.score:.4f}[/dim]")
        out.print(f"   [dim]{escape(h.snippet)}[/dim]")


ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="litellm model string (default: SURVEY_MODEL or local).")]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the papers in the store.")],
    model: ModelOpt = None,
    k: Annotated[Optional[int], typer.Option("-k", help="Papers retrieved as evidence.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer from the papers in the store, citing them as [@key] — or say the store does not answer."""
    from agent.render import Streamer, show_answer

    agent = _agent(store, model=model)
    if as_json:
        _print_json(agent.ask(question, k=k).to_dict())
        return
    out = _console()
    with Streamer(out) as stream:
        answer = agent.ask(question, k=k, on_token=stream)
    show_answer(out, answer)


@app.command()
def chat(model: ModelOpt = None, store: StoreOpt = None) -> None:
    """Talk to your papers: follow-up questions, /sources, /papers, /save FILE, /model, /help."""
    from agent.chat import ChatSession

    ChatSession(_agent(store, model=model), _console()).run()


DEMO_QUERY = "benchmarking very long video understanding"
DEMO_QUESTION = "What makes very long video understanding hard for multimodal models?"


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", help="Where the demo store goes.")] = Path("store/demo"),
    model: ModelOpt = None,
) -> None:
    """Ingest the bundled sample papers, search them, and answer a question with citations — offline."""
    from agent.api import sample_papers

    out = _console()
    out.print(f"[bold]1. Ingest the bundled sample papers into {store}[/bold] (the first run embeds ~600 chunks: about a minute)")
    try:
        ingest([sample_papers()], store=store, format=None, keyword_only=False, as_json=False)
    except typer.Exit:
        pass  # a rejected line in the sample would be reported above; go on
    out.print(f"\n[bold]2. survey search {DEMO_QUERY!r} -k 3[/bold]")
    search(DEMO_QUERY, k=3, store=store, year_from=None, year_to=None, source=None, mode="hybrid", as_json=False)
    out.print(f"\n[bold]3. survey ask {DEMO_QUESTION!r}[/bold] (embedded model unless SURVEY_MODEL is set; first start joins the weights)")
    ask(DEMO_QUESTION, model=model, k=None, store=store, as_json=False)
    out.print(f"\nGo on with: survey chat --store {store}")


def main() -> None:
    """Console entry point: user errors become one line on stderr, never a traceback."""
    try:
        app()
    except SurveyError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; run the same command again to resume\n")
        sys.exit(130)
