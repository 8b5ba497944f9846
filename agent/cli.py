"""`survey`: a thin typer shell over `agent.api.SurveyAgent`: parses arguments, calls the agent, and prints
JSON or the text rendering of `agent.render`.

The library is imported inside the commands, so that `survey --help` starts fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from agent.core import offline  # noqa: F401
from agent.core.errors import SurveyError
from agent.sources import FILE_KINDS, FORMATS
from agent.store.search import Filters

app = typer.Typer(
    help="Turn a pile of research papers into cited answers and verified surveys — offline by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Store directory (default: SURVEY_STORE or ./store).")]
JsonOpt = Annotated[bool, typer.Option("--json", metavar="", help="Machine-readable JSON on stdout.")]
FromOpt = Annotated[Optional[int], typer.Option("--from", help="Only papers from this year on.")]
ToOpt = Annotated[Optional[int], typer.Option("--to", help="Only papers up to this year.")]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Only papers from files whose path contains this.")]


def _agent(store: Path | None, **overrides: Any):  # type: ignore[no-untyped-def]
    from agent.api import SurveyAgent

    return SurveyAgent(store=store, **overrides)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help=f"Files or folders: {FILE_KINDS}.")],
    store: StoreOpt = None,
    format: Annotated[
        Optional[str], typer.Option("--format", "-f", help=f"Force a format: {', '.join(FORMATS)}.")
    ] = None,
    keyword_only: Annotated[bool, typer.Option("--keyword-only", metavar="", help="Skip embeddings (BM25 only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add papers to the store: deduplicated, keyed, embedded and keyword-indexed."""
    from agent import render

    agent = _agent(store, embedding_model="none" if keyword_only else None)
    err = render.console(stderr=True)
    with render.ProgressBar(err, enabled=not as_json) as progress:
        report = agent.ingest(paths, format=format, progress=progress)
    if as_json:
        _print_json(report.to_dict())
    else:
        render.show_ingest(render.console(), err, report, agent.settings.store)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def remove(
    keys: Annotated[Optional[list[str]], typer.Argument(help="Keys of the papers to remove.")] = None,
    source: Annotated[Optional[Path], typer.Option("--source", help="Remove every paper read from this file.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove papers (catalog, vectors and keyword index together); an unknown key removes nothing."""
    from agent import render

    result = _agent(store).remove(keys or [], source)
    if as_json:
        _print_json(result)
    else:
        render.show_removal(render.console(), result)


@app.command()
def export(
    keys: Annotated[Optional[list[str]], typer.Argument(help="Keys of the papers (default: all).")] = None,
    bib: Annotated[bool, typer.Option("--bib", metavar="", help="BibTeX (the only format so far).")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export papers as BibTeX: `survey export --bib [KEY...] [-o refs.bib]`."""
    if not bib:
        raise SurveyError("choose the format: --bib")
    text = _agent(store).bibtex(keys or [])
    entries = text.count("\n@") + text.startswith("@")
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SurveyError(f"cannot write {output}: {exc.strerror or exc}") from None
    if as_json:
        _print_json({"entries": entries, "output": str(output) if output else None, "bibtex": text})
    elif output is None:
        sys.stdout.write(text)
    else:
        from agent.render import console

        console(stderr=True).print(f"wrote {entries} entries to {output}", markup=False)


@app.command()
def doctor(
    fix: Annotated[bool, typer.Option("--fix", metavar="", help="Repair: restore the catalog from a backup, rebuild indexes.")] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check that catalog, keyword index and vectors agree; --fix rebuilds what can be rebuilt. Exit 1 if problems remain."""
    from agent import render

    report = _agent(store).doctor(fix=fix)
    if as_json:
        _print_json(report.to_dict())
    else:
        render.show_doctor(render.console(), report)
    if not report.healthy:
        raise typer.Exit(1)


@app.command()
def papers(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List every paper in the store (with --json: every field but the full text)."""
    from agent import render

    agent = _agent(store)
    found = agent.papers()  # the catalog only: listing does not load Chroma or the embedding model
    if as_json:
        _print_json([p.to_dict() for p in found])
    else:
        render.show_papers(render.console(), found, Path(agent.settings.store))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for: a topic, a question, a title or an acronym.")],
    k: Annotated[Optional[int], typer.Option("-k", min=1, help="How many papers (default 10, SURVEY_SEARCH_K).")] = None,
    store: StoreOpt = None,
    year_from: FromOpt = None,
    year_to: ToOpt = None,
    source: SourceOpt = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, keyword or dense.")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Find papers by meaning or by name (BM25 + embeddings, fused)."""
    from agent import render

    agent = _agent(store)
    filters = Filters(year_from, year_to, source)
    hits = agent.search(query, k=k, mode=mode, filters=filters)
    if filters.by_year and (undated := agent.undated()):
        render.undated_note(render.console(stderr=True), undated)
    if as_json:
        _print_json([h.to_dict() for h in hits])
    else:
        render.show_hits(render.console(), hits)


ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="litellm model string (default: SURVEY_MODEL or local).")]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the papers in the store.")],
    model: ModelOpt = None,
    k: Annotated[Optional[int], typer.Option("-k", min=1, help="Papers retrieved as evidence (default 5, SURVEY_ASK_K).")] = None,
    store: StoreOpt = None,
    year_from: FromOpt = None,
    year_to: ToOpt = None,
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer from the papers in the store, citing them as \\[@key] — or say the store does not answer."""
    from agent import render

    agent = _agent(store, model=model)
    filters = Filters(year_from, year_to, source)
    if as_json:
        _print_json(agent.ask(question, k=k, filters=filters).to_dict())
        return
    out = render.console()
    with render.Streamer(out) as stream:
        answer = agent.ask(question, k=k, on_token=stream, filters=filters)
    render.show_answer(out, answer)


@app.command()
def chat(model: ModelOpt = None, store: StoreOpt = None, year_from: FromOpt = None, year_to: ToOpt = None,
         source: SourceOpt = None) -> None:
    """Talk to your papers: follow-up questions, /sources, /papers, /save FILE, /model, /help."""
    from agent.chat import ChatSession
    from agent.render import console

    ChatSession(_agent(store, model=model), console(), Filters(year_from, year_to, source)).run()


JudgeOpt = Annotated[
    Optional[str], typer.Option("--judge", help="Claim judge: trained (default), local, or a litellm model string.")
]


@app.command()
def verify(
    file: Annotated[Optional[Path], typer.Argument(help="A Markdown file with \\[@key] or numeric \\[1] citations.")] = None,
    claim: Annotated[Optional[str], typer.Option("--claim", help="Check one claim instead of a file.")] = None,
    paper: Annotated[Optional[str], typer.Option("--paper", help="Key of the paper --claim cites.")] = None,
    judge: JudgeOpt = None,
    strict: Annotated[bool, typer.Option("--strict", metavar="", help="Exit 1 when a claim is not supported.")] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check cited claims against the cited papers' abstracts: verdict, score and evidence per claim."""
    from agent import render

    agent = _agent(store, verify_model=judge)
    if claim is not None or paper is not None:
        if not claim or not paper or file is not None:
            raise SurveyError("use either FILE or both --claim TEXT and --paper KEY")
        verdict = agent.verify_claim(claim, paper)
        if as_json:
            _print_json(verdict.to_dict())
        else:
            render.show_verdict(render.console(), verdict)
        if strict and not verdict.supported:
            raise typer.Exit(1)
        return
    if file is None:
        raise SurveyError("nothing to verify; pass a Markdown FILE, or --claim TEXT --paper KEY")
    try:
        markdown = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SurveyError(f"{file}: cannot read ({e.__class__.__name__}); pass a UTF-8 Markdown file") from None
    report = agent.verify_text(markdown, suggest=True)
    if as_json:
        _print_json({"file": str(file), **report.to_dict()})
    else:
        render.show_verification(render.console(), file, report)
    if strict and (report.failing or report.unknown_keys):
        raise typer.Exit(1)


DATASETS = {"scifact": "SciFact", "citation-integrity": "Citation-Integrity"}


@app.command("eval")
def evaluate(
    dataset: Annotated[str, typer.Argument(help="scifact or citation-integrity (both use SciFact's file format).")],
    claims: Annotated[Path, typer.Option("--claims", help="Claims .jsonl (id, claim, evidence, cited_doc_ids).")],
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus .jsonl (doc_id, title, abstract sentences).")],
    judge: JudgeOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Judge only the first N pairs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score the claim judge on a labeled benchmark: accuracy, macro-F1, supported-vs-not balanced accuracy, pairs/s."""
    from agent import render

    if dataset not in DATASETS:
        raise SurveyError(f"unknown dataset {dataset!r}; use {' or '.join(DATASETS)}")
    result = _agent(None, verify_model=judge).evaluate(claims, corpus, dataset, limit)
    if as_json:
        _print_json(result)
    else:
        render.show_eval(render.console(), DATASETS[dataset], result)


IncludeOpt = Annotated[Optional[list[str]], typer.Option("--include", help="Paper keys to pin in (repeat, or separate with commas).")]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", help="Paper keys to leave out (repeat, or separate with commas).")]
FreshOpt = Annotated[bool, typer.Option("--fresh", metavar="", help="Start over instead of resuming a previous run.")]
ForceOpt = Annotated[bool, typer.Option("--force", metavar="", help="Overwrite an existing output file.")]
CiteOpt = Annotated[Optional[list[str]], typer.Option("--cite", help="Paper keys that must be discussed (repeat, or separate with commas).")]


def _keys(values: list[str] | None) -> list[str]:
    return [k.strip().lstrip("@") for v in values or [] for k in v.split(",") if k.strip()]


@app.command()
def write(
    topic: Annotated[str, typer.Argument(help="What the survey is about, e.g. 'hallucination in multimodal LLMs'.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Markdown file to write (default outputs/<topic>.md).")] = None,
    papers: Annotated[Optional[int], typer.Option("--papers", help="Most papers in the survey: a cap, not a quota (default 60).")] = None,
    sections: Annotated[Optional[int], typer.Option("--sections", help="Number of themes (default: chosen by silhouette, 2-6).")] = None,
    outline: Annotated[Optional[Path], typer.Option("--outline", help="A Markdown outline to follow: '## Theme' headings, '- @key' lines.")] = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    model: ModelOpt = None,
    fresh: FreshOpt = False,
    force: ForceOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a verified survey of TOPIC from the store: Markdown + BibTeX + JSON, every citation checked."""
    from agent import render
    from agent.survey.models import SurveyRequest

    agent = _agent(store, model=model)
    request = SurveyRequest(topic, papers=papers, sections=sections, outline=outline, include=_keys(include),
                            exclude=_keys(exclude), output=output, fresh=fresh, force=force)
    survey = agent.write(request=request, on_progress=render.StageLines(render.console(stderr=True), not as_json))
    if as_json:
        _print_json(survey.to_dict())
    else:
        render.show_survey(render.console(), survey)


@app.command("related-work")
def related_work(
    title: Annotated[Optional[str], typer.Option("--title", help="Title of your paper.")] = None,
    abstract: Annotated[Optional[str], typer.Option("--abstract", help="Abstract of your paper.")] = None,
    draft: Annotated[Optional[Path], typer.Option("--from", help="A Markdown draft: '# Title' and an Abstract section.")] = None,
    cite: CiteOpt = None,
    papers: Annotated[Optional[int], typer.Option("--papers", help="Most papers discussed: a cap, not a quota (default 15).")] = None,
    sections: Annotated[Optional[int], typer.Option("--sections", help="Number of paragraphs/themes (default 2-4).")] = None,
    exclude: ExcludeOpt = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Markdown file to write.")] = None,
    model: ModelOpt = None,
    fresh: FreshOpt = False,
    force: ForceOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the related-work section of your paper from the store, every --cite key discussed and checked."""
    from agent import render
    from agent.survey.manuscript import read_draft
    from agent.survey.models import RelatedWorkRequest

    if draft is not None:
        if title or abstract:
            raise SurveyError("use either --from DRAFT or --title/--abstract, not both")
        title, abstract = read_draft(draft)
    if not title or not abstract:
        raise SurveyError("pass --title and --abstract of your paper, or --from draft.md")
    agent = _agent(store, model=model)
    request = RelatedWorkRequest(title, abstract, cite=_keys(cite), papers=papers, sections=sections,
                                 exclude=_keys(exclude), output=output, fresh=fresh, force=force)
    survey = agent.related_work(request=request, on_progress=render.StageLines(render.console(stderr=True), not as_json))
    if as_json:
        _print_json(survey.to_dict())
    else:
        render.show_survey(render.console(), survey)


DEMO_QUERY = "benchmarking very long video understanding"
DEMO_QUESTION = "What makes very long video understanding hard for multimodal models?"
DEMO_TOPIC = "long video understanding with multimodal models"
DEMO_PAPERS = 15


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", help="Where the demo store goes.")] = Path("store/demo"),
    model: ModelOpt = None,
) -> None:
    """Ingest the bundled sample papers, search them, and answer a question with citations — offline."""
    from agent.api import sample_papers
    from agent.render import console

    out = console()
    out.print(f"[bold]1. Ingest the bundled sample papers into {store}[/bold] (the first run embeds ~600 chunks: about a minute)")
    try:
        ingest([sample_papers()], store=store, format=None, keyword_only=False, as_json=False)
    except typer.Exit:
        pass  # a rejected line in the sample would be reported above; go on
    out.print(f"\n[bold]2. survey search {DEMO_QUERY!r} -k 3[/bold]")
    search(DEMO_QUERY, k=3, store=store)
    out.print(f"\n[bold]3. survey ask {DEMO_QUESTION!r}[/bold] (embedded model unless SURVEY_MODEL is set; first start joins the weights)")
    ask(DEMO_QUESTION, model=model, k=None, store=store, as_json=False)
    out.print(f"\n[bold]4. survey write {DEMO_TOPIC!r} --papers {DEMO_PAPERS}[/bold] (a verified survey; a few minutes "
              "with the embedded model)")
    write(DEMO_TOPIC, output=Path("outputs") / "demo-survey.md", papers=DEMO_PAPERS, model=model, force=True, store=store)
    out.print(f"\nGo on with: survey chat --store {store}")


MCP_CONFIG = """{"mcpServers": {"survey-agent": {"command": "survey",
  "args": ["mcp", "--store", "/path/to/store", "--allow", "/path/to/papers"]}}}"""


@app.command(epilog=f"Register it in an MCP client (Claude Desktop: claude_desktop_config.json): {MCP_CONFIG}")
def mcp(
    store: StoreOpt = None,
    allow: Annotated[Optional[list[Path]], typer.Option("--allow", metavar="DIR", help="A directory ingest may read and write_survey may write in (repeat; default: the working directory).")] = None,
    http: Annotated[Optional[str], typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP on HOST:PORT (e.g. 127.0.0.1:8765) instead of stdio.")] = None,
) -> None:
    """Serve the store to other agents over MCP (stdio by default): search, ask, verify, write, ingest."""
    from agent.mcp_server import serve

    for folder in allow or []:
        if not folder.is_dir():
            raise SurveyError(f"--allow {folder}: not a directory; pass an existing folder")
    serve(_agent(store), list(allow or []), http)


def main() -> None:
    """Console entry point: user errors become one line on stderr, never a traceback, and exit with their code."""
    try:
        app()
    except SurveyError as exc:
        sys.stderr.write(f"error: {exc}\n")
        if "--json" in sys.argv[1:]:  # a program reading stdout gets JSON whatever happened
            _print_json({"error": str(exc), "exit_code": exc.exit_code})
        sys.exit(exc.exit_code)  # 2 input, 3 model, 4 damaged store (docs/json.md)
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        # Typer turns Ctrl-C into Exit(130) (then SystemExit) before the clause above could see it.
        if exc.code == 130 and _caused_by_ctrl_c(exc):
            _interrupted()
        if exc.code == 2 and "--json" in sys.argv[1:]:  # a usage error: typer printed it on stderr
            _print_json({"error": "invalid usage (the message is on stderr; `survey COMMAND --help` lists the "
                                  "options)", "exit_code": 2})
        raise


def _caused_by_ctrl_c(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _interrupted() -> None:
    """Ctrl-C: one line on stderr (and a JSON error under --json), exit 130."""
    message = "interrupted; run the same command again to resume"
    sys.stderr.write(message + "\n")
    if "--json" in sys.argv[1:]:
        _print_json({"error": message, "exit_code": 130})
    sys.exit(130)
