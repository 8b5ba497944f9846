"""Source files -> `Paper` records. Format from `--format`, else extension, else content."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

from agent.paper import Paper

FORMATS = ("listing", "jsonl", "bibtex", "pdf")


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


def detect_format(path: Path, head: bytes) -> str:
    """Guess the format from the name, then from the first bytes."""
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz")):
        return "jsonl"
    if name.endswith(".bib"):
        return "bibtex"
    if name.endswith(".pdf") or head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "jsonl"
    text = head.lstrip()
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"@") or b"\n@" in head[:2000]:
        return "bibtex"
    return "listing"


def read_text(path: Path, data: bytes) -> str:
    """Decode a text source; gzip is unwrapped; binary content is refused."""
    if data.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"corrupt gzip data ({exc}); re-export the file") from exc
    if b"\x00" in data[:8192]:
        raise SourceError("binary content, not a text, JSONL, BibTeX or PDF paper file; pass --format if it is one")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc


def parse_file(path: Path, data: bytes, fmt: str | None = None) -> Parsed:
    """Parse one file's bytes into papers (raises `SourceError` if nothing in it is usable)."""
    if not data.strip():
        raise SourceError("empty file")
    fmt = fmt or detect_format(path, data[:4096])
    if fmt == "pdf":
        from agent.sources.pdf import parse_pdf

        parsed = parse_pdf(path, data)
    else:
        text = read_text(path, data)
        if fmt == "jsonl":
            from agent.sources.jsonl import parse_jsonl

            parsed = parse_jsonl(path, text)
        elif fmt == "bibtex":
            from agent.sources.bibtex import parse_bibtex

            parsed = parse_bibtex(path, text)
        elif fmt == "listing":
            from agent.sources.listing import parse_listing

            parsed = parse_listing(path, text)
        else:
            raise SourceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    for paper in parsed.papers:
        paper.format = fmt
        paper.source = str(path)
        paper.sources = [str(path)]
    if not parsed.papers and not parsed.rejected:
        raise SourceError(f"no papers found as {fmt}; check the file or pass --format")
    return parsed
