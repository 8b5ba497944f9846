"""`ask` over the bundled sample corpus with the embedded model: seconds end to end and where they go.

For each question: end-to-end seconds, retrieval seconds (search + evidence, including a query rewrite
if one happens), prompt tokens and llama.cpp prompt-processing time, generated tokens and generation
time. Then a follow-up in the same conversation, where llama.cpp reuses the cached prefix (cache_n).
The response cache is off, so every number is a real model run. Target: < 30 s end to end (1.5B).

    .venv/bin/python bench/ask.py                                  # the bundled Qwen2.5-Coder-1.5B
    .venv/bin/python bench/ask.py --model-path /path/to/other.gguf # any GGUF
    .venv/bin/python bench/ask.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.api import SurveyAgent, sample_papers  # noqa: E402
from agent.ask import Answer, Conversation  # noqa: E402

QUESTIONS = [
    "What makes very long video understanding hard for multimodal models?",
    "How are multimodal embedding models trained with synthetic data?",
    "How well do large multimodal models read text in images (OCR)?",
]
FOLLOW_UP = "Which benchmarks measure this?"


def row(label: str, answer: Answer, seconds: float) -> dict:
    t = answer.timings
    return {
        "run": label,
        "seconds": round(seconds, 2),
        "retrieval_s": round(answer.retrieval_seconds, 2),
        "model_calls": answer.usage.calls,
        "prompt_tokens": answer.usage.prompt_tokens,
        "prompt_cached_tokens": t.get("cache_n"),
        "prompt_ms": round(t.get("prompt_ms", 0)),
        "generated_tokens": answer.usage.completion_tokens,
        "generation_ms": round(t.get("predicted_ms", 0)),
        "citations": len(answer.citations),
        "abstained": answer.abstained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path.home() / ".cache" / "survey-agent" / "bench" / "sample-store")
    parser.add_argument("--model-path", type=Path, default=None, help="a GGUF instead of the bundled 1.5B")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    agent = SurveyAgent(store=args.store, model="local", local_model_path=args.model_path, llm_cache=False)
    agent.ingest([sample_papers()])  # no-op after the first run
    from agent.llm.local import local_server

    started = time.perf_counter()
    local_server(agent.settings)
    start_s = time.perf_counter() - started

    rows = []
    for n, question in enumerate(QUESTIONS):
        conversation = Conversation()
        started = time.perf_counter()
        answer = agent.ask(question, conversation=conversation)
        rows.append(row(f"q{n + 1}", answer, time.perf_counter() - started))
        if n == 0:
            started = time.perf_counter()
            follow = agent.ask(FOLLOW_UP, conversation=conversation)
            rows.append(row("q1 follow-up", follow, time.perf_counter() - started))
            first_answer = answer.answer
    firsts = [r for r in rows if "follow" not in r["run"]]
    summary = {
        "model_start_s": round(start_s, 2),
        "median_seconds": statistics.median(r["seconds"] for r in firsts),
        "max_seconds": max(r["seconds"] for r in firsts),
        "runs": rows,
        "example_answer": first_answer,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"model start (load weights, start llama.cpp): {start_s:.1f} s\n")
    columns = list(rows[0])
    print("  ".join(f"{c:>14}" for c in columns))
    for r in rows:
        print("  ".join(f"{str(r[c]):>14}" for c in columns))
    print(f"\nmedian end to end {summary['median_seconds']} s, max {summary['max_seconds']} s (target < 30 s)")
    print(f"\nq1 answer: {first_answer}")


if __name__ == "__main__":
    main()
