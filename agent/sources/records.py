"""What a source parser yields: papers and rejections (`Parsed`), and the limits every parser applies."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.core.paper import Paper

# The longest text field (title, abstract, venue, author list) a record may have. Real abstracts are a few
# thousand characters; a field past this is a paste error or hostile, and BibTeX's LaTeX decoding of it
# would take seconds per 100k characters. Such a record is rejected by name, the rest of its file is kept.
MAX_FIELD_CHARS = 100_000


@dataclass
class Rejection:
    """Something in a source that could not become a paper, and why."""

    file: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


@dataclass
class Parsed:
    """What one file yielded."""

    papers: list[Paper] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


class SourceError(Exception):
    """The whole file cannot be read as papers (unreadable, empty, binary, wrong format)."""
