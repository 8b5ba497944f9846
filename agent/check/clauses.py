"""A sentence citing several papers, taken apart: its clauses, which papers each is about, and what it
says of each paper alone.

"X, Y and Z all prune visual tokens [@x; @y; @z]" is one clause said of each of three papers: it becomes
"X prunes visual tokens", "Y prunes ...", "Z prunes ...", each to be judged against its own paper.
"X does A, whereas Y does B [@x; @y]" is two clauses, one per paper. "X outperforms Y [@x; @y]" relates two
papers: it is judged against both abstracts together. Papers are recognised by their names (`names.py`)
or by their own inline citation ("X [@x] does A, while Y [@y] does B"). Text only: judging is `compare.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.check.claims import plain
from agent.check.names import name_spans
from agent.core.citations import CITE_GROUP, drop_keys, keys_in
from agent.core.text import STOP

ONE, EACH, JOINT = "one", "each", "joint"  # about one paper; said of each paper; a relation among papers
_CUT = re.compile(r",\s+(?:whereas|whilst|while|but|though|although|yet|and|unlike)\b\s*|;\s+|\s+whereas\s+")
_LEADING = re.compile(r"^(?:While|Whilst|Whereas|Although|Though)\s+")
_SEPARATOR = re.compile(r"^(?:\s*,)?\s*(?:(?:and|or|as well as|&)\s+)?$")
_ITEM_CUT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|as well as)\s+")
_BOTH = re.compile(r"\b(?:[Bb]oth|[Ee]ach of)\s+$")
_QUANTIFIER = re.compile(r"^\s*(?:all|both|each|together|alike)\b")
_QUANTIFIED = re.compile(r"^(\s*(?:are|have|were|can|do|also)\s+)(?:all|both)\s+")  # "are both training-free"
_COMPARATIVE = re.compile(r"\b(?:different|distinct|various|differing|complementary|respectively|alike)\s*", re.I)
_UNCHANGED = {"can", "could", "may", "might", "must", "shall", "should", "will", "would", "also", "only", "not",
              "further", "then", "still", "jointly", "separately", "each", "all", "both", "thus", "first"}
_LY_VERBS = {"apply", "supply", "rely", "reply", "imply", "comply", "multiply"}


@dataclass
class Clause:
    """One clause of a sentence and the papers it is about."""

    text: str  # as written, citations kept
    keys: list[str]
    kind: str  # ONE, EACH or JOINT
    items: dict[str, str] = field(default_factory=dict)  # EACH with a list subject: key -> its item ("X [@x]")
    head: str = ""  # EACH with a list subject: the clause's text before the list ("Both "),
    listed: str = ""  # the list as written,
    tail: str = ""  # and after it ("all prune visual tokens [@x; @y].")


@dataclass
class Parts:
    """A sentence's clauses, and the cited papers no clause is about (possible over-citations)."""

    source: str
    clauses: list[Clause]
    extra: list[str]


def _mask(text: str) -> str:
    """The text with citation groups blanked out (same length): cuts never fall inside a citation."""
    return CITE_GROUP.sub(lambda m: "\x01" * len(m.group()), text)


def _content(text: str, spans: list[tuple[int, int, str]], offset: int) -> int:
    """Words of a clause that are neither paper names, citations nor stop words."""
    chars = list(text)
    for a, b, _ in spans:
        for i in range(max(a - offset, 0), min(b - offset, len(chars))):
            chars[i] = " "
    return len([w for w in re.findall(r"[a-z][a-z-]+", plain("".join(chars)).lower()) if w not in STOP])


def _cuts(source: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """(start, end) of the clauses: cut at contrast words and semicolons, never leaving a clause that says
    nothing of its own ("X, Y, and Z all ..." stays one clause)."""
    masked = _mask(source)
    bounds = [0]
    if lead := _LEADING.match(masked):  # "While X does A, Y does B."
        comma = masked.find(",", lead.end())
        if comma > 0:
            bounds.append(comma + 1)
    bounds += [m.start() for m in _CUT.finditer(masked)]  # the contrast word opens the next clause
    bounds = sorted(set(bounds)) + [len(source)]
    pieces = [[a, b] for a, b in zip(bounds, bounds[1:])]
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and _content(source[piece[0]:piece[1]], spans, piece[0]) < 2:
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    if len(merged) > 1 and _content(source[merged[0][0]:merged[0][1]], spans, merged[0][0]) < 2:
        merged[1][0] = merged[0][0]  # "X, Y, and Z all ...": a list cut at its ", and" is one clause
        merged.pop(0)
    return [(a, b) for a, b in merged]


def _mentions(source: str, a: int, b: int, spans: list[tuple[int, int, str]], closing: int) -> list[tuple[int, int, str]]:
    """Papers a clause mentions: by name, or by a citation of its own (not the sentence's closing group)."""
    found = [(s, e, k) for s, e, k in spans if a <= s < b]
    for m in CITE_GROUP.finditer(source, a, b):
        if m.start() >= closing:
            continue
        for key in keys_in(m.group(1)):
            # "X [@x]": the citation belongs to the name before it, already counted.
            if not any(k == key and 0 <= m.start() - e <= 2 for _, e, k in found):
                found.append((m.start(), m.end(), key))
    return sorted(found)


def _list(source: str, a: int, b: int, found: list[tuple[int, int, str]], unnamed: list[str]) -> Clause | None:
    """A clause whose subject lists papers ("X, Y and Z all ...", "Both X [@x] and Y [@y] ..."), else None.

    A paper described rather than named may end the list before a quantifier ("X, Y and a token recovery
    mechanism all ..."): it is taken to be the first cited paper no clause names (`unnamed`, consumed).
    """
    masked = _mask(source)
    run = found[:1]
    for (_, e1, _), mention in zip(found, found[1:]):
        if not _SEPARATOR.match(masked[e1:mention[0]].replace("\x01", "")):
            break
        run.append(mention)
    if {k for _, _, k in run} != {k for _, _, k in found} or len(run) != len({k for _, _, k in run}):
        return None  # a paper named later that the subject does not list: a relation, not a list
    found = run
    start, end = found[0][0], found[-1][1]
    while end < b and masked[end] in " \x01":  # "Y [@y]": the item's own citation
        end += 1
    end = len(source[:end].rstrip())
    keys = [k for _, _, k in found]
    described = re.match(r"\s*,?\s*(?:and|or)\s+([^,;]+?)\s+(?=(?:all|both|each)\b)", source[end:b])
    if described and unnamed:
        end += described.end(1)
        keys.append(unnamed.pop(0))
    cuts = [(m.start(), m.end()) for m in _ITEM_CUT.finditer(masked, start, end)]  # never inside a citation
    bounds = [start] + [x for cut in cuts for x in cut] + [end]
    items = [source[i:j] for i, j in zip(bounds[::2], bounds[1::2]) if source[i:j].strip()]
    if len(items) != len(keys):
        return None
    return Clause(source[a:b], keys, EACH, dict(zip(keys, items)), source[a:start], source[start:end], source[end:b])


def parts(source: str, cited: list[str], names: dict[str, list[str]]) -> Parts:
    """The clauses of a sentence citing several papers, each with the papers it is about (`names`: key ->
    what the paper is called)."""
    spans = name_spans(_mask(source), {k: names.get(k, []) for k in cited})  # names, not keys in citations
    groups = list(CITE_GROUP.finditer(source))
    # The sentence's closing group of several keys cites the whole sentence, not its last clause.
    last = groups[-1] if groups else None
    closing = last.start() if last and not re.search(r"\w", source[last.end():]) and len(keys_in(last.group(1))) > 1 else len(source)
    cuts = _cuts(source, spans)
    mentioned = {k for a, b in cuts for _, _, k in _mentions(source, a, b, spans, closing)}
    unnamed = [k for k in cited if k not in mentioned]
    clauses: list[Clause] = []
    for a, b in cuts:
        found = _mentions(source, a, b, spans, closing)
        keys = list(dict.fromkeys(k for _, _, k in found))
        if len(keys) > 1:
            listed = _list(source, a, b, found, unnamed)
            clauses.append(listed or Clause(source[a:b], keys, JOINT))
        elif keys:
            clauses.append(Clause(source[a:b], keys, ONE))
        elif unnamed and len(cuts) > 1:  # "A does X, whereas the other study does Y [@a; @b]"
            clauses.append(Clause(source[a:b], [unnamed.pop(0)], ONE))
        elif clauses:  # "..., while keeping accuracy": more of the clause before
            clauses[-1].text += source[a:b]
            clauses[-1].tail += source[a:b] if clauses[-1].items else ""
        else:
            clauses.append(Clause(source[a:b], [], EACH))
    # "Several works prune tokens [@a; @b]" names no paper: its citations support it the ALCE way (`extra`).
    return Parts(source, clauses, unnamed)


def _singular(predicate: str) -> str:
    """The predicate of a plural subject said of one paper: "build on" -> "builds on", "are" -> "is"."""
    words = predicate.split(" ")
    for n, word in enumerate(words):
        if not word:
            continue
        irregular = {"are": "is", "have": "has", "do": "does", "were": "was"}
        if word in irregular:
            words[n] = irregular[word]
        elif word in _UNCHANGED or (word.endswith("ly") and word not in _LY_VERBS):
            continue  # an adverb ("also", "jointly"): the verb follows
        elif re.fullmatch(r"[a-z]+", word) and not word.endswith(("s", "ed")) and not (word.endswith("ing") and len(word) > 5):
            words[n] = (word[:-1] + "ies" if re.search(r"[^aeiou]y$", word) else
                        word + "es" if word.endswith(("ch", "sh", "x", "z", "o")) else word + "s")
        break
    return " ".join(words)


def claim_for(clause: Clause, key: str, subject: str = "") -> str:
    """What a clause says of paper `key` alone, as a plain claim to judge against its abstract; `subject`
    in place of the paper's item in a list subject ("This work")."""
    if clause.kind == EACH and clause.items:
        tail = _QUANTIFIED.sub(r"\1", _QUANTIFIER.sub("", clause.tail, count=1))
        tail = _singular(_COMPARATIVE.sub("", plain(tail)))
        text = f"{plain(_BOTH.sub('', clause.head))} {subject or plain(clause.items[key])} {tail}"
    else:
        text = _COMPARATIVE.sub("", plain(clause.text)) if clause.kind == EACH else plain(clause.text)
    text = re.sub(r"^(?:whereas|whilst|while|but|though|although|yet|and)\s+", "", text.strip(" ,;"), flags=re.I)
    text = re.sub(r"\s+", " ", text).strip()
    if re.match(r"[a-z]+\s", text):  # "the STE study ..." starts a claim; "mmE5 ..." keeps its spelling
        text = text[:1].upper() + text[1:]
    return text.rstrip(".") + "." if text else ""


def without(parted: Parts, keys: list[str]) -> str | None:
    """The sentence with papers `keys` taken out of the lists they stand in (names and citations), or None
    when that leaves no sound sentence: one has a clause of its own, or a list keeps fewer than two."""
    out = parted.source
    for clause in parted.clauses:
        gone = [k for k in keys if k in clause.keys]
        if not gone:
            continue
        items = [v for k, v in clause.items.items() if k not in gone]
        if clause.kind != EACH or not clause.items or len(items) < 2:
            return None
        oxford = len(items) > 2 and re.search(r",\s+(?:and|or)\s", clause.listed) is not None
        listed = ", ".join(items[:-1]) + ("," if oxford else "") + " and " + items[-1]
        tail = re.sub(r"^(\s*)all\b", r"\1both", clause.tail) if len(items) == 2 else clause.tail
        out = out.replace(clause.text, clause.head + listed + tail, 1)
    return drop_keys(out, set(keys))
