"""Multi-citation sentences judged as `survey verify` judges them, and repaired as the writer repairs them.

Reads `bench/comparisons.jsonl` (sentences citing 2-3 papers of the sample corpus, labeled true/false by
reading the abstracts; `kind` says how a false one is false) and writes them as one Markdown document, a
sentence a paragraph, citations as written. Two numbers per kind:

- verify: `SurveyAgent.verify_text` (what `survey verify FILE` runs): a true sentence is kept when its
  status is supported; a false one is caught when it is not.
- repair: `Checker.verify_and_repair` without `recite` (what the survey writer runs): a true sentence is kept
  when it comes out whole with all its citations; a false one is caught when it is removed or flagged, or
  when every paper it is false for was dropped from it (name and citation).

    .venv/bin/python bench/comparisons.py                       # store /tmp/st-sample, built if missing
    .venv/bin/python bench/comparisons.py --store DIR --show    # each misjudged sentence, with its verdicts
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.api import SurveyAgent, sample_papers  # noqa: E402
from agent.check.checker import Checker  # noqa: E402

LABELS = ROOT / "bench" / "comparisons.jsonl"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rates(rows: list[dict], ok: str) -> dict[str, str]:
    """Per kind, and for all true / all false rows: `ok` hits over the rows."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        groups[row["kind"] if row["label"] == "false" else f"true {row['kind']}"].append(row[ok])
        groups["TRUE kept" if row["label"] == "true" else "FALSE caught"].append(row[ok])
    return {name: f"{sum(v)}/{len(v)} ({sum(v) / len(v):.0%})" for name, v in sorted(groups.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("/tmp/st-sample"))
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show", action="store_true", help="print every misjudged sentence with its verdicts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = load(args.labels)
    markdown = "\n\n".join(r["sentence"] for r in rows) + "\n"
    with SurveyAgent(store=args.store) as agent:
        if not agent.store.exists() or agent.store.catalog.count() == 0:
            agent.ingest([sample_papers()])
        agent.verify_claim("warm-up", rows[0]["keys"][0])  # loads the judge: not part of the timing
        started = time.perf_counter()
        report = agent.verify_text(markdown)
        verify_s = time.perf_counter() - started
        started = time.perf_counter()
        checked = Checker(agent.store, agent.settings, agent.llm).verify_and_repair(markdown, without=("recite",))
        repair_s = time.perf_counter() - started
    if len(report.checks) != len(rows) or len(checked.checks) != len(rows):
        sys.exit(f"{len(rows)} sentences but {len(report.checks)} claims: a sentence was split or merged")
    for row, check, fixed in zip(rows, report.checks, checked.checks):
        supported = check.status == "supported"
        row["verify_status"] = check.status
        row["verdicts"] = {v.key: v.label for v in check.verdicts}
        row["clauses"] = [f"{v['key']}: {v['label']} {v['score']:.2f} {v['problem']} <- {v['claim']}"
                          for c in check.to_dict()["clauses"] for v in c["verdicts"]]
        row["verify_ok"] = supported if row["label"] == "true" else not supported
        kept, dropped = fixed.repair not in ("removed", "flagged"), set(row["keys"]) - set(fixed.claim.keys)
        row["repair"], row["repaired"] = fixed.repair, fixed.claim.source
        if row["label"] == "true":
            row["repair_ok"] = kept and not dropped
        else:
            row["repair_ok"] = not kept or set(row["fails"]) <= dropped
    result = {"sentences": len(rows), "verify": rates(rows, "verify_ok"), "repair": rates(rows, "repair_ok"),
              "verify_seconds": round(verify_s, 2), "repair_seconds": round(repair_s, 2), "judge": report.judge}
    if args.json:
        print(json.dumps({**result, "rows": rows}, indent=1, ensure_ascii=False))
        return
    print(f"{len(rows)} sentences, judge {report.judge}")
    print(f"{'':<18}{'verify':>16}{'repair':>16}")
    for name in result["verify"]:
        print(f"{name:<18}{result['verify'][name]:>16}{result['repair'][name]:>16}")
    print(f"time: verify {verify_s:.1f} s, verify+repair {repair_s:.1f} s")
    if args.show:
        for row in rows:
            if not (row["verify_ok"] and row["repair_ok"]):
                print(f"\n{row['id']} {row['label']} {row['kind']}: {row['sentence']}\n  verify {row['verify_status']} "
                      f"{row['verdicts']}; repair {row['repair'] or 'kept'}: {row['repaired']}")
                for line in row["clauses"]:
                    print(f"    {line}")


if __name__ == "__main__":
    main()
