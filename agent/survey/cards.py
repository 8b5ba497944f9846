"""Paper cards, made by code: 2-3 abstract sentences (problem / method / result) and what can be pulled out.

A weak model writes well from a short, well-chosen card; it invents when shown a whole abstract.
"""

from __future__ import annotations

import re

from agent.core.paper import Paper, short_name
from agent.core.text import split_sentences, stems
from agent.survey.facets import stated_limitation, training
from agent.survey.models import PaperCard

# Cue words per role; a sentence's role score is its cue hits plus its overlap with the topic.
_CUES = {
    "problem": r"\b(challeng\w*|problem\w*|limit(?:ed|ation\w*)|lack\w*|however|despite|remain\w*|struggl\w*|gap|"
               r"difficult\w*|hard|suffer\w*|existing|bottleneck\w*|fail\w*|costly|expensive|underexplored|unclear)\b",
    "method": r"\b(we (?:propose|introduce|present|develop|design|build|construct|curate|study|investigate|formulate)|"
              r"this (?:paper|work)|our (?:method|approach|framework|model|benchmark|dataset)|framework|pipeline|"
              r"architecture|approach|benchmark|dataset)\b",
    "result": r"\b(results?|outperform\w*|achiev\w*|improv\w*|show(?:s|ed)? that|experiments?|state-of-the-art|"
              r"sota|surpass\w*|gains?|accuracy|reduc\w*|demonstrat\w*|evaluat\w*)\b|\d+(?:\.\d+)?\s?%",
}
_METRICS = ["accuracy", "F1", "BLEU", "ROUGE", "METEOR", "CIDEr", "mAP", "AUC", "AUROC", "recall", "precision",
            "FID", "CLIPScore", "perplexity", "success rate", "win rate", "WER", "exact match", "pass@1", "mIoU",
            "PSNR", "SSIM", "LPIPS", "FVD", "hallucination rate", "latency", "throughput", "speedup", "error rate"]
_METRIC = re.compile(r"(?<![\w@])(" + "|".join(re.escape(m) for m in _METRICS) + r")(?![\w])", re.IGNORECASE)
# A number with its unit, never cut inside: 42.72%, 3.5x, 108.2K, 76.34 minutes, 2.71 out of 5.
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)*\s?(?:%|×|x(?![a-z])|[KMB](?![a-z])|\s(?:out of|of)\s\d+(?:\.\d+)?|"
    r"\s(?:points?|pp|minutes|hours|seconds|frames|tokens|times|fps|languages|tasks|samples|videos|images)\b)?)"
)
_NAME = re.compile(r"\b([A-Z][A-Za-z]*[A-Z0-9][\w\-]*|[A-Z]{2,}[\w\-]*)\b")
_DATASET_CUE = re.compile(r"\b(benchmarks?|datasets?|corpus|corpora|suite|leaderboard)\b", re.IGNORECASE)


def _score(sentence: str, role: str, topic: set[str]) -> float:
    cues = len(re.findall(_CUES[role], sentence, flags=re.IGNORECASE))
    overlap = len(stems(sentence) & topic) / (len(topic) or 1)
    return min(cues, 3) + overlap


def _pick(sentences: list[str], role: str, topic: set[str], taken: set[int], prefer: range | None = None) -> int | None:
    """The best free sentence for a role (ties: earlier sentences; `prefer` breaks ties toward a position)."""
    best, best_score = None, 0.0
    for i, s in enumerate(sentences):
        if i in taken or len(s) < 25:
            continue
        score = _score(s, role, topic) + (0.25 if prefer is not None and i in prefer else 0.0)
        if score > best_score:
            best, best_score = i, score
    return best


def datasets_in(text: str, title: str = "") -> list[str]:
    """Names (CamelCase or acronyms) standing near "benchmark"/"dataset" words, other than the paper's own."""
    own = set(re.findall(r"[\w\-]+", title.split(":")[0])) if ":" in title else set()
    found: list[str] = []
    for sentence in split_sentences(text):
        if not _DATASET_CUE.search(sentence):
            continue
        for cue in _DATASET_CUE.finditer(sentence):
            window = sentence[max(0, cue.start() - 40): cue.end() + 40]
            for name in _NAME.findall(window):
                if len(name) > 2 and name not in own and name.upper() not in {"LLM", "LLMS", "MLLM", "MLLMS", "LMM", "LMMS", "AI", "SOTA"} \
                        and name not in found:
                    found.append(name)
    return found[:4]


_FUNCTION = {"and", "while", "which", "but", "with", "compared", "than", "in", "of", "the", "a", "an", "to", "on",
             "for", "over", "at", "by", "from", "across", "when", "that", "as", "is", "are", "and"}


def headline(text: str) -> str:
    """A result number with the words that say what it measures: "42.72% average accuracy", "accuracy of 80.5%"."""
    for sentence in split_sentences(text):
        if not re.search(_CUES["result"], sentence, flags=re.IGNORECASE):
            continue
        for number in _NUMBER.finditer(sentence):
            value = number.group(1).strip()
            near = sentence[max(0, number.start() - 40): number.end() + 40]
            # A result is a percentage, a speed-up, or a number next to a metric; "30B parameters" is a size.
            if not re.search(r"%|×|\dx\b", value) and not _METRIC.search(near):
                continue
            after = []
            for w in sentence[number.end():].split()[:4]:
                w = w.strip(",;:().")
                if not w or w.lower() in _FUNCTION:
                    break
                after.append(w)
            if after:
                return " ".join([value, *after])
            before = []
            for w in reversed(sentence[:number.start()].split()[-4:]):
                w = w.strip(",;:().")
                if not w or (w.lower() in _FUNCTION and before):
                    break
                before.insert(0, w)
            while before and before[0].lower() in _FUNCTION:
                before.pop(0)
            if before and any(_METRIC.search(w) or len(w) > 3 for w in before):
                return " ".join([*before, value])
    return ""


def make_card(paper: Paper, topic: str) -> PaperCard:
    """The card of one paper: problem / method / result sentences chosen by cue words and topic overlap."""
    sentences = split_sentences(paper.abstract or "")
    topic_stems = stems(topic)
    taken: set[int] = set()
    roles: dict[str, str] = {}
    n = len(sentences)
    for role, prefer in (("method", range(0, max(1, n // 2) + 1)), ("result", range(n // 2, n)),
                         ("problem", range(0, 2))):
        i = _pick(sentences, role, topic_stems, taken, prefer)
        if i is not None:
            taken.add(i)
            roles[role] = sentences[i]
    if not roles and sentences:
        roles["method"] = sentences[0]
    limitation, prior = stated_limitation(paper.abstract or "")
    text = paper.abstract or ""
    return PaperCard(
        key=paper.key, title=paper.title, year=paper.year, venue=paper.venue, authors=list(paper.authors),
        problem=roles.get("problem", ""), method=roles.get("method", ""), result=roles.get("result", ""),
        limitation=limitation, datasets=datasets_in(text, paper.title),
        metrics=list(dict.fromkeys(m.group(1) for m in _METRIC.finditer(text)))[:4],
        numbers=list(dict.fromkeys(m.group(1).strip() for m in _NUMBER.finditer(text) if re.search(r"\D", m.group(1))))[:6],
        headline=headline(text), truncated=paper.abstract_truncated, name=short_name(paper),
        training=training(text), prior_gap=prior,
    )
