"""The one LLM client: litellm + tenacity retries + on-disk response cache + usage and cost.

Nothing else in the project imports litellm (embeddings from a remote model come through here too). `local` means the embedded llama.cpp
server (agent/llm/local.py), reached through litellm as an OpenAI-compatible endpoint.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.core import offline  # noqa: F401  (LITELLM_LOCAL_MODEL_COST_MAP before litellm loads)
from agent.core.errors import ModelError, SurveyError
from agent.core.hashing import fingerprint
from agent.core.settings import Settings

Message = dict[str, str]
OnToken = Callable[[str], None]


@dataclass
class Usage:
    """Tokens, cost and calls, for one call or summed over a run."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    seconds: float = 0.0
    unpriced_calls: int = 0  # remote calls whose price litellm does not know: their cost is unknown, not $0

    def add(self, other: "Usage") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        cost = f"${self.cost_usd:.4f}" if self.cost_usd else "$0"
        if self.unpriced_calls:  # a remote model missing from litellm's price map is not free
            unknown = f"cost unknown for {self.unpriced_calls} call" + ("" if self.unpriced_calls == 1 else "s")
            cost = f"{cost} + {unknown}" if self.cost_usd else unknown
        cached = f", {self.cached_calls} cached" if self.cached_calls else ""
        if not self.calls:
            return "no model call"
        calls = f"{self.calls} model call" + ("" if self.calls == 1 else "s")
        return (f"{calls}{cached}, {self.prompt_tokens} tokens in, "
                f"{self.completion_tokens} out, {cost}, {self.seconds:.1f} s")


@dataclass
class Completion:
    """One model reply."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    timings: dict[str, Any] = field(default_factory=dict)  # llama.cpp's prompt/generation timings
    finish_reason: str = ""  # "stop", "length" (cut by max_tokens), ...; "" when unknown (cached)
    cache_key: str = ""  # where the reply is cached, so that a caller that finds it unusable can forget it
    top_logprobs: list[tuple[str, float]] = field(default_factory=list)  # the first token's, when asked for


class EmptyReply(ModelError):
    """A model reply with no text: a fault of the model or its server, never an answer and never cached."""


def _litellm() -> Any:
    """litellm, with its stdout banners off before any call can fail ("Give Feedback / Get Help",
    "Provider List: ...": they break `--json`)."""
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class ResponseCache:
    """Replies on disk in SQLite, keyed by a hash of model + messages + parameters."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT NOT NULL,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
        )
        self.lock = threading.Lock()

    @staticmethod
    def key(model: str, messages: list[Message], params: dict[str, Any]) -> str:
        return fingerprint({"model": model, "messages": messages, "params": params})

    def get(self, key: str) -> tuple[str, int, int] | None:
        with self.lock:
            return self.db.execute(
                "SELECT text, prompt_tokens, completion_tokens FROM responses WHERE key = ?", (key,)
            ).fetchone()

    def delete(self, key: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM responses WHERE key = ?", (key,))

    def put(self, key: str, text: str, usage: Usage) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, text, usage.prompt_tokens, usage.completion_tokens, time.time()),
            )


class _Retryable(Exception):
    """Wraps a transient provider error so tenacity retries it and nothing else."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original

    @property
    def retry_after(self) -> float:
        """Seconds the server asked us to wait (a 429's or 503's `Retry-After`, in seconds), else 0."""
        response = getattr(self.original, "response", None)
        headers = getattr(response, "headers", None) or getattr(self.original, "litellm_response_headers", None) or {}
        try:
            return max(0.0, float(headers.get("retry-after", 0)))
        except (TypeError, ValueError):  # an HTTP date, or junk: fall back to our own back-off
            return 0.0


# Providers whose streams end with the server's own finish_reason; litellm fills in "stop" when a stream
# just ends, so a reply cut off mid-way would otherwise read as a finished one.
_OPENAI_COMPATIBLE = ("openai", "azure", "hosted_vllm", "custom_openai")
MAX_RETRY_AFTER = 60.0  # a server asking for longer is reported as failing rather than waited on


def _cut_off(stream: Any, routed: str) -> bool:
    """Whether an OpenAI-compatible stream ended without the server saying it had finished."""
    if getattr(stream, "received_finish_reason", "") is not None:  # finished, or a wrapper without the field
        return False
    try:
        provider = _litellm().get_llm_provider(routed)[1]
    except Exception:  # noqa: BLE001  (a model litellm cannot place: nothing to check against)
        return False
    return provider in _OPENAI_COMPATIBLE


class LLMClient:
    """Chat completions for every stage of the pipeline; `usage` sums this client's calls."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.usage = Usage()
        self._checked: set[str] = set()  # models whose provider and API key were checked
        self._cache = ResponseCache(Path(settings.cache_dir) / "responses.sqlite") if settings.llm_cache else None

    # --- model resolution ---------------------------------------------------------------------
    def _route(self, model: str) -> tuple[str, dict[str, Any]]:
        """litellm model string and connection arguments for a settings model name."""
        if model == "local":
            from agent.llm.local import local_server

            server = local_server(self.settings)
            return "openai/local", {"api_base": server.api_base, "api_key": "sk-local-no-key"}
        extra: dict[str, Any] = {}
        if self.settings.api_base:
            extra["api_base"] = self.settings.api_base
        return model, extra

    # --- calls ------------------------------------------------------------------------------
    def complete(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        on_token: OnToken | None = None,
        allow_empty: bool = False,
    ) -> Completion:
        """One chat completion; `on_token` receives the text as it is generated (streaming).

        An empty reply is an `EmptyReply` error, never cached. Steps that have their own fallback for a
        reply they cannot use (a rewritten query, a theme name, a drafted sentence, a repair) pass
        `allow_empty` and get an empty, uncached completion instead, so one empty reply does not end a
        survey.
        """
        model = model or self.settings.model
        params = {
            "max_tokens": max_tokens or self.settings.max_tokens,
            "temperature": self.settings.temperature if temperature is None else temperature,
        }
        if stop:
            params["stop"] = stop
        key = ResponseCache.key(model, messages, params)
        if (hit := self._from_cache(key)) is not None:
            text, usage = hit
            if on_token:
                on_token(text)
            return Completion(text, model, usage, cached=True, cache_key=key)
        self._check_credentials(model)
        started = time.perf_counter()
        try:
            completion = self._with_retries(model, messages, params, on_token)
        except EmptyReply:
            if not allow_empty:
                raise
            empty = Completion("", model, Usage(calls=1, seconds=time.perf_counter() - started))
            self.usage.add(empty.usage)
            return empty
        self._record(completion, started, key, completion.text)
        completion.cache_key = key if self._cache is not None else ""
        return completion

    def _from_cache(self, key: str) -> tuple[str, Usage] | None:
        """A cached reply and its usage (counted as a cached call), or None."""
        # An empty text cached by an older version is a fault that was stored, not a reply: ask again.
        if self._cache is None or (hit := self._cache.get(key)) is None or not hit[0].strip():
            return None
        text, prompt_tokens, completion_tokens = hit
        usage = Usage(prompt_tokens=prompt_tokens or 0, completion_tokens=completion_tokens or 0, calls=1, cached_calls=1)
        self.usage.add(usage)
        return text, usage

    def _record(self, completion: Completion, started: float, key: str, cached_text: str) -> None:
        """Count a model call's time and tokens; cache `cached_text` (what a later hit gives back) if any."""
        completion.usage.seconds = time.perf_counter() - started
        self.usage.add(completion.usage)
        if self._cache is not None and cached_text:
            self._cache.put(key, cached_text, completion.usage)

    def forget(self, completion: Completion) -> None:
        """Drop a reply from the cache: the caller found it unusable (a broken answer), and a retry must
        reach the model again instead of getting the same reply back."""
        if self._cache is not None and completion.cache_key:
            self._cache.delete(completion.cache_key)

    def first_token_logprobs(self, messages: list[Message], *, model: str | None = None, top: int = 5) -> list[tuple[str, float]]:
        """The `top` likeliest first tokens of the reply with their log-probabilities: for a judge that reads
        its Yes or No as probabilities rather than as text. Retried and cached like `complete`; a server
        that returns no log-probabilities gives an empty list (not cached)."""
        model = model or self.settings.model
        params = {"max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": top}
        key = ResponseCache.key(model, messages, params)
        if (hit := self._from_cache(key)) is not None:
            return [(str(token), float(logprob)) for token, logprob in json.loads(hit[0])]
        self._check_credentials(model)
        started = time.perf_counter()
        completion = self._with_retries(model, messages, params, None)
        self._record(completion, started, key, json.dumps(completion.top_logprobs) if completion.top_logprobs else "")
        return completion.top_logprobs

    async def acomplete(self, messages: list[Message], **kwargs: Any) -> Completion:
        """`complete` off the event loop: the blocking work runs in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.complete, messages, **kwargs)

    def _check_credentials(self, model: str) -> None:
        if model not in self._checked:  # the environment does not change between calls of one client
            check_model(model, self.settings, provider=False)
            self._checked.add(model)

    def _with_retries(self, model: str, messages: list[Message], params: dict[str, Any], on_token: OnToken | None) -> Completion:
        from tenacity import RetryError, retry, retry_if_exception_type, stop_after_attempt, wait_exponential

        streamed: list[str] = []

        def emit(text: str) -> None:
            streamed.append(text)
            if on_token:
                on_token(text)

        backoff = wait_exponential(multiplier=self.settings.llm_retry_wait, max=30)

        def wait(state: Any) -> float:  # our back-off, or longer when the server says how long
            failed = state.outcome.exception() if state.outcome else None
            asked = failed.retry_after if isinstance(failed, _Retryable) else 0.0
            return min(max(backoff(state), asked), MAX_RETRY_AFTER)

        @retry(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.settings.llm_retries),
            wait=wait,
            reraise=False,
        )
        def attempt() -> Completion:
            if streamed:  # part of a reply already reached the user: never start it over silently
                raise ModelError(f"model {model!r} failed mid-answer; try again")
            return self._call(model, messages, params, emit if on_token else None)

        try:
            return attempt()
        except RetryError as exc:
            last = exc.last_attempt.exception()
            original = last.original if isinstance(last, _Retryable) else last
            raise ModelError(
                f"model {model!r} failed after {self.settings.llm_retries} attempts: {_short(original)} "
                "(is the model server up? check SURVEY_MODEL / SURVEY_API_BASE)"
            ) from original

    def _call(self, model: str, messages: list[Message], params: dict[str, Any], emit: OnToken | None) -> Completion:
        litellm = _litellm()
        routed, extra = self._route(model)
        kwargs = {**params, **extra, "timeout": self.settings.llm_timeout, "num_retries": 0}
        try:
            if emit is None:
                response = litellm.completion(model=routed, messages=messages, **kwargs)
                choices = getattr(response, "choices", None) or []
                if not choices:  # an OpenAI-compatible server that answered 200 with nothing in it
                    raise ModelError(f"model {model!r} sent a reply without any choices (a broken or incompatible "
                                      "server); try again, or choose another model with --model / SURVEY_MODEL")
                text = getattr(choices[0].message, "content", None) or ""
                finish = getattr(choices[0], "finish_reason", None) or ""
                raw_usage = getattr(response, "usage", None)
                timings = getattr(response, "timings", None) or {}
                top = _first_token_logprobs(choices[0]) if params.get("logprobs") else []
            else:
                stream = litellm.completion(model=routed, messages=messages, stream=True,
                                            stream_options={"include_usage": True}, **kwargs)
                parts, raw_usage, timings, finish = [], None, {}, ""
                for chunk in stream:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    finish = (getattr(chunk.choices[0], "finish_reason", None) if chunk.choices else None) or finish
                    if delta:
                        parts.append(delta)
                        emit(delta)
                    raw_usage = getattr(chunk, "usage", None) or raw_usage
                    timings = getattr(chunk, "timings", None) or timings
                text = "".join(parts)
                response, top = None, []
                if _cut_off(stream, routed):
                    raise ModelError(f"model {model!r} stopped sending mid-reply (the connection closed before the "
                                     "reply was finished); try again")
        except (litellm.AuthenticationError, litellm.PermissionDeniedError) as exc:
            raise ModelError(
                f"model {model!r} refused the credentials: set the provider's API key (e.g. OPENAI_API_KEY) "
                "or choose another model with SURVEY_MODEL / --model"
            ) from exc
        except (litellm.NotFoundError, litellm.BadRequestError) as exc:
            raise ModelError(f"model {model!r} rejected the request: {_short(exc)} (check SURVEY_MODEL)") from exc
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
                litellm.InternalServerError, litellm.ServiceUnavailableError) as exc:
            raise _Retryable(exc) from exc
        except litellm.APIError as exc:
            if getattr(exc, "status_code", 0) >= 500:
                raise _Retryable(exc) from exc
            raise ModelError(f"model {model!r} failed: {_short(exc)}") from exc
        if not any(c.isprintable() and not c.isspace() for c in text):
            # Shown as "the store does not answer" and cached, an empty reply outlived the server's fault.
            cut = f" (it stopped at the {params['max_tokens']}-token limit)" if finish == "length" else ""
            raise EmptyReply(f"model {model!r} returned an empty reply{cut}; try again, "
                             "or choose another model with --model / SURVEY_MODEL")
        usage = self._usage(routed, model, messages, text, raw_usage, response)
        return Completion(text, model, usage, timings=dict(timings) if isinstance(timings, dict) else {},
                          finish_reason=str(finish), top_logprobs=top)

    @staticmethod
    def _usage(routed: str, model: str, messages: list[Message], text: str, raw: Any, response: Any) -> Usage:
        litellm = _litellm()
        prompt = getattr(raw, "prompt_tokens", None) if raw is not None else None
        completion = getattr(raw, "completion_tokens", None) if raw is not None else None
        if prompt is None:  # a provider that reports no usage: count with litellm's tokenizer
            prompt = litellm.token_counter(model=routed, messages=messages)
            completion = litellm.token_counter(model=routed, text=text, count_response_tokens=True)
        cost, unpriced = 0.0, 0
        if model != "local":
            try:
                cost = float(sum(litellm.cost_per_token(model=routed, prompt_tokens=prompt, completion_tokens=completion)))
            except Exception:  # a model missing from litellm's price map: its cost is unknown, not zero
                cost, unpriced = 0.0, 1
        return Usage(prompt_tokens=int(prompt or 0), completion_tokens=int(completion or 0), cost_usd=cost, calls=1,
                     unpriced_calls=unpriced)


def remote_embeddings(model: str, texts: list[str]) -> list[list[float]]:
    """Embeddings of `texts` from a litellm embedding model (the store's SURVEY_EMBEDDING_MODEL when not local)."""
    try:
        response = _litellm().embedding(model=model, input=texts)
    except Exception as exc:  # litellm raises many provider-specific types
        raise SurveyError(f"embedding model {model!r} failed: {exc} (check SURVEY_EMBEDDING_MODEL)") from exc
    return [item["embedding"] for item in response.data]


def check_model(model: str, settings: Settings, provider: bool = True) -> None:
    """A one-line error for a model string that cannot work: unknown provider, or its API key not set.

    Without this, a missing key reads like a server fault after seconds of retries. Only `*_KEY` /
    `*_TOKEN` variables count (a missing `OLLAMA_API_BASE` has a local default); nothing is sent.
    """
    if model == "local":
        return
    litellm = _litellm()  # else it prints "Provider List: ..." to stdout for unknown providers
    if provider:
        try:
            litellm.get_llm_provider(model=model)
        except Exception:
            raise SurveyError(f"unknown model {model!r}: use provider/name, e.g. openai/gpt-4o-mini, "
                              "anthropic/claude-3-5-haiku-latest, ollama/llama3, or local") from None
    if settings.api_base:
        return
    try:
        missing = litellm.validate_environment(model).get("missing_keys", [])
    except Exception:  # a provider litellm cannot tell: let the call itself report
        return
    needed = [k for k in missing if k.endswith(("_KEY", "_TOKEN"))]
    if needed:
        raise ModelError(
            f"model {model!r} needs {' or '.join(needed)}: export it in the environment, "
            "or choose another model with --model / SURVEY_MODEL (the default, local, needs no key)"
        )


def _first_token_logprobs(choice: Any) -> list[tuple[str, float]]:
    """(token, logprob) of a choice's first token's top alternatives; litellm gives objects or dicts."""
    def get(item: Any, name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    content = get(get(choice, "logprobs") or {}, "content") or []
    if not content:
        return []
    return [(str(get(t, "token") or ""), float(get(t, "logprob"))) for t in get(content[0], "top_logprobs") or []
            if get(t, "logprob") is not None]


def _short(exc: BaseException) -> str:
    """The first line of an error message, without litellm's long hints."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
