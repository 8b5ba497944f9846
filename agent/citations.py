"""Inline citations in Markdown: `[@key]`, `[@a; @b]`, and the near-misses a weak model writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A bracketed group holding one or more @keys: [@a], [@a; @b], [@a, @b], [see @a].
CITE_GROUP = re.compile(r"\[([^\[\]]*@[^\[\]]+)\]")
CITE_KEY = re.compile(r"@([A-Za-z0-9_][\w:.#$%&\-+?<>~/]*[\w])|@([A-Za-z0-9_])")
# What the ask loop appends to a sentence that cites nothing (and what the verifier strips again).
UNCITED = "[citation needed]"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(\"'])")


@dataclass
class CitedSentence:
    """A sentence of generated text and the keys it cites."""

    text: str
    keys: list[str]


def keys_in(group: str) -> list[str]:
    """Keys of one bracket group's inside: `@a; @b` -> ["a", "b"]."""
    return [m.group(1) or m.group(2) for m in CITE_KEY.finditer(group)]


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
    return re.sub(r"\[([^\[\]]*@[^\[\]]+)\]", lambda m: "[" + "; ".join("@" + k for k in keys_in(m.group(1))) + "]", text)


def split_sentences(text: str) -> list[CitedSentence]:
    """Sentences with the keys each one cites.

    Models place citations three ways: `claim [@a].`, `claim. [@a]`, and (small models, often)
    `[@a] says that claim.` A citation group standing between two sentences goes to the next sentence
    when that one has no citation of its own, else to the previous one.
    """
    pieces = [p.strip() for p in _SENTENCE_END.split(re.sub(r"([.!?])(\[[^\[\]]*@)", r"\1 \2", text.strip())) if p.strip()]
    out: list[CitedSentence] = []
    for piece in pieces:
        lead = re.match(r"^((?:\[[^\[\]]*@[^\[\]]+\]\s*)+)(.*)$", piece, re.S)
        if lead and out and (not lead.group(2).strip() or parse_keys(lead.group(2))):
            # A citation group alone, or before a sentence citing something else: it closes the previous one.
            previous = out[-1]
            previous.text = f"{previous.text} {lead.group(1).strip()}"
            previous.keys += [k for k in parse_keys(lead.group(1)) if k not in previous.keys]
            piece = lead.group(2).strip()
            if not piece:
                continue
        out.append(CitedSentence(piece, parse_keys(piece)))
    return out


def drop_keys(sentence: str, bad: set[str]) -> str:
    """Remove the given keys from every citation group of a sentence (empty groups disappear)."""

    def fix(match: re.Match[str]) -> str:
        keep = [k for k in keys_in(match.group(1)) if k not in bad]
        return "[" + "; ".join("@" + k for k in keep) + "]" if keep else ""

    return re.sub(r"\s*\[([^\[\]]*@[^\[\]]+)\]", lambda m: (" " + fix(m)) if fix(m) else "", sentence)
