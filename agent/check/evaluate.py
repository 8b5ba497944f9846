"""Claim-verification benchmarks: SciFact and Citation-Integrity pairs, and their scores.

Both files give claims, the documents they cite, and per cited document a label with the evidence
sentences. Every claim-document pair becomes one `LabeledPair`; a cited document with no evidence
entry is NOT_ENOUGH_INFO (SciFact's rule).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

from agent.check.calibration import ece, supported_probability
from agent.check.verdict import CONTRADICTED, LABELS, NOT_ENOUGH_INFO, SUPPORTED, UNCERTAIN, Case, Judge, Verdict  # noqa: F401  (labels re-exported)
from agent.core.errors import SurveyError

_DATASET_LABELS = {
    "SUPPORT": SUPPORTED,
    "CONTRADICT": CONTRADICTED,
    "ACCURATE": SUPPORTED,
    "NOT_ACCURATE": CONTRADICTED,
    "NEI": NOT_ENOUGH_INFO,
}
# Citation-Integrity marks the citation itself: "[<|multi_cit|>,7]", "<|cit|>".
_CIT_GROUP = re.compile(r"\s*\[[^\[\]]*<\|[a-z_]+\|>[^\[\]]*\]")
_CIT_TOKEN = re.compile(r"\s*<\|[a-z_]+\|>")


# The JSON shapes of `label_conflicts` and of `SurveyAgent.evaluate` (docs/schema/ is generated from them).
class LabelConflicts(TypedDict):
    """What a labeled file's repeated pairs cap (label_conflicts)."""

    conflicting_groups: int  # claim-paper pairs the file labels more than once, differently
    conflicting_pairs: int  # the pairs in those groups
    accuracy_ceiling: float  # the best accuracy a judge of (claim, abstract) can reach on the file


class EvalShape(TypedDict):
    """`survey eval --json`."""

    dataset: str
    judge: str
    n: int
    accuracy: float
    macro_f1: float
    binary_bacc: float
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]
    ece: float  # expected calibration error of P(supported), 10 bins
    uncertain_share: float  # share of UNCERTAIN verdicts (scored as NOT_ENOUGH_INFO / not supported)
    pairs_per_s: float
    seconds: float
    cost_usd: float
    conflicting_groups: int  # claim-paper pairs the file labels twice with different labels
    conflicting_pairs: int  # the pairs in those groups
    accuracy_ceiling: float  # the best accuracy a judge of (claim, abstract) can reach on the file


@dataclass
class LabeledPair:
    """One claim and one cited abstract, with the gold verdict and rationale sentence sets."""

    claim_id: int
    claim: str
    doc_id: int
    title: str
    sentences: list[str]
    label: str
    rationales: list[list[int]] = field(default_factory=list)


def clean_claim(text: str) -> str:
    """A citing sentence without its citation markers."""
    text = _CIT_TOKEN.sub("", _CIT_GROUP.sub("", text))
    return re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def _read_jsonl(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise SurveyError(f"{path}: {what} file not found; pass the path of a .jsonl file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SurveyError(f"{path}: not UTF-8 text (byte {e.start}); save the {what} file as UTF-8") from None
    except OSError as e:
        raise SurveyError(f"{path}: cannot read the {what} file ({e.strerror})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise SurveyError(f"{path}:{n}: not JSON ({e.msg}); each line must be one JSON object") from None
        except (RecursionError, ValueError):  # nested too deeply, or an integer too long to read
            raise SurveyError(f"{path}:{n}: not readable JSON; each line must be one JSON object") from None
        if not isinstance(row, dict):
            raise SurveyError(f"{path}:{n}: not a JSON object; each line must be one JSON object") from None
        rows.append(row)
    return rows


def load_pairs(claims_path: Path, corpus_path: Path) -> list[LabeledPair]:
    """Every claim-document pair of a SciFact-format claims file (Citation-Integrity uses the same format)."""
    corpus: dict[int, dict] = {}
    for n, row in enumerate(_read_jsonl(Path(corpus_path), "corpus"), 1):
        try:
            corpus[int(row["doc_id"])] = row
        except (KeyError, TypeError, ValueError):
            raise SurveyError(f"{corpus_path}:{n}: missing field doc_id; each line needs doc_id, title, abstract") from None
    pairs: list[LabeledPair] = []
    for n, row in enumerate(_read_jsonl(Path(claims_path), "claims"), 1):
        if "claim" not in row or "cited_doc_ids" not in row:
            raise SurveyError(f"{claims_path}:{n}: needs fields claim and cited_doc_ids (is this a claims file?)")
        evidence = row.get("evidence") or {}
        for doc_id in row["cited_doc_ids"]:
            doc = corpus.get(int(doc_id))
            if doc is None:
                raise SurveyError(f"{claims_path}:{n}: cited document {doc_id} is not in {corpus_path}")
            sets = evidence.get(str(doc_id)) or []
            label = _DATASET_LABELS[sets[0]["label"]] if sets else NOT_ENOUGH_INFO
            pairs.append(
                LabeledPair(
                    claim_id=int(row.get("id", n)),
                    claim=clean_claim(row["claim"]),
                    doc_id=int(doc_id),
                    title=doc.get("title") or "",
                    sentences=[s.strip() for s in doc["abstract"]],
                    label=label,
                    rationales=[list(s["sentences"]) for s in sets],
                )
            )
    return pairs


@dataclass
class Scores:
    """Three-way and binary (supported vs not) agreement with the gold labels."""

    n: int
    accuracy: float
    macro_f1: float
    binary_bacc: float
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count (UNCERTAIN counted as NOT_ENOUGH_INFO)
    ece: float = 0.0  # expected calibration error of P(supported), 10 bins
    uncertain_share: float = 0.0  # share of UNCERTAIN verdicts

    def to_dict(self) -> dict:
        keys = ("n", "accuracy", "macro_f1", "binary_bacc", "f1", "confusion", "ece", "uncertain_share")
        return {k: getattr(self, k) for k in keys}


def score(gold: list[str], predicted: list[str], p_supported: list[float] | None = None) -> Scores:
    """Accuracy, macro-F1 over the three labels, and balanced accuracy of SUPPORTED vs the rest.

    UNCERTAIN is not a fourth class here: it counts as NOT_ENOUGH_INFO for the 3-way scores and as not
    supported for the binary one. `p_supported` (the judge's P(supported) per pair) gives the ECE.
    """
    uncertain = sum(p == UNCERTAIN for p in predicted)
    predicted = [NOT_ENOUGH_INFO if p == UNCERTAIN else p for p in predicted]
    confusion = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in zip(gold, predicted):
        confusion[g][p] += 1
    f1 = {}
    for label in LABELS:
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in LABELS if g != label)
        fn = sum(confusion[label][p] for p in LABELS if p != label)
        f1[label] = round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0
    present = [label for label in LABELS if any(confusion[label].values())]
    pos = [p == SUPPORTED for g, p in zip(gold, predicted) if g == SUPPORTED]
    neg = [p != SUPPORTED for g, p in zip(gold, predicted) if g != SUPPORTED]
    rates = [sum(x) / len(x) for x in (pos, neg) if x]
    return Scores(
        n=len(gold),
        accuracy=round(sum(g == p for g, p in zip(gold, predicted)) / max(1, len(gold)), 4),
        macro_f1=round(sum(f1[label] for label in present) / max(1, len(present)), 4),
        binary_bacc=round(sum(rates) / max(1, len(rates)), 4),
        f1=f1,
        confusion=confusion,
        ece=round(ece(p_supported, [g == SUPPORTED for g in gold]), 4) if p_supported is not None else 0.0,
        uncertain_share=round(uncertain / max(1, len(gold)), 4),
    )


def pair_key(pair: LabeledPair) -> tuple[str, int]:
    """What a judge of (claim, abstract) sees of a pair: the claim (case and spacing aside) and the paper."""
    return " ".join(pair.claim.lower().split()), pair.doc_id


def label_conflicts(pairs: list[LabeledPair]) -> LabelConflicts:
    """Claim-paper pairs that a labeled file gives twice with different labels, and what that caps.

    A judge of (claim, abstract) answers identical inputs identically, so at most one label of such a
    group can be matched. Check-COVID repeats each NOT_ENOUGH_INFO claim word for word against the same
    abstract as a SUPPORT or CONTRADICT claim: a third of its pairs.
    """
    groups: dict[tuple[str, int], list[str]] = {}
    for p in pairs:
        groups.setdefault(pair_key(p), []).append(p.label)
    clashing = [labels for labels in groups.values() if len(set(labels)) > 1]
    best = sum(max(labels.count(label) for label in set(labels)) for labels in groups.values())
    return {"conflicting_groups": len(clashing), "conflicting_pairs": sum(len(labels) for labels in clashing),
            "accuracy_ceiling": round(best / max(1, len(pairs)), 4)}


def run(pairs: list[LabeledPair], judge: Judge, batch: int = 64, progress: Callable[[int], None] | None = None) -> tuple[Scores, list[Verdict], float]:
    """The judge's verdict on every pair: scores, the verdicts, and seconds spent judging."""
    verdicts: list[Verdict] = []
    started = time.perf_counter()
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        cases = [Case(p.claim, str(p.doc_id), p.title, p.sentences) for p in chunk]
        verdicts += judge.judge(cases)
        if progress:
            progress(len(chunk))
    seconds = time.perf_counter() - started
    scores = score([p.label for p in pairs], [v.label for v in verdicts], [supported_probability(v) for v in verdicts])
    return scores, verdicts, seconds
