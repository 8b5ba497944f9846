"""Check that every key in bench/topics/topics.json exists in the store its corpus builds.

Ingests each corpus into a throwaway keyword-only store (as `survey ingest ... --keyword-only`
would), reads the keys the store assigns, and checks every must/may/section key of every case,
plus that no key is both must and may and that section keys are labeled. For the arXiv slice
it also checks bench/topics/labeled-keys.tsv, which pins each labeled key to its arXiv id and
title, so a change in how keys are assigned shows up as a failure, not as silently different
labels. Exit status 1 on any problem.

    .venv/bin/python bench/topics/check_keys.py            # check
    .venv/bin/python bench/topics/check_keys.py --write-tsv  # (re)write labeled-keys.tsv
"""
from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from agent.api import SurveyAgent, sample_papers  # noqa: E402

CORPORA = {"sample": sample_papers(), "arxiv-slice": HERE / "arxiv-slice.jsonl"}
TSV = HERE / "labeled-keys.tsv"


def store_papers(path: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="topics-check-") as tmp:
        agent = SurveyAgent(store=Path(tmp) / "store", embedding_model="none")
        agent.ingest([path])
        return {p.key: p for p in agent.papers()}


def main(argv: list[str]) -> int:
    cases = json.loads((HERE / "topics.json").read_text(encoding="utf-8"))
    papers = {name: store_papers(path) for name, path in CORPORA.items()}
    problems: list[str] = []
    labeled: dict[tuple[str, str], None] = {}
    for case in cases:
        cid, corpus = case["id"], case["corpus"]
        if corpus not in papers:
            problems.append(f"{cid}: unknown corpus {corpus!r}")
            continue
        must, may = case.get("must", []), case.get("may", [])
        if set(must) & set(may):
            problems.append(f"{cid}: both must and may: {sorted(set(must) & set(may))}")
        sect = [k for s in case.get("sections", []) for k in s["keys"]]
        if set(sect) - set(must) - set(may):
            problems.append(f"{cid}: section keys not labeled: {sorted(set(sect) - set(must) - set(may))}")
        for key in [*must, *may, *sect]:
            if key not in papers[corpus]:
                problems.append(f"{cid}: key {key!r} not in the {corpus} store")
            labeled[(corpus, key)] = None
        print(f"{cid:36s} {corpus:12s} must {len(must):3d}  may {len(may):3d}  "
              f"sections {len(case.get('sections', []))}  (store: {len(papers[corpus])} papers)")

    rows = []
    for corpus, key in labeled:
        p = papers[corpus].get(key)
        if p is not None:
            rows.append([corpus, key, getattr(p, "arxiv_id", None) or "", " ".join(p.title.split())])
    if "--write-tsv" in argv:
        with TSV.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter="\t", lineterminator="\n")
            w.writerow(["corpus", "key", "arxiv_id", "title"])
            w.writerows(sorted(rows))
        print(f"wrote {len(rows)} rows to {TSV}")
    elif TSV.exists():
        with TSV.open(encoding="utf-8", newline="") as fh:
            pinned = {(r["corpus"], r["key"]): r for r in csv.DictReader(fh, delimiter="\t")}
        for corpus, key, arxiv_id, title in rows:
            pin = pinned.get((corpus, key))
            if pin is None:
                problems.append(f"{corpus}/{key}: labeled but not in {TSV.name} (run with --write-tsv)")
            elif pin["arxiv_id"] != arxiv_id or pin["title"] != title:
                problems.append(f"{corpus}/{key}: store now gives {arxiv_id!r} {title!r}, "
                                f"labeled as {pin['arxiv_id']!r} {pin['title']!r}")
    for p in problems:
        print("PROBLEM:", p)
    print("ok: every key exists" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
