"""Paper-listing text pages (like ../shared/seeds): a title line, then its abstract.

Two layouts exist: blocks separated by blank lines, and title/abstract lines back to back.
Both reduce to the same walk over non-blank lines once page chrome is removed.
"""

from __future__ import annotations

import re
from pathlib import Path

from agent.core.paper import Paper, clean, visible
from agent.sources.records import MAX_FIELD_CHARS, Parsed, Rejection

# Whole lines that are page chrome, not papers.
_CHROME = re.compile(
    r"^(new|subscribe|daily papers|trending papers|get trending papers in your email inbox.*|"
    r"by\s*ak and the research community|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(, \d{4})?|"
    r"\d{1,2} (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*(,? \d{4})?|\d{4}-\d{2}-\d{2})$",
    re.I,
)
# Chrome glued to the next line by a lost line break ("SubscribeABC: Achieving ...").
_GLUED = re.compile(r"^(Subscribe|Daily Papers)(?=[A-Z0-9])")
_ELLIPSIS = ("...", "…")


def _is_abstract(line: str) -> bool:
    words = len(line.split())
    return len(line) >= 250 or (words >= 25 and line.rstrip().endswith((".", "!", "?", *_ELLIPSIS)))


def parse_listing(path: Path, text: str) -> Parsed:
    """Pair each title line with the abstract line(s) after it."""
    parsed = Parsed()
    lines = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if len(raw) > MAX_FIELD_CHARS:
            reason = f"line is {len(raw):,} characters, over the {MAX_FIELD_CHARS:,} limit"
            parsed.rejected.append(Rejection(str(path), reason, n))
            continue
        line = clean(_GLUED.sub("", raw.strip()))
        if visible(line) and not _CHROME.match(line):  # a line of only invisible characters is a blank line
            lines.append((n, line))
    title: tuple[int, str] | None = None
    current: Paper | None = None
    for number, line in lines:
        if _is_abstract(line):
            if title is not None:
                current = Paper(title=title[1], abstract=line)
                parsed.papers.append(current)
                title = None
            elif current is not None:  # a second abstract paragraph
                current.abstract = f"{current.abstract} {line}"
            else:
                parsed.rejected.append(Rejection(str(path), "abstract without a title line before it", number))
            continue
        if title is not None:
            parsed.rejected.append(Rejection(str(path), f"title without an abstract: {title[1][:60]!r}", title[0]))
        title, current = (number, line), None
    if title is not None:
        parsed.rejected.append(Rejection(str(path), f"title without an abstract: {title[1][:60]!r}", title[0]))
    for paper in parsed.papers:
        if paper.abstract.endswith(_ELLIPSIS):
            paper.abstract_truncated = True
    return parsed
