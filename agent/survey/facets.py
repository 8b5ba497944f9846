"""Facets of a paper, found by code in its own title and abstract: what a section can group and contrast.

SurveyX turns each paper into an attribute tree (problem, method, dataset, metrics, limitations) before
writing; without it its synthesis scores fell. Here every value is a span of the paper's own text, so a
facet can never be invented: the field phrases it uses ("visual token pruning", "knowledge distillation"),
whether it needs training, the benchmarks it names, a headline number, a limitation it states and the
system name it introduces. What two papers *share* is decided over the whole scope (facets.shared), so a
phrase every paper uses ("large language models") groups nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from agent.core.names import is_name as _is_name
from agent.core.text import STOP, split_sentences, stemmer

# Words of any abstract: a phrase made only of these (and stop words) says nothing about a method.
GENERIC = set("""
model models method methods approach approaches framework frameworks paper papers work works result results
performance task tasks data new novel propose proposed proposes present presents introduce introduces
existing various different extensive experiment experiments experimental state art significant significantly
capability capabilities ability abilities large small study studies analysis effective effectively efficient
based use using used show shows demonstrate demonstrates achieve achieves outperform outperforms strong
improve improves improved improvement improvements key important recent recently problem problems challenge
challenges challenging issue issues paradigm setting settings comprehensive simple general generally
prior previous current finally first second third also well however furthermore moreover code available
publicly github com https http www project page release released number high low better best wide range
way ways aspect aspects level levels type types set sets various diverse multiple many several across
further thus specifically particular particularly crucial critical potential effectiveness superior
art sota baseline baselines leading main extensive thorough substantial substantially notable notably
within between including towards toward both not only have has had been being remain remains remained often
shown demonstrated remarkable impressive promising enable enables enabling allow allows while whether where
such other each every all some any its their these those there here via into onto upon among per than then
more most less can could may might should would will must one two three four five six seven eight nine ten
without despite even still yet already just much very highly largely rather instead due able unable
offers offer provides provide requires require includes include yields yield leads lead makes make takes take
gives give lacks lack contains contain covers cover introduces proposed named called termed known
""".split())
# A phrase ends on a noun: not an adverb, a participle or an adjective ("pretrained unimodal").
_NOT_LAST = re.compile(r"(?:ly|ed|ive|ous|able|ible|ful|less|ic|al)$")
_NOUNS_IN_AL = {"retrieval", "signal", "interval", "proposal", "removal", "manual", "terminal", "potential",
                "journal", "material", "tutorial", "arrival", "rehearsal", "trial", "logic", "topic", "music",
                "clinic", "graphic", "graphics", "metric", "heuristic", "critic", "mechanic"}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_SPLIT = re.compile(r"[,;:.()\[\]?!\"“”]|\s[-–—]\s")
_TRAINING_FREE = re.compile(r"\b(training[- ]free|tuning[- ]free|without (?:any )?(?:additional |extra |re-?)?"
                            r"(?:training|fine-?tuning|retraining)|plug[- ]and[- ]play|no (?:additional )?training)\b",
                            re.IGNORECASE)
_TRAINED = re.compile(r"\b(fine-?tun\w*|instruction[- ]tun\w*|pre-?train\w*|we train\w*|trained on|distill\w*|"
                      r"reinforcement learning|preference optimi[sz]ation|RLHF|DPO|supervised)\b", re.IGNORECASE)
# A limitation the paper states, of its field or of earlier work: what an open problem is drawn from.
LIMITATION = re.compile(
    r"\b(remains? (?:a |an )?(?:largely )?(?:challeng\w*|open|unclear|unexplored|underexplored|limited|difficult|"
    r"unsolved|elusive|a mystery)|still (?:struggle|lack|fail|suffer|fall)\w*|struggle\w* (?:to|with)|fail\w* to|"
    r"(?:is|are) (?:still )?limited|limitations?|fall\w* short|lack\w* (?:of|the)|open (?:question|problem|challenge)s?|"
    r"future work|under-?explored|suffer\w* from|bottleneck)\b", re.IGNORECASE)
_CONTRIBUTES = re.compile(r"\b(we|our|this paper|this work|in this paper)\b", re.IGNORECASE)


def training(text: str) -> str:
    """"training-free", "trained" or "" (the abstract does not say): the cue it found decides."""
    if _TRAINING_FREE.search(text):
        return "training-free"
    return "trained" if _TRAINED.search(text) else ""


def stated_limitation(abstract: str) -> tuple[str, bool]:
    """The first sentence stating a limitation, and whether it is of earlier work ("existing methods fail
    to ...") rather than the paper's own ("our method still ..."). ("", False) when none."""
    for sentence in split_sentences(abstract or ""):
        if LIMITATION.search(sentence) and len(sentence) >= 30:
            prior = re.search(r"\b(existing|previous|prior|current|conventional|traditional|most|many|"
                              r"mainstream|popular)\b", sentence, re.IGNORECASE)
            return sentence, bool(prior)
    return "", False


def candidate_phrases(text: str, most: int = 3) -> dict[tuple[str, ...], str]:
    """Every run of 1-`most` content words not crossing punctuation or a stop word, by its stems, with the
    first surface form seen: {("token", "prune"): "token pruning", ...}. Single words only when long."""
    stem = stemmer().stemWords
    out: dict[tuple[str, ...], str] = {}
    for chunk in _SPLIT.split(text):
        words = _WORD.findall(chunk)
        runs: list[list[str]] = [[]]
        for w in words:
            low = w.lower()
            if low in STOP or low in GENERIC or len(low) < 3:
                runs.append([])
            else:
                runs[-1].append(w)
        for run in runs:
            keys = stem([w.lower() for w in run])
            for n in range(1, most + 1):
                for i in range(len(run) - n + 1):
                    last = run[i + n - 1]
                    if n == 1 and len(run[i]) < 7 and not _is_name(run[i]):
                        continue
                    if _NOT_LAST.search(last.lower()) and last.lower() not in _NOUNS_IN_AL and not _is_name(last):
                        continue
                    key = tuple(keys[i:i + n])
                    if len(set(key)) == n:
                        out.setdefault(key, " ".join(run[i:i + n]))
    return out


class Vocabulary:
    """The scope's phrases with their document frequency: what is shared, and how telling it is."""

    def __init__(self, texts: dict[str, str], topic: str) -> None:
        self.texts = texts
        self.phrases = {key: candidate_phrases(text) for key, text in texts.items()}
        self.df: Counter[tuple[str, ...]] = Counter(p for found in self.phrases.values() for p in found)
        self.n = max(len(texts), 1)
        self.topic = set(stemmer().stemWords([w.lower() for w in _WORD.findall(topic)]))

    def weight(self, phrase: tuple[str, ...]) -> float:
        """How telling a shared phrase is: rare in the scope, several words, not only the topic's words."""
        # In a scope of 10+ papers, a phrase in more than 40% of them is the field's, not a group's.
        if set(phrase) <= self.topic or (self.n >= 10 and self.df[phrase] / self.n > 0.4) or self.df[phrase] == self.n:
            return 0.0
        return math.log(self.n / self.df[phrase]) * (1.0 + 0.5 * (len(phrase) - 1))

    def surface(self, phrase: tuple[str, ...]) -> str:
        """The most common way the papers write a phrase."""
        forms = Counter(found[phrase] for found in self.phrases.values() if phrase in found)
        return forms.most_common(1)[0][0] if forms else " ".join(phrase)

    def shared(self, keys: Iterable[str], least: int = 2, words: int = 1) -> list[tuple[tuple[str, ...], set[str]]]:
        """Phrases of at least `words` words (or names) that at least `least` of `keys` use, best first, each
        with the papers that use it; a phrase inside a longer one with the same papers is left out ("token"
        beside "visual token pruning")."""
        keys = list(keys)
        holders: dict[tuple[str, ...], set[str]] = {}
        for key in keys:
            for phrase, surface in self.phrases.get(key, {}).items():
                if self.weight(phrase) > 0 and (len(phrase) >= words or _is_name(surface)):
                    holders.setdefault(phrase, set()).add(key)
        found = [(p, ks) for p, ks in holders.items() if len(ks) >= least]
        found = [(p, ks) for p, ks in found
                 if not any(len(q) > len(p) and ks <= kq and _inside(p, q) for q, kq in found)]
        return sorted(found, key=lambda x: (-len(x[1]) * self.weight(x[0]), x[0]))

    def sentence_with(self, key: str, phrase: tuple[str, ...]) -> str:
        """The first sentence of a paper's text that holds `phrase` (by its stems)."""
        for sentence in split_sentences(self.texts.get(key, "")):
            if phrase in candidate_phrases(sentence):
                return sentence
        return ""

    def method_kind(self, key: str, prefer: str = "") -> str:
        """The paper's most telling phrase that some other paper of the scope shares, preferring one in
        `prefer` (its method sentence): what the comparison table calls its kind of method."""
        found = self.phrases.get(key, {})
        best, score = "", 0.0
        for phrase, surface in found.items():
            if self.df[phrase] < 2:
                continue
            w = self.weight(phrase) * (1.5 if prefer and surface.lower() in prefer.lower() else 1.0)
            if w > score:
                best, score = surface, w
        return best


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    n = len(short)
    return any(long[i:i + n] == short for i in range(len(long) - n + 1))


def contributes(sentence: str) -> bool:
    """A sentence about what the paper itself does: a restated contribution is not an open problem."""
    return bool(_CONTRIBUTES.search(sentence)) and not re.search(
        r"\b(existing|previous|prior|current)\b", sentence, re.IGNORECASE)
