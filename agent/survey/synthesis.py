"""Paragraphs planned by code: which papers are grouped on what they share, who is contrasted with whom, and
how each paper is named. The model only phrases the sentences this plan asks for.

A section's papers are split into drafting groups around field phrases they share ("visual token pruning",
found in each one's own abstract by `facets.Vocabulary`); each such group opens with a sentence on what they
share, citing exactly those papers, then contrasts two of them, then says what matters about the rest.
Papers that share nothing telling are drafted after, one sentence each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.core.citations import CITE_GROUP, with_citation
from agent.survey.facets import Vocabulary
from agent.survey.models import PaperCard, Sentence, SentenceKind
from agent.survey.position import third_singular

# Subjects for papers without a name, varied so that a section does not read "The authors ..." throughout.
NAMELESS = ("One study", "Another study", "A further study", "Other work", "A related study", "The authors")


@dataclass
class Group:
    """Papers drafted together, and the field phrase they share ("" when they share nothing telling)."""

    keys: list[str]
    facet: str = ""
    shared_by: list[str] = field(default_factory=list)  # the keys whose abstracts hold the facet
    evidence: dict[str, str] = field(default_factory=dict)  # key -> its sentence holding the facet


def plan_groups(keys: list[str], vocabulary: Vocabulary | None, size: int) -> list[Group]:
    """A theme's papers in as many drafting groups as `size` requires (each call reads a group's cards):
    each seeded by papers sharing a telling phrase (the most telling first, at least 2 papers), the rest
    added to the group they share most words with while it has room."""
    n = max(1, -(-len(keys) // size))
    left = list(keys)
    groups: list[Group] = []
    while vocabulary is not None and len(groups) < n and len(left) >= 2:
        # Two words at least ("visual token pruning", "knowledge distillation"), or a name ("Mamba",
        # "Video-MME"): a single common word ("parameters") groups papers on nothing a reader could use.
        shared = vocabulary.shared(left, 2, words=2)
        if not shared:
            break
        phrase, holders = shared[0]
        members = [k for k in left if k in holders][:size]
        groups.append(Group(members, vocabulary.surface(phrase), list(members),
                            {k: vocabulary.sentence_with(k, phrase) for k in members}))
        left = [k for k in left if k not in members]
    while len(groups) < n:
        groups.append(Group([]))
    for key in left:
        room = [g for g in groups if len(g.keys) < size] or groups
        best = max(room, key=lambda g: (_overlap(vocabulary, key, g.keys), -len(g.keys)))
        best.keys.append(key)
    for g in groups:  # a group filled with the rest may still share a phrase among some of its papers
        if g.facet or vocabulary is None:
            continue
        # A single word counts here only when it is rare in the scope ("recommendation" in a survey of MLLMs).
        found = vocabulary.shared(g.keys, 2, words=2) or [
            (p, ks) for p, ks in vocabulary.shared(g.keys, 2) if vocabulary.df[p] / vocabulary.n <= 0.1]
        if found:
            phrase, holders = found[0]
            g.facet, g.shared_by = vocabulary.surface(phrase), [k for k in g.keys if k in holders]
            g.evidence = {k: vocabulary.sentence_with(k, phrase) for k in g.shared_by}
    order = {k: i for i, k in enumerate(keys)}
    for g in groups:  # a paragraph discusses the papers sharing its facet first
        g.keys.sort(key=lambda k: (k not in g.shared_by, order[k]))
    return [g for g in groups if g.keys]


def _overlap(vocabulary: Vocabulary | None, key: str, others: list[str]) -> float:
    """How much a paper's telling phrases overlap a group's (0 without a vocabulary or an empty group)."""
    if vocabulary is None or not others:
        return 0.0
    mine = vocabulary.phrases.get(key, {})
    return sum(vocabulary.weight(p) for o in others for p in vocabulary.phrases.get(o, {}) if p in mine)


def descriptor(title: str) -> str:
    """A short noun phrase from a title that is one ("A Concept-Based Explainability Framework for Large
    Multimodal Models" -> "A concept-based explainability framework"), else ""."""
    head = re.split(r"\s+(?:for|of|in|on|with|via|to|from|towards?|through|using|by|and)\s+|:", title, maxsplit=1)[0]
    words = head.split()
    if not words or words[0] not in ("A", "An") or not 2 <= len(words) <= 6:
        return ""
    kept = [w if re.search(r"[A-Z].*[A-Z0-9]|[0-9]", w[1:]) else w.lower() for w in words[1:]]
    return " ".join([words[0], *kept])


def subjects(cards: list[PaperCard]) -> dict[str, str]:
    """How each paper of a section is named as a sentence's subject: its name, a noun phrase from its
    title, or a varied "One study" / "Another study" (in the order given)."""
    out: dict[str, str] = {}
    n = 0
    for card in cards:
        if card.name:
            out[card.key] = card.name
        elif d := descriptor(card.title):
            out[card.key] = d
        else:
            out[card.key] = NAMELESS[min(n, len(NAMELESS) - 1)]
            n += 1
    return out


# What a small model writes instead of the subject it was given ("The paper proposes ...").
_GENERIC_SUBJECT = re.compile(r"^(?:The|This|A|One) (?:paper|work|study|article|new method|method|approach)\b|"
                              r"^(?:The )?[Aa]uthors\b")


def own_subject(sentence: str, subject: str) -> str:
    """A sentence opening with a generic subject ("The paper proposes X") opened with the paper's planned
    subject instead ("One study proposes X", "FLAIR proposes X"); a plural "The authors propose" gets the
    singular verb."""
    match = _GENERIC_SUBJECT.match(sentence)
    if not match or not subject or sentence.startswith(subject) or subject == "The authors":
        return sentence
    rest = sentence[match.end():].lstrip()
    if "uthors" in match.group(0):
        verb = re.match(r"([a-z]+)\b", rest)
        if not verb or verb.group(1) in ("are", "were", "have", "also") or verb.group(1).endswith(("ed", "s")):
            return sentence
        rest = third_singular(verb.group(1)) + rest[verb.end():]
    return f"{subject} {rest}"


def names_list(names: list[str]) -> str:
    """"A and B", "A, B and C"."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _predicate(sentence: Sentence, subject: str) -> str:
    """What a one-paper sentence says after its subject ("FLAIR aligns ... [@FLAIR]." -> "aligns ..."), or ""."""
    body = CITE_GROUP.sub("", sentence.text).strip().rstrip(".").strip()
    if not subject or not body.startswith(subject + " "):
        return ""
    return body[len(subject) + 1:].strip()


def contrast(first: Sentence, second: Sentence, names: dict[str, str], most: int = 40) -> Sentence | None:
    """Two verified one-paper sentences as one contrast: "A does X, whereas B does Y [@a; @b]." Each clause
    is still the sentence its own paper supported, so the contrast says nothing a paper did not; None when
    either sentence does not open with its paper's name or the two are too long together."""
    a, b = first.keys[0], second.keys[0]
    pa, pb = _predicate(first, names.get(a, "")), _predicate(second, names.get(b, ""))
    if not pa or not pb or len(pa.split()) + len(pb.split()) + 4 > most:
        return None
    text = with_citation(f"{names[a]} {pa}, whereas {names[b]} {pb}.", [a, b])
    status = first.status if first.status == second.status else "uncertain"
    return Sentence(text=text, claim=f"{first.claim} {second.claim}", keys=[a, b], status=status,
                    kind=SentenceKind.COMPARISON, repair=first.repair or second.repair,
                    relevant=first.relevant + second.relevant, verdicts=first.verdicts + second.verdicts)


def with_contrast(sentences: list[Sentence], names: dict[str, str], keys: list[str]) -> list[Sentence]:
    """A group's sentences with the first two supported one-paper sentences about `keys` (the papers that
    share the group's facet) joined into one contrast, placed after the grouping sentence."""
    singles = [s for s in sentences if s.kind == SentenceKind.PAPER and len(s.keys) == 1 and s.keys[0] in keys
               and s.status == "supported"]
    for i, first in enumerate(singles):
        for second in singles[i + 1:]:
            if joined := contrast(first, second, names):
                rest = [s for s in sentences if s is not first and s is not second]
                lead = rest[:1] if rest and len(rest[0].keys) > 1 else []  # the grouping sentence opens
                return lead + [joined] + rest[len(lead):]
    return sentences
