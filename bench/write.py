"""`write` and `related-work` over the bundled sample corpus with the embedded model: time and quality numbers.

Prints, per run: seconds per stage and in total, model calls and tokens; unknown keys; whether the
references equal the cited set; the self-reported citation recall and precision; coverage (cited /
placed papers); papers per section; and the synthesis measures of bench/synthesis.py (its docstring
defines them), also as one compact table over the runs. The response cache is off: every number is a
real run.

Targets (issue 22): >= 30% of cited body sentences compare or group >= 2 papers, <= 15% open with "The
authors", 0 sentences said twice, <= 15% near-verbatim to a cited abstract, >= 80% grounded section
names, >= 60% of the comparison table's cells filled; a 40-paper survey in <= 300 s and related work in
<= 120 s (2 idle cores, response cache off). Also: 0 unknown keys, recall >= 0.9, coverage >= 0.8.

    .venv/bin/python bench/write.py                         # the bundled Qwen2.5-Coder-1.5B
    .venv/bin/python bench/write.py --model openai/gpt-4o-mini
    .venv/bin/python bench/write.py --keep docs/examples     # also copy the outputs there
    .venv/bin/python bench/write.py --topics                 # every labeled case of bench/topics, scored
    .venv/bin/python bench/write.py --topics --case sample-mm-embeddings --repeat 3   # median time of 3
    .venv/bin/python bench/write.py --score docs/examples/survey.md --score docs/examples/related-work.md \
        --store /tmp/st-sample                               # score existing outputs, nothing written

With --topics, each case of bench/topics/topics.json is written (a survey of its topic, or the related
work of its made-up paper) and scored against its labels: papers cited, on-topic share (cited in must or
may / cited), must-cite recall, candidates left out as off-topic, section names, the time and the
synthesis measures.

With --score, each file (an output's .json, or its .md: the .json beside it is read when there is one)
is scored by the synthesis measures alone. Abstracts come from --store, else the store the JSON names,
else the JSON's references; a Markdown file alone needs --store.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.api import SurveyAgent, sample_papers  # noqa: E402
from agent.core.citations import parse_keys  # noqa: E402
from agent.survey.models import SectionKind  # noqa: E402
from bench.synthesis import from_json, measures, papers_of, score, table  # noqa: E402

TOPIC = "multimodal large language models"
RELATED_TITLE = "Grounded video question answering over hour-long videos"
RELATED_ABSTRACT = (
    "Multimodal large language models answer questions about short clips well but lose track of events in "
    "videos that last an hour or more. We propose a retrieval step that selects the frames relevant to a "
    "question and a memory that keeps what was seen, and we evaluate on long-video benchmarks, where the "
    "method improves accuracy over uniform frame sampling."
)


def quality(agent: SurveyAgent, survey) -> dict:  # type: ignore[no-untyped-def]
    markdown = Path(survey.files["markdown"]).read_text(encoding="utf-8")
    text, _, refs = markdown.partition("\n## References")
    cited = parse_keys(text)
    ref_keys = parse_keys(refs.split("\n## Appendix")[0])
    unknown = [k for k in cited if agent.paper(k) is None]
    recall, precision = survey.citation_scores()
    cov = survey.coverage
    written = from_json(survey.to_dict())
    return {
        "unknown_keys": len(unknown),
        "references_equal_cited": sorted(set(cited)) == sorted(set(ref_keys)) == sorted(r["key"] for r in survey.references),
        "citation_recall": round(recall, 3),
        "citation_precision": round(precision, 3),
        "coverage": round(cov["cited"] / max(cov["placed"], 1), 3),
        "coverage_counts": f"{cov['cited']}/{cov['placed']}",
        "flagged_or_removed": sum(len(s.flagged) for s in survey.sections),
        "papers_per_section": {s.title: len(s.keys) for s in survey.sections if s.kind == SectionKind.THEME},
        "must_cite": cov.get("must_cite"),
        **{k: v for k, v in measures(written, papers_of(written, agent.settings.store)).items() if k != "seconds"},
    }


def run(agent: SurveyAgent, kind: str, out: Path, papers: int) -> dict:
    started = time.perf_counter()
    before = agent.llm.usage.to_dict()
    if kind == "survey":
        survey = agent.write(TOPIC, papers=papers, output=out, fresh=True, force=True)
    else:
        cite = [h.key for h in agent.search("long video benchmark", k=2)]
        survey = agent.related_work(RELATED_TITLE, RELATED_ABSTRACT, cite=cite, papers=papers, output=out,
                                    fresh=True, force=True)
    seconds = time.perf_counter() - started
    after = agent.llm.usage.to_dict()
    return {
        "run": kind,
        "papers": len(survey.scope.keys),
        "seconds": round(seconds, 1),
        "stages_s": survey.timings,
        "model_calls": after["calls"] - before["calls"],
        "prompt_tokens": after["prompt_tokens"] - before["prompt_tokens"],
        "completion_tokens": after["completion_tokens"] - before["completion_tokens"],
        **quality(agent, survey),
        "files": survey.files,
    }


def run_case(agent: SurveyAgent, case: dict, out: Path) -> dict:
    """Write one labeled case and score what it cites."""
    from bench.topics.score import cited_keys

    started = time.perf_counter()
    if case["kind"] == "survey":
        survey = agent.write(case["topic"], output=out, fresh=True, force=True)
    else:
        survey = agent.related_work(case["title"], case["abstract"], output=out, fresh=True, force=True)
    seconds = time.perf_counter() - started
    cited = cited_keys(Path(survey.files["markdown"]).read_text(encoding="utf-8"))
    must, may = set(case["must"]), set(case["may"])
    return {
        "case": case["id"], "kind": case["kind"], "seconds": round(seconds, 1), "cited": len(cited),
        "on_topic": round(sum(k in must | may for k in cited) / max(len(cited), 1), 2),
        "must_recall": round(len(must & set(cited)) / len(must), 2),
        "kept": len(survey.scope.keys), "relevant": survey.scope.relevant, "left_out_off_topic": survey.scope.below_floor,
        "sections": [f"{s.title} ({len(s.keys)})" for s in survey.sections if s.kind == SectionKind.THEME],
        "off_topic_cited": [k for k in cited if k not in must | may], "must_missed": sorted(must - set(cited)),
        **{k: v for k, v in quality(agent, survey).items() if k not in ("papers_per_section", "must_cite")},
        "run": case["kind"], "file": survey.files["markdown"],
    }


def topics(args: argparse.Namespace, work: Path) -> None:
    """--topics: every labeled case (or --case ones), written and scored; times are medians of --repeat runs."""
    from statistics import median

    from bench.selection import TOPICS, store_for

    cases = [c for c in json.loads((TOPICS / "topics.json").read_text(encoding="utf-8"))
             if not args.case or c["id"] in args.case]
    rows = []
    for case in cases:
        store = store_for(case["corpus"], args.store_root)
        agent = SurveyAgent(store=store.root, model=args.model, llm_cache=False)
        runs = [run_case(agent, case, work / f"{case['id']}.md") for _ in range(args.repeat)]
        row = {**runs[-1], "seconds": median(r["seconds"] for r in runs), "seconds_each": [r["seconds"] for r in runs]}
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for suffix in (".md", ".bib", ".json"):
                shutil.copy(work / f"{case['id']}{suffix}", args.keep / f"{case['id']}{suffix}")
        print(json.dumps(row) if args.json else
              f"{row['case']}: cited {row['cited']}, on-topic {row['on_topic']:.2f}, must {row['must_recall']:.2f}, "
              f"left out {row['left_out_off_topic']} off-topic, {row['seconds']:.0f} s (median of {args.repeat}: "
              f"{row['seconds_each']})\n  sections: {'; '.join(row['sections'])}\n  off-topic cited: "
              f"{' '.join(row['off_topic_cited']) or '-'}\n  must missed: {' '.join(row['must_missed']) or '-'}",
              flush=True)
        rows.append(row)
    if not args.json:
        print("\n" + table(rows, [r["case"] for r in rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local")
    parser.add_argument("--papers", type=int, default=40)
    parser.add_argument("--related-papers", type=int, default=15)
    parser.add_argument("--store", type=Path, default=None, help="a store of the sample corpus (default: a temp one)")
    parser.add_argument("--keep", type=Path, default=None, help="copy the Markdown/BibTeX outputs into this folder")
    parser.add_argument("--only", choices=["survey", "related-work"], default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--topics", action="store_true", help="write and score the labeled cases of bench/topics")
    parser.add_argument("--case", action="append", help="with --topics: only this case id (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="with --topics: runs per case (time: the median)")
    parser.add_argument("--store-root", type=Path, default=Path("/tmp/bench-select"),
                        help="with --topics: where the corpora's stores are built once")
    parser.add_argument("--score", type=Path, action="append",
                        help="score this output (.json or .md) without writing anything (repeatable)")
    args = parser.parse_args()
    if args.score:
        rows = [score(path, args.store) for path in args.score]
        print(json.dumps(rows, indent=2) if args.json else table(rows, [p.name for p in args.score]))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-write-"))
    if args.topics:
        topics(args, work)
        return
    store = args.store or work / "store"
    agent = SurveyAgent(store=store, model=args.model, llm_cache=False)
    if not (store / "catalog.sqlite").exists():
        agent.ingest([sample_papers()])
    rows = []
    for kind, n in (("survey", args.papers), ("related-work", args.related_papers)):
        if args.only and kind != args.only:
            continue
        row = run(agent, kind, work / f"{kind}.md", n)
        rows.append(row)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for suffix in (".md", ".bib"):
                shutil.copy(work / f"{kind}{suffix}", args.keep / f"{kind}{suffix}")
        if not args.json:
            print(json.dumps({k: v for k, v in row.items() if k != "files"}, indent=2))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\n" + table(rows, [r["run"] for r in rows]))


if __name__ == "__main__":
    main()
