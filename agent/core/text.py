"""The one text toolkit: clipping for display, stems and stop words, the sentence splitter.

Every layer that reads words or sentences (search snippets, the keyword index, candidate rationales,
claims, survey cards) uses these, so a sentence is the same sentence everywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with "…" when cut.

    Never inside a word or a number ("a BLEU score of 41" for 41.8 read as a wrong number), and no
    dangling punctuation before the ellipsis ("because it requires ;…").
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    if not text[len(cut)].isspace():  # the limit fell inside a word or a number: back off to its start
        cut = cut[: cut.rfind(" ")] if " " in cut else cut
    cut = re.sub(r"[\s,;:(\[\-–—]+$", "", cut)
    return cut + "…"


STOP = set(
    "a an the of for in on to and or with by from is are was were be been this that these those it its as at "
    "what which who whom how why when where does do did can could should would will there their they them "
    "about into than then also such any all some most more other our we you your i me my paper papers study "
    "studies work works research tell show shows".split()
)
# Also "benchmark.Our": listing pages glue sentences together.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])|(?<=[a-z]{3}\.)(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")


@lru_cache(maxsize=1)
def stemmer():  # type: ignore[no-untyped-def]
    """The English Snowball stemmer (PyStemmer), one per process: the keyword index and `stems` share it."""
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(text: str) -> set[str]:
    """Stemmed content words of a text (lower case, stop words dropped)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP]
    return set(stemmer().stemWords(words))


def split_sentences(text: str) -> list[str]:
    """An abstract's sentences (abbreviation-safe enough for abstracts: splits only before a capital)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
