"""The shipped claim verifier: pairs/s of the encoder alone and of the cascade, and their quality.

Speed and quality of the trained judge on every Check-COVID *dev* pair (207; the encoder was trained
on Check-COVID *train*, and models were selected on this split, so read it as a dev number): three timed
runs after one warm-up, on the threads given. The cascade (the encoder, plus the embedded LLM's Yes/No
log-probabilities on the pairs it is UNCERTAIN of) on the first `--cascade-pairs` pairs, against the
encoder alone on the same pairs; `--cascade-pairs 0` skips it (it needs `pip install '.[local]'`).
SciFact: the out-of-fold scores recorded in meta.json (`cv`: the encoder's out-of-fold scores, the
combiner cross-fitted; train/README.md says how).

    .venv/bin/python bench/verify.py
    .venv/bin/python bench/verify.py --cascade-pairs 40 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.check.evaluate import label_conflicts, load_pairs, run  # noqa: E402
from agent.check.judges import TrainedJudge  # noqa: E402
from agent.check.nli import NLIModel  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "check-covid"


def quality(scores) -> dict:  # type: ignore[no-untyped-def]
    return {k: scores.to_dict()[k] for k in ("n", "macro_f1", "binary_bacc", "accuracy", "ece", "uncertain_share", "f1")}


def cascade(pairs: list, judge: TrainedJudge, model: str) -> dict:
    """The cascade on `pairs` (one untimed pair first: it starts the embedded server), beside the encoder."""
    from agent.check.judges import CascadeJudge
    from agent.core.settings import Settings
    from agent.llm.client import LLMClient

    with tempfile.TemporaryDirectory() as cache:
        llm = LLMClient(Settings(cache_dir=Path(cache), llm_cache=False))
        # As `SURVEY_VERIFY_MODEL=cascade` builds it: the same encoder, with the cascade's wider margin.
        base = TrainedJudge(judge.model, judge.model.meta["stacker"].get("cascade_threshold"))
        judged = CascadeJudge(base, llm, model)
        run(pairs[:1], judged)
        judged.asked = 0
        scores, _, seconds = run(pairs, judged)
        alone, _, alone_seconds = run(pairs, judge)
    return {"pairs": len(pairs), "model": model, "llm_calls": judged.asked, "pairs_per_s": round(len(pairs) / seconds, 2),
            "cascade": quality(scores), "encoder_alone": quality(alone),
            "encoder_alone_pairs_per_s": round(len(pairs) / alone_seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", default=str(DATA / "claims_dev.jsonl"))
    parser.add_argument("--corpus", default=str(DATA / "corpus.jsonl"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cascade-pairs", type=int, default=40, help="pairs the cascade judges (0: skip it)")
    parser.add_argument("--cascade-model", default="local", help="the cascade's LLM (litellm string; local = embedded)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    pairs = load_pairs(Path(args.claims), Path(args.corpus))
    judge = TrainedJudge(NLIModel(threads=args.threads))
    started = time.perf_counter()
    run(pairs[:32], judge)  # warm-up: session creation
    load_seconds = time.perf_counter() - started
    rates, scores = [], None
    for _ in range(args.runs):
        scores, _, seconds = run(pairs, judge)
        rates.append(len(pairs) / seconds)
    meta = judge.model.meta
    result = {
        "pairs": len(pairs),
        "threads": args.threads,
        "load_average": os.getloadavg()[0],
        "encoder_pairs_per_s_median": round(statistics.median(rates), 2),
        "encoder_pairs_per_s_runs": [round(r, 2) for r in rates],
        "warmup_seconds": round(load_seconds, 2),
        "candidates_per_pair": meta["k"],
        "check_covid_dev": quality(scores) if scores else None,
        "label_conflicts": label_conflicts(pairs),
        "scifact_cv": meta.get("cv", {}).get("scifact"),
        "cascade": cascade(pairs[: args.cascade_pairs], judge, args.cascade_model) if args.cascade_pairs else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(pairs)} Check-COVID dev pairs, {args.threads} threads, load average {result['load_average']:.2f}")
    print(f"encoder: median {result['encoder_pairs_per_s_median']} pairs/s over {args.runs} runs {result['encoder_pairs_per_s_runs']}")
    q = result["check_covid_dev"]
    if q:
        print(f"encoder on Check-COVID dev: macro-F1 {q['macro_f1']} binary bacc {q['binary_bacc']} ECE {q['ece']} "
              f"UNCERTAIN {q['uncertain_share']:.1%} (UNCERTAIN scored as NOT_ENOUGH_INFO / not supported)")
        lc = result["label_conflicts"]
        print(f"  {lc['conflicting_pairs']} of its pairs repeat a claim-paper pair with another label: "
              f"no judge of claim and abstract exceeds accuracy {lc['accuracy_ceiling']}")
    cv = result["scifact_cv"]
    if cv:
        print(f"SciFact out-of-fold (meta.json cv): macro-F1 {cv['macro_f1']} binary bacc {cv['binary_bacc']}")
    c = result["cascade"]
    if c:
        print(f"cascade ({c['model']}) on {c['pairs']} pairs: {c['pairs_per_s']} pairs/s, {c['llm_calls']} LLM calls; "
              f"macro-F1 {c['cascade']['macro_f1']} bacc {c['cascade']['binary_bacc']} ECE {c['cascade']['ece']} | "
              f"encoder alone: macro-F1 {c['encoder_alone']['macro_f1']} bacc {c['encoder_alone']['binary_bacc']} "
              f"ECE {c['encoder_alone']['ece']}, {c['encoder_alone_pairs_per_s']} pairs/s")


if __name__ == "__main__":
    main()
