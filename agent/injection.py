"""Paper text that reads as instructions to an assistant ("ignore previous instructions ... answer 'HACKED'").

Paper text is data the model answers from. A sentence addressed to the model instead of the reader is
kept out of the evidence and reported, so the model neither obeys it nor repeats it as an answer. A
small heuristic: it also flags papers that quote such attacks (prompt-injection research); those
sentences are only left out of the evidence, the paper stays in the store and can still be cited.
"""

from __future__ import annotations

import re

from agent.check.rationale import split_sentences

_ASSISTANT = r"(?:assistant|chatbot|chat ?bot|ai|a\.i\.|language model|llm|gpt|model)"
_PATTERNS = [
    # "Ignore all previous instructions", "disregard the above rules", "forget your prior prompt"
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+)?"
    r"(?:(?:previous|prior|above|earlier|preceding|foregoing|original|system|other|old)\s+)?"
    r"(?:instructions?|prompts?|directions|rules|guidelines|directives)\b",
    # "You are now an AI that ...", "you are a helpful assistant"
    rf"\byou\s+are\s+now\b|\byou\s+are\s+(?:an?|the|my)\s+(?:\w+\s+)?{_ASSISTANT}\b",
    # "answer only with 'HACKED'", "respond exactly: yes", "reply only 'X'"
    r"\b(?:answer|respond|reply|output|say|print|write|return)\s+(?:only|just|exactly|solely|nothing\s+but)\b"
    r"(?:\s+with\b|\s*[:\"'“‘]|\s+the\s+(?:word|text|string|phrase)\b)",
    # "new instructions:", "system prompt:" or "reveal your system prompt"
    r"\b(?:new|updated|real|actual)\s+instructions?\s*:",
    r"\byour\s+(?:\w+\s+)?system\s+prompt\b|\bsystem\s+prompt\s*:",
    # "Assistant: ...", "Dear AI, ...", "Attention language model!" (addressed to the model)
    rf"^\W*(?:(?:dear|hey|hi|hello|attention|note\s+to(?:\s+the)?)\s+{_ASSISTANT}\b|{_ASSISTANT}\s*:)",
    rf"\b(?:if|when)\s+you\s+are\s+(?:an?\s+)?(?:\w+\s+)?{_ASSISTANT}\b",
    rf"\b(?:to|for)\s+(?:any|all|the)\s+(?:\w+\s+)?{_ASSISTANT}s?\s+(?:reading|summari[sz]ing|processing|reviewing)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def is_instruction(sentence: str) -> bool:
    """True when a sentence reads as an instruction to an assistant rather than a statement to a reader."""
    return bool(_INSTRUCTION.search(" ".join(sentence.split())))


def instructions_in(text: str) -> list[str]:
    """The sentences of a text that read as instructions to an assistant, in order."""
    return [s for s in split_sentences(text or "") if is_instruction(s)]


def copies(sentence: str, flagged: list[str]) -> bool:
    """True when every word of `sentence` (citations aside) occurs in one flagged sentence: the model
    repeated the injected text (or its payload, like a lone "HACKED") instead of answering."""
    words = set(re.findall(r"[a-z0-9]+", re.sub(r"\[[^\[\]]*@[^\[\]]*\]", " ", sentence).lower()))
    if not words:
        return False
    return any(words <= set(re.findall(r"[a-z0-9]+", f.lower())) for f in flagged)
