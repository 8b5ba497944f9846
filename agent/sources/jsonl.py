"""JSONL (optionally gzipped) with arXiv field names and common alternates.

Every record is checked on its own: a field of the wrong type, a line nested too deeply for the JSON
reader, or an absurdly long field rejects that record by line number, and the rest of the file is kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agent.core.paper import Paper, arxiv_year, clean, normalize_arxiv, normalize_doi, visible
from agent.sources.records import MAX_FIELD_CHARS, Parsed, Rejection

_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _too_long(name: str, size: int) -> ValueError:
    return ValueError(f"field {name!r} is {size:,} characters, over the {MAX_FIELD_CHARS:,} limit; shorten it")


def _text(value: Any, name: str) -> str:
    """A text field's value as clean text: strings and numbers are text, null is absent, the rest refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) > MAX_FIELD_CHARS:
            raise _too_long(name, len(value))
        return clean(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"field {name!r} must be text, not {_kind(value)}")


def _kind(value: Any) -> str:
    """A JSON value's type in JSON's words."""
    return {dict: "an object", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def _string(record: dict[str, Any], *names: str) -> str:
    """The first non-empty field among `names`, which must be text (numbers are accepted as text)."""
    for name in names:
        text = _text(record.get(name), name)
        if text:
            return text
    return ""


def _abstract(record: dict[str, Any]) -> str:
    """`summary` or `abstract`; a list of sentences (SciFact's corpus) is joined."""
    for name in ("summary", "abstract"):
        value = record.get(name)
        if isinstance(value, list):
            value = " ".join(_text(part, name) for part in value)
            if len(value) > MAX_FIELD_CHARS:
                raise _too_long(name, len(value))
        text = _text(value, name)
        if text:
            return text
    return ""


def _author_name(item: Any) -> str:
    """One entry of an authors list: a name, {"name"} or {"given", "family"}, or arXiv's [last, first, suffix]."""
    if isinstance(item, dict):
        name = _text(item.get("name"), "authors")
        parts = (_text(item.get("given"), "authors"), _text(item.get("family"), "authors"))
        return name or clean(" ".join(filter(None, parts)))
    if isinstance(item, list):
        parts = [_text(part, "authors") for part in item[:2]]
        return clean(" ".join(reversed(parts)))
    return _text(item, "authors")


def _authors(value: Any, parsed: Any) -> list[str]:
    if isinstance(value, str):
        if len(value) > MAX_FIELD_CHARS:
            raise _too_long("authors", len(value))
        return [clean(a) for a in re.split(r"\s+and\s+|,\s*(?=[A-Z])|;", value) if clean(a)]
    if isinstance(value, list) and value:
        return [name for name in map(_author_name, value) if name]
    if value not in (None, "", []):
        raise ValueError(f"field 'authors' must be text or a list of names, not {_kind(value)}")
    if parsed is not None:
        if not isinstance(parsed, list):
            raise ValueError(f"field 'authors_parsed' must be a list, not {_kind(parsed)}")
        return [name for name in map(_author_name, parsed) if name]
    return []


def _year(record: dict[str, Any], arxiv_id: str | None) -> int | None:
    for name in ("year", "published", "update_date", "date"):
        match = _YEAR.search(_text(record.get(name), name))
        if match:
            return int(match.group(0))
    versions = record.get("versions")  # arXiv: [{"created": "Mon, 2 Apr 2007 ..."}]
    if isinstance(versions, list) and versions:
        first = versions[0].get("created") if isinstance(versions[0], dict) else versions[0]
        match = _YEAR.search(_text(first, "versions"))
        if match:
            return int(match.group(0))
    return arxiv_year(arxiv_id)


def _categories(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text for text in (_text(v, "categories") for v in value) if text]
    return _text(value, "categories").split()


def record_to_paper(record: dict[str, Any]) -> Paper:
    """One JSON object -> Paper (raises ValueError naming the field that is missing or wrong)."""
    title = _string(record, "title")
    if not visible(title):
        if record.get("title") in (None, ""):
            raise ValueError("missing field 'title'")
        raise ValueError("field 'title' is empty (only spaces or invisible characters)")
    raw_id = _string(record, "id", "arxiv_id")
    arxiv_id = normalize_arxiv(raw_id) or normalize_arxiv(_string(record, "arxiv"))
    doi = normalize_doi(_string(record, "doi")) or normalize_doi(raw_id)
    abstract = _abstract(record)
    return Paper(
        title=title,
        abstract=abstract,
        authors=_authors(record.get("authors"), record.get("authors_parsed")),
        year=_year(record, arxiv_id),
        venue=_string(record, "venue", "journal-ref", "journal") or None,
        categories=_categories(record.get("categories")),
        arxiv_id=arxiv_id,
        doi=doi,
        url=_string(record, "url", "link") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
        abstract_truncated=abstract.endswith(("...", "…")),
        key=_string(record, "key", "citation_key"),
    )


def _load(line: str) -> Any:
    """One JSON value; ValueError with a one-line reason if it is not valid or too deep to read."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("invalid JSON (nested too deeply to read)") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ValueError(f"invalid JSON ({exc})") from None


def _is_array_document(stripped: str) -> bool:
    """A plain JSON array (possibly pretty-printed), not JSONL whose first line happens to be a list."""
    if not stripped.startswith("["):
        return False
    first = stripped.split("\n", 1)[0]
    if first.strip() == stripped.strip():
        return True  # one line: the whole document
    try:
        _load(first)
    except ValueError:
        return True  # the first line is not a value on its own: an array spread over lines
    return False


def parse_jsonl(path: Path, text: str) -> Parsed:
    """Each non-blank line one JSON object; bad lines are rejected by line number, the rest kept."""
    parsed = Parsed()
    stripped = text.lstrip()
    records: list[tuple[int | None, Any]] = []
    if _is_array_document(stripped):  # a plain JSON array is accepted too
        try:
            value = _load(stripped)
        except ValueError as exc:
            parsed.rejected.append(Rejection(str(path), f"{exc}; fix it or export as JSONL"))
            return parsed
        records = [(None, r) for r in value] if isinstance(value, list) else [(None, value)]
    else:
        # JSONL separates records by "\\n" alone: `splitlines()` would also cut at U+2028 or NEL, which JSON
        # allows unescaped inside strings (json.dumps(ensure_ascii=False) writes them).
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, _load(line)))
            except ValueError as exc:
                parsed.rejected.append(Rejection(str(path), str(exc), number))
    for index, (number, record) in enumerate(records, start=1):
        where = "" if number else f"item {index}: "  # array items have no line of their own
        if not isinstance(record, dict):
            parsed.rejected.append(Rejection(str(path), f"{where}expected a JSON object, not {_kind(record)}", number))
            continue
        try:
            parsed.papers.append(record_to_paper(record))
        except ValueError as exc:
            parsed.rejected.append(Rejection(str(path), f"{where}{exc}", number))
        except RecursionError:  # a field nested almost as deep as the reader allows
            parsed.rejected.append(Rejection(str(path), f"{where}a field is nested too deeply", number))
    return parsed
