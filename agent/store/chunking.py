"""Paper -> chunks: a title chunk and a title+abstract chunk per paper, plus full-text chunks.

The title chunk is what finds a paper by name: a query that restates a title matches the title's
own vector and BM25 entry far better than the 256-token abstract chunk, which dilutes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.paper import Paper

# A heading line in extracted PDF text: "2 Related Work", "3.1. Method", "IV. Results", "Introduction",
# "REFERENCES". Strict on purpose: a numbered reference ("1. A. M. Turing. Computing ...") or a body line
# that happens to start with "references to ..." must not open a section.
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+[A-Z][A-Za-z\-]*(?:\s+[A-Za-z][A-Za-z\-]*){0,7}$")
_NAMED_WORDS = (
    r"(?:Abstract|Introduction|Related Work|Background|Preliminaries|Method(?:s|ology)?|Approach|Experiments?|"
    r"Results|Discussion|Conclusions?|Limitations|References|Bibliography|Acknowledg(?:e)?ments?|Appendix)"
)
_NAMED = re.compile(rf"^{_NAMED_WORDS}(?:\s+[A-Z][A-Za-z\-]*){{0,3}}$")
_NAMED_UPPER = re.compile(rf"^{_NAMED_WORDS}(?:\s+[A-Z\-]+){{0,3}}$", re.I)


def _is_heading(line: str) -> bool:
    return bool(_NUMBERED.match(line) or _NAMED.match(line) or (line.isupper() and _NAMED_UPPER.match(line)))


@dataclass(frozen=True)
class Chunk:
    """A piece of a paper that is embedded and indexed; `id` is stable for the same key and position."""

    id: str
    key: str
    ord: int
    kind: str  # "title" | "abstract" | "text"
    section: str
    text: str


def abstract_text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}".strip()


def chunk_paper(paper: Paper, size: int = 1500, overlap: int = 200) -> list[Chunk]:
    """All chunks of a paper; every chunk id starts with the paper key."""
    chunks = [
        Chunk(f"{paper.key}#title", paper.key, 0, "title", "Title", paper.title),
        Chunk(f"{paper.key}#abstract", paper.key, 1, "abstract", "Abstract", abstract_text(paper)),
    ]
    if paper.full_text:
        for n, (section, text) in enumerate(_split_full_text(paper.full_text, size, overlap), start=1):
            chunks.append(Chunk(f"{paper.key}#p{n}", paper.key, n + 1, "text", section, f"{paper.title} — {section}\n{text}"))
    return chunks


def _sections(full_text: str) -> list[tuple[str, str]]:
    """Split extracted text at heading lines; text before the first heading is the front matter."""
    sections: list[tuple[str, list[str]]] = [("Front matter", [])]
    for line in full_text.splitlines():
        stripped = line.strip()
        if stripped and _is_heading(stripped):
            sections.append((stripped, []))
        else:
            sections[-1][1].append(line)
    return [(name, re.sub(r"\s+", " ", " ".join(lines)).strip()) for name, lines in sections]


def _split_full_text(full_text: str, size: int, overlap: int) -> list[tuple[str, str]]:
    """Windows of about `size` characters within each section, consecutive windows sharing `overlap`."""
    pieces: list[tuple[str, str]] = []
    for section, text in _sections(full_text):
        if section.lower().startswith(("references", "abstract", "front matter")) or not text:
            continue  # the abstract has its own chunk; references match every query and support no claim
        start = 0
        while start < len(text):
            end = min(len(text), start + size)
            if end < len(text):  # end at a sentence or word boundary when one is near
                cut = max(text.rfind(". ", start + size // 2, end), text.rfind(" ", end - 100, end))
                end = cut + 1 if cut > start else end
            pieces.append((section, text[start:end].strip()))
            if end >= len(text):
                break
            start = max(end - overlap, start + 1)
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < end else start
    return pieces
