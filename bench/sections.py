"""How well the outline's sections group a labeled topic's papers (issue 21 §2).

For each survey case of bench/topics/topics.json with `sections`, the case's must and may papers are
carded and outlined; the printout gives each section's name, size and whether the name is grounded
(its content words, the topic's aside, in at least half of its papers' titles or abstracts), and the
agreement of the sections with the labeled grouping of the must papers: pairwise precision / recall
(pairs of must papers in one labeled section that share a generated section) and the adjusted Rand index.

    .venv/bin/python bench/sections.py                      # names from code (llm=None)
    .venv/bin/python bench/sections.py --variant abstract   # cluster whole-abstract vectors instead
    .venv/bin/python bench/sections.py --baseline           # the outline code of commit 2421702
    SURVEY_LOCAL_MODEL_PATH=... .venv/bin/python bench/sections.py --local   # names from the local model

Stores are copied, never written: pass copies of /tmp/st-sample and /tmp/st-arxiv (--sample, --arxiv).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.core.settings import Settings  # noqa: E402
from agent.store.store import Store  # noqa: E402
from agent.survey.cards import make_card  # noqa: E402
from agent.survey.models import Outline  # noqa: E402
from bench.common import grounded_name, paper_text  # noqa: E402

BASELINE = "2421702"


def baseline_module() -> types.ModuleType:
    """agent/survey/outline.py as it was before this work, loaded beside the current one."""
    source = subprocess.run(["git", "show", f"{BASELINE}:agent/survey/outline.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("outline_baseline")
    exec(compile(source, "outline_baseline.py", "exec"), module.__dict__)
    return module


def pair_scores(labels: dict[str, int], truth: dict[str, int]) -> tuple[float, float, float]:
    """Pairwise precision, recall and the adjusted Rand index over the keys both place."""
    from sklearn.metrics import adjusted_rand_score

    keys = sorted(k for k in truth if k in labels)
    same_true = {(a, b) for a, b in itertools.combinations(keys, 2) if truth[a] == truth[b]}
    same_made = {(a, b) for a, b in itertools.combinations(keys, 2) if labels[a] == labels[b]}
    precision = len(same_true & same_made) / len(same_made) if same_made else 1.0
    recall = len(same_true & same_made) / len(same_true) if same_true else 1.0
    ari = adjusted_rand_score([truth[k] for k in keys], [labels[k] for k in keys])
    return precision, recall, float(ari)


def run_case(case: dict, store: Store, args: argparse.Namespace, llm) -> tuple[float, float, float, int, int]:  # type: ignore[no-untyped-def]
    topic = case["topic"]
    keys = list(dict.fromkeys(case["must"] + case["may"]))
    papers = [p for p in store.catalog.papers(keys) if p.abstract]
    cards = [make_card(p, topic) for p in papers]
    texts = {p.key: paper_text(p.title, p.abstract) for p in papers}
    keys = [c.key for c in cards]
    vectors = None
    if args.variant == "abstract" or args.baseline:
        by_key = store.paper_vectors(keys) or {}
        vectors = [by_key[k] for k in keys]
    if args.baseline:
        outline: Outline = baseline_module().make_outline(cards, vectors, topic, llm, (2, 6), None, args.model)
    else:
        from agent.survey.outline import make_outline

        embed = store.embedder.embed if args.variant == "method" and store.embedder is not None else None
        outline = make_outline(cards, vectors, topic, llm, (2, 6), None, args.model, embed=embed,
                               abstracts={p.key: p.abstract or "" for p in papers})
    truth = {k: n for n, s in enumerate(case["sections"]) for k in s["keys"]}
    made = {k: n for n, t in enumerate(outline.themes) for k in t.keys}
    p, r, ari = pair_scores(made, truth)
    ok = 0
    print(f"\n{case['id']}: {len(cards)} papers, {len(outline.themes)} sections; "
          f"pair precision {p:.2f}, recall {r:.2f}, ARI {ari:.2f}")
    for t in outline.themes:
        good = grounded_name(t.name, [texts[k] for k in t.keys], topic)
        ok += good
        musts = [k for k in t.keys if k in truth]
        print(f"  {len(t.keys):3d} {'ok ' if good else 'NO '}{t.name!r} [{t.named_by}] kw={t.keywords[:4]}")
        print(f"        must: {' '.join(f'{k}/{truth[k]}' for k in musts) or '-'}")
    return p, r, ari, ok, len(outline.themes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="/tmp/wt-sections-sample", help="a copy of the sample store")
    parser.add_argument("--arxiv", default="/tmp/wt-sections-arxiv", help="a copy of the arXiv-slice store")
    parser.add_argument("--variant", choices=["method", "abstract", "tfidf"], default="method",
                        help="method: embed title + method sentence; abstract: stored whole-abstract vectors; "
                             "tfidf: no embedder (a keyword-only store)")
    parser.add_argument("--baseline", action="store_true", help="the outline code before this work")
    parser.add_argument("--local", action="store_true", help="names from the local model")
    parser.add_argument("--case", help="only this case id")
    args = parser.parse_args()
    args.model = "local" if args.local else None
    cases = [c for c in json.loads((ROOT / "bench/topics/topics.json").read_text()) if c.get("sections")]
    cases = [c for c in cases if not args.case or c["id"] == args.case]
    stores = {"sample": Store(Settings(store=args.sample, llm_cache=False)),
              "arxiv-slice": Store(Settings(store=args.arxiv, llm_cache=False))}
    llm = None
    if args.local:
        from agent.llm.client import LLMClient

        llm = LLMClient(Settings(store=args.sample, llm_cache=False))
    totals = []
    for case in cases:
        totals.append(run_case(case, stores[case["corpus"]], args, llm))
    n = len(totals)
    print(f"\nmean over {n} cases: pair precision {sum(t[0] for t in totals) / n:.2f}, "
          f"recall {sum(t[1] for t in totals) / n:.2f}, ARI {sum(t[2] for t in totals) / n:.2f}; "
          f"grounded names {sum(t[3] for t in totals)}/{sum(t[4] for t in totals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
