"""What a paper is called in prose: the names a sentence may use for it ("FLAIR", "DyVTE", "Stackable
Temporal Encoder"), read from its title, its abstract and its key.

A comparison sentence names each paper it cites; which clause is about which paper is read from these
names, so that each clause can be judged against its own paper.
"""

from __future__ import annotations

import re

# A name: a token with a capital or digit inside ("FoPru", "E5-V", "γ-MoD", "Mixture-of-Transformers"), or an
# acronym ("AIM", "SEA").
_TOKEN = re.compile(r"(?<![\w-])[^\W\d_]?[\w.+-]*?(?:[a-z0-9][A-Z]|[A-Z]{2}|[A-Za-z]\d|-[A-Z])[\w.+-]*(?![\w-])")
_INTRODUCES = re.compile(r"\b(?:[Ww]e|[Tt]his (?:paper|work))\s+(?:first\s+|further\s+)?(?:propose|present|introduce|"
                         r"develop|build|train|release|construct|design|call|name)[sd]?\b([^.;:]{0,90}[\w-]*)")
_NAMED = re.compile(r"\b(?:named|called|termed|dubbed)\s+([^.;:]{0,60}[\w-]*)")
_DEFINED = re.compile(r"((?:[A-Z][\w-]*\s+){1,5})\(([^\W\d_][\w-]*)\)")  # Capitalized Long Form (ACRONYM)
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "λ": "lambda", "μ": "mu", "π": "pi", "σ": "sigma"}
# The field's own acronyms: a sentence saying "MLLMs" names no paper.
GENERIC = {"LLM", "LLMs", "MLLM", "MLLMs", "LMM", "LMMs", "VLM", "VLMs", "LVLM", "LVLMs", "AI", "NLP", "GPT",
           "MoE", "RLHF", "SFT", "VQA", "SOTA", "API", "GPU", "GPUs", "FLOPs", "CLIP", "LLaVA", "RAG"}


def _name_like(token: str) -> bool:
    if not _TOKEN.fullmatch(token) or token in GENERIC or len(token) < 2:
        return False
    # "Multi-Modal", "Low-Rank", "Cross-Attention": capitalized words joined, not a name.
    return not all(re.fullmatch(r"[A-Z]?[a-z]+", part) for part in token.split("-"))


def title_name(title: str) -> str:
    """The name before a title's colon ("FoPru", "ARMOR v0.1", "Mixture-of-Transformers"), else ""."""
    if ":" not in title:
        return ""
    head = title.split(":", 1)[0].strip().rstrip("?!.")
    words = head.split()
    # A name, not a phrase ("Breaking the Modality Barrier"): one token, or short with a capital inside a word.
    if len(words) == 1 or (len(words) <= 3 and len(head) <= 30 and any(_name_like(w) for w in words)):
        return head
    return ""


def paper_names(key: str, title: str, abstract: str) -> list[str]:
    """Every name a sentence may call a paper by, longest first: the title's name, names the abstract
    introduces ("we propose X", "termed X", "Long Form (LF)" there) and the key itself when it reads as a name."""
    found = []
    windows = [m.group(1) for m in _INTRODUCES.finditer(abstract)] + [m.group(1) for m in _NAMED.finditer(abstract)]
    for window in windows:
        # Only up to the clause's first preposition: "we propose X for Y on MMBench" names X, not the benchmark.
        window = re.split(r"(?<![\w-])(?:that|which|to|for|on|with|by|in|from|using|than|outperform\w*)(?![\w-])", window)[0]
        # "we propose Focal Pruning (FoPru), ...": the long form and its acronym; else the window's first name.
        defined = [(m.group(1).strip(), m.group(2)) for m in _DEFINED.finditer(window) if m.group(2) not in GENERIC]
        if defined:
            found += list(defined[0])
        else:
            found += [t for m in _TOKEN.finditer(window) if _name_like(t := m.group(0).strip(".-"))][:1]
    found.append(key)
    names = {n for n in found if _name_like(n) or " " in n}
    if head := title_name(title):
        names.add(head)  # the title's own name is a name even as a plain word ("Liquid", "Wings")
    for letter, spelled in _GREEK.items():  # "γ-MoD" is written "gamma-MoD" as often
        names |= {n.replace(letter, spelled) for n in names if letter in n}
    return sorted(names, key=len, reverse=True)


def name_spans(text: str, names: dict[str, list[str]]) -> list[tuple[int, int, str]]:
    """(start, end, key) of every paper name in `text`, longest names first, none overlapping; a name two
    papers share names neither."""
    owners: dict[str, set[str]] = {}
    for key, found in names.items():
        for name in found:
            owners.setdefault(name, set()).add(key)
    taken: list[tuple[int, int, str]] = []
    for name in sorted(owners, key=len, reverse=True):
        if len(owners[name]) > 1:
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            if not any(a < m.end() and m.start() < b for a, b, _ in taken):
                taken.append((m.start(), m.end(), next(iter(owners[name]))))
    return sorted(taken)
