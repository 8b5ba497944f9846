"""Inline citations in Markdown: `[@key]`, `[@a; @b]`, and the near-misses a weak model writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
