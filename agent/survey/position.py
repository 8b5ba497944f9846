"""Positioning the user's paper in a related-work paragraph: "Unlike these works, which X, our paper Y."

X (what the paragraph's papers do) is a short phrase from the model, read from their titles; Y is the
user's own contribution, taken by code from their abstract. A weak model asked for the whole sentence
pasted the user's abstract into it and said things of the other papers that their titles do not say.
"""

from __future__ import annotations

import re

from agent.check.sentences import copies
from agent.core.citations import CITE_GROUP
from agent.core.text import split_sentences

_CONTRIBUTES = re.compile(r"\bwe (?:also |further |then |additionally |finally )?([a-z][a-z\-]+)\b\s+(.+)", re.IGNORECASE)
# "We <verb>" that says no contribution ("we are", "we also"), or a weaker one, tried only when nothing else is.
_NOT_A_VERB = {"are", "were", "have", "had", "can", "could", "will", "would", "may", "might", "also", "then",
               "thus", "here", "further", "first", "next", "now", "do", "did", "should", "must", "need", "use", "used"}
_WEAK = {"release", "show", "find", "found", "observe", "note", "report", "make", "obtain", "achieve"}
# Where the contribution clause ends: the next "and we ...", a "where/which shows" tail, a semicolon.
_CLAUSE_END = re.compile(r",?\s+(?:and|while) we\b|,\s+where\b|;|\s+—\s+")


def third_singular(verb: str) -> str:
    """propose -> proposes, study -> studies, analyze -> analyzes."""
    verb = verb.lower()
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    if re.search(r"(s|sh|ch|x|z)$", verb):
        return verb + "es"
    return verb + "s"


def _first_step(clause: str, most: int = 20) -> str:
    """A long contribution clause cut to its first step, without asides: "decomposes criteria into questions
    (population, ...), ask a model each question, and read ..." -> "decomposes criteria into questions".
    An apposition stays ("AdaDraft, a controller that ..."); past `most` words it ends at an " and "."""
    clause = re.sub(r"\s*\([^)]*\)", "", clause)
    clause = re.split(r",\s+(?=(?!(?:an?|the)\b)[a-z])", clause, maxsplit=1)[0].strip()
    words = clause.split()
    if len(words) > most:
        head = " ".join(words[:most])
        clause = head.rsplit(" and ", 1)[0] if " and " in head else head
    return clause.rstrip(",;: ")


def contributions(abstract: str) -> list[str]:
    """Every contribution clause of the user's abstract as a verb phrase ("proposes a retrieval step that
    ...", "evaluates on long-video benchmarks"), strong verbs first, weak ones ("we release", "we show") last."""
    found: list[tuple[bool, str]] = []
    for whole in split_sentences(abstract):
        # "We propose X, and we evaluate on Y": each "we" starts its own clause.
        parts = re.split(r"(?=\bwe\b)", whole, flags=re.IGNORECASE)
        for match in (m for sentence in parts if (m := _CONTRIBUTES.match(sentence.strip()))):
            verb = match.group(1).lower()
            rest = _CLAUSE_END.split(match.group(2), maxsplit=1)[0].strip().rstrip(".")
            rest = re.sub(r"[,;]?\s*\b(?:and|while|but|then)\s*$", "", rest).rstrip(",; ")  # "..., and" before the next "we"
            if len(rest.split()) > 15:
                rest = _first_step(rest)
            if verb in _NOT_A_VERB or len(rest.split()) < 2:
                continue
            said = verb if verb.endswith("ed") else third_singular(verb)  # "we fine-tuned" stays past
            found.append((verb in _WEAK, f"{said} {rest}"))
    return [c for _, c in sorted(found, key=lambda x: x[0])]


def contribution(abstract: str) -> str:
    """The user's main contribution as a verb phrase, or "": the first strong "we <verb> ..." clause."""
    found = contributions(abstract)
    return found[0] if found else ""


def closest(ours: list[str], theirs: str, used: set[str]) -> str:
    """The contribution clause nearest in words to a paragraph's papers (`theirs`) that no earlier paragraph
    used; the nearest used one when all are."""
    mine = set(re.findall(r"[a-z]{4,}", theirs.lower()))
    def near(clause: str) -> int:
        return len(set(re.findall(r"[a-z]{4,}", clause.lower())) & mine)
    fresh = [c for c in ours if c not in used] or ours
    return max(fresh, key=near) if fresh else ""


def their_phrase(reply: str, abstract: str) -> str:
    """The model's phrase about the related papers, cleaned ("evaluate long-video understanding"), or ""."""
    line = next((x.strip() for x in reply.splitlines() if x.strip()), "")
    line = CITE_GROUP.sub("", line).strip().strip("\"'“”.").strip()
    line = re.sub(r"^(?:these (?:papers|works)|they|the papers)\s+", "", line, flags=re.IGNORECASE)
    words = line.split()
    if not 2 <= len(words) <= 16 or not re.search(r"[a-z]{3}", line) or re.match(r"(?:our|we|i)\b", line, re.IGNORECASE) or "@" in line:
        return ""
    repeated = [w for w in set(re.findall(r"[a-z]{4,}", line.lower())) if line.lower().count(w) >= 3]
    if line.count(",") >= 3 or repeated:
        return ""  # "evaluate, build, propose, propose, ...": a list, not a phrase
    if copies(line, split_sentences(abstract)):
        return ""  # the user's abstract, not something the other papers do
    return line[:1].lower() + line[1:] if not re.match(r"[A-Z]{2}", line) else line


def position_sentence(phrase: str, ours: str, names: str = "") -> str:
    """"Unlike A and B, which <phrase>, our paper <ours>." ("these works" without names; "" without both parts)."""
    if not phrase or not ours:
        return ""
    return f"Unlike {names or 'these works'}, which {phrase}, our paper {ours}."
