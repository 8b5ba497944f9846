"""Rules for one drafted sentence that a judge, reading the sentence against its own paper, does not see.

A near copy of its source (the longest common subsequence of their words), a "sentence" that is only
the paper's title, another paper's content under this paper's key, a comparison that says nothing of
either paper. Each takes plain text: what a paper's card says is given as a string. `Checker` applies
them and words the problem.
"""

from __future__ import annotations

import re

from agent.core.citations import CITE_GROUP
from agent.core.text import stems


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


def only_title(sentence: str, title: str) -> bool:
    """Whether a "sentence" is the paper's title and nothing more ("X: A New Perspective for Y.").

    Built from title words with a verb of its own ("TS-LLaVA constructs visual tokens through ...") it is
    a sentence, and a faithful one: the title is the paper's own claim.
    """
    said = words(sentence)
    title_words = set(re.findall(r"[a-z0-9]+", title.lower()))
    return bool(said) and all(w in title_words for w in said)


def misattributed(sentence: str, own: str, others: dict[str, str], topic: str) -> str:
    """The key of another paper (key -> what its card says) the sentence matches better than its own, or "".

    With several cards in its prompt a weak model sometimes describes the neighbouring paper under this
    paper's name ("The authors present a benchmark ..." for a review); a weak judge may pass it, since
    both papers share the topic. Matching is on content words beyond the topic's.
    """
    said = stems(CITE_GROUP.sub("", sentence)) - stems(topic)

    def shared(text: str) -> int:
        return len(said & stems(text))

    best = max(((shared(text), key) for key, text in others.items()), default=(0, ""))
    return best[1] if best[0] > shared(own) else ""


def specific(sentence: str, cited: list[str], topic: str) -> bool:
    """Whether a comparison says something of each paper it cites (what each card says): two of its own
    words, beyond the topic's.

    "Both papers study X but from different angles" is true of any two papers and checks nothing.
    """
    said = stems(CITE_GROUP.sub("", sentence)) - stems(topic)
    return all(len(said & (stems(text) - stems(topic))) >= 2 for text in cited)
