"""A fake model for deterministic tests: a litellm custom provider, called through the real litellm path.

Model strings: `fake/rules` answers from the evidence in the prompt (cites the first two evidence
keys, first sentence of each; for the survey writer, the first sentence of the paper asked about, a
comparison citing the first two cards, a theme name from the keywords); `fake/abstain` always abstains; `fake/echo` repeats the last user message; the cascade judge's Yes/No question gets
Yes when every claim word of 4+ letters is in the sentences shown, with log-probabilities when asked. Faults, for subprocess
tests that cannot reach `FAKE.script`: `fake/empty` replies "", `fake/nochoices` sends a reply without
choices, `fake/fail` raises a plain exception (litellm maps it, and would print its banner), and
`fake/slow` waits a minute before answering like `fake/rules` (to interrupt; it touches the file
$FAKE_LLM_STARTED when it starts). Tests can queue exact
replies, exceptions or `NO_CHOICES` in `FAKE.script`; those are served first, in order, whatever the
model string.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from agent.core import offline  # noqa: F401  (litellm must not fetch its price map: switches first)

# isort: split
import litellm
from litellm import CustomLLM
from litellm.types.utils import ChoiceLogprobs, GenericStreamingChunk, ModelResponse, Usage

# One paper of the evidence block: its key, title, and its quoted text (a "> " line).
EVIDENCE = re.compile(r'^\[@([^\]]+)\] "(.+)"(?: \(\d{4}\))?\n(?:> )?(.+)$', re.M)
NO_CHOICES = object()  # a script item: a reply whose `choices` list is empty (a broken server)


class FakeLLM(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self.script: list[Any] = []  # str, Exception or NO_CHOICES
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.0  # seconds per streamed piece (lets tests interrupt a reply)

    def reset(self) -> None:
        self.script.clear()
        self.calls.clear()
        self.delay = 0.0

    # --- behaviour -----------------------------------------------------------------------------
    def reply(self, model: str, messages: list[dict[str, str]]) -> Any:
        self.calls.append({"model": model, "messages": messages})
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        prompt = messages[-1]["content"]
        name = model.split("/", 1)[-1]
        if name == "empty":
            return ""
        if name == "nochoices":
            return NO_CHOICES
        if name == "fail":
            raise RuntimeError("the fake model server fell over")
        if name == "slow":
            if started := os.environ.get("FAKE_LLM_STARTED"):  # tells a test the reply is under way
                Path(started).touch()
            for _ in range(600):  # short sleeps: Ctrl-C lands between them
                time.sleep(0.1)
        if name == "abstain":
            return "NOT IN STORE"
        if name == "echo":
            return prompt
        if prompt.rstrip().endswith("Answer Yes or No."):  # the cascade judge (read through logprobs)
            claim = re.search(r"^Claim: (.+)$", prompt, re.M)
            shown = prompt.split("Claim:", 1)[0].lower()
            words = re.findall(r"[a-z]{4,}", claim.group(1).lower()) if claim else []
            return "Yes" if words and all(w in shown for w in words) else "No"
        if prompt.startswith("Rewrite this question"):
            question = prompt.split("Question:", 1)[1].strip().splitlines()[0]
            return " ".join(w for w in re.findall(r"\w+", question) if len(w) > 3)[:80]
        if prompt.startswith("These papers form one theme"):
            words = prompt.split("Key terms of these papers:", 1)[1].split(".")[0].split(",")
            return " ".join(w.strip() for w in words[:2]).capitalize()
        if prompt.startswith("Sentences from") and (start := re.search(r"^Start with: (.+)$", prompt, re.M)):
            # The writer's grouping sentence: what the named papers share about the phrase it gives.
            facet = re.search(r"each mentioning (.+):$", prompt, re.M)
            return f"{start.group(1)} all use {facet.group(1) if facet else 'it'}."
        if "have in common, as one verb phrase" in prompt:
            return "study one paper at a time"
        everything = "\n".join(m["content"] for m in messages)
        found = EVIDENCE.findall(everything)
        if not found:
            return "NOT IN STORE"
        first_of = {key: re.split(r"(?<=[.!?])\s", text)[0].rstrip(".") for key, _title, text in found}
        # The survey writer asks about one paper at a time (its last lines: 'Paper: [@key] "title"'),
        # then for one comparison of two papers.
        if one := re.search(r"^Paper: \[@([^\]]+)\]", prompt, re.M):
            return f"{first_of.get(one.group(1), 'It studies this')} [@{one.group(1)}]."
        if "compare two of the papers above" in prompt and len(found) > 1:
            (a, _, _), (b, _, _) = found[:2]
            return f"{first_of[a]} [@{a}; @{b}]."
        sentences = []
        for key, _title, text in found[:2]:
            first = re.split(r"(?<=[.!?])\s", text)[0].rstrip(".")
            sentences.append(f"{first} [@{key}].")
        return " ".join(sentences)

    @staticmethod
    def _usage(messages: list[dict[str, str]], text: str) -> Usage:
        prompt = sum(len(m["content"].split()) for m in messages)
        return Usage(prompt_tokens=prompt, completion_tokens=len(text.split()), total_tokens=prompt + len(text.split()))

    # --- litellm's CustomLLM interface ---------------------------------------------------------
    def completion(self, model: str, messages: list, *args: Any, model_response: ModelResponse | None = None, **kwargs: Any) -> ModelResponse:
        text = self.reply(model, messages)
        response = model_response or ModelResponse()
        response.model = model
        if text is NO_CHOICES:
            response.choices = []
            text = ""
        else:
            response.choices[0].message.content = text  # type: ignore[union-attr]
            if (kwargs.get("optional_params") or {}).get("logprobs") and text in ("Yes", "No"):
                # The first token's top log-probabilities, as llama.cpp's OpenAI API returns them.
                other = "No" if text == "Yes" else "Yes"
                top = [{"token": text, "logprob": math.log(0.9), "bytes": None},
                       {"token": other, "logprob": math.log(0.1), "bytes": None}]
                response.choices[0].logprobs = ChoiceLogprobs(content=[{**top[0], "top_logprobs": top}])  # type: ignore[union-attr]
        response.usage = self._usage(messages, text)  # type: ignore[attr-defined]
        return response

    def streaming(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        text = self.reply(model, messages)
        text = "" if text is NO_CHOICES else text
        pieces = re.findall(r"\S+\s*", text) or [""]
        usage = self._usage(messages, text)
        for n, piece in enumerate(pieces):
            if self.delay:
                time.sleep(self.delay)
            last = n == len(pieces) - 1
            yield {
                "text": piece,
                "is_finished": last,
                "finish_reason": "stop" if last else "",
                "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                          "total_tokens": usage.total_tokens} if last else None,
                "index": 0,
                "tool_use": None,
            }

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.completion(model, messages, *args, **kwargs)

    async def astreaming(self, model: str, messages: list, *args: Any, **kwargs: Any) -> AsyncIterator[GenericStreamingChunk]:
        for chunk in self.streaming(model, messages, *args, **kwargs):
            yield chunk


FAKE = FakeLLM()


def register() -> None:
    """Make `fake/...` model strings resolve to FAKE inside litellm."""
    entry = {"provider": "fake", "custom_handler": FAKE}
    if entry not in litellm.custom_provider_map:
        litellm.custom_provider_map = [*litellm.custom_provider_map, entry]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()


def rate_limit() -> Exception:
    return litellm.RateLimitError(message="429 slow down", llm_provider="fake", model="fake/rules")


def auth_error() -> Exception:
    return litellm.AuthenticationError(message="401 bad key", llm_provider="fake", model="fake/rules")
