"""Shortening text for one-line display without changing what it says."""

from __future__ import annotations

import re


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
