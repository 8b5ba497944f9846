"""Inline citations in Markdown: `[@key]`, `[@a; @b]`, and the near-misses a weak model writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.paper import system_name

# A bracketed group holding one or more @keys: [@a], [@a; @b], [@a, @b], [see @a].
CITE_GROUP = re.compile(r"\[([^\[\]]*@[^\[\]]+)\]")
CITE_KEY = re.compile(r"@([A-Za-z0-9_][\w:.#$%&\-+?<>~/]*[\w])|@([A-Za-z0-9_])")
# Inside a bracket group, whatever follows an @ up to a separator is a citation, even when it cannot be a
# key (`[@../../etc/passwd]`): it is reported as unknown and removed, never silently dropped.
_ANY_KEY = re.compile(r"@([^\s;,\[\]@]+)")
# What the ask loop appends to a sentence that cites nothing (and what the verifier strips again).
UNCITED = "[citation needed]"


@dataclass
class CitedSentence:
    """A sentence of generated text and the keys it cites."""

    text: str
    keys: list[str]


def keys_in(group: str) -> list[str]:
    """Keys of one bracket group's inside: `@a; @b` -> ["a", "b"]; `@../x` -> ["../x"] (junk stays visible)."""
    keys: list[str] = []
    for m in _ANY_KEY.finditer(group):
        key = CITE_KEY.match(group, m.start())
        if key is not None:
            keys.append(key.group(1) or key.group(2))
        elif junk := m.group(1).rstrip(".:!?)'\"”’"):
            keys.append(junk)
    return keys


def parse_keys(text: str) -> list[str]:
    """Every cited key in order of first appearance."""
    seen: list[str] = []
    for group in CITE_GROUP.finditer(text):
        for key in keys_in(group.group(1)):
            if key not in seen:
                seen.append(key)
    return seen


def normalize(text: str, known: list[str]) -> str:
    """Rewrite near-miss citations of known keys to `[@key]`: `[key]`, `(@key)`, `[@key1, @key2]`."""
    lookup = {k.lower(): k for k in known}

    def bare(match: re.Match[str]) -> str:
        inner = match.group(1)
        names = [n.strip().lstrip("@") for n in re.split(r"[;,]", inner)]
        if names and all(n.lower() in lookup for n in names):
            return "[" + "; ".join("@" + lookup[n.lower()] for n in names) + "]"
        return match.group(0)

    text = re.sub(r"\(\s*(@[^()]+)\)", lambda m: bare(m) if "@" in m.group(1) else m.group(0), text)
    text = re.sub(r"\[([^\[\]@]+)\]", bare, text)  # [key] without @

    def rewrite(match: re.Match[str]) -> str:
        keys = keys_in(match.group(1))
        return "[" + "; ".join("@" + k for k in keys) + "]" if keys else ""  # no empty "[]" left behind

    return re.sub(r"\s*\[([^\[\]]*@[^\[\]]+)\]", lambda m: (" " + rewrite(m)) if rewrite(m) else "", text)


def drop_keys(sentence: str, bad: set[str]) -> str:
    """Remove the given keys from every citation group of a sentence (empty groups disappear)."""

    def fix(match: re.Match[str]) -> str:
        keep = [k for k in keys_in(match.group(1)) if k not in bad]
        return "[" + "; ".join("@" + k for k in keep) + "]" if keep else ""

    return re.sub(r"\s*\[([^\[\]]*@[^\[\]]+)\]", lambda m: (" " + fix(m)) if fix(m) else "", sentence)


def with_citation(sentence: str, keys: list[str]) -> str:
    """The sentence with its citation groups replaced by one group of `keys`, before the final stop."""
    bare = CITE_GROUP.sub("", sentence).replace(UNCITED, "").strip()
    bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
    bare = re.sub(r"(?<=\S) {2,}(?=\S)", " ", bare)  # where a group stood mid-sentence
    group = "[" + "; ".join("@" + k for k in keys) + "]"
    if bare and bare[-1] in ".!?":
        return f"{bare[:-1].rstrip()} {group}{bare[-1]}"
    return f"{bare} {group}"


_LEADING = re.compile(r"^\s*((?:\[[^\[\]]*@[^\[\]]+\]\s*)+)(?=[A-Z0-9\"“])")
_AFTER_STOP = re.compile(r"[.!?]\s*((?:\[[^\[\]]*@[^\[\]]+\]\s*)+)$")


def tidy_citation(sentence: str) -> str:
    """One place for a sentence's citation: "X. [@a]" and "[@a] X." both read "X [@a]."

    A citation group after the full stop, or before a capitalized sentence, belongs to that sentence; it
    is moved before the final stop so the text reads the same as the verdict it gets. A citation used as
    the subject ("[@a] shows ...") is left where it is.
    """
    stripped = sentence.strip()
    if (_LEADING.match(stripped) or _AFTER_STOP.search(stripped)) and len(CITE_GROUP.findall(stripped)) <= 2:
        middle = _AFTER_STOP.sub(".", _LEADING.sub("", stripped))
        if not CITE_GROUP.search(middle):
            return with_citation(stripped, list(dict.fromkeys(parse_keys(stripped))))
    return sentence


# --- a citation standing where a noun phrase goes: "[@a] shows that ...", "as shown in [@a]" -------------
# The model reads "[@key]" before each paper's text and writes it as the paper's name; the reader then sees
# "(Lee 2024) shows that" or, with the citation removed by repair, "while  proposes".

# Reporting verbs: "[@a] shows that Y" states Y (the verifier judges Y; a rewrite may say Y of the paper).
REPORTING = (r"(?:also\s+)?(?:mentions?|shows?|showed|reports?|reported|finds|found|notes?|states?|argues?|"
             r"demonstrates?|demonstrated|observes?|observed|suggests?|concludes?|confirms?|highlights?)\s+that\s+")
# After these a citation is the object of a preposition: "evaluated on [@a]", "according to [@a]".
_PREPOSITION = re.compile(r"(?i)\b(?:according to|by|in|on|from|of|to|with|than|like|unlike|as|see|per|for|over|"
                          r"against|between|among|including|cf\.)\s*$")
# Where a clause, and so its subject, can start.
_CLAUSE_START = re.compile(r"(?i)(?:^|[,;:(]|\b(?:while|whereas|but|although|though|that|which|where|and|or|since|"
                           r"because|when|yet|so|however))\s*$")
_PREDICATE = re.compile(r"^\s*(?:['’]s\b|[a-z])")  # a verb or a possessive follows: "[@a] shows", "[@a]'s model"
_JOINER = re.compile(r"^\s*,?\s*(?:(and|or|&)\s+)?$")  # between two groups of one list: "", ", ", " and "
_LABEL = re.compile(r"^\s*[:;,\-–]\s*")  # "[@a; @b]: A does X ..." labels the sentence
# "[@a] mentions that the benchmark holds X": the benchmark is the paper's own, so "A holds X".
_OWN_THING = re.compile(rf"^\s+{REPORTING}(?:(?:the|this|its)\s+(?:paper|work|study|benchmark|dataset|model|method|"
                        r"approach|framework|system)|it)\b", re.IGNORECASE)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _chains(sentence: str) -> list[tuple[int, int, list[str], bool]]:
    """Runs of citation groups that stand together ("[@a]", "[@a], [@b]", "[@a] and [@b]"): start, end, keys,
    and whether "and"/"or" joins them (a list of papers is a noun phrase wherever it stands)."""
    chains: list[tuple[int, int, list[str], bool]] = []
    for group in CITE_GROUP.finditer(sentence):
        joiner = _JOINER.match(sentence[chains[-1][1]:group.start()]) if chains else None
        if joiner:
            start, _, keys, joined = chains.pop()
            chains.append((start, group.end(), keys + keys_in(group.group(1)), joined or bool(joiner.group(1))))
        else:
            chains.append((group.start(), group.end(), keys_in(group.group(1)), False))
    return chains


def name_citations(sentence: str, names: dict[str, str]) -> str:
    """The sentence with each citation that stands where a noun phrase goes replaced by its papers' names, and
    their keys cited at the end: "[@a] mentions that the benchmark holds X." -> "A holds X [@a]."

    A citation is a noun phrase as a subject ("[@a] shows", "while [@b] uses"), after a preposition ("as shown
    in [@a]"), or in a list joined by "and" ("[@a] and [@b] differ"); one that closes a clause ("X holds [@a],
    while ...") stays where it is. A leading label ("[@a; @b]: X ...") goes, its keys cited at the end.
    `names`: key -> how a sentence names that paper; "" when a noun-phrase citation has a key without a name.
    """
    chains = _chains(sentence)
    out, moved, last = [], [], 0
    closing: list[str] | None = None  # the keys of a citation that already ends the sentence
    for n, (start, end, keys, joined) in enumerate(chains):
        before, after = sentence[:start], sentence[end:chains[n + 1][0] if n + 1 < len(chains) else len(sentence)]
        out.append(sentence[last:start])
        last = end
        if n == 0 and not before.strip() and not _PREDICATE.match(after) and not joined:
            moved += keys  # a label, or a citation before the sentence it belongs to
            if label := _LABEL.match(after):
                last += label.end()
        elif joined or _PREPOSITION.search(before) or (_CLAUSE_START.search(before) and _PREDICATE.match(after)):
            found = [names.get(k, "") for k in dict.fromkeys(keys)]
            if not all(found):
                return ""
            out.append(_listed(found))
            moved += keys
            if n == 0 and not before.strip() and len(found) == 1 and system_name(found[0]) and \
                    (own := _OWN_THING.match(after)):
                last += own.end()  # "A mentions that the benchmark holds" -> "A holds"
        elif n == len(chains) - 1 and re.fullmatch(r"\s*[.!?]?\s*", after):
            closing = keys
        else:
            out.append(sentence[start:end])
    if not moved:
        return sentence
    if closing is not None:
        moved += closing
    out.append(sentence[last:])
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s+", " ", "".join(out))).strip().lstrip(":;,-– ")
    if not CITE_GROUP.sub("", text).strip(" .!?"):
        return ""
    return _cite_at_end(text[:1].upper() + text[1:], list(dict.fromkeys(moved)))


def _cite_at_end(sentence: str, keys: list[str]) -> str:
    """The sentence with one more citation group before its final stop (its other groups stay)."""
    group = "[" + "; ".join("@" + k for k in keys) + "]"
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1].rstrip()} {group}{sentence[-1]}"
    return f"{sentence} {group}"


def end_cited(sentence: str, names: dict[str, str]) -> str:
    """A comparison with all its citations in one group at the end: "[@a] and [@b] differ..." -> "A and B
    differ... [@a; @b]."

    Citations used as the subject of a sentence cannot be dropped or moved by repair without leaving holes
    ("while  proposes"); each becomes the paper's name. Without a name for one of those, "" (not kept).
    """
    named = name_citations(sentence, names)
    if not named:
        return ""
    return with_citation(named, list(dict.fromkeys(parse_keys(sentence))))
