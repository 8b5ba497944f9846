"""Terminal and Markdown rendering of answers (the CLI and the chat REPL share it)."""

from __future__ import annotations

from typing import Any

from agent.ask import Answer
from agent.core.paper import scrub
from agent.core.text import clip

# On top of what ingest already scrubs (agent.paper.scrub): whitespace controls that move the cursor.
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
        self.console, self.parts, self.live, self.label = console, [], None, label

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
