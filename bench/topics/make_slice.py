"""Cut the arXiv slice used by the labeled topics in bench/topics/topics.json.

Deterministic: reads ../shared/data/arxiv-75k.jsonl.gz (or the path given as
the first argument), assigns each record to the first group whose pattern
matches its title+abstract, keeps every record of the uncapped groups and, for
capped groups, the records with the smallest md5(id) (a fixed pseudo-random
order that does not depend on date or on any search score). Writes
bench/topics/arxiv-slice.jsonl in the corpus's own JSONL format, sorted by id,
and prints what it wrote.

The theme is "AI for scholarly literature": automatic survey / related-work
generation (the relevant core), with neighbouring subfields as distractors
(systematic-review automation, citation generation and verification, academic
writing, deep-research agents, peer review, research-idea generation,
scientific QA and claim verification) and LLM papers whose own title says
"survey" or "systematic review" on an unrelated subject (distractors that
share the vocabulary of a survey-generation topic).

    python bench/topics/make_slice.py [path/to/arxiv-75k.jsonl.gz]
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parents[2] / "shared" / "data" / "arxiv-75k.jsonl.gz"
OUT = HERE / "arxiv-slice.jsonl"

LLM = r"(large language model|language model|llms?\b|gpt|agent)"

# (name, pattern over lower-cased title+abstract, cap or None = keep all).
# Order matters: a record goes to the first group it matches.
GROUPS: list[tuple[str, str, int | None]] = [
    ("survey-generation",
     r"(survey|literature review|related[- ]work|review article)s? (generation|writing|synthesis|generator)"
     r"|(generat\w*|writ\w*|automat\w*) (an? )?(academic |scientific )?(surveys?|literature reviews?|related[- ]work)"
     r"|autosurvey|surveyforge|surveyx|literature synthesis|research synthesis|deep survey|survey agents?",
     None),
    ("systematic-review-automation",
     rf"(systematic (literature )?reviews?|meta-analys\w+|abstract screening|evidence synthesis)(?=.*{LLM})",
     None),
    ("citation",
     r"citation (generation|recommendation|text|hallucination|accuracy|verification|quality|faithfulness)"
     r"|(fabricat\w*|hallucinat\w*) (citations|references)|reference (prediction|fabrication)|cite\w* (sources|papers|references)"
     r"|with (accurate )?citations|attributed (text|answer)",
     None),
    ("academic-writing",
     r"academic writing|scientific writing|paper writing|research paper|scholarly (writing|document)|writing assistant",
     45),
    ("deep-research",
     r"deep research|literature search|scientific literature (retrieval|search)|paper (search|retrieval)|research assistant",
     45),
    ("peer-review", r"peer[- ]review|review generation|reviewer", 35),
    ("idea-generation", r"research ideas?|scientific ideas?|ai scientists?|hypothes[ie]s generation|automated (scientific )?research|autonomous research", 35),
    ("scientific-qa", r"scientific (question|claim|fact|document|papers?|literature)|scholarly", 40),
    ("off-topic-surveys",
     rf"^[^\n]*(a survey|systematic review|comprehensive review|a review)[^\n]*\n(?=.*{LLM})",
     60),
]


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    compiled = [(n, re.compile(p, re.S), cap) for n, p, cap in GROUPS]
    buckets: dict[str, list[dict]] = {n: [] for n, _, _ in GROUPS}
    total = 0
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            total += 1
            title = " ".join(rec["title"].split())
            text = (title + "\n" + " ".join(rec["summary"].split())).lower()
            for name, pat, _ in compiled:
                if pat.search(text):
                    buckets[name].append(rec)
                    break
    kept: list[dict] = []
    counts = Counter()
    for name, _, cap in compiled:
        recs = sorted(buckets[name], key=lambda r: md5(r["id"]))
        take = recs if cap is None else recs[:cap]
        counts[name] = (len(take), len(recs))
        kept.extend(take)
    kept.sort(key=lambda r: r["id"])
    with OUT.open("w", encoding="utf-8") as fh:
        for rec in kept:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"read {total} records from {src}")
    for name, _, cap in compiled:
        n, of = counts[name]
        print(f"  {name:30s} kept {n:4d} of {of:4d}" + ("" if cap is None else f" (cap {cap}, smallest md5(id))"))
    print(f"wrote {len(kept)} records, {OUT.stat().st_size/1e6:.2f} MB -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
