"""BibTeX (.bib) entries with `abstract` fields, read with bibtexparser (v2).

LaTeX is decoded here, field by field, and only in the fields a paper shows (title, authors, abstract,
venue, keywords): pylatexenc runs at ~100k characters/s and slower on longer strings, so decoding every
field of every entry (bibtexparser's `LatexDecodingMiddleware`) let one pasted 10 MB field stall an ingest.
Text without LaTeX markup skips the decoder, and a field over `MAX_FIELD_CHARS` rejects its entry, so the
time an ingest takes stays linear in the size of the file.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from agent.core.paper import Paper, clean, normalize_arxiv, normalize_doi, scrub, visible
from agent.sources.records import MAX_FIELD_CHARS, Parsed, Rejection

_NOT_PAPERS = {"string", "preamble", "comment"}
_SHOWN = ("title", "author", "abstract", "journal", "booktitle", "publisher", "keywords")
# What makes a word need the LaTeX decoder: macros, ties, math, dash and quote ligatures. Braces alone do not
# (dropping them is all decoding would do).
_MARKUP = re.compile(r"[\\~$]|--|``|''")
# A field's tokens: control sequences (`\\ ` and `\\%` included), braces, math shifts, whitespace, other text.
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)?|[{}$]|\s+|[^\\{}$\s]+", re.S)
# A word ending in a macro that takes the next word as its argument (`\\' e`, `\\c c`, `\\emph {x}`).
_ENDS_IN_MACRO = re.compile(r"\\(?:[A-Za-z]+|['`^\"~=.])$")
# `%` and `&` written bare in an abstract mean percent and "and"; LaTeX would read a comment and a table cell.
_BARE = re.compile(r"(?<!\\)([%&])")
_URL_MACRO = re.compile(r"\\(?:url|href)\s*\{([^{}]*)\}")
_ESCAPED = re.compile(r"\\([_%&#$~])")


@lru_cache(maxsize=1)
def _decoder() -> tuple[Any, Any]:
    """pylatexenc's converter as bibtexparser configures it (math kept verbatim, `\\url{x}` shown as x),
    and the parser's macro table, built once: pylatexenc rebuilds it on every call unless given one, which
    costs more than decoding a short word."""
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
    from pylatexenc.latexwalker import get_default_latex_context_db as parser_macros

    context = get_default_latex_context_db()
    context.add_context_category("survey-bibtex", prepend=True, macros=[MacroTextSpec("url", simplify_repl="%s")])
    return LatexNodes2Text(latex_context=context, keep_braced_groups=False, math_mode="verbatim"), parser_macros()


def _latex(text: str) -> str:
    converter, macros = _decoder()
    try:
        return converter.latex_to_text(_BARE.sub(r"\\\1", text), latex_context=macros)
    except (RecursionError, ValueError, IndexError, KeyError, AttributeError, TypeError):
        return text  # pylatexenc gives up on some malformed markup: the raw text is still the best we have


def _words(value: str) -> tuple[list[str], list[str]]:
    """The field split at whitespace outside braces and math: words, and the space before each."""
    words, spaces = [], [""]
    depth, math, start = 0, False, 0
    for token in _TOKEN.finditer(value):
        text = token.group()
        if text == "{":
            depth += 1
        elif text == "}":
            depth = max(depth - 1, 0)
        elif text == "$":
            math = not math
        elif text[0].isspace() and depth == 0 and not math:
            words.append(value[start : token.start()])
            spaces.append(text)
            start = token.end()
    words.append(value[start:])
    return words, spaces


def _decode(value: str) -> str:
    """A shown field as plain text: LaTeX accents and macros decoded, braces dropped, spacing collapsed.

    Only the words with markup go through the decoder (a run of neighbouring ones in one call): most of an
    abstract is plain words, and the decoder's cost grows with the length of what it is given.
    """
    value = scrub(value)  # before decoding: an escape sequence's `ESC \\` would read as LaTeX
    if _MARKUP.search(value):
        words, spaces = _words(value)
        pieces, i = [], 0
        while i < len(words):
            j = i
            if _MARKUP.search(words[i]):
                while j + 1 < len(words) and (_MARKUP.search(words[j + 1]) or _ENDS_IN_MACRO.search(words[j])):
                    j += 1
                run = words[i] + "".join(spaces[k] + words[k] for k in range(i + 1, j + 1))
                pieces.append(spaces[i] + _latex(run))
            else:
                pieces.append(spaces[i] + words[i])
            i = j + 1
        value = "".join(pieces)
    return clean(value.replace("{", "").replace("}", ""))


def _plain(value: str) -> str:
    """An identifier field (doi, url, eprint, year): only `\\url{}` and escaped punctuation undone.

    These are not run through the LaTeX decoder, which reads `%` in a URL as the start of a comment.
    """
    value = _ESCAPED.sub(r"\1", _URL_MACRO.sub(r"\1", scrub(value)))
    return clean(value.replace("{", "").replace("}", ""))


def _person(name: str) -> str:
    """`Vaswani, Ashish` -> `Ashish Vaswani`; LaTeX decoded, braces and spacing removed."""
    name = _decode(name)
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}".strip()
    return name


def _raw_fields(entry: Any) -> dict[str, Any]:
    """Field values by lower-case name: a string, or a list of names for `author`."""
    return {name.lower(): field.value for name, field in entry.fields_dict.items()}


def _too_long(fields: dict[str, Any]) -> str | None:
    """The reason an entry is refused for an absurdly long shown field, or None."""
    for name in _SHOWN:
        value = fields.get(name)
        size = sum(len(str(v)) for v in value) if isinstance(value, list) else len(str(value or ""))
        if size > MAX_FIELD_CHARS:
            return f"field {name!r} is {size:,} characters, over the {MAX_FIELD_CHARS:,} limit; shorten it"
    return None


def _failed(path: Path, block: Any) -> Rejection:
    """Why bibtexparser could not use a block, in the user's terms."""
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock

    line = (block.start_line or 0) + 1
    if isinstance(block, DuplicateBlockKeyBlock):
        first = block.previous_block.start_line
        where = f", first at line {first + 1}" if first is not None else ""
        return Rejection(str(path), f"duplicate key {block.key!r}{where}; the first entry is kept", line)
    if isinstance(block, DuplicateFieldKeyBlock):
        entry = block.ignore_error_block
        names = ", ".join(repr(n) for n in sorted(block.duplicate_keys))
        return Rejection(str(path), f"entry {entry.key!r} has field {names} twice; keep one", line)
    return Rejection(str(path), "malformed BibTeX entry (unbalanced braces or quotes?)", line)


def _paper(fields: dict[str, Any], key: str) -> Paper:
    """One entry's fields -> Paper (the title is checked by the caller)."""

    def shown(name: str) -> str:
        value = fields.get(name)
        return _decode(str(value)) if value is not None else ""

    def plain(name: str) -> str:
        value = fields.get(name)
        return _plain(str(value)) if value is not None else ""

    authors = fields.get("author") or []
    if isinstance(authors, str):
        authors = re.split(r"\s+and\s+", authors)
    year = re.search(r"\d{4}", plain("year") or plain("date"))
    eprint = plain("eprint") if plain("archiveprefix").lower() in ("", "arxiv") else ""
    arxiv_id = normalize_arxiv(eprint) or normalize_arxiv(plain("arxivid"))
    abstract = shown("abstract")
    return Paper(
        title=shown("title"),
        abstract=abstract,
        authors=[p for p in (_person(str(a)) for a in authors) if p],
        year=int(year.group(0)) if year else None,
        venue=shown("journal") or shown("booktitle") or shown("publisher") or None,
        categories=[k.strip() for k in shown("keywords").split(",") if k.strip()],
        arxiv_id=arxiv_id,
        doi=normalize_doi(plain("doi")),
        url=plain("url") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
        abstract_truncated=abstract.endswith(("...", "…")),
        key=clean(key),
    )


def parse_bibtex(path: Path, text: str) -> Parsed:
    """Every entry with a title becomes a paper; its BibTeX key is kept as the citation key."""
    import bibtexparser
    from bibtexparser import middlewares

    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # failures are reported per entry below
    library = bibtexparser.parse_string(text, append_middleware=[middlewares.SeparateCoAuthors()])
    parsed = Parsed()
    for block in library.failed_blocks:
        parsed.rejected.append(_failed(path, block))
    for entry in library.entries:
        if entry.entry_type.lower() in _NOT_PAPERS:
            continue
        line = entry.start_line + 1
        fields = _raw_fields(entry)
        reason = _too_long(fields)
        if reason:
            parsed.rejected.append(Rejection(str(path), f"entry {entry.key!r}: {reason}", line))
            continue
        paper = _paper(fields, entry.key)
        if not visible(paper.title):
            parsed.rejected.append(Rejection(str(path), f"entry {entry.key!r} has no title", line))
            continue
        parsed.papers.append(paper)
    return parsed
