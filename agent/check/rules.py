"""Deterministic checks that catch what a small judge misses: numbers, names and negation.

Each check compares a claim with the evidence and returns problems as short strings. A claim
whose number or name appears nowhere in the paper cannot be supported by it, whatever a model says.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.core.text import split_sentences, stems

_NUMBER = re.compile(r"(?<![\w.-])\d+(?:[.,]\d+)*(?:\s?%|\s?percent)?(?![\w])")
# Names: acronyms (RLHF, COCO), mixed case (ImageNet, mPLUG), letters with digits (GPT-4, Qwen2.5, T5).
_NAME = re.compile(r"(?<![\w-])(?=[\w.+-]*[A-Z][\w.+-]*[A-Z0-9]|[\w.+-]*[A-Za-z]-?\d)[A-Za-z][\w+-]*(?:\.\d+)?[\w+-]*")
_NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|cannot|fails? to|failed to|lack(?:s|ed)?|absence of)\b|n't\b", re.I)
_WORDS_AS_NUMBERS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "twice": "2", "double": "2", "half": "0.5", "dozen": "12", "hundred": "100",
    "thousand": "1000", "million": "1000000", "billion": "1000000000",
}
# "several hundred hours" names no number a paper must state: magnitude words count only on the paper's side.
_MAGNITUDES = {"hundred", "thousand", "million", "billion"}
# Headings and sentence-initial words that look like names but are not.
_NOT_NAMES = {"BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS", "CONCLUSION", "OBJECTIVE", "DESIGN", "SETTING", "CONTEXT", "II", "III", "IV"}


def _number_value(token: str) -> str:
    token = token.replace("percent", "").replace("%", "").replace(" ", "")
    token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", token) else token.replace(",", ".")
    try:
        value = float(token)
    except ValueError:
        return token
    return f"{value:g}"


def numbers(text: str, magnitudes: bool = True) -> set[str]:
    """Numbers stated in a text, normalized (`32%` -> `32`, `1,000` -> `1000`, `two` -> `2`)."""
    found = {_number_value(m.group(0)) for m in _NUMBER.finditer(text)}
    words = {w: v for w, v in _WORDS_AS_NUMBERS.items() if magnitudes or w not in _MAGNITUDES}
    found |= {v for w, v in words.items() if re.search(rf"\b{w}\b", text, re.I)}
    return found


def _is_name(token: str) -> bool:
    return len(token) > 1 and token not in _NOT_NAMES and not token.isdigit() and bool(_NAME.fullmatch(token))


def names(text: str) -> set[str]:
    """Name-like tokens: acronyms, CamelCase, and letter-digit model or dataset names.

    A compound with a plain word ("HIV-positive", "M2-like") contributes only its name-like parts, and
    an acronym the text itself defines ("chronic kidney disease (CKD)") is not a name to look for.
    """
    defined = set(re.findall(r"\(([A-Za-z][\w-]*)\)", text))
    out = set()
    for m in _NAME.finditer(text):
        token = m.group(0).strip(".-")
        parts = token.split("-")
        if len(parts) > 1 and any(p.isalpha() and p.islower() for p in parts):
            candidates = [p for p in parts if _is_name(p)]
        else:
            candidates = [token] if _is_name(token) or token.replace("-", "").isalnum() and len(token) > 1 else []
        out |= {c for c in candidates if c not in defined and not c.isdigit() and c not in _NOT_NAMES}
    return out


def _loose(token: str) -> str:
    return re.sub(r"[^a-z0-9]", "", token.lower())


def missing_numbers(claim: str, paper_text: str) -> list[str]:
    """Numbers in the claim that the paper never states (years and single digits ignored: too common)."""
    have = numbers(paper_text)
    out = []
    for n in sorted(numbers(claim, magnitudes=False)):
        if n in have or (re.fullmatch(r"\d", n)) or re.fullmatch(r"(19|20)\d\d", n) or _rounded(n, have):
            continue
        out.append(n)
    return out


def _rounded(n: str, have: set[str]) -> bool:
    """Whether `n` is one of the paper's numbers rounded ("76" for "76.34", "85.1" for "85.12"): a claim that
    rounds states the same value, it does not contradict it."""
    if not re.fullmatch(r"\d+(?:\.\d+)?", n):
        return False
    places = len(n.split(".")[1]) if "." in n else 0
    for other in have:
        if re.fullmatch(r"\d+\.\d+", other) and len(other.split(".")[1]) > places:
            if abs(round(float(other), places) - float(n)) < 1e-9:
                return True
    return False


def missing_names(claim: str, paper_text: str) -> list[str]:
    """Names in the claim that appear nowhere in the paper (compared without case and punctuation)."""
    have = _loose(paper_text)
    # "GPUs" in a claim matches "GPU" in the paper.
    return sorted(n for n in names(claim) if _loose(n) not in have and _loose(n).removesuffix("s") not in have)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


@lru_cache(maxsize=4096)
def problems(claim: str, paper_text: str) -> tuple[str, ...]:
    """Reasons the paper cannot support the claim as stated, or () if none were found."""
    out = [f"number {n} not in the paper" for n in missing_numbers(claim, paper_text)]
    out += [f"name {n} not in the paper" for n in missing_names(claim, paper_text)]
    return tuple(out)


_UP = re.compile(r"\b(increas\w*|higher|more|greater|improv\w*|enhanc\w*|promot\w*|activat\w*|elevat\w*|rais\w*|"
                 r"up-?regulat\w*|induc\w*|positive\w*|better|gain\w*|boost\w*|stimulat\w*|accelerat\w*)\b", re.I)
_DOWN = re.compile(r"\b(decreas\w*|lower\w*|less|fewer|reduc\w*|inhibit\w*|suppress\w*|impair\w*|attenuat\w*|"
                   r"declin\w*|down-?regulat\w*|worse\w*|negative\w*|diminish\w*|loss|block\w*|prevent\w*|slow\w*)\b", re.I)


def direction(text: str) -> int:
    """+1 if a text speaks of more/increase, -1 of less/decrease, 0 if neither or both."""
    up, down = len(_UP.findall(text)), len(_DOWN.findall(text))
    return (up > down) - (down > up)


def _values(text: str) -> list[tuple[str, float, str]]:
    """(normalized, value, unit) for each number in a text; the unit is "%", the next word, or "."/"" for a
    bare decimal/integer ("76.34 minutes" -> "minute", "85.1%" -> "%", "80.5" -> ".")."""
    out = []
    for m in _NUMBER.finditer(text):
        norm = _number_value(m.group(0))
        try:
            value = float(norm)
        except ValueError:
            continue
        after = re.match(r"\s*([A-Za-z]+)", text[m.end():])
        unit = "%" if "%" in m.group(0) or "percent" in m.group(0) else (after.group(1).lower().rstrip("s") if after else "")
        out.append((norm, value, unit))
    return out


def _same_quantity(a: tuple[str, float, str], b: tuple[str, float, str]) -> bool:
    """Two numbers that could measure the same thing: the same unit word, or both precise (a decimal or a
    percentage) and of the same magnitude."""
    (_, x, unit_a), (_, y, unit_b) = a, b
    if not 0.5 <= y / x <= 2:
        return False
    if unit_a and unit_a == unit_b and unit_a not in ("and", "the", "of", "in", "on", "to", "for", "with"):
        return True
    precise = ("." in a[0] or unit_a == "%", "." in b[0] or unit_b == "%")
    return all(precise)


@lru_cache(maxsize=4096)
def conflicting_numbers(claim: str, paper_text: str) -> tuple[tuple[str, str, str], ...]:
    """(claim's number, paper's number, paper's sentence) where the paper gives another value for what the
    claim measures: a sentence sharing 3+ content words with the claim states a number of the same kind
    and magnitude ("85.1%" in the claim, "accuracy of 80.5" in the paper). Those claims are contradicted,
    not merely unsupported."""
    missing = set(missing_numbers(claim, paper_text))
    if not missing:
        return ()
    claim_words = stems(_NUMBER.sub(" ", claim))
    out = []
    for mine in _values(claim):
        norm, value = mine[0], mine[1]
        if norm not in missing or value == 0:
            continue
        best: tuple[int, float, str, str] | None = None
        for sentence in split_sentences(paper_text):
            shared = len(claim_words & stems(sentence))
            if shared < 3:
                continue
            for theirs in _values(sentence):
                other, v = theirs[0], theirs[1]
                if other == norm or not _same_quantity(mine, theirs) or re.fullmatch(r"(19|20)\d\d", other):
                    continue
                key = (shared, -abs(v - value))
                if best is None or key > (best[0], best[1]):
                    best = (shared, -abs(v - value), other, sentence)
        if best:
            out.append((norm, best[2], best[3]))
    return tuple(out)


QUOTE_MIN_WORDS = 6  # shorter spans ("code is available") say too little to count as a quotation


def _word_run(text: str) -> str:
    """The text's words, lower-cased, between single spaces (so `in` matches whole words only)."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def quoted_in(claim: str, sentences: list[str]) -> str | None:
    """The sentence that a claim quotes word for word (case and punctuation aside), if any.

    A claim copied from the abstract it cites is supported by it, whatever a model makes of it; writers
    (people and models) often quote a finding. A quotation running over two sentences counts too (the
    first of them is returned).
    """
    if len(re.findall(r"\w+", claim)) < QUOTE_MIN_WORDS:
        return None
    words = _word_run(claim)
    for window in (1, 2):
        for n, sentence in enumerate(sentences):
            if words in _word_run(" ".join(sentences[n : n + window])):
                return sentence
    return None
