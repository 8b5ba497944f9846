"""Citation keys: short, readable, unique within a store, and the same for the same paper.

`lastname2024word` when the first author and year are known; else the name before a colon in the
title (`InfiniBench`, `mPLUG-Owl`); else the first three significant title words (`ReviewMultiModal`).
A key is assigned once and stored, so re-ingesting never changes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.core.paper import Paper, ascii_fold, fold

_STOP = {
    "a", "an", "the", "of", "on", "in", "for", "to", "and", "or", "with", "via", "by", "from", "at", "is",
    "are", "towards", "toward", "how", "what", "when", "why", "do", "does", "can", "we", "your", "its",
}
# Pandoc citation-key syntax: starts with a letter/digit/_, internal punctuation allowed.
VALID_KEY = re.compile(r"^[A-Za-z0-9_][\w:.#$%&\-+?<>~/]*$")


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", ascii_fold(text.replace("'", "").replace("’", "")))


def _camel(words: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


def _lastname(author: str) -> str:
    author = author.strip()
    if "," in author:  # "Vaswani, Ashish"
        last = author.split(",")[0]
    else:
        parts = author.split()
        last = parts[-1] if parts else ""
    return "".join(re.findall(r"[a-z]+", fold(last)))


def _short_name(title: str) -> str | None:
    """The system name before a colon, if it is one to three words: `4M-21`, `mPLUG-Owl`, `AyaVision`."""
    head, sep, _ = title.partition(":")
    head = head.strip()
    if not sep or not head or len(head.split()) > 3 or len(head) > 30:
        return None
    parts = [re.sub(r"[^A-Za-z0-9\-]+", "", ascii_fold(p)).strip("-") for p in head.split()]
    parts = [p for p in parts if p]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else _camel(parts)


def base_key(paper: Paper) -> str:
    """The key a paper would get if nothing else in the store had it."""
    if paper.key and VALID_KEY.match(paper.key):
        return paper.key  # the user's own key (e.g. from their .bib) wins
    significant = [w for w in _words(paper.title) if w.lower() not in _STOP] or ["paper"]
    last = _lastname(paper.authors[0]) if paper.authors else ""
    if last and paper.year:
        return f"{last}{paper.year}{significant[0].lower()}"
    short = _short_name(paper.title)
    if short:
        return short
    if last:
        return f"{last}{significant[0].lower()}"
    return _camel(significant[:3])


def assign_key(paper: Paper, taken: Callable[[str], bool]) -> str:
    """A key for a new paper: its base key, or the base key with `-2`, `-3`, ... if already taken."""
    base = base_key(paper)
    key, n = base, 1
    while taken(key):
        n += 1
        key = f"{base}-{n}"
    return key
