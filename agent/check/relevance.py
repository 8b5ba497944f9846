"""Answer relevance: does an answer address the question asked, whatever its citations support?"""

from __future__ import annotations

import re

from agent.check.rules import names
from agent.core.text import stems

# Words of how a question is asked, not of what it is about.
_ASKING = stems("what which who whom whose when where why how many much does do did is are was were "
                "use used using paper papers work approach method study describe explain compare differ "
                "difference between mean")


def names_in(question: str) -> list[str]:
    """What a question names: the verifier's name-like terms (AlphaGo, BERT, GPT-4), and capitalized words
    not at the start of a sentence (Kingma)."""
    found = sorted(names(question))
    found += [m.group(1) for m in re.finditer(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]{2,})\b", question.strip())]
    return list(dict.fromkeys(found))


def addresses(question: str, answer: str) -> str:
    """"" when an answer is about the question; otherwise why not (it then counts as an abstention).

    A sentence can be true of a cited paper and still not answer the question ("We introduce Adam ..."
    for a question about AlphaGo Zero): it must mention one of the things the question names, or, for a
    question that names nothing, share at least two of its content words (one, for a one-word question).
    """
    said = answer.lower()
    names = names_in(question)
    if names:
        if any(n.lower() in said for n in names):
            return ""
        return f"the answer mentions none of what the question names ({', '.join(names[:4])})"
    wanted = stems(question) - _ASKING
    shared = wanted & stems(answer)
    if len(shared) >= min(2, len(wanted)):
        return ""
    return "the answer shares too few words with the question to be an answer to it"
