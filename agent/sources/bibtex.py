"""BibTeX (.bib) entries with `abstract` fields, read with bibtexparser (v2)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from agent.paper import Paper, clean, normalize_arxiv, normalize_doi
from agent.sources import Parsed, Rejection

_NOT_PAPERS = {"string", "preamble", "comment"}


def _person(name: str) -> str:
    """`Vaswani, Ashish` -> `Ashish Vaswani`; braces and LaTeX spacing removed."""
    name = clean(name.replace("{", "").replace("}", "").replace("~", " "))
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}".strip()
    return name


def _text(value: object) -> str:
    return clean(str(value).replace("{", "").replace("}", "")) if value is not None else ""


def _getter(fields: dict) -> Callable[[str], str]:
    """Field text by lower-case name ("" when absent)."""

    def get(name: str) -> str:
        field = fields.get(name)
        return _text(field.value) if field is not None else ""

    return get


def parse_bibtex(path: Path, text: str) -> Parsed:
    """Every entry with a title becomes a paper; its BibTeX key is kept as the citation key."""
    import bibtexparser
    from bibtexparser import middlewares

    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # failures are reported per entry below
    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.LatexDecodingMiddleware(), middlewares.SeparateCoAuthors()]
    )
    parsed = Parsed()
    for block in library.failed_blocks:
        parsed.rejected.append(Rejection(str(path), "malformed BibTeX entry (unbalanced braces or quotes?)", block.start_line + 1))
    for entry in library.entries:
        if entry.entry_type.lower() in _NOT_PAPERS:
            continue
        fields = {name.lower(): value for name, value in entry.fields_dict.items()}
        get = _getter(fields)

        title = get("title")
        if not title:
            parsed.rejected.append(Rejection(str(path), f"entry {entry.key!r} has no title", entry.start_line + 1))
            continue
        authors = fields["author"].value if "author" in fields else []
        if isinstance(authors, str):
            authors = re.split(r"\s+and\s+", authors)
        year = re.search(r"\d{4}", get("year") or get("date"))
        eprint = get("eprint") if get("archiveprefix").lower() in ("", "arxiv") else ""
        arxiv_id = normalize_arxiv(eprint) or normalize_arxiv(get("arxivid"))
        abstract = get("abstract")
        parsed.papers.append(
            Paper(
                title=title,
                abstract=abstract,
                authors=[_person(a) for a in authors if _person(a)],
                year=int(year.group(0)) if year else None,
                venue=get("journal") or get("booktitle") or get("publisher") or None,
                categories=[k.strip() for k in get("keywords").split(",") if k.strip()],
                arxiv_id=arxiv_id,
                doi=normalize_doi(get("doi")),
                url=get("url") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
                abstract_truncated=abstract.endswith(("...", "…")),
                key=entry.key,
            )
        )
    return parsed
