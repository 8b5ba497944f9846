"""Terminal and Markdown rendering of answers (the CLI and the chat REPL share it)."""

from __future__ import annotations

from typing import Any

from agent.ask import Answer


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
    if answer.verification is not None:
        lines += ["", "*Verified against the abstracts:* " + answer.verification.summary()]
        marks = {"supported": "✓", "contradicted": "✗", "unsupported": "?", "uncited": "?"}
        for check in answer.verification.checks:
            if check.status != "supported" or check.repair:
                lines.append(f"- {marks[check.status]} {check.status}{' (' + check.repair + ')' if check.repair else ''}: {check.claim.text[:100]}")
    if answer.problems:
        lines += ["", "*Checked by code:* " + "; ".join(answer.problems)]
    return "\n".join(lines)


def show_answer(console: Any, answer: Answer) -> None:
    """Print an answer as rendered Markdown followed by a dim usage line."""
    from rich.markdown import Markdown

    console.print(Markdown(answer_markdown(answer)))
    console.print(f"[dim]{answer.usage.summary()} · model {answer.model}[/dim]")


class Streamer:
    """Shows model text live as it streams; the checked answer replaces it when done."""

    def __init__(self, console: Any) -> None:
        self.console, self.parts, self.live = console, [], None

    def __enter__(self) -> "Streamer":
        from rich.live import Live

        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=12, transient=True)
            self.live.start()
        return self

    def __call__(self, text: str) -> None:
        self.parts.append(text)
        if self.live is not None:
            from rich.markdown import Markdown

            self.live.update(Markdown("".join(self.parts)))

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
