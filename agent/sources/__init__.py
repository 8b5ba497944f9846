"""Source files -> `Paper` records. Format from `--format`, else extension, else content."""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.core.paper import Paper

FORMATS = ("listing", "jsonl", "bibtex", "pdf")

# The longest text field (title, abstract, venue, author list) a record may have. Real abstracts are a few
# thousand characters; a field past this is a paste error or hostile, and BibTeX's LaTeX decoding of it
# would take seconds per 100k characters. Such a record is rejected by name, the rest of its file is kept.
MAX_FIELD_CHARS = 100_000

# Byte-order marks of the Unicode encodings other than UTF-8 that editors save (UTF-32 first: its
# little-endian mark begins with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


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


def _head(data: bytes) -> bytes:
    """The first bytes as UTF-8, so a UTF-16 file's content is recognized like any other."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) : 8192].decode(encoding, errors="ignore").encode("utf-8")[:4096]
    return data[:4096]


def read_text(path: Path, data: bytes) -> str:
    """Decode a text source; gzip is unwrapped; binary content and non-UTF-8 text are refused."""
    text, bad_lines = decode_lines(data)
    if bad_lines:
        raise SourceError(f"not UTF-8 text (line {bad_lines[0]}); save it as UTF-8")
    return text


def decode_lines(data: bytes) -> tuple[str, list[int]]:
    """Decode a text source, and the numbers of `\\n`-separated lines that are not UTF-8 (left blank).

    A file that is UTF-8 but for a few lines (records pasted from elsewhere) keeps its other lines; one
    where most lines fail is in another encoding and is refused whole.
    """
    if data.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"corrupt gzip data ({exc}); re-export the file") from exc
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), []
            except UnicodeDecodeError as exc:
                name = encoding[:6].upper()
                raise SourceError(f"broken {name} text (byte {exc.start + len(bom)}); save it as UTF-8") from exc
    head = data[:8192]
    if b"\x00" in head:
        # Text saved as UTF-16 without a mark has a NUL in every other byte (ASCII letters' high bytes).
        if len(head) >= 16 and (head[0::2].count(0) > 0.4 * len(head) / 2 or head[1::2].count(0) > 0.4 * len(head) / 2):
            raise SourceError("looks like UTF-16 text without a byte-order mark; save it as UTF-8")
        raise SourceError("binary content, not a text, JSONL, BibTeX or PDF paper file; pass --format if it is one")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    lines, bad = [], []
    for number, line in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append("")
            bad.append(number)
    if 2 * len(bad) >= sum(1 for line in lines if line.strip()) + len(bad):
        raise SourceError(f"not UTF-8 text (byte {first_bad}); save it as UTF-8")
    return "\n".join(lines), bad


def _parser(fmt: str) -> Callable[[Path, str], Parsed]:
    """The text parser of a format (imported on demand: bibtexparser and pypdf are slow to import)."""
    if fmt == "jsonl":
        from agent.sources.jsonl import parse_jsonl

        return parse_jsonl
    if fmt == "bibtex":
        from agent.sources.bibtex import parse_bibtex

        return parse_bibtex
    from agent.sources.listing import parse_listing

    return parse_listing


def parse_file(path: Path, data: bytes, fmt: str | None = None) -> Parsed:
    """Parse one file's bytes into papers (raises `SourceError` if nothing in it is usable)."""
    if not data.strip():
        raise SourceError("empty file")
    fmt = fmt or detect_format(path, _head(data))
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "pdf":
        from agent.sources.pdf import parse_pdf

        parsed = parse_pdf(path, data)
    else:
        text, bad_lines = decode_lines(data)
        if bad_lines and fmt != "jsonl":  # only in JSONL is a line a whole record that can be left out
            raise SourceError(f"not UTF-8 text (line {bad_lines[0]}); save it as UTF-8")
        if not text.strip():
            raise SourceError("empty file")
        parsed = _parser(fmt)(path, text)
        if bad_lines:
            parsed.rejected += [Rejection(str(path), "not UTF-8 text; save the file as UTF-8", n) for n in bad_lines]
            parsed.rejected.sort(key=lambda r: r.line or 0)
    for paper in parsed.papers:
        paper.format = fmt
        paper.source = str(path)
        paper.sources = [str(path)]
    if not parsed.papers and not parsed.rejected:
        raise SourceError(f"no papers found as {fmt}; check the file or pass --format")
    return parsed
