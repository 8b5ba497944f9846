"""Code checks on the wording of a claim about one paper, cheap enough to run before any judge.

- What a claim says a paper does *without* ("without any training", "with no detector") must be negated in
  the paper too ("training-free", "does not require training"). The judge reads the rest: it takes
  "without training" for a contradiction of "training-free".
- A term of art said of a list of papers ("training-free", "mixture-of-depths") that another listed paper
  uses and this one never does was borrowed from the other paper.
- A compound is judged as the paper spells it ("mixture of depths"): the judge matches whole words.
"""

from __future__ import annotations

import re

from agent.core.text import STOP, stemmer

# "instead of X" / "rather than X" says what others do: it leaves the judged claim and is not checked.
_WITHOUT = re.compile(r",?\s*\b(without|with no|needs? no|requires? no|instead of|rather than)\s+"
                      r"(?:any\s+|the need (?:for|of)\s+|requiring\s+|relying on\s+|using\s+)?([^,;]+)", re.I)
_NEGATION = re.compile(r"^(?:without|no|not|non|never|nor|free|eliminat\w*|avoid\w*|removes?|lack\w*|instead|"
                       r"rather|neither|bypass\w*|dispens\w*|unnecessary|unlike|n't|cannot)$")
_WORD = re.compile(r"[a-z0-9]+(?:'t)?")
COMPOUND = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")  # "mixture-of-depths", "text-only"
# Compounds the whole field uses: a paper not saying "vision-language" borrowed nothing from another.
COMMON_TERMS = {"vision-language", "image-text", "text-image", "text-to-image", "image-to-text", "multi-modal",
                "cross-modal", "large-scale", "state-of-the-art", "open-source", "fine-tuning", "fine-tuned",
                "pre-training", "pre-trained", "real-world", "high-quality", "end-to-end", "zero-shot", "few-shot",
                "fine-grained", "general-purpose", "self-supervised", "task-specific", "well-known", "so-called"}


def split_negated(claim: str) -> tuple[str, list[str]]:
    """A claim without its "without X" parts (for the judge), and the X's the paper must say it does without."""
    found = [m.group(2).strip(" .") for m in _WITHOUT.finditer(claim)
             if m.group(1).lower() not in ("instead of", "rather than")]
    positive = re.sub(r"\s+([.,;])", r"\1", _WITHOUT.sub("", claim).strip())
    return (positive if positive.endswith(".") else positive + "."), found


def negated_in(phrase: str, paper: str, window: int = 6) -> bool:
    """Whether the paper says it does without `phrase`: the phrase's first content word within `window` words
    after a negation ("does not require training", "without retraining"), or as "X-free" ("training-free")."""
    wanted = [w for w in _WORD.findall(phrase.lower()) if len(w) > 2 and w not in STOP]
    if not wanted:
        return True
    head = stemmer().stemWord(wanted[0])
    words = _WORD.findall(paper.lower().replace("-free", " free"))
    for n, word in enumerate(words):
        if stemmer().stemWord(word) != head:
            continue
        if any(_NEGATION.match(w) for w in words[max(0, n - window):n]) or words[n + 1:n + 2] == ["free"]:
            return True
    return False


def _spellings(compound: str) -> tuple[str, str, str]:
    low = compound.lower()
    return low, low.replace("-", " "), low.replace("-", "")


def spelled(claim: str, paper: str) -> str:
    """The claim's compounds as the paper writes them ("mixture-of-depths" -> "mixture of depths")."""
    low = paper.lower()
    for compound in set(COMPOUND.findall(claim)):
        if compound.lower() not in low:
            other = next((s for s in _spellings(compound)[1:] if s in low), None)
            if other is not None:
                claim = re.sub(re.escape(compound), other, claim, flags=re.I)
    return claim


def borrowed(claim: str, paper: str, others: str) -> list[str]:
    """Terms of art in a claim about `paper` that it never uses and the `others` (listed papers' text) do."""
    low, theirs = paper.lower(), others.lower()
    return [c for c in COMPOUND.findall(claim) if c.lower() not in COMMON_TERMS
            and not any(s in low for s in _spellings(c)) and any(s in theirs for s in _spellings(c))]


def anonymous(claim: str, names: list[str]) -> str:
    """The claim with the first of the paper's names in it made "This work": an abstract says "we", rarely
    its own name, and which paper a clause is about is settled by code, not by the judge."""
    for name in names:
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", claim)
        if match:
            subject = "This work" if match.start() == 0 else "this work"
            return claim[:match.start()] + subject + claim[match.end():]
    return claim
