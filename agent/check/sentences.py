"""How much one sentence copies another: the longest common subsequence of their words."""

from __future__ import annotations

import re

from agent.core.citations import CITE_GROUP


def words(text: str) -> list[str]:
    """Lower-case words of a text, citations removed."""
    return re.findall(r"[a-z0-9]+", CITE_GROUP.sub("", text).lower())


def lcs_ratio(a: list[str], b: list[str]) -> float:
    """Longest common subsequence of two word lists over the shorter one's length (1.0 = one copies the other)."""
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[-1]))
        prev = cur
    return prev[-1] / min(len(a), len(b))


def copies(sentence: str, sources: list[str], threshold: float = 0.8) -> bool:
    """Whether the sentence nearly copies one of the source sentences (LCS ratio >= threshold)."""
    mine = words(sentence)
    return any(lcs_ratio(mine, words(s)) >= threshold for s in sources)
