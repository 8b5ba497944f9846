"""Rendering for people: what the CLI and the chat REPL print on a terminal, and the short text MCP
gives clients that show only text. The doors choose JSON or text; everything they print as text is here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.ask import Answer
from agent.check.verdict import Verdict
from agent.check.verify import VerificationReport
from agent.core.paper import Paper, scrub
from agent.core.text import clip
from agent.store.search import SearchHit

if TYPE_CHECKING:  # types only: loading these modules would slow every command's start
    from agent.check.evaluate import EvalShape
    from agent.store.doctor import DoctorReport
    from agent.store.ingest import IngestReport
    from agent.survey import Survey
    from agent.survey.writer import ProgressEvent

# On top of what ingest already scrubs (agent.core.paper.scrub): whitespace controls that move the cursor.
_CURSOR = str.maketrans("", "", "\r\x0b\x0c")


def printable(text: str) -> str:
    """Text safe to print on a terminal: escape sequences and control characters removed (newline and
    tab kept). Stored text was scrubbed at ingest; model replies and older stores were not."""
    return scrub(text).translate(_CURSOR)


def answer_markdown(answer: Answer, heading: bool = False) -> str:
    """An answer as Markdown: text, then its sources (and what was wrong, if anything)."""
    lines = [f"## {answer.question}", ""] if heading else []
    lines.append(answer.answer)
    if answer.citations:
        lines += ["", "**Sources**", ""]
        lines += [f"- [@{c.key}] {c.title}" + (f" ({c.year})" if c.year else "") for c in answer.citations]
    elif answer.abstained and answer.evidence:
        lines += ["", "Closest papers in the store:", ""]
        lines += [f"- [@{e.key}] {e.title}" for e in answer.evidence[:5]]
    if answer.verification is not None and not answer.abstained:  # an abstention has nothing to score
        lines += ["", "*Verified against the abstracts:* " + answer.verification.summary()]
        marks = {"supported": "✓", "contradicted": "✗", "unsupported": "?", "uncited": "?", "uncertain": "?"}
        for check in answer.verification.checks:
            if check.status != "supported" or check.repair:
                lines.append(f"- {marks[check.status]} {check.status}{' (' + check.repair + ')' if check.repair else ''}: {clip(check.claim.text, 100)}")
    if answer.problems:  # what code changed or noticed in the model's draft, one plain line each
        lines += ["", "*What the checks changed or noticed:*", ""] + [f"- {p}" for p in answer.problems]
    return "\n".join(lines)


def show_answer(console: Any, answer: Answer) -> None:
    """Print an answer as rendered Markdown followed by a dim usage line."""
    from rich.markdown import Markdown
    from rich.markup import escape

    console.print(Markdown(printable(answer_markdown(answer))))
    console.print(f"[dim]{answer.usage.summary()} · model {escape(printable(answer.model))}[/dim]")


class _Waiting:
    """The status line shown until the first token: what is happening and for how long.

    The embedded model reads the evidence for ~15 s on 2 cores (longer when the weights are joined on
    first use) before it writes a word; a blank screen for that long reads as a hang.
    """

    def __init__(self, label: str) -> None:
        import time

        self.label, self.started = label, time.monotonic()

    def __rich__(self) -> Any:
        import time

        from rich.text import Text

        return Text(f"… {self.label} ({time.monotonic() - self.started:.0f} s)", style="dim")


class Streamer:
    """Shows a status line, then model text live as it streams; the checked answer replaces it when done."""

    def __init__(self, console: Any, label: str = "searching the store, then the model reads the evidence") -> None:
        self.console, self.label = console, label
        self.parts: list[str] = []
        self.live: Any = None  # a rich Live on a terminal

    def __enter__(self) -> "Streamer":
        from rich.live import Live

        if self.console.is_terminal:
            self.live = Live(_Waiting(self.label), console=self.console, refresh_per_second=4, transient=True)
            self.live.start()
        return self

    def __call__(self, text: str) -> None:
        self.parts.append(printable(text))
        if self.live is not None:
            from rich.markdown import Markdown

            self.live.update(Markdown("".join(self.parts)))

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()


# --- the CLI: consoles and progress ----------------------------------------------------------------
def console(stderr: bool = False) -> Any:
    """A rich console as the CLI prints: no highlighting, long lines left whole."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


class ProgressBar:
    """A rich progress bar on stderr fed by the ingest's (phase, done, total) callback."""

    def __init__(self, console: Any, enabled: bool) -> None:
        self.console, self.enabled = console, enabled and console.is_terminal
        self.bar: Any = None  # a rich Progress while shown
        self.tasks: dict[str, Any] = {}

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


class StageLines:
    """Stage-by-stage progress lines on stderr: elapsed time, tokens, what is left."""

    def __init__(self, console: Any, enabled: bool) -> None:
        self.console, self.enabled = console, enabled

    def __call__(self, event: "ProgressEvent") -> None:
        if not self.enabled:
            return
        from rich.markup import escape

        count = f" {event.done}/{event.total}" if event.total else ""
        left = f" · ~{duration(event.remaining)} left" if event.remaining else ""
        self.console.print(f"[dim][{event.elapsed:5.0f}s][/dim] [bold]{event.stage}{count}[/bold] "
                           f"{escape(event.message)} [dim]· {event.tokens:,} tokens{left}[/dim]")


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# --- the CLI: results --------------------------------------------------------------------------------
def show_ingest(out: Any, err: Any, report: "IngestReport", store: Path) -> None:
    """One line per file, each rejected record on stderr, then the totals."""
    from rich.markup import escape

    from agent.store.ingest import display_path

    for f in report.files:
        state = f"unchanged, skipped ({f.skipped} papers)" if f.unchanged else (f"error: {f.error}" if f.error else "")
        counts = f"{f.new} new, {f.updated} updated, {f.duplicate} duplicate" + (f", {len(f.rejected)} rejected" if f.rejected else "")
        out.print(escape(f"{display_path(f.path)}: {state or counts}"))
    for r in report.rejected:
        err.print(f"[red]rejected[/red] {escape(str(r.__class__(display_path(r.file), r.reason, r.line)))}")
    out.print(
        f"[bold]{report.new} new, {report.updated} updated, {report.duplicate} duplicate, "
        + (f"{report.skipped} in unchanged files, " if report.skipped else "")
        + f"{len(report.rejected)} rejected[/bold]"
        f" — {report.papers_in_store} papers in {store}"
    )


def show_removal(out: Any, result: dict[str, Any]) -> None:
    n = len(result["removed"])
    out.print(f"removed {n} paper{'' if n == 1 else 's'}: {', '.join(result['removed']) or '-'}", markup=False)
    if result["kept_from_other_files"]:
        out.print(f"kept (also read from other files): {', '.join(result['kept_from_other_files'])}", markup=False)
    out.print(f"{result['papers_in_store']} papers in the store", markup=False)


def show_doctor(out: Any, report: "DoctorReport") -> None:
    for c in report.checks:  # one line per check: what was found, then what was done or is left to do
        line = f"{c.name}: {c.found}" if c.ok else f"{c.name}: problem: {c.found}"
        line += (f" — fixed: {c.done}" if c.fixed else f" — done: {c.done}") if c.done else ""
        line += f" — to do: {c.todo}" if c.todo else ""
        out.print(line, markup=False)


def show_papers(out: Any, found: list[Paper], root: Path) -> None:
    """A table on a terminal; tab-separated lines when piped or long."""
    if not found:
        out.print(f"No store at {root}." if not root.exists() else f"No papers in the store at {root} yet.",
                  "Run `survey ingest PATH` first.")
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
    out.print(f"{len(found)} paper" + ("" if len(found) == 1 else "s"))


def undated_note(err: Any, undated: int) -> None:
    """Why a search with --from/--to may miss papers: those without a year."""
    err.print(f"note: --from/--to left out {undated} paper{'' if undated == 1 else 's'} "
              "of the store that have no year; search without them to include those")


def show_hits(out: Any, hits: list[SearchHit]) -> None:
    if not hits:
        out.print("No matching papers.")
        return
    from rich.markup import escape

    for rank, h in enumerate(hits, start=1):  # stored text may hold escape sequences; Rich escapes only markup
        year = f" ({h.year})" if h.year else ""
        out.print(f"[bold]{rank}. {escape(printable(f'[@{h.key}]'))}[/bold] {escape(printable(h.title))}{year}  "
                  f"[dim]{h.score:.4f}[/dim]")
        out.print(f"   [dim]{escape(printable(h.snippet))}[/dim]")


MARKS = {"supported": "[green]✓ supported[/green]", "contradicted": "[red]✗ contradicted[/red]",
         "unsupported": "[yellow]? unsupported[/yellow]", "uncited": "[yellow]? uncited[/yellow]",
         "uncertain": "[yellow]? uncertain[/yellow]"}


def show_verdict(out: Any, verdict: Verdict) -> None:
    from rich.markup import escape

    out.print(f"[bold]{verdict.label}[/bold] ({verdict.score:.2f}) [@{escape(verdict.key)}]")
    for sentence in verdict.evidence:
        out.print(f"  evidence: [dim]{escape(sentence)}[/dim]")
    for problem in verdict.problems:
        out.print(f"  check: {escape(problem)}")


def show_verification(out: Any, file: Path, report: VerificationReport) -> None:
    """Each claim of `file` with its verdicts, then unknown citations and the summary."""
    from rich.markup import escape

    for check in report.checks:
        keys = " ".join(f"@{k}" for k in check.claim.keys + check.claim.unknown) or "no citation"
        out.print(f"{MARKS[check.status]}  {file}:{check.claim.line}  [dim]{escape(keys)}[/dim]")
        out.print(f"  {escape(check.claim.text)}")
        for v in check.verdicts:
            detail = f" — {escape(clip(v.evidence[0], 160))}" if v.evidence else ""
            out.print(f"  [dim]@{escape(v.key)}: {v.label} {v.score:.2f}{detail}[/dim]")
            for problem in v.problems:
                out.print(f"  [dim]  check: {escape(problem)}[/dim]")
        if check.joint is not None:
            out.print(f"  [dim]together: {check.joint.label} {check.joint.score:.2f}[/dim]")
        for clause in check.to_dict()["clauses"]:  # a comparison: each clause against the paper it names
            for v in clause["verdicts"]:
                why = escape(v["problem"]) if v["problem"] else f"{v['label']} {v['score']:.2f}"
                out.print(f"  [dim]clause @{escape(v['key'])}: {why} — {escape(clip(v['claim'], 120))}[/dim]")
        if check.instead:
            out.print(f"  [yellow]supported by @{escape(check.instead)} instead[/yellow]")
    if report.unknown_keys:
        out.print(f"[red]unknown citations (not in the store): {escape(', '.join(report.unknown_keys))}[/red]")
    out.print(f"[bold]{report.summary()}[/bold]  [dim]judge {report.judge}, {report.seconds:.1f} s[/dim]")
    if report.caveat:
        out.print(f"[dim]{escape(report.caveat)}[/dim]")


def show_eval(out: Any, dataset: str, result: "EvalShape") -> None:
    """The judge's scores on a labeled benchmark (`dataset`: its display name), with the confusion matrix."""
    from agent.check.evaluate import LABELS

    out.print(f"[bold]{dataset}[/bold]: {result['n']} claim–paper pairs, judge {result['judge']}")
    out.print(f"accuracy {result['accuracy']:.3f} · macro-F1 {result['macro_f1']:.3f} · "
              f"supported-vs-not balanced accuracy {result['binary_bacc']:.3f}")
    out.print("F1 " + " · ".join(f"{k} {v:.3f}" for k, v in result["f1"].items()))
    out.print("confusion (rows gold, columns predicted):")
    out.print(" " * 17 + "".join(f"{label[:12]:>14}" for label in LABELS))
    for gold in LABELS:
        out.print(f"{gold[:16]:<17}" + "".join(f"{result['confusion'][gold][p]:>14}" for p in LABELS))
    out.print(f"calibration error (ECE of P(supported), 10 bins) {result['ece']:.3f} · UNCERTAIN verdicts "
              f"{result['uncertain_share']:.1%} (scored as NOT_ENOUGH_INFO in 3-way, as not supported in binary)")
    out.print(f"{result['pairs_per_s']} pairs/s ({result['seconds']:.1f} s) · cost ${result['cost_usd']:.4f}")
    if result["conflicting_groups"]:
        out.print(f"[yellow]note[/yellow]: {result['conflicting_pairs']} pairs are {result['conflicting_groups']} claim–paper pairs "
                  "that this file labels more than once, differently; a judge of claim and abstract can match only one label of "
                  f"each: the best reachable accuracy is {result['accuracy_ceiling']:.3f}")


def show_survey(out: Any, survey: "Survey") -> None:
    """Where a survey was written, how well its citations held up, what it cost."""
    from rich.markup import escape

    from agent.llm.client import Usage

    recall, precision = survey.citation_scores()
    cov = survey.coverage
    flagged = sum(len(s.flagged) for s in survey.sections)
    out.print(f"[bold]Wrote {escape(survey.files['markdown'])}[/bold] "
              f"(+ {escape(Path(survey.files['bib']).name)}, {escape(Path(survey.files['json']).name)})")
    if "outline" in survey.files:
        out.print(f"Outline (edit it and pass it back with --outline): {escape(survey.files['outline'])}")
    if survey.scope.summary:
        out.print(escape(survey.scope.summary))
    near = [x for x in survey.scope.left_out if x["reason"] == "off-topic"][:3]
    if near:
        shown = ", ".join(f"@{escape(x['key'])} ({x['relevance']:+.1f})" for x in near)
        out.print(f"[dim]  nearest left out as off-topic: {shown}; --include KEY brings one back[/dim]")
    out.print(f"{len(survey.cited)} papers cited of {cov['placed']} placed · {survey.claims} sentences checked against "
              f"the abstracts · citation recall {recall:.2f} · precision {precision:.2f} · {flagged} removed or flagged")
    for m in cov.get("missing", [])[:10]:
        out.print(f"[dim]  not cited: @{escape(m['key'])}: {escape(m['reason'])}[/dim]")
    for key, ok in cov.get("must_cite", {}).items():
        if not ok:
            out.print(f"[yellow]  --cite @{escape(key)} could not be covered with a verified sentence[/yellow]")
    out.print(f"[dim]{Usage(**survey.usage).summary()} · model {escape(survey.model)}[/dim]")
    caveat = survey.settings.get("judge_caveat")
    if caveat:
        out.print(f"[dim]{escape(caveat)}[/dim]")


# --- MCP: text for clients that show only text --------------------------------------------------------
def tool_text(name: str, data: dict[str, Any]) -> str:
    """A short rendering of MCP tool `name`'s result, for clients that show only text."""
    if name == "search_papers":
        lines = [f"{i}. [@{h['key']}] {h['title']}" + (f" ({h['year']})" if h["year"] else "")
                 for i, h in enumerate(data["hits"], start=1)]
        return "\n".join(lines) or "No matching papers."
    if name == "list_papers":
        shown = data["papers"]
        head = f"{data['total']} papers; {len(shown)} shown from {data['offset']}"
        return "\n".join([head] + [f"[@{p['key']}] {p['title']}" for p in shown])
    if name == "get_paper":
        return f"[@{data['key']}] {data['title']}\n\n{data['abstract']}\n\n{data['bibtex']}"
    if name == "ask":
        sources = "\n".join(f"[@{c['key']}] {c['title']}" for c in data["citations"])
        return data["answer"] + (f"\n\nSources:\n{sources}" if sources else "")
    if name == "verify_claim":
        evidence = f" Evidence: {data['evidence'][0]}" if data["evidence"] else ""
        return f"{data['label']} ({data['score']:.2f}) [@{data['key']}].{evidence}"
    if name == "verify_text":
        counts: dict[str, int] = {}
        for c in data["claims"]:
            counts[c["status"]] = counts.get(c["status"], 0) + 1
        return (f"{len(data['claims'])} claims: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
                + f". Citation recall {data['citation_recall']:.2f}, precision {data['citation_precision']:.2f}.")
    if name in ("write_survey", "related_work"):
        files = ", ".join(f"{k}: {v}" for k, v in data["files"].items())
        v = data["verification"]
        summary = data.get("scope", {}).get("summary", "")
        return (f"Wrote {data['title']!r} ({v['claims']} claims, {v['cited_papers']} papers cited, "
                f"citation recall {v['citation_recall']:.2f}). {summary} Files: {files}")
    if name == "ingest":
        return (f"{data['new']} new, {data['updated']} updated, {data['duplicate']} duplicate, "
                f"{len(data['rejected'])} rejected; {data['papers_in_store']} papers in the store")
    return json.dumps(data)[:2000]
