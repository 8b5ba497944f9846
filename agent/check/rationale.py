"""Candidate rationale sentences: which sentences of an abstract could decide a claim.

Code, not a model, narrows an abstract to the few sentences worth judging. The verifier's model
and its training script both call `candidates`, so training sees exactly what inference sees.
"""

from __future__ import annotations

import math

from agent.core.text import stems


def overlap_scores(claim: str, sentences: list[str]) -> list[float]:
    """IDF-weighted share of the claim's content words found in each sentence.

    IDF is computed over the abstract itself: a word every sentence uses (the paper's topic)
    says little about which sentence carries the claim.
    """
    wanted = stems(claim)
    bags = [stems(s) for s in sentences]
    n = len(bags)
    # Sums in sorted word order: set order follows the process's hash seed, and float sums in another
    # order can flip near-tied candidates, so the same claim could get another verdict in another run.
    idf = {w: math.log(1 + (n + 1) / (1 + sum(w in b for b in bags))) for w in sorted(wanted)}
    total = sum(idf.values()) or 1.0
    return [sum(idf[w] for w in sorted(wanted & bag)) / total for bag in bags]


def top_k(scores: list[float], k: int) -> list[int]:
    """Indices of the k best-scoring sentences, in abstract order."""
    return sorted(sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k])


def candidates(claim: str, sentences: list[str], k: int) -> list[int]:
    """Indices of the k sentences most likely to decide the claim, in abstract order."""
    return top_k(overlap_scores(claim, sentences), k)
