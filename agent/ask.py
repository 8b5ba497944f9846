"""Ask: retrieve, choose evidence, answer with `[@key]` citations, check every citation, or abstain.

Built for a weak local model: code picks short evidence (a few abstract sentences per paper), the
model writes a few sentences, and code checks each citation against the evidence it was shown.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agent.check.checker import Checker, gate
from agent.check.claims import cited_sentences
from agent.check.relevance import addresses
from agent.core.citations import UNCITED, name_citations, parse_keys  # noqa: F401  (UNCITED re-exported for callers)
from agent.core.errors import ModelError
from agent.core.paper import Paper, sentence_name
from agent.core.settings import Settings
from agent.core.templates import render_template
from agent.core.text import clip
from agent.evidence import Evidence, copies, coverage, is_instruction, retrieve, select_evidence  # noqa: F401  (re-exported)
from agent.llm.client import Completion, LLMClient, Message, OnToken, Usage
from agent.store.search import Filters, SearchHit
from agent.store.store import Store

if TYPE_CHECKING:
    from agent.check.verify import VerificationReport

ABSTAIN_MARKER = "NOT IN STORE"
ABSTENTION = "The papers in the store do not answer this question."
# The model saying, in its own words, that the evidence does not answer ("The evidence does not mention
# how long ..."): an abstention, unlike a reply that is broken or cites nothing.
_SAYS_NOT_ANSWERED = re.compile(
    r"\b(?:evidence|papers?|abstracts?|context|store|sources?|texts?|information)\b[^.]{0,40}?\b(?:does|do|did)\s*n[o']t\s+"
    r"(?:\w+\s+)?(?:answer|mention|say|state|contain|provide|include|address|discuss|specify|cover|give)"
    r"|\b(?:cannot|can't|can not|unable to)\s+(?:be\s+)?(?:answer|determine|find|tell|say)"
    r"|\bno\s+(?:information|mention|evidence|data|details?)\s+(?:about|on|of|regarding|is|in)"
    r"|\bnot\s+(?:mentioned|provided|stated|specified|discussed|given|answered|covered)\s+in\b",
    re.IGNORECASE,
)


class ModelFault(ModelError):
    """The model's reply holds no usable answer: broken, uncited, or only repeating injected text.
    An error, never an abstention: the store may well answer the question."""


@dataclass
class Citation:
    key: str
    title: str
    year: int | None = None


@dataclass
class Answer:
    """A cited answer (or an abstention) with everything needed to check it."""

    question: str
    answer: str
    citations: list[Citation]
    evidence: list[Evidence]
    usage: Usage
    abstained: bool = False
    problems: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    model: str = ""
    draft: str = ""  # the model's raw text, before citations were checked
    retrieval_seconds: float = 0.0
    timings: dict[str, Any] = field(default_factory=dict)  # llama.cpp prompt/generation split, when known
    verification: "VerificationReport | None" = None  # per-claim verdicts after repair
    flagged: dict[str, list[str]] = field(default_factory=dict)  # paper key -> its text left out as instructions

    def to_dict(self) -> dict[str, Any]:
        report, self.verification = self.verification, None
        try:
            data = asdict(self)
        finally:
            self.verification = report
        data["verification"] = report.to_dict() if report is not None else None
        return data


@dataclass
class Conversation:
    """A chat: messages so far (their prefix is reused by llama.cpp) and all evidence shown."""

    messages: list[Message] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    turns: list[Answer] = field(default_factory=list)


class Asker:
    """The ask loop over one store and one LLM client."""

    def __init__(self, store: Store, llm: LLMClient, settings: Settings) -> None:
        self.store, self.llm, self.settings = store, llm, settings

    def retrieve(self, question: str, k: int, context: str = "",
                 filters: Filters | None = None) -> tuple[list[SearchHit], list[Evidence], list[str]]:
        """Search (and reformulate once when retrieval is weak): hits, evidence, queries run."""
        found = retrieve(self.store, self.llm, self.settings, question, k, context, filters)
        return found.hits, found.evidence, found.queries

    def ask(
        self,
        question: str,
        conversation: Conversation | None = None,
        k: int | None = None,
        model: str | None = None,
        on_token: OnToken | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        question = question.strip()
        conversation = conversation if conversation is not None else Conversation()
        before = Usage()
        before.add(self.llm.usage)
        context = conversation.turns[-1].question if conversation.turns else ""
        started = time.perf_counter()
        _, evidence, queries = self.retrieve(question, k or self.settings.ask_k, context, filters)
        retrieval_seconds = time.perf_counter() - started
        flagged = {e.key: e.flagged for e in evidence if e.flagged}
        noticed = [f"@{key}: left out {len(f)} sentence{'' if len(f) == 1 else 's'} of its text that read as "
                   f"instructions to an assistant: {clip(f[0], 80)!r}" for key, f in flagged.items()]
        evidence = [e for e in evidence if e.text]  # a paper whose whole text was left out is not evidence
        new = [e for e in evidence if e.key not in conversation.evidence]
        known = {**conversation.evidence, **{e.key: e for e in new}}
        if not known or coverage(question, list(known.values())) == 0:
            answer = Answer(question, ABSTENTION, [], evidence, self._spent(before), abstained=True,
                            problems=["no evidence in the store shares a content word with the question", *noticed],
                            queries=queries, model=model or self.settings.model, retrieval_seconds=retrieval_seconds,
                            flagged=flagged)
            conversation.turns.append(answer)
            return answer
        block = render_template("evidence", first=not conversation.messages, evidence=new) if new else ""
        content = render_template(
            "answer",
            evidence_block=block,
            question=question,
            sentences="2 to 4",
            example_key=(new or list(known.values()))[0].key,
        )
        messages = conversation.messages or [{"role": "system", "content": render_template("system", abstain_marker=ABSTAIN_MARKER)}]
        messages = [*messages, {"role": "user", "content": content}]
        # 2-4 short sentences fit in 160 tokens; a longer reply costs seconds and adds nothing checkable.
        reply = self.llm.complete(messages, model=model, on_token=on_token, max_tokens=min(self.settings.max_tokens, 160))
        answer = self._check(question, reply, known, evidence, queries)
        answer.retrieval_seconds, answer.timings, answer.flagged = retrieval_seconds, reply.timings, flagged
        answer.problems += noticed
        if self.settings.verify and not answer.abstained:
            self._verify(answer, known)
        # A follow-up ("How many pairs does it have?") is about what the previous question named.
        if not answer.abstained and (why := addresses(f"{question} {context}".strip(), answer.answer)):
            # True of the cited paper is not an answer: after repair re-cited an off-topic draft, its
            # sentences were "supported" yet said nothing about what was asked.
            answer.answer, answer.citations, answer.abstained = ABSTENTION, [], True
            answer.problems.append(why)
        answer.usage, answer.model = self._spent(before), reply.model
        conversation.messages = [*messages, {"role": "assistant", "content": reply.text}]
        conversation.evidence = known
        conversation.turns.append(answer)
        return answer

    @staticmethod
    def _refuse_instructions(draft: str, known: dict[str, Evidence]) -> tuple[str, list[str]]:
        """The draft without sentences that are instructions to an assistant, or that repeat paper text
        left out as such (a lone "HACKED [@x]."), and one problem line per sentence refused."""
        flagged = [s for e in known.values() for s in e.flagged]
        kept, refused = [], []
        for sentence in cited_sentences(draft.strip()) if draft.strip() else []:
            if is_instruction(sentence.text) or copies(sentence.text, flagged):
                refused.append(f"refused a sentence that repeats instructions found in paper text: {clip(sentence.text, 80)}")
            else:
                kept.append(sentence.text)
        return (" ".join(kept) if refused else draft), refused

    @staticmethod
    def _fault(reply: Completion, refused: list[str]) -> str:
        """One line for a reply with no usable answer: what the model wrote, and what to do."""
        shown = clip(" ".join("".join(c for c in reply.text if c.isprintable() or c.isspace()).split()), 80)
        if refused:
            what = "only repeated instructions found in paper text (the answer is withheld)"
        elif reply.finish_reason == "length":
            what = f"stopped at the token limit before finishing a cited sentence (it wrote {shown!r})"
        else:
            what = f"wrote no sentence citing the evidence (it wrote {shown!r})"
        return f"model {reply.model!r} {what}; try again, or choose another model with --model / SURVEY_MODEL"

    def _verify(self, answer: Answer, known: dict[str, Evidence]) -> None:
        """Check every cited sentence against its abstract, then repair what fails (SURVEY_REPAIR)."""
        started = time.perf_counter()
        checked = Checker(self.store, self.settings, self.llm).verify_and_repair(answer.answer)
        answer.verification = checked.report
        answer.timings = {**answer.timings, "verify_seconds": round(time.perf_counter() - started, 3)}
        answer.problems += checked.problems
        if not checked.report.checks:
            answer.answer, answer.citations, answer.abstained = ABSTENTION, [], True
            answer.problems.append("no sentence of the answer survived verification")
            return
        answer.answer = checked.text
        answer.citations = [Citation(k, known[k].title, known[k].year) if k in known else self._citation(k) for k in parse_keys(checked.text)]

    def _citation(self, key: str) -> Citation:
        paper = self.store.catalog.get(key)
        return Citation(key, paper.title if paper else key, paper.year if paper else None)

    def _spent(self, before: Usage) -> Usage:
        spent = Usage(**self.llm.usage.to_dict())
        for name, value in before.to_dict().items():
            setattr(spent, name, getattr(spent, name) - value)
        return spent

    def _check(self, question: str, reply: Completion, known: dict[str, Evidence], evidence: list[Evidence],
               queries: list[str]) -> Answer:
        """Refuse injected text, the citation gate (only evidence the model saw may be cited), then tell an
        abstention (the model says the evidence does not answer) from a reply with no usable answer."""
        draft = reply.text
        kept, refused = self._refuse_instructions(draft, known)
        gated = gate(kept, list(known), abstain_marker=ABSTAIN_MARKER)
        problems = refused + gated.problems
        if not gated.cited:  # nothing the model said is tied to the evidence: that is not an answer
            if gated.abstained or _SAYS_NOT_ANSWERED.search(kept):
                return Answer(question, ABSTENTION, [], evidence, Usage(), abstained=True, problems=problems,
                              queries=queries, draft=draft)
            self.llm.forget(reply)  # "try again" must reach the model, not this reply in the cache
            raise ModelFault(self._fault(reply, refused))
        citations = [Citation(k, known[k].title, known[k].year) for k in gated.cited]
        # A citation as a sentence's subject reads "(Lee 2024) shows" and leaves a hole if repair drops it.
        names = self._names(gated.cited, known)
        text = " ".join(name_citations(s, names) or s for s in gated.sentences)
        return Answer(question, text, citations, evidence, Usage(), problems=problems, queries=queries, draft=draft)

    def _names(self, keys: list[str], known: dict[str, Evidence]) -> dict[str, str]:
        """How a sentence names each cited paper where the model wrote its citation as a noun ("[@a] shows")."""
        names = {}
        for key in keys:
            paper = self.store.catalog.get(key)
            names[key] = sentence_name(paper if paper is not None else Paper(title=known[key].title))
        return names
