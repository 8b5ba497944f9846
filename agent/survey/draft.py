"""Drafting, attribute-first: per group of 3-6 papers, one sentence per paper from its card, cited to it.

One call per paper, all over the same prefix (the group's cards, so llama.cpp processes them once), each
asking for one sentence about that paper; then one call for a comparison sentence citing only the
group's keys. Code keeps one finished sentence per call and sends everything through the shared check
step (gate, verify, repair).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.check.checker import gate
from agent.core.citations import CITE_GROUP, UNCITED, parse_keys, with_citation
from agent.core.templates import render_template
from agent.survey.models import PaperCard, Sentence, SentenceKind
from agent.survey.synthesis import Group, names_list, own_subject, with_contrast

if TYPE_CHECKING:
    from agent.check.checker import Checker
    from agent.llm.client import LLMClient


def groups_of(keys: list[str], size: int) -> list[list[str]]:
    """Split a theme's papers into near-equal groups of at most `size` (3-6 for a local model)."""
    if not keys:
        return []
    n = math.ceil(len(keys) / size)
    base, extra = divmod(len(keys), n)
    out, start = [], 0
    for i in range(n):
        end = start + base + (1 if i < extra else 0)
        out.append(keys[start:end])
        start = end
    return out


def cards_block(cards: list[PaperCard], text: str = "sentences") -> str:
    """The cards as evidence: key, title, year, then the card's sentences on one line."""
    rows = [{"key": c.key, "title": c.title, "year": c.year,
             "text": c.limitation if text == "limitation" else c.brief} for c in cards]
    return render_template("cards", cards=rows)


@dataclass
class GroupDraft:
    """One group's sentences after the check step, and what happened on the way."""

    keys: list[str]
    sentences: list[Sentence] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    judged: int = 0
    draft_recall: float = 1.0
    missing: dict[str, str] = field(default_factory=dict)  # key -> why it has no sentence

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"keys": self.keys, "sentences": [asdict(s) for s in self.sentences], "flagged": self.flagged,
                "problems": self.problems, "judged": self.judged, "draft_recall": self.draft_recall,
                "missing": self.missing}


def one_sentence(reply: str, key: str, keys: list[str], name: str = "") -> tuple[str, list[str]]:
    """The first finished sentence of a reply about paper `key`, cited to it; problems found on the way.

    The call was about this one paper, so its attribution is decided before generation: a sentence the
    model left uncited gets `[@key]`; a citation of any other key (shown or invented) is removed.
    """
    gated = gate(reply.replace("\n", " "), keys + [key], uncited="keep")
    problems = list(gated.problems)
    if not gated.sentences:
        return "", problems + [f"@{key}: the model wrote no finished sentence"]
    first = gated.sentences[0]
    if first in gated.uncited:
        first = first.rstrip(".") + "."  # its citation goes before one full stop: "X..." -> "X [@key]."
    first = first.replace(UNCITED, "")  # a marker the model wrote itself
    others = [k for k in parse_keys(first) if k != key]
    if others:
        problems.append(f"@{key}: removed citation(s) of {', '.join('@' + k for k in others)} from its sentence")
    first = CITE_GROUP.sub("", first).strip().lstrip(":;,-– ").strip()
    if len(key) >= 5 and key != name and len(re.findall(r"[A-Z][a-z]+", key)) >= 2:
        # The model copied the citation key as the paper's name ("ImplicitMultimodalAlignment exposes ...").
        first = re.sub(rf"(?<![@\w-]){re.escape(key)}(?![\w-])", name or "This work", first)
    if first[:1].islower() and not (name and first.lower().startswith(name.lower())):
        first = f"{name or 'This work'} {first}"  # "[@key] presents X" lost its subject with the citation
    return with_citation(first, [key]), problems


# Acronyms of the field itself: a rewording may say "models" for them; a method's or dataset's name it must keep.
_GENERIC_ACRONYMS = {"LLM", "MLLM", "LMM", "VLM", "LVLM", "AI", "NLP", "CV", "ML", "RL", "SOTA", "GPU", "API"}


def names_another(sentence: str, card: PaperCard, cards: list[PaperCard]) -> str:
    """The name of another card of the group that a sentence about `card` mentions, else ""."""
    sentence = CITE_GROUP.sub("", sentence)
    for other in cards:
        name = other.name.removesuffix(" et al.")
        if other.key != card.key and len(name) >= 3 and name != card.name.removesuffix(" et al.") \
                and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence):
            return other.name
    return ""


NAMES_UNCITED = "removed: names a paper it does not cite"


def uncited_name(sentence: str, cited: list[str], cards: list[PaperCard]) -> str:
    """The name of a group paper that a sentence mentions but does not cite (half of a comparison nobody
    checks), else ""."""
    mine = [c for c in cards if c.key in cited]
    if not mine:
        return ""
    return names_another(sentence, mine[0], [c for c in cards if c.key not in cited or c.key == mine[0].key])


def third_person(sentence: str) -> str:
    """An abstract's sentence as a survey says it: "In this paper, we propose X" -> "The authors propose X"."""
    out = re.sub(r"^(?:(?:in this|this) (?:paper|work|study|article),?\s*)?we\b", "The authors", sentence.strip(),
                 flags=re.I)
    out = re.sub(r"\b[Ww]e\b", "the authors", out)
    out = re.sub(r"\b[Oo]ur\b", "the authors'", out)
    out = re.sub(r"\b[Uu]s\b", "them", out)
    return _capital(out)


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _sources(card: PaperCard) -> list[str]:
    """The abstract's sentences on a card: what a sentence about the paper must not copy."""
    return [card.problem, card.method, card.result, card.limitation]


# A grouping sentence that says only that the papers share a word ("both mention X", "have in common").
_EMPTY = re.compile(r"\b(mention\w*|in common|(?:both|all) (?:discuss|explore|address|study|focus on)|"
                    r"different approaches)\b", re.IGNORECASE)


class Drafter:
    """Writes and checks groups of cards with one LLM client and one checker."""

    def __init__(self, llm: "LLMClient", checker: "Checker", topic: str, model: str | None) -> None:
        self.llm, self.checker, self.topic, self.model = llm, checker, topic, model

    def _complete(self, prompt: str, max_tokens: int) -> str:
        return self.llm.complete([{"role": "user", "content": prompt}], model=self.model, max_tokens=max_tokens,
                                 allow_empty=True).text

    def draft(self, cards: list[PaperCard], theme: str, kind: SentenceKind = SentenceKind.PAPER,
              compare: bool = True, group: Group | None = None, names: dict[str, str] | None = None) -> GroupDraft:
        """Sentences for one group: one call per paper over the group's cards, then the check; a group
        sharing a facet (`group.facet`) also gets a sentence on what they share, citing exactly them, and
        a contrast of two of its verified sentences.

        `kind`: what each paper's sentence says, its finding (`PAPER`) or the open problem it points to.
        `names`: how each paper is named as a subject (synthesis.subjects), else its card's name.
        """
        keys = [c.key for c in cards]
        names = names or {c.key: c.name for c in cards}
        facet = group.facet if group is not None and kind == SentenceKind.PAPER else ""
        block = cards_block(cards, "limitation" if kind == SentenceKind.OPEN_PROBLEM else "sentences")
        sentences: list[str] = []
        problems: list[str] = []
        for card in cards:
            sentence = self._one(card, cards, block, theme, kind, problems, names.get(card.key, ""), facet)
            if sentence:
                sentences.append(sentence)
        shared = [c for c in cards if group is not None and c.key in group.shared_by]
        if compare and facet and len(shared) >= 2:
            if grouped := self._grouping(block, theme, group, shared, problems):
                sentences.insert(0, grouped)
        free = [c for c in cards if c.training == "training-free"]
        if compare and kind == SentenceKind.PAPER and len(free) >= 2:
            # A closing trend code can state and the check verify per paper: which of them need no training.
            count = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}.get(len(free), str(len(free)))
            who = names_list([names[c.key] for c in free]) if all(c.name for c in free) else f"{count} of these works"
            sentences.append(with_citation(f"{who} work without additional training.", [c.key for c in free]))
        checked = self.check(sentences, keys, kind, problems, cards)
        for s in [s for s in checked.sentences if s.text.startswith(("Two works", "Several works")) and len(s.keys) < 2]:
            # Repair dropped papers it could not name: "Two works both ..." citing one paper is false.
            checked.sentences.remove(s)
            checked.flagged.append({"text": s.text, "status": s.status, "repair": "removed: a group of one",
                                    "keys": s.keys, "verdicts": s.verdicts})
        if compare and facet:
            checked.sentences = with_contrast(checked.sentences, names, [c.key for c in shared])
        return checked

    def _grouping(self, block: str, theme: str, group: Group, shared: list[PaperCard], problems: list[str]) -> str:
        """One sentence on what the papers sharing the group's facet have in common, cited to exactly them,
        or "": it must name them, be about the facet and say more than that they mention it (the check then
        verifies it against each of them)."""
        facet = group.facet
        named = all(c.name for c in shared)
        subject = names_list([c.name for c in shared]) if named else ("Two works" if len(shared) == 2 else "Several works")
        lines = [(c.name or f"Paper {i + 1}", group.evidence.get(c.key) or c.brief) for i, c in enumerate(shared)]
        prompt = render_template("write_group", lines=lines, theme=theme, topic=self.topic, facet=facet, names=subject)
        reply = CITE_GROUP.sub("", self._complete(prompt, 60).replace("\n", " ")).strip()
        sentence = next((s for s in gate(reply, [], uncited="keep").sentences), "").strip()
        facet_words = {w for w in re.findall(r"[a-z0-9]{3,}", facet.lower())}
        said = sentence.lower()
        if not sentence or not sentence.startswith(subject) or not all(w[:5] in said for w in facet_words) \
                or _EMPTY.search(sentence):
            problems.append(f"no sentence on what {subject} share about {facet!r}")
            return ""
        return with_citation(sentence.rstrip(".").strip() + ".", [c.key for c in shared])

    def _one(self, card: PaperCard, cards: list[PaperCard], block: str, theme: str, kind: SentenceKind,
             problems: list[str], subject: str = "", facet: str = "") -> str:
        """The sentence about one paper: asked over the group's cards, checked for attribution, reworded if copied."""
        keys = [c.key for c in cards]
        subject = subject or card.name
        if kind == SentenceKind.OPEN_PROBLEM:
            # Attributed, so that a gap the paper sees in earlier work is never said of the paper itself.
            subject = f"According to {subject or 'one study'},"
        prompt = render_template("write_one", cards_block=block, theme=theme, topic=self.topic, key=card.key,
                                 title=card.title, open_problem=kind == SentenceKind.OPEN_PROBLEM, subject=subject,
                                 facet=facet)
        # ~20 words; a tight budget keeps a weak model from pasting the whole card.
        sentence, found = one_sentence(self._complete(prompt, 50), card.key, keys, subject)
        problems += found
        others = {c.key: c.text for c in cards if c.key != card.key}
        if sentence and (other := names_another(sentence, card, cards)):
            # "X, like Y, ..." citing X alone: a comparison in disguise whose second half nobody checks.
            problems.append(f"@{card.key}: its sentence named {other} without citing it")
            sentence = ""
        if sentence and (wrong := self.checker.attribution(sentence, card.key, card.title, card.text, others, self.topic)):
            problems.append(wrong)
            sentence = ""
        source = card.limitation if kind == SentenceKind.OPEN_PROBLEM else (card.method or card.result or card.problem)
        if not sentence and source:
            # A reply cut off, title-only or about another card: say the paper's own key sentence in other
            # words instead (its card alone, so it cannot drift to a neighbour; cheaper than a longer retry).
            sentence = self._reword(with_citation(third_person(source), [card.key]), card, problems,
                                    fallback=True)
        elif sentence and self.checker.copied(sentence, _sources(card)):
            sentence = self._reword(sentence, card, problems)
        # The planned subject, also on a reworded or fallback sentence ("The authors propose" -> "One study proposes").
        return own_subject(sentence, subject) if kind == SentenceKind.PAPER else sentence

    def _reword(self, sentence: str, card: PaperCard, problems: list[str], fallback: bool = False) -> str:
        """A sentence that copies its card, said again in other words; kept only if it still holds.

        A weak model pastes the abstract; asked with the sentence alone, it rewords. The new wording must
        keep every name of the old one and be supported by the paper, else the faithful copy stays.
        """
        reply = self._complete(render_template("reword", sentence=CITE_GROUP.sub("", sentence).strip()), 45)
        new, _ = one_sentence(reply, card.key, [card.key], card.name)
        if new and self.checker.attribution(new, card.key, card.title, card.text, {}, self.topic):
            new = ""  # only the title: with its card alone it cannot be about another paper
        names = {n for n in re.findall(r"\b(?=[\w\-]*[A-Z0-9][\w\-]*[A-Z0-9])[\w\-]+\b", sentence)
                 if n.rstrip("s").upper() not in _GENERIC_ACRONYMS}
        if fallback:
            # Shorter than its source, it may leave out names; it must keep the paper's and invent no number.
            invented = set(re.findall(r"\d+(?:\.\d+)?", new)) - set(re.findall(r"\d+(?:\.\d+)?", sentence))
            if not new or (card.name and card.name in sentence and card.name not in new) or invented:
                return ""
            problems.append(f"@{card.key}: wrote its sentence from its card's key sentence instead")
            return new  # the check step verifies it like any other sentence
        if not new or self.checker.copied(new, _sources(card)) or any(n not in new for n in names):
            return sentence
        if not self.checker.supported(new, card.key):
            return sentence
        problems.append(f"@{card.key}: reworded a sentence that copied its abstract")
        return new

    def check(self, sentences: list[str], keys: list[str], kind: SentenceKind, problems: list[str],
              cards: list[PaperCard] | None = None) -> GroupDraft:
        """Verify and repair the group's sentences; keep the survivors as `Sentence`s. A survivor that names a
        paper of the group (`cards`) it no longer cites, after repair dropped that citation, is removed: half
        of a comparison is then unchecked."""
        result = GroupDraft(keys, problems=list(problems))
        if not sentences:
            result.missing = {k: "the model wrote no usable sentence for it" for k in keys}
            return result
        named = [x for x in sentences if uncited_name(x, parse_keys(x), cards or [])]
        for x in named:
            result.flagged.append({"text": x, "status": "not checked", "repair": NAMES_UNCITED,
                                   "keys": parse_keys(x), "verdicts": []})
        sentences = [x for x in sentences if x not in named]
        if not sentences:
            result.missing = {k: "its sentence named a paper it did not cite" for k in keys}
            return result
        # Attribute-first: a sentence written about one paper is never moved to another (no `recite`).
        checked = self.checker.check("\n".join(sentences), keys, uncited="drop", without=("recite",))
        result.judged, result.draft_recall = len(checked.checks), round(checked.draft_recall, 4)
        result.problems += checked.problems
        for check in checked.checks:
            verdicts = [{"key": v.key, "label": v.label, "score": round(v.score, 4),
                         "evidence": v.evidence[0] if v.evidence else ""} for v in check.verdicts]
            if check.repair == "removed" or check.repair == "flagged":
                result.flagged.append({"text": check.claim.source, "status": check.status, "repair": check.repair,
                                       "keys": check.claim.keys, "verdicts": verdicts})
                if check.repair == "removed":
                    continue
            claim_keys = list(check.claim.keys)
            if other := uncited_name(check.claim.source, claim_keys, cards or []):
                result.problems.append(f"@{claim_keys[0]}: a sentence named {other} without citing it; removed")
                result.flagged.append({"text": check.claim.source, "status": check.status,
                                       "repair": NAMES_UNCITED, "keys": claim_keys, "verdicts": verdicts})
                continue
            result.sentences.append(Sentence(
                text=check.claim.source, claim=check.claim.text, keys=claim_keys, status=check.status,
                kind=SentenceKind.COMPARISON if len(claim_keys) > 1 and kind == SentenceKind.PAPER else kind,
                repair=check.repair, verdicts=verdicts, relevant=list(check.relevant),
            ))
        cited = {k for s in result.sentences for k in s.keys}
        for key in keys:
            if key not in cited:
                failed = [f for f in result.flagged if key in f["keys"]]
                said = [p.split(": ", 1)[1] for p in result.problems if p.startswith(f"@{key}: ")]
                result.missing[key] = ("its sentence was not supported by its abstract and was removed" if failed
                                       else said[-1] if said else "the model wrote no usable sentence for it")
        return result
