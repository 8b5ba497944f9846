"""How `ask` ends with the embedded model: answered, abstained, or a model fault (an error), per question.

A reply that cites nothing and does not say the evidence falls short is an error since issue 11, not an
abstention; this counts how often that happens with the 1.5B model on questions the sample corpus does
and does not answer. The response cache is off, so every number is a real model run.

    .venv/bin/python bench/ask_outcomes.py [--store DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.api import SurveyAgent, sample_papers  # noqa: E402
from agent.core.errors import ModelError  # noqa: E402

ANSWERED_BY_THE_STORE = [
    "How long are the videos in InfiniBench on average?",
    "What makes very long video understanding hard for multimodal models?",
    "How are multimodal embedding models trained with synthetic data?",
    "How well do large multimodal models read text in images?",
    "Which benchmarks evaluate multilingual or culturally diverse visual question answering?",
    "How can the visual context window of a multimodal model be extended?",
]
NOT_IN_THE_STORE = [
    "What is the boiling point of liquid nitrogen at sea level?",
    "Which protein folding method won CASP14?",
    "How do graph neural networks predict traffic flow?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path.home() / ".cache" / "survey-agent" / "bench" / "sample-store")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    agent = SurveyAgent(store=args.store, model="local", llm_cache=False)
    agent.ingest([sample_papers()])  # no-op after the first run
    rows = []
    for expected, questions in (("answer", ANSWERED_BY_THE_STORE), ("abstain", NOT_IN_THE_STORE)):
        for question in questions:
            started = time.perf_counter()
            try:
                answer = agent.ask(question)
                outcome = "abstained" if answer.abstained else "answered"
                detail = answer.answer
                if answer.verification is not None:
                    detail += f"  [{answer.verification.summary()}]"
            except ModelError as exc:
                outcome, detail = "model fault", str(exc)
            rows.append({"question": question, "expected": expected, "outcome": outcome,
                         "seconds": round(time.perf_counter() - started, 1), "detail": detail})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['outcome']:<12} (expected {r['expected']}, {r['seconds']} s) {r['question']}\n    {r['detail'][:300]}")
    counts = {o: sum(r["outcome"] == o for r in rows) for o in ("answered", "abstained", "model fault")}
    print(" · ".join(f"{k} {v}" for k, v in counts.items()), f"of {len(rows)} questions")


if __name__ == "__main__":
    main()
