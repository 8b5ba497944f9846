"""Which papers the writer would keep, per labeled topic (bench/topics), without writing: fast, no model.

Prints per case: papers kept, on-topic share (kept in must or may / kept), must-cite recall, how many
candidates were judged off-topic, the generic queries not searched, the time, and the off-topic papers
kept and the must-cite papers missed. The stores are built from the case's corpus on first use.

    .venv/bin/python bench/selection.py                    # every case, stores under /tmp/bench-select
    .venv/bin/python bench/selection.py --store-root DIR --case sample-mm-embeddings
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.core.settings import Settings  # noqa: E402
from agent.store.store import Store  # noqa: E402
from agent.survey.scope import find_scope  # noqa: E402

TOPICS = ROOT / "bench" / "topics"
CORPORA = {"sample": ROOT / "agent" / "data" / "sample", "arxiv-slice": TOPICS / "arxiv-slice.jsonl"}


def store_for(corpus: str, root: Path) -> Store:
    """A dense store of one corpus, ingested once."""
    path = root / corpus
    store = Store(Settings(store=str(path)))
    if not store.exists() or store.catalog.count() == 0:
        from agent.api import SurveyAgent

        with SurveyAgent(store=path) as agent:
            agent.ingest([CORPORA[corpus]])
    return store


def select(case: dict, store: Store, cap: int) -> tuple[dict, object]:
    """The scope the writer would use for a case, and its scores against the labels."""
    t = time.perf_counter()
    if case["kind"] == "survey":
        scope = find_scope(store, case["topic"], cap)
    else:
        from agent.evidence import best_sentences

        scope = find_scope(store, case["title"], cap, queries=best_sentences(case["abstract"], case["title"], 2),
                           noun="section discusses", about="relate to")
    seconds = time.perf_counter() - t
    return score(case, scope.keys) | {"off_topic_left_out": scope.below_floor, "seconds": round(seconds, 2),
                                      "broad": [b["query"] for b in scope.broad_queries]}, scope


def score(case: dict, keys: list[str]) -> dict:
    """On-topic share and must-cite recall of a set of keys against a labeled case."""
    must, may = set(case["must"]), set(case["may"])
    on = [k for k in keys if k in must | may]
    return {"kept": len(keys), "on_topic": round(len(on) / max(len(keys), 1), 2),
            "must_recall": round(len(must & set(keys)) / len(must), 2),
            "off": [k for k in keys if k not in must | may], "missed": sorted(must - set(keys))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-root", type=Path, default=Path("/tmp/bench-select"))
    parser.add_argument("--case", action="append", help="case id (default: all)")
    parser.add_argument("--survey-cap", type=int, default=60)
    parser.add_argument("--related-cap", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = json.loads((TOPICS / "topics.json").read_text(encoding="utf-8"))
    rows = []
    for case in cases:
        if args.case and case["id"] not in args.case:
            continue
        cap = args.survey_cap if case["kind"] == "survey" else args.related_cap
        row, _ = select(case, store_for(case["corpus"], args.store_root), cap)
        rows.append({"case": case["id"], **row})
        if not args.json:
            print(f"{case['id']:34s} kept {row['kept']:3d}  on-topic {row['on_topic']:.2f}  must {row['must_recall']:.2f}  "
                  f"left out {row['off_topic_left_out']:3d}  {row['seconds']:.1f}s  broad={row['broad']}")
            print(f"    off-topic kept: {' '.join(row['off']) or '-'}")
            print(f"    must missed:    {' '.join(row['missed']) or '-'}")
    surveys = [r for r, c in zip(rows, cases) if c["kind"] == "survey"]
    for name, group in (("surveys", surveys), ("all", rows)):
        if group:
            on = sorted(r["on_topic"] for r in group)[len(group) // 2]
            rec = sorted(r["must_recall"] for r in group)[len(group) // 2]
            mean_on = sum(r["on_topic"] for r in group) / len(group)
            mean_rec = sum(r["must_recall"] for r in group) / len(group)
            if not args.json:
                print(f"{name}: median on-topic {on:.2f}, median must recall {rec:.2f}; mean {mean_on:.2f} / {mean_rec:.2f}")
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
