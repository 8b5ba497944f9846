"""JSONL (optionally gzipped) with arXiv field names and common alternates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agent.paper import Paper, arxiv_year, clean, normalize_arxiv, normalize_doi
from agent.sources import Parsed, Rejection

_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _string(record: dict[str, Any], *names: str) -> str:
    """The first present field among `names`, which must be text (numbers are accepted as text)."""
    for name in names:
        value = record.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return clean(str(value))
        raise ValueError(f"field {name!r} must be a string, not {type(value).__name__}")
    return ""


def _authors(value: Any, parsed: Any) -> list[str]:
    if isinstance(value, str):
        return [clean(a) for a in re.split(r"\s+and\s+|,\s*(?=[A-Z])|;", value) if clean(a)]
    if isinstance(value, list) and value:
        names = []
        for item in value:
            if item is None:
                continue
            if isinstance(item, dict):
                item = item.get("name") or " ".join(filter(None, (item.get("given"), item.get("family"))))
            if isinstance(item, list):  # arXiv `authors_parsed`: [last, first, suffix]
                item = " ".join(filter(None, [item[1] if len(item) > 1 else "", item[0]]))
            if clean(str(item)):
                names.append(clean(str(item)))
        return names
    if parsed:
        return _authors(parsed, None)
    return []


def _year(record: dict[str, Any], arxiv_id: str | None) -> int | None:
    for name in ("year", "published", "update_date", "date", "versions"):
        value = record.get(name)
        if isinstance(value, list) and value:  # arXiv `versions`: [{"created": "Mon, 2 Apr 2007 ..."}]
            value = value[0].get("created") if isinstance(value[0], dict) else value[0]
        match = _YEAR.search(str(value)) if value else None
        if match:
            return int(match.group(0))
    return arxiv_year(arxiv_id)


def _categories(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


def record_to_paper(record: dict[str, Any]) -> Paper:
    """One JSON object -> Paper (raises ValueError naming the missing field)."""
    title = _string(record, "title")
    if not title:
        raise ValueError("missing field 'title'")
    raw_id = str(record.get("id") or record.get("arxiv_id") or "")
    arxiv_id = normalize_arxiv(raw_id) or normalize_arxiv(str(record.get("arxiv") or ""))
    doi = normalize_doi(record.get("doi")) or normalize_doi(raw_id)
    url = record.get("url") or record.get("link") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None)
    abstract = _string(record, "summary", "abstract")
    truncated = abstract.endswith(("...", "…"))
    return Paper(
        title=title,
        abstract=abstract,
        authors=_authors(record.get("authors"), record.get("authors_parsed")),
        year=_year(record, arxiv_id),
        venue=_string(record, "venue", "journal-ref", "journal") or None,
        categories=_categories(record.get("categories")),
        arxiv_id=arxiv_id,
        doi=doi,
        url=url,
        abstract_truncated=truncated,
        key=str(record.get("key") or record.get("citation_key") or ""),
    )


def parse_jsonl(path: Path, text: str) -> Parsed:
    """Each non-blank line one JSON object; bad lines are rejected by line number, the rest kept."""
    parsed = Parsed()
    stripped = text.lstrip()
    if stripped.startswith("["):  # a plain JSON array is accepted too
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            parsed.rejected.append(Rejection(str(path), f"invalid JSON ({exc.msg}); fix or export as JSONL", exc.lineno))
            return parsed
        lines = [(None, r) for r in records]
    else:
        lines = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                lines.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                parsed.rejected.append(Rejection(str(path), f"invalid JSON ({exc.msg} at column {exc.colno})", number))
    for number, record in lines:
        if not isinstance(record, dict):
            parsed.rejected.append(Rejection(str(path), "expected a JSON object per line", number))
            continue
        try:
            parsed.papers.append(record_to_paper(record))
        except ValueError as exc:
            parsed.rejected.append(Rejection(str(path), str(exc), number))
    return parsed
