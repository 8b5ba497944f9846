"""PDF papers: full text with pypdf; title and abstract found in the first page."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from agent.core.paper import Paper, arxiv_year, clean, normalize_arxiv, normalize_doi, scrub, visible
from agent.sources.records import Parsed, Rejection, SourceError

_ABSTRACT_HEAD = re.compile(r"^\s*(abstract|summary)\s*[:.\-—]?\s*(.*)$", re.I)
_SECTION_HEAD = re.compile(r"^\s*((1|I)\.?\s+)?(introduction|keywords|index terms|background)\b", re.I)
_ARXIV = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?", re.I)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.I)
_AFFILIATION = re.compile(r"@|university|institute|department|school of|laborator|inc\.|corporation", re.I)


def _extract(data: bytes) -> tuple[str, dict[str, str], list[int]]:
    """Full text, metadata, and the numbers of pages whose text could not be read."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # pypdf reads untrusted bytes and, on a damaged file, raises almost any exception type (PdfReadError,
    # KeyError, struct.error, zlib.error, RecursionError, ...): any of them means "this PDF is unreadable".
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SourceError("encrypted PDF; decrypt it first")
        pages = list(reader.pages)
    except SourceError:
        raise
    except Exception as exc:  # see above
        raise SourceError(f"unreadable PDF ({_why(exc)}); is the file complete?") from exc
    texts, broken = [], []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # one damaged page should not lose the others
            broken.append(number)
    try:
        meta = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    except Exception:  # damaged metadata: the text is still usable
        meta = {}
    return scrub("\n".join(texts)), meta, broken


def _why(exc: Exception) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _title(lines: list[str], meta: dict[str, str]) -> str:
    """The PDF's title metadata if it looks real, else the first lines before the authors."""
    candidate = clean(meta.get("/Title", ""))
    if len(candidate.split()) >= 2 and not candidate.lower().endswith((".pdf", ".dvi", ".tex", ".doc", ".docx")):
        return candidate
    title: list[str] = []
    for line in lines[:8]:
        if _ABSTRACT_HEAD.match(line) or _AFFILIATION.search(line) or _ARXIV.search(line):
            break
        if title and (len(line.split()) <= 6 and "," in line or len(" ".join(title)) > 150):
            break  # an author line, or the title is already long
        title.append(line)
        if len(line) < 45 and title and len(title) >= 2:
            break
    return clean(" ".join(title))


def _abstract(lines: list[str]) -> str:
    """Text after an 'Abstract' heading, up to the introduction or the first blank-ish break."""
    for i, line in enumerate(lines):
        match = _ABSTRACT_HEAD.match(line)
        if not match:
            continue
        body = [match.group(2)] if match.group(2) else []
        for nxt in lines[i + 1 :]:
            if _SECTION_HEAD.match(nxt) or len(" ".join(body)) > 3000:
                break
            body.append(nxt)
        return clean(" ".join(body))
    return ""


def _author_line(lines: list[str], title: str) -> str:
    """The line after the title if it reads like a list of names ("Ada Lovelace, Alan Turing")."""
    joined = ""
    for i, line in enumerate(lines[:10]):
        joined = clean(f"{joined} {line}")
        if joined == title and i + 1 < len(lines):
            names = re.sub(r"[\d*†‡§]+", "", lines[i + 1])
            parts = [p.strip() for p in re.split(r",| and ", names) if p.strip()]
            if parts and all(1 < len(p.split()) <= 4 and p[:1].isupper() for p in parts):
                return names
            break
    return ""


def parse_pdf(path: Path, data: bytes) -> Parsed:
    """One PDF -> one paper with its full text (chunked at ingest)."""
    text, meta, broken = _extract(data)
    lines = [clean(line) for line in text.splitlines() if clean(line)]
    if not lines:
        if broken:
            raise SourceError("unreadable PDF (no page's text could be extracted); is the file complete?")
        raise SourceError("no extractable text (a scanned PDF? run OCR first)")
    title = _title(lines, meta)
    if not visible(title):
        raise SourceError("could not find a title on the first page")
    abstract = _abstract(lines) or clean(" ".join(lines[1:12]))[:1500]
    head = " ".join(lines[:60])
    arxiv = _ARXIV.search(head)
    arxiv_id = normalize_arxiv(arxiv.group(1)) if arxiv else None
    doi = _DOI.search(head)
    author = clean(meta.get("/Author", "")) or _author_line(lines, title)
    rejected = []
    if broken:  # the paper is ingested, but the user should know part of its text is missing
        pages = f"page{'s' if len(broken) > 1 else ''} {', '.join(map(str, broken))}"
        rejected.append(Rejection(str(path), f"{pages} unreadable; the paper is kept without that text"))
    return Parsed(
        rejected=rejected,
        papers=[
            Paper(
                title=title,
                abstract=abstract,
                authors=[a.strip() for a in re.split(r",|;| and ", author) if a.strip()] if author else [],
                year=arxiv_year(arxiv_id),
                arxiv_id=arxiv_id,
                doi=normalize_doi(doi.group(1).rstrip(".,;")) if doi else None,
                url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None,
                full_text=text,
            )
        ]
    )
