"""A `Survey` as Markdown (Jinja2 template), BibTeX (bibtexparser, as the ingester reads it) and JSON."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from agent.core.templates import render_template
from agent.survey.models import Section, SectionKind, SentenceKind, Survey, numbering
from agent.survey.relevance import RELEVANT_Z

# Sections written by code: their sentences are bullets, and they may hold none.
_CODE_WRITTEN = frozenset(k for k in SectionKind if k.code_written)
# The comparison table goes before the first of these (after the themes).
_AFTER_TABLE = frozenset({SectionKind.OPEN_PROBLEMS, SectionKind.CONCLUSION})


def authors_short(authors: list[str]) -> str:
    """"A, B and C" up to three authors, else "A et al."."""
    if not authors:
        return ""
    if len(authors) > 3:
        return f"{authors[0]} et al."
    return ", ".join(authors[:-1]) + (" and " if len(authors) > 1 else "") + authors[-1]


def _link_text(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def identifier_links(paper: dict[str, Any]) -> list[str]:
    """The paper's arXiv id and DOI as Markdown links, else its URL in angle brackets; [] when none is known."""
    links = []
    if paper.get("arxiv_id"):
        arxiv = paper["arxiv_id"]
        links.append(f"[arXiv:{_link_text(arxiv)}](https://arxiv.org/abs/{quote(arxiv, safe='/:')})")
    if paper.get("doi"):
        doi = paper["doi"]
        links.append(f"[doi:{_link_text(doi)}](https://doi.org/{quote(doi, safe='/:;')})")
    url = str(paper.get("url") or "")
    if not links and re.fullmatch(r"https?://[^\s<>]+", url):
        links.append(f"<{url}>")
    return links


def reference_text(paper: dict[str, Any]) -> str:
    """One reference in one style: Authors (Year). *Title*. Venue. Linked arXiv id and/or DOI, else <URL>."""
    parts = []
    who = authors_short(paper.get("authors") or [])
    year = paper.get("year")
    if who:
        parts.append(f"{who} ({year})." if year else who if who.endswith(".") else f"{who}.")
    elif year:
        parts.append(f"({year}).")
    parts.append(f"*{paper['title'].rstrip('.')}*.")
    if paper.get("venue"):
        parts.append(f"{paper['venue'].rstrip('.')}.")
    links = identifier_links(paper)
    if links:
        parts.append(", ".join(links) + ("." if not links[0].startswith("<") else ""))
    return " ".join(parts)


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).replace("|", "\\|").strip() or "—"


def _paragraphs(section: Section) -> list[str]:
    """Sentences grouped into paragraphs: one per drafting group, comparison sentence last."""
    groups: dict[int, list[str]] = {}
    for s in section.sentences:
        groups.setdefault(s.group, []).append(s.text)
    return [" ".join(texts) for _, texts in sorted(groups.items())]


def appendix_rows(survey: Survey) -> list[dict[str, Any]]:
    return [{"title": s.title, "claims": s.claims, "kept": sum(x.kind != SentenceKind.POSITION for x in s.sentences), "recall": s.citation_recall,
             "precision": s.citation_precision, "flagged": s.flagged} for s in survey.sections if s.claims or s.flagged]


def markdown(survey: Survey) -> str:
    """The survey as Markdown: front matter, numbered sections, table, references, verification appendix."""
    sections: list[dict[str, Any]] = []
    numbers = numbering([s.parent for s in survey.sections])
    for n, (number, s) in enumerate(zip(numbers, survey.sections)):
        bullets = [x.text for x in s.sentences] if s.kind in _CODE_WRITTEN else []
        first_child = bool(s.parent) and (n == 0 or survey.sections[n - 1].parent != s.parent)
        sections.append({
            "number": f"{number}. " if survey.kind == "survey" else "",
            # A subsection shows its own part of the name under its section's heading ("## 2. Parent").
            "parent": f"{number.split('.')[0]}. {s.parent}" if first_child and survey.kind == "survey" else "",
            "level": "###" if s.parent and survey.kind == "survey" else "##",
            "title": s.title.removeprefix(f"{s.parent}: ") if s.parent else s.title, "text": s.text,
            "paragraphs": [] if bullets else _paragraphs(s), "bullets": bullets,
            "empty": not s.sentences and s.kind not in _CODE_WRITTEN,
            "table_before": s.kind in _AFTER_TABLE and not any(x["table_before"] for x in sections),
        })
    rows = appendix_rows(survey)
    recall, precision = survey.citation_scores()
    totals = {"claims": survey.claims,
              "kept": sum(x.kind != SentenceKind.POSITION for s in survey.sections if s.kind not in _CODE_WRITTEN for x in s.sentences),
              "recall": recall, "precision": precision, "flagged": sum(len(s.flagged) for s in survey.sections)}
    table = [{"paper": _cell(f"{r['title']} (`{r['key']}`)"), "year": _cell(r.get("year") or ""),
              "method": _cell(r.get("method", "")), "training": _cell(r.get("training", "")),
              "task": _cell(r.get("task", "")), "headline": _cell(r.get("headline", ""))} for r in survey.table]
    bib = survey.files.get("bib", "").rsplit("/", 1)[-1] or "references.bib"
    return render_template(
        "survey.md",
        title=survey.title, created=survey.created, kind=survey.kind, model=survey.model,
        judge=survey.settings.get("judge", ""), caveat=survey.settings.get("judge_caveat", ""),
        n_papers=len(survey.scope.keys), bib_name=bib, sections=sections, table=table,
        references=[{"key": p["key"], "text": reference_text(p)} for p in survey.references],
        appendix=rows, totals=totals, coverage=survey.coverage, usage=survey.usage,
        scope={**asdict(survey.scope), "left_out_total": max(survey.scope.candidates - len(survey.scope.keys), 0)},
        threshold=RELEVANT_Z,
        seconds=survey.timings.get("total", 0.0),
    ) + "\n"


def _bib_value(text: str) -> str:
    """A field value BibTeX and LaTeX both accept: balanced braces, special characters escaped."""
    text = re.sub(r"\s+", " ", text).replace("{", "").replace("}", "")
    return re.sub(r"(?<!\\)([&%#_$])", r"\\\1", text)


def bibtex(survey: Survey) -> str:
    """One entry per cited paper, entry key = citation key, written with bibtexparser."""
    return bibtex_entries(survey.references)


def bibtex_entries(papers: list[dict[str, Any]]) -> str:
    """BibTeX for papers (as dicts): one entry each, entry key = citation key; parses back on ingest."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    library = bibtexparser.Library()
    for paper in papers:
        fields = [Field("title", "{" + _bib_value(paper["title"]) + "}")]  # inner braces keep capitals
        if paper.get("authors"):
            fields.append(Field("author", " and ".join(_bib_value(a) for a in paper["authors"])))
        if paper.get("year"):
            fields.append(Field("year", str(paper["year"])))
        entry_type = "misc"
        if paper.get("venue"):
            entry_type = "article"
            fields.append(Field("journal", _bib_value(paper["venue"])))
        if paper.get("arxiv_id"):
            fields += [Field("eprint", paper["arxiv_id"]), Field("archivePrefix", "arXiv")]
        if paper.get("doi"):
            fields.append(Field("doi", paper["doi"]))
        if paper.get("url"):
            fields.append(Field("url", paper["url"]))
        if paper.get("abstract"):
            fields.append(Field("abstract", _bib_value(paper["abstract"])))
        library.add(Entry(entry_type, paper["key"], fields))
    return bibtexparser.write_string(library)


def to_json(survey: Survey) -> str:
    return json.dumps(survey.to_dict(), indent=2, ensure_ascii=False) + "\n"
