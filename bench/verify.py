"""The shipped claim verifier: pairs/s on SciFact claim-abstract pairs, and its cross-validated quality.

Speed: the trained judge on every SciFact *train* pair (919), three timed runs after one warm-up, on
the threads given (default: all cores). Quality: the out-of-fold scores train/verifier.py recorded
in agent/data/verifier/meta.json (the model that produced them never saw the pairs it was scored on).
The in-sample scores printed here are NOT a measure of quality: the shipped model was trained on them.

    .venv/bin/python bench/verify.py
    .venv/bin/python bench/verify.py --threads 1 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.evaluate import load_pairs, run  # noqa: E402
from agent.judges import TrainedJudge  # noqa: E402
from agent.nli import NLIModel  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "scifact"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", default=str(DATA / "claims_train.jsonl"))
    parser.add_argument("--corpus", default=str(DATA / "corpus.jsonl"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    pairs = load_pairs(Path(args.claims), Path(args.corpus))
    judge = TrainedJudge(NLIModel(threads=args.threads))
    started = time.perf_counter()
    judge.judge([])  # nothing to judge: loads nothing, so the warm-up below pays for session creation
    run(pairs[:32], judge)
    load_seconds = time.perf_counter() - started
    rates, scores = [], None
    for _ in range(args.runs):
        scores, _, seconds = run(pairs, judge)
        rates.append(len(pairs) / seconds)
    meta = judge.model.meta
    result = {
        "pairs": len(pairs),
        "threads": args.threads,
        "pairs_per_s_median": round(statistics.median(rates), 2),
        "pairs_per_s_runs": [round(r, 2) for r in rates],
        "warmup_seconds": round(load_seconds, 2),
        "candidates_per_pair": meta["k"],
        "in_sample": scores.to_dict() if scores else None,
        "cross_validated": meta.get("cv"),
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(pairs)} SciFact train pairs, {args.threads} threads, load average {result['load_average']:.2f}")
    print(f"speed: median {result['pairs_per_s_median']} pairs/s over {args.runs} runs {result['pairs_per_s_runs']}")
    cv = meta.get("cv") or {}
    for name in ("scifact", "citint"):
        if name in cv:
            s = cv[name]
            print(f"{cv['folds']}-fold CV {name}: n={s['n']} accuracy {s['accuracy']} macro-F1 {s['macro_f1']} "
                  f"binary bacc {s['binary_bacc']} F1 {s['f1']}")
    if scores:
        print(f"in-sample (trained on these; not a quality measure): macro-F1 {scores.macro_f1} bacc {scores.binary_bacc}")


if __name__ == "__main__":
    main()
