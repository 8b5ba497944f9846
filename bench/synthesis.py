"""Synthesis measures of a written survey or related-work section (issue 22), scored from its files.

A scientist's paragraph groups and contrasts papers; a weak writer says one paper per sentence, opens
each with "The authors", repeats itself and pastes abstracts. Per output:

- `multi_cite_share`: cited body sentences that cite two papers or more / cited body sentences;
- `the_authors_share`: body sentences that open with "The authors" / body sentences;
- `repeated`: sentences said again word for word (case, whitespace and citations aside) anywhere in the
  prose; `near_repeats`: pairs of body sentences, not word for word the same, with a word LCS ratio >= 0.8;
- `near_verbatim_share`: body sentences with a word LCS ratio >= 0.8 to a sentence of an abstract they
  cite (agent.check.sentences.copies: the LCS over the shorter of the two, as the writer's own check);
- `grounded_names_share`: theme names grounded in their papers' titles and abstracts (bench.common);
- `table_filled_share`: filled cells (not empty, not "—") of the comparison table's data columns (year,
  task, headline) / all of them; `table_rows_share`: cited papers with a row;
- `cocitation_density`: distinct pairs of papers cited in one sentence / possible pairs of cited papers;
  `cocited_share`: cited papers cited beside another one at least once (co-citation tells real synthesis
  from one paper per sentence: Martin-Boyle et al. 2024).

Body sentences are those of the drafted sections (themes and open problems): not the code-written
introduction or conclusion, and not related work's positioning sentences (about the user's paper).

The structure comes from the output's JSON (the Survey); with the Markdown alone, from its headings
(Introduction and Conclusion are code-written; an uncited sentence elsewhere is a positioning one).
Abstracts come from a store when one is given or the JSON names one, else from the JSON's references
(cited papers only: a placed paper left uncited then does not count towards its section's name).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from agent.check.claims import cited_sentences, plain
from agent.check.sentences import copies, lcs_ratio, words
from agent.core.text import split_sentences
from agent.survey.models import SectionKind, SentenceKind
from bench.common import grounded_name, paper_text

DATA_COLUMNS = ("year", "task", "headline")  # the comparison table as rendered, its paper column aside
EMPTY_CELL = "—"
# measure -> (comparison, target), from issue 22; time: a 40-paper survey, related work (2 idle cores, no cache).
TARGETS: dict[str, tuple[str, float]] = {
    "multi_cite_share": (">=", 0.30), "the_authors_share": ("<=", 0.15), "repeated": ("<=", 0),
    "near_verbatim_share": ("<=", 0.15), "grounded_names_share": (">=", 0.80), "table_filled_share": (">=", 0.60),
}
SECONDS = {"survey": 300.0, "related-work": 120.0}


@dataclass
class Said:
    """One sentence of the prose: its text as written, what it cites, whether it is a body sentence."""

    text: str
    keys: list[str]
    body: bool


@dataclass
class Part:
    """One section of the prose: its name as shown, whether it is a theme, its papers and sentences."""

    title: str
    theme: bool
    keys: list[str]
    said: list[Said] = field(default_factory=list)


@dataclass
class Written:
    """What the measures read of one output."""

    kind: str  # survey | related-work
    topic: str
    parts: list[Part]
    table: list[dict[str, str]] | None  # key + DATA_COLUMNS per row; None when the output has no table
    seconds: float | None = None
    store: str | None = None  # the store it was written from, when the JSON says
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (title, abstract)


def from_json(data: dict[str, Any]) -> Written:
    """An output's measures' view from its JSON (`Survey.to_dict`)."""
    parts = []
    for sec in data["sections"]:
        kind = SectionKind(sec["kind"])
        title = sec["title"].removeprefix(f"{sec['parent']}: ") if sec.get("parent") else sec["title"]
        said = [Said(c.text, c.keys, False) for c in cited_sentences(sec.get("text", ""))]
        for s in sec["sentences"]:
            body = not kind.code_written and s["kind"] != SentenceKind.POSITION
            said += [Said(c.text, c.keys, body) for c in cited_sentences(s["text"])]
        parts.append(Part(title, kind == SectionKind.THEME, list(sec["keys"]), said))
    table = None
    if data["kind"] == "survey":
        table = [{"key": r["key"], **{c: str(r.get(c) or "").strip() for c in DATA_COLUMNS}} for r in data.get("table", [])]
    return Written(data["kind"], data["topic"], parts, table, (data.get("timings") or {}).get("total"),
                   (data.get("settings") or {}).get("store"),
                   {r["key"]: (r.get("title", ""), r.get("abstract") or "") for r in data.get("references", [])})


def from_markdown(text: str) -> Written:
    """An output's measures' view from its Markdown alone (as agent/survey/render.py writes it)."""
    meta = dict(re.findall(r"^(\w+): \"?(.*?)\"?$", text.split("\n---", 1)[0], re.M)) if text.startswith("---") else {}
    kind = meta.get("kind", "survey")
    title = meta.get("title", "")
    topic = re.sub(r"^Related work for “(.*)”$", r"\1", title.removesuffix(": a survey"))
    parts: list[Part] = []
    table: list[dict[str, str]] | None = None
    part: Part | None = None
    code_written = False
    for line in text.splitlines():
        if heading := re.match(r"^#{2,6}\s+(?:\d+(?:\.\d+)*\.\s+)?(.*?)\s*$", line):
            name = heading.group(1)
            if re.match(r"(?i)references|appendix", name):
                break
            part, code_written = None, name.lower() in ("introduction", "conclusion")
            if name.lower() == "comparison table":
                table = []
                continue
            part = Part(name, not code_written and name.lower() != "open problems", [])
            parts.append(part)
        elif part is None and table is not None and line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            key = re.search(r"\(`([^`]+)`\)$", cells[0])
            if key and len(cells) > len(DATA_COLUMNS):
                table.append({"key": key.group(1), **dict(zip(DATA_COLUMNS, cells[1:]))})
        elif part is not None and line.strip():
            # In a drafted section every sentence is cited but related work's positioning ones.
            part.said += [Said(c.text, c.keys, not code_written and bool(c.keys)) for c in cited_sentences(line)]
    for part in parts:
        part.keys = list(dict.fromkeys(k for s in part.said for k in s.keys))
    seconds = re.search(r"^Queries: .*\bTime: (\d+(?:\.\d+)?) s\.$", text, re.M)  # the appendix's run line
    return Written(kind, topic, [p for p in parts if p.said], table, float(seconds.group(1)) if seconds else None)


def load(path: Path) -> Written:
    """An output from its JSON, or its Markdown (the JSON beside it is used when there is one)."""
    beside = path.with_suffix(".json")
    if path.suffix == ".json" or beside.exists():
        return from_json(json.loads((path if path.suffix == ".json" else beside).read_text(encoding="utf-8")))
    return from_markdown(path.read_text(encoding="utf-8"))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _same(text: str) -> str:
    """A sentence as compared word for word: citations and Markdown removed, case and whitespace aside."""
    return " ".join(plain(text).lower().split())


def measures(written: Written, papers: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The synthesis measures of one output; `papers`: key -> (title, abstract) of the papers it places."""
    said = [s for p in written.parts for s in p.said]
    body = [s for s in said if s.body]
    cited = [s for s in body if s.keys]
    seen: set[str] = set()
    repeated = 0
    for s in said:
        repeated += _same(s.text) in seen
        seen.add(_same(s.text))
    near = sum(_same(a.text) != _same(b.text) and lcs_ratio(words(a.text), words(b.text)) >= 0.8
               for a, b in combinations(body, 2))
    verbatim = sum(copies(s.text, [x for k in s.keys for x in split_sentences(papers.get(k, ("", ""))[1])])
                   for s in body)
    themes = [p for p in written.parts if p.theme]
    grounded = [grounded_name(p.title, [paper_text(*papers[k]) for k in p.keys if k in papers], written.topic)
                for p in themes]
    keys = list(dict.fromkeys(k for s in body for k in s.keys))
    pairs = {frozenset(pair) for s in body for pair in combinations(dict.fromkeys(s.keys), 2)}
    out: dict[str, Any] = {
        "body_sentences": len(body),
        "multi_cite_share": _share(sum(len(set(s.keys)) >= 2 for s in cited), len(cited)),
        "the_authors_share": _share(sum(plain(s.text).lstrip("\"'“*_").startswith("The authors") for s in body),
                                    len(body)),
        "repeated": repeated,
        "near_repeats": near,
        "near_verbatim_share": _share(verbatim, len(body)),
        "grounded_names_share": _share(sum(grounded), len(grounded)),
        "ungrounded_names": [p.title for p, ok in zip(themes, grounded) if not ok],
        "cocitation_density": _share(len(pairs), len(keys) * (len(keys) - 1) // 2),
        "cocited_share": _share(len({k for pair in pairs for k in pair}), len(keys)),
        "seconds": written.seconds,
    }
    if written.table is not None:
        cells = [row[c] for row in written.table for c in DATA_COLUMNS]
        out["table_filled_share"] = _share(sum(c not in ("", EMPTY_CELL) for c in cells), len(cells))
        out["table_columns_filled"] = {c: _share(sum(r[c] not in ("", EMPTY_CELL) for r in written.table),
                                                 len(written.table)) for c in DATA_COLUMNS}
        out["table_rows_share"] = _share(len({r["key"] for r in written.table} & set(keys)), len(keys))
    return out


def papers_of(written: Written, store: Path | str | None = None) -> dict[str, tuple[str, str]]:
    """Title and abstract of every paper the output places: from `store` (or the one its JSON names, when
    it still exists), else from the JSON's references."""
    store = store or written.store
    if store is None or not (Path(store) / "catalog.sqlite").exists():
        return dict(written.references)
    from agent.store.catalog import Catalog

    keys = list(dict.fromkeys(k for p in written.parts for k in p.keys))
    catalog = Catalog(Path(store) / "catalog.sqlite", create=False)
    return {**written.references, **{p.key: (p.title, p.abstract or "") for p in catalog.papers(keys)}}


def score(path: Path, store: Path | str | None = None) -> dict[str, Any]:
    """The measures of an output file (.json or .md) without writing anything again."""
    written = load(path)
    papers = papers_of(written, store)
    if not papers and any(p.keys for p in written.parts):
        raise SystemExit(f"{path}: no abstracts to score it against; pass --store (the store it was written from)")
    return {"run": written.kind, **measures(written, papers)}


def _target(name: str, kind: str) -> tuple[str, float] | None:
    if name == "seconds":
        return ("<=", SECONDS[kind]) if kind in SECONDS else None
    return TARGETS.get(name)


def _mark(name: str, value: Any, kind: str) -> str:
    """A measure as printed, with "ok" or "NO" against its target when it has one."""
    if value is None:
        return "-"
    rule = _target(name, kind)
    met = rule is not None and (value >= rule[1] if rule[0] == ">=" else value <= rule[1])
    shown = f"{value:.2f}" if isinstance(value, float) and name != "seconds" else f"{value:g}"
    return shown + ("" if rule is None else " ok" if met else " NO")


ROWS = [("multi_cite_share", "cited sentences citing >= 2 papers"), ("the_authors_share", 'opens with "The authors"'),
        ("repeated", "sentences said twice"), ("near_repeats", "near-repeat pairs (LCS >= 0.8)"),
        ("near_verbatim_share", "near-verbatim to an abstract"), ("grounded_names_share", "grounded theme names"),
        ("table_filled_share", "table cells filled"), ("table_rows_share", "cited papers with a table row"),
        ("cocitation_density", "co-citation density"), ("cocited_share", "cited papers co-cited"),
        ("body_sentences", "body sentences"), ("seconds", "seconds")]


def table(rows: list[dict[str, Any]], names: list[str]) -> str:
    """The measures of several outputs side by side, one line a measure, with the target and ok / NO."""
    head = ["measure", "target", *names]
    lines = [head]
    for name, label in ROWS:
        target = TARGETS.get(name)
        goal = f"{target[0]} {target[1]:g}" if target else "<= 300 / 120" if name == "seconds" else ""
        lines.append([label, goal, *(_mark(name, r.get(name), r["run"]) for r in rows)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
