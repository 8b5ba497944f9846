"""The user's own paper, as `related-work --from draft.md` reads it: title and abstract of a Markdown draft."""

from __future__ import annotations

import re
from pathlib import Path

from agent.core.errors import SurveyError


def read_draft(path: Path) -> tuple[str, str]:
    """Title and abstract of a Markdown draft: the first '# ' heading (or front-matter title), the Abstract section."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SurveyError(f"{path}: cannot read ({e.__class__.__name__}); pass a UTF-8 Markdown draft") from None
    title = ""
    front = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if front and (m := re.search(r"^title:\s*[\"']?(.*?)[\"']?\s*$", front.group(1), re.M)):
        title = m.group(1)
    body = text[front.end():] if front else text
    if not title and (m := re.search(r"^#\s+(.+)$", body, re.M)):
        title = m.group(1).strip()
    abstract = ""
    m = re.search(r"^#{1,6}\s*abstract\s*$\n(.*?)(?=^#{1,6}\s|\Z)", body, re.M | re.S | re.I)
    if m:
        abstract = m.group(1)
    else:  # the first paragraph after the title
        after = re.sub(r"^\s*#\s+.+$", "", body, count=1, flags=re.M)
        abstract = next((p for p in re.split(r"\n\s*\n", after) if p.strip() and not p.lstrip().startswith("#")), "")
    abstract = " ".join(re.sub(r"^\*\*abstract\.?\*\*:?", "", abstract.strip(), flags=re.I).split())
    if not title:
        raise SurveyError(f"{path}: no title found; start the draft with '# Title' or pass --title")
    if not abstract:
        raise SurveyError(f"{path}: no abstract found; add an '## Abstract' section or pass --abstract")
    return title, abstract
