"""What a paper is called in prose: the system name it introduces, or the name its title leads with.

Sentences name papers ("FLAIR aligns ...", "Lee et al. show ..."), never by their citation keys; the
writer, `ask` and the comparison check all need to know these names, so they live here, below them all.
"""

from __future__ import annotations

import re

from agent.core.text import split_sentences

# A name: an acronym, CamelCase or a word with digits ("FLAIR", "X-VILA", "MoIIE", "LLaVA-KD", "Qwen2").
_NAME = r"[A-Z][A-Za-z0-9]*(?:[-‑][A-Za-z0-9]+)*"
_INTRODUCED = [
    re.compile(rf"\b(?:called|named|dubbed|termed|coined)\s+({_NAME})"),
    re.compile(rf"\b[Ww]e\s+(?:propose|introduce|present|develop|release|build|construct|curate|design|"
               rf"establish|create|unveil)\s+({_NAME})(?=[\s,(:]|$)"),
    re.compile(rf"\b[Ww]e\s+(?:propose|introduce|present|develop|release|build|construct|curate|design)\b"
               rf"[^.;]{{0,100}}?\(({_NAME})\)"),
    re.compile(rf"^({_NAME}),\s+(?:a|an|the)\s"),
]
FIELD_ACRONYMS = {"LLM", "LLMS", "MLLM", "MLLMS", "LMM", "LMMS", "VLM", "VLMS", "LVLM", "LVLMS", "AI", "NLP",
                  "SOTA", "GPU", "GPUS", "API", "VQA", "CV", "ML", "RL", "QA", "CLIP", "GPT", "LLAMA", "BERT",
                  "ViT", "VIT", "CNN", "RNN", "I", "A"}


def introduced_name(abstract: str) -> str:
    """The system name a paper introduces ("we propose FLAIR, ...", "... called MoIIE"), or ""."""
    for sentence in split_sentences(abstract or ""):
        for pattern in _INTRODUCED:
            for match in pattern.finditer(sentence):
                name = match.group(1).rstrip("-")
                if is_name(name):
                    return name
    return ""


def is_name(word: str) -> bool:
    """A system's name, not a field's acronym or a capitalised common word."""
    if not 2 <= len(word) <= 25 or word.upper() in FIELD_ACRONYMS or word.rstrip("s").upper() in FIELD_ACRONYMS:
        return False
    inner = word[1:]
    return bool(re.search(r"[A-Z0-9]", inner)) or word.isupper()


