"""`survey chat`: a REPL over the ask loop with line editing, history and slash commands."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from agent.api import SurveyAgent
from agent.ask import Conversation
from agent.core.errors import SurveyError
from agent.render import Streamer, answer_markdown, show_answer
from agent.store.search import Filters

HELP = """Ask a question about the papers in the store; follow-up questions use the conversation.
  /sources      papers cited by the last answer, and the evidence it was given
  /papers       the papers in the store
  /save FILE    save this conversation as Markdown
  /model [M]    show the model, or switch to litellm model M
  /new          start a new conversation
  /help         this help
  /quit         leave (Ctrl-D too). Ctrl-C stops an answer being written."""


class ChatSession:
    """One interactive session: a conversation, its history file and the commands."""

    def __init__(self, agent: SurveyAgent, console: Any, filters: Filters | None = None) -> None:
        self.agent, self.console = agent, console
        self.filters = filters or Filters()  # --from/--to/--source, for every question
        self.conversation = Conversation()
        self._prompt = self._make_prompt()

    def _make_prompt(self):  # type: ignore[no-untyped-def]
        """prompt_toolkit (arrow keys, history) on a terminal; plain input() otherwise."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return lambda: input("ask> ")
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history = Path(self.agent.settings.cache_dir) / "chat_history"
        history.parent.mkdir(parents=True, exist_ok=True)
        session = PromptSession(history=FileHistory(str(history)))
        return lambda: session.prompt("ask> ")

    def run(self) -> None:
        papers = self.agent.require_papers()  # before anything opens (and so creates) the catalog
        self.console.print(f"[bold]survey chat[/bold] — {papers} papers, model {self.agent.settings.model}. /help for commands.")
        # Ctrl-C must stop an answer. A process started by a non-interactive shell with `&` (some CI
        # runners) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        while True:
            try:
                line = self._prompt().strip()
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line, as in a shell
            except EOFError:
                self.console.print()
                return
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line) == "quit":
                    return
                continue
            self.answer(line)

    def answer(self, question: str) -> None:
        try:
            with Streamer(self.console) as stream:
                answer = self.agent.ask(question, conversation=self.conversation, on_token=stream, filters=self.filters)
        except KeyboardInterrupt:
            self.console.print("[yellow](answer stopped)[/yellow]")
            return
        except SurveyError as exc:
            self.console.print(f"[red]error:[/red] {exc}")
            return
        show_answer(self.console, answer)

    def command(self, line: str) -> str | None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        last = self.conversation.turns[-1] if self.conversation.turns else None
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/help":
            self.console.print(HELP, markup=False)
        elif name == "/sources":
            if last is None:
                self.console.print("No answer yet.")
            else:
                self.console.print("cited = in the last answer; shown = given to the model as evidence", style="dim")
                for c in last.citations:
                    self.console.print(f"cited  [@{c.key}] {c.title}", markup=False)
                for e in last.evidence:
                    self.console.print(f"shown  [@{e.key}] {e.title}", markup=False)
        elif name == "/papers":
            for p in self.agent.papers():
                self.console.print(f"[@{p.key}] {p.title}", markup=False)
        elif name == "/save":
            if not arg:
                self.console.print("usage: /save FILE.md")
            else:
                path = Path(arg).expanduser()
                path.write_text(self.transcript(), encoding="utf-8")
                self.console.print(f"saved {len(self.conversation.turns)} answer(s) to {path}", markup=False)
        elif name == "/model":
            if arg:
                try:
                    self.agent.use_model(arg)
                except SurveyError as exc:
                    self.console.print(f"[red]error:[/red] {escape(str(exc))}")
                    return None
                self.conversation = Conversation()  # the next question starts afresh with the new model
            self.console.print(f"model: {self.agent.settings.model}", markup=False)
        elif name == "/new":
            self.conversation = Conversation()
            self.console.print("new conversation")
        else:
            self.console.print(f"unknown command {name}; /help lists them", markup=False)
        return None

    def transcript(self) -> str:
        """The conversation as Markdown."""
        body = "\n\n".join(answer_markdown(turn, heading=True) for turn in self.conversation.turns)
        return f"# Chat with {self.agent.settings.store}\n\n{body}\n"
