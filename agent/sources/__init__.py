"""Source files -> `Paper` records. Format from `--format`, else extension, else content."""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

# bibtexparser and pypdf are imported inside their parsers (slow to import), so importing all four is cheap.
from agent.sources.bibtex import parse_bibtex
from agent.sources.jsonl import parse_jsonl
from agent.sources.listing import parse_listing
from agent.sources.pdf import parse_pdf
from agent.sources.records import MAX_FIELD_CHARS, Parsed, Rejection, SourceError

# The one list of formats: `--format`'s choices, MCP `ingest`'s parameter type and the registry below.
FormatName = Literal["listing", "jsonl", "bibtex", "pdf"]
FORMATS: tuple[str, ...] = get_args(FormatName)


@dataclass(frozen=True)
class Format:
    """A source format: the file names it is read from, how help names them, and its parser."""

    name: str
    suffixes: tuple[str, ...]  # a folder's files with these endings are ingested
    label: str  # how help text names its files
    parse: Callable[[Path, str], Parsed] | Callable[[Path, bytes], Parsed]
    binary: bool = False  # the parser takes the file's bytes, not decoded text
    by_name: bool = True  # the suffix decides the format (".txt" does not: a .txt file's content is sniffed)


REGISTRY: dict[str, Format] = {
    "listing": Format("listing", (".txt",), "listing .txt", parse_listing, by_name=False),
    "jsonl": Format("jsonl", (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz"), ".jsonl(.gz)", parse_jsonl),
    "bibtex": Format("bibtex", (".bib",), ".bib", parse_bibtex),
    "pdf": Format("pdf", (".pdf",), ".pdf", parse_pdf, binary=True),
}
assert tuple(REGISTRY) == FORMATS, "every format name has one registry entry"
SUFFIXES = tuple(suffix for f in REGISTRY.values() for suffix in f.suffixes)
FILE_KINDS = ", ".join(f.label for f in REGISTRY.values())  # "listing .txt, .jsonl(.gz), .bib, .pdf"

__all__ = ["FILE_KINDS", "FORMATS", "MAX_FIELD_CHARS", "REGISTRY", "SUFFIXES", "Format", "FormatName", "Parsed",
           "Rejection", "SourceError", "decode_lines", "detect_format", "parse_file"]

# Byte-order marks of the Unicode encodings other than UTF-8 that editors save (UTF-32 first: its
# little-endian mark begins with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def detect_format(path: Path, head: bytes) -> str:
    """Guess the format from the name, then from the first bytes."""
    name = path.name.lower()
    for fmt in REGISTRY.values():
        if fmt.by_name and name.endswith(fmt.suffixes):
            return fmt.name
    if head.startswith(b"%PDF-"):
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


def parse_file(path: Path, data: bytes, fmt: str | None = None) -> Parsed:
    """Parse one file's bytes into papers (raises `SourceError` if nothing in it is usable)."""
    if not data.strip():
        raise SourceError("empty file")
    fmt = fmt or detect_format(path, _head(data))
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    parser = REGISTRY[fmt].parse
    if REGISTRY[fmt].binary:
        parsed = parser(path, data)  # type: ignore[arg-type]
    else:
        text, bad_lines = decode_lines(data)
        if bad_lines and fmt != "jsonl":  # only in JSONL is a line a whole record that can be left out
            raise SourceError(f"not UTF-8 text (line {bad_lines[0]}); save it as UTF-8")
        if not text.strip():
            raise SourceError("empty file")
        parsed = parser(path, text)  # type: ignore[arg-type]
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
