"""Pretraining pairs made from unlabeled arXiv abstracts (../shared/data/arxiv-75k.jsonl.gz).

No claim and no label of any evaluation split is read: every row is generated from an abstract's own
sentences, so the cross-encoder first learns the edits that turn a finding into its opposite (flipped
direction word, inserted/removed `not`, changed number) and what "on topic but not deciding" looks
like, on the kind of papers our users ingest, before it is fine-tuned on SciFact train.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import perturb

from agent.check.rationale import overlap_scores
from agent.core.text import split_sentences

SUPPORTS, CONTRADICTS, NEITHER = 0, 1, 2
# "Experiments show that X" -> the finding X, stated as a claim (a shorter restatement of its sentence).
_FINDING = re.compile(r"\b(?:show|shows|showed|demonstrate|demonstrates|demonstrated|find|finds|found|reveal|reveals|"
                      r"indicate|indicates|suggest|suggests|confirm|confirms|verify|verifies|observe|observed)\s+that\s+(.{25,})$")


def _norm(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", title.lower())


def sample_titles() -> set[str]:
    """Titles of the bundled sample papers, which tests make claims about: never pretraining material."""
    from agent.sources.listing import parse_listing

    folder = Path(__file__).resolve().parent.parent / "agent" / "data" / "sample"
    return {_norm(p.title) for f in sorted(folder.glob("*.txt")) for p in parse_listing(f, f.read_text()).papers}


def abstracts(path: Path, limit: int, rng: random.Random, exclude: set[str] = frozenset()) -> list[tuple[str, list[str]]]:
    """(title, sentences) of `limit` abstracts sampled from an arXiv-style JSONL(.gz) file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        records = [json.loads(line) for line in fh]
    rng.shuffle(records)
    out = []
    for r in records:
        if _norm(r["title"]) in exclude:
            continue
        sentences = [s for s in split_sentences(" ".join(r.get("summary", "").split())) if 20 < len(s) < 400]
        if len(sentences) >= 4:
            out.append((" ".join(r["title"].split()), sentences))
        if len(out) >= limit:
            break
    return out


def claim_of(sentence: str) -> str | None:
    """The finding a sentence reports, as a standalone claim, or None."""
    m = _FINDING.search(sentence)
    if not m:
        return None
    text = m.group(1).strip()
    return text[0].upper() + text[1:]


def contradiction(text: str, rng: random.Random) -> str | None:
    for edit in rng.sample([perturb.flip_direction, perturb.negate, perturb.change_number], 3):
        edited = edit(text, rng)
        if edited and edited != text:
            return edited
    return None


def rows(docs: list[tuple[str, list[str]]], rng: random.Random, per_doc: int = 3) -> list[tuple[str, str, int]]:
    """(claim, sentence, label) rows: supports / contradicts / neither, roughly balanced."""
    out: list[tuple[str, str, int]] = []
    names = [n for _, sentences in docs[:2000] for n in perturb.names_in(" ".join(sentences[:2]))]
    for d, (_, sentences) in enumerate(docs):
        made = 0
        for sentence in rng.sample(sentences, len(sentences)):
            claim = claim_of(sentence) or perturb.shorten(sentence)
            flipped = contradiction(claim, rng)
            if flipped is None:
                continue
            out += [(claim, sentence, SUPPORTS), (flipped, sentence, CONTRADICTS)]
            # Neither: the same abstract's least related sentence, or another abstract's closest one.
            own = overlap_scores(claim, sentences)
            if rng.random() < 0.5:
                out.append((claim, sentences[min(range(len(sentences)), key=lambda i: own[i])], NEITHER))
            else:
                other = docs[rng.randrange(len(docs))][1]
                theirs = overlap_scores(claim, other)
                out.append((claim, other[max(range(len(other)), key=lambda i: theirs[i])], NEITHER))
            if rng.random() < 0.3:
                swapped = perturb.swap_name(claim, names, rng)
                if swapped and swapped != claim:
                    out.append((swapped, sentence, NEITHER))
            made += 1
            if made >= per_doc:
                break
        if d and d % 2000 == 0:
            print(f"  {d} abstracts, {len(out)} rows", flush=True)
    return out
