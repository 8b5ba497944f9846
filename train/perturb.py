"""Generated training pairs: supported claims edited so that their rationale no longer supports them.

Each function takes a claim and returns an edited claim, or None when the edit does not apply.
"""

from __future__ import annotations

import random
import re

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
# Word pairs whose swap turns a finding into its opposite.
_OPPOSITES = [
    ("increases", "decreases"), ("increase", "decrease"), ("increased", "decreased"), ("higher", "lower"),
    ("more", "less"), ("improves", "worsens"), ("improved", "worsened"), ("reduces", "increases"),
    ("reduced", "increased"), ("positive", "negative"), ("better", "worse"), ("promotes", "inhibits"),
    ("activates", "inhibits"), ("enhances", "impairs"), ("outperforms", "underperforms"), ("faster", "slower"),
    ("larger", "smaller"), ("greater", "smaller"), ("up-regulates", "down-regulates"), ("upregulates", "downregulates"),
    ("induces", "suppresses"), ("protects", "harms"), ("benefit", "harm"), ("associated", "unassociated"),
    ("effective", "ineffective"), ("accurate", "inaccurate"), ("risk", "protection"), ("gain", "loss"),
]
_SWAP = {a: b for a, b in _OPPOSITES} | {b: a for a, b in _OPPOSITES}
_AUXILIARY = re.compile(r"\b(is|are|was|were|can|could|will|may|has|have|had|does|do|did)\b(?! not)")
_NEGATED = re.compile(r"\b(is|are|was|were|can|could|will|may|has|have|had|does|do|did) not\b")
_NAME = re.compile(r"\b([A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9\-]*|[A-Za-z]+-\d[\w\-]*)\b")


def change_number(claim: str, rng: random.Random) -> str | None:
    """Replace one number with a clearly different one (e.g. 32% -> 48%)."""
    numbers = list(_NUMBER.finditer(claim))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = float(m.group(1))
    new = value * rng.choice([0.5, 1.5, 2, 3]) + rng.choice([0, 1, 7])
    text = f"{new:.1f}" if "." in m.group(1) else str(int(round(new)))
    if text == m.group(1):
        return None
    return claim[: m.start(1)] + text + claim[m.end(1) :]


def flip_direction(claim: str, rng: random.Random) -> str | None:
    """Swap a direction word for its opposite (increases -> decreases)."""
    words = [m for m in re.finditer(r"[A-Za-z\-]+", claim) if m.group(0).lower() in _SWAP]
    if not words:
        return None
    m = rng.choice(words)
    new = _SWAP[m.group(0).lower()]
    if m.group(0)[0].isupper():
        new = new.capitalize()
    return claim[: m.start()] + new + claim[m.end() :]


def negate(claim: str, rng: random.Random) -> str | None:
    """Insert or remove a `not` after the first auxiliary verb."""
    m = _NEGATED.search(claim)
    if m:
        return claim[: m.start()] + m.group(1) + claim[m.end() :]
    m = _AUXILIARY.search(claim)
    if m:
        return claim[: m.end()] + " not" + claim[m.end() :]
    return None


def swap_name(claim: str, names: list[str], rng: random.Random) -> str | None:
    """Replace a name-like token (acronym, dataset, model) with a name from another paper."""
    found = [m for m in _NAME.finditer(claim) if len(m.group(0)) > 1]
    if not found or not names:
        return None
    m = rng.choice(found)
    new = rng.choice(names)
    if new.lower() == m.group(0).lower():
        return None
    return claim[: m.start()] + new + claim[m.end() :]


def shorten(sentence: str) -> str:
    """A faithful shortening (its first ~70% of words, at least 6): still supported by the sentence."""
    words = sentence.rstrip(".").split()
    return " ".join(words[: max(6, int(len(words) * 0.7))]) + "."


_HEADINGS = {"BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS", "CONCLUSION", "OBJECTIVE", "DESIGN", "SETTING", "CONTEXT"}


def names_in(text: str) -> list[str]:
    """Name-like tokens of a text, as `swap_name` sees them (abstract section headings excluded)."""
    return [m.group(0) for m in _NAME.finditer(text) if len(m.group(0)) > 1 and m.group(0) not in _HEADINGS]
