"""The one LLM client, driven through the real litellm path into the registered fake provider."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.core.errors import SurveyError
from agent.core.settings import Settings
from agent.llm.client import LLMClient

from fake_llm import auth_error, rate_limit

MESSAGES = [{"role": "user", "content": "Say something about [@A]."}]


def client(tmp_path: Path, **overrides) -> LLMClient:
    values = {"model": "fake/rules", "cache_dir": tmp_path / "cache", "llm_retry_wait": 0.01, **overrides}
    settings = Settings().with_overrides(**values)
    return LLMClient(settings)


def test_retries_a_rate_limit_then_succeeds(tmp_path: Path, fake) -> None:
    fake.script += [rate_limit(), rate_limit(), "fine [@A]."]
    reply = client(tmp_path).complete(MESSAGES)
    assert reply.text == "fine [@A]."
    assert len(fake.calls) == 3


def test_gives_up_after_the_configured_attempts(tmp_path: Path, fake) -> None:
    fake.script += [rate_limit()] * 5
    with pytest.raises(SurveyError, match="failed after 3 attempts"):
        client(tmp_path, llm_retries=3).complete(MESSAGES)
    assert len(fake.calls) == 3


def test_auth_errors_are_not_retried_and_name_the_setting(tmp_path: Path, fake) -> None:
    fake.script += [auth_error(), "never reached"]
    with pytest.raises(SurveyError, match="SURVEY_MODEL") as info:
        client(tmp_path).complete(MESSAGES)
    assert "API key" in str(info.value) and "\n" not in str(info.value)
    assert len(fake.calls) == 1


def test_repeat_is_a_cache_hit_across_clients(tmp_path: Path, fake) -> None:
    first = client(tmp_path).complete(MESSAGES)
    second_client = client(tmp_path)
    second = second_client.complete(MESSAGES)
    assert second.cached and not first.cached
    assert second.text == first.text
    assert len(fake.calls) == 1
    assert second_client.usage.cached_calls == 1
    client(tmp_path).complete(MESSAGES, max_tokens=17)  # other parameters: another entry
    assert len(fake.calls) == 2


def test_cache_can_be_turned_off(tmp_path: Path, fake) -> None:
    llm = client(tmp_path, llm_cache=False)
    llm.complete(MESSAGES)
    llm.complete(MESSAGES)
    assert len(fake.calls) == 2 and llm.usage.cached_calls == 0


def test_usage_is_summed_over_calls(tmp_path: Path, fake) -> None:
    fake.script += ["one two three", "four five"]
    llm = client(tmp_path, llm_cache=False)
    a = llm.complete(MESSAGES)
    b = llm.complete([{"role": "user", "content": "other words here"}])
    assert (a.usage.completion_tokens, b.usage.completion_tokens) == (3, 2)
    assert llm.usage.calls == 2
    assert llm.usage.prompt_tokens == a.usage.prompt_tokens + b.usage.prompt_tokens > 0
    assert llm.usage.completion_tokens == 5
    assert llm.usage.cost_usd == 0.0


def test_priced_models_cost_money_from_the_bundled_price_map() -> None:
    usage = LLMClient._usage("openai/gpt-4o-mini", "openai/gpt-4o-mini", [], "", type("U", (), {"prompt_tokens": 1000, "completion_tokens": 100})(), None)
    assert usage.cost_usd > 0


def test_streaming_delivers_the_whole_text_in_pieces(tmp_path: Path, fake) -> None:
    fake.script += ["alpha beta gamma delta"]
    pieces: list[str] = []
    reply = client(tmp_path).complete(MESSAGES, on_token=pieces.append)
    assert len(pieces) == 4 and "".join(pieces) == reply.text == "alpha beta gamma delta"
    assert reply.usage.completion_tokens == 4


def test_async_variant(tmp_path: Path, fake) -> None:
    fake.script += ["async works"]
    reply = asyncio.run(client(tmp_path).acomplete(MESSAGES))
    assert reply.text == "async works"


def test_unreachable_server_retries_then_one_line_error(tmp_path: Path) -> None:
    llm = client(tmp_path, model="openai/whatever", api_base="http://127.0.0.1:9/v1", llm_retries=2, llm_timeout=5)
    with pytest.raises(SurveyError, match="failed after 2 attempts") as info:
        llm.complete(MESSAGES)
    assert "\n" not in str(info.value)


def test_a_missing_api_key_is_one_line_naming_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key for a remote model: no call, no retries, the variable to set (issue: 4 retries, 'server up?')."""
    import time

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = client(tmp_path, llm_retries=4, llm_retry_wait=1.0)
    started = time.perf_counter()
    with pytest.raises(SurveyError) as error:
        llm.complete([{"role": "user", "content": "hi"}], model="openai/gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(error.value) and "\n" not in str(error.value)
    assert time.perf_counter() - started < 2 and llm.usage.calls == 0


@pytest.mark.parametrize("stream", [False, True])
def test_an_empty_reply_is_an_error_and_never_cached(tmp_path: Path, fake, stream: bool) -> None:
    """Issue: an empty completion read as "the store does not answer" and came back from the cache."""
    from agent.llm.client import EmptyReply

    fake.script += ["", "the real reply [@A]."]
    llm = client(tmp_path)
    on_token = (lambda _text: None) if stream else None
    with pytest.raises(EmptyReply, match="empty reply; try again") as caught:
        llm.complete([{"role": "user", "content": "q"}], on_token=on_token)
    assert "\n" not in str(caught.value)
    again = client(tmp_path).complete([{"role": "user", "content": "q"}], on_token=on_token)  # the server recovered
    assert again.text == "the real reply [@A]." and not again.cached and len(fake.calls) == 2


def test_an_empty_reply_cached_by_an_older_version_is_asked_again(tmp_path: Path, fake) -> None:
    from agent.llm.client import ResponseCache, Usage

    llm = client(tmp_path)
    messages = [{"role": "user", "content": "q"}]
    key = ResponseCache.key("fake/rules", messages, {"max_tokens": llm.settings.max_tokens, "temperature": 0.0})
    llm._cache.put(key, "", Usage())
    fake.script += ["fresh"]
    assert llm.complete(messages).text == "fresh" and len(fake.calls) == 1


def test_a_reply_without_choices_is_a_one_line_error(tmp_path: Path, fake) -> None:
    from fake_llm import NO_CHOICES

    fake.script += [NO_CHOICES, "fine"]
    llm = client(tmp_path)
    with pytest.raises(SurveyError, match="without any choices") as caught:
        llm.complete([{"role": "user", "content": "q"}])
    assert "\n" not in str(caught.value) and "try again" in str(caught.value)
    assert llm.complete([{"role": "user", "content": "q"}]).text == "fine"  # nothing was cached


def test_a_remote_model_without_a_price_is_not_reported_as_free(tmp_path: Path, fake) -> None:
    """Issue: the usage line said "local, $0" for a remote model."""
    from agent.llm.client import Usage

    fake.script += ["one two"]
    llm = client(tmp_path)
    llm.complete([{"role": "user", "content": "q"}])
    assert llm.usage.unpriced_calls == 1 and "cost unknown for 1 call" in llm.usage.summary()
    assert "local" not in llm.usage.summary()
    assert "$0.0100 + cost unknown for 2 calls" in Usage(calls=3, cost_usd=0.01, unpriced_calls=2).summary()
    assert Usage(calls=1).summary().endswith("$0, 0.0 s")


def test_steps_with_a_fallback_get_an_empty_uncached_reply(tmp_path: Path, fake) -> None:
    from agent.core.settings import Settings
    from agent.llm.client import EmptyReply, LLMClient

    client = LLMClient(Settings(model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01))
    fake.script += ["", ""]
    message = [{"role": "user", "content": "Name the theme."}]
    assert client.complete(message, allow_empty=True).text == ""
    with pytest.raises(EmptyReply):
        client.complete(message)
    assert client.complete(message, allow_empty=True).text != ""  # the model's real reply: nothing was cached


def test_first_token_logprobs_are_read_retried_and_cached(tmp_path: Path, fake) -> None:
    """The cascade judge's Yes/No read as probabilities, through the one client (not around it)."""
    import math

    question = [{"role": "user", "content": "Sentences: long videos stay long.\nClaim: long videos stay long.\nAnswer Yes or No."}]
    fake.script += [rate_limit()]  # then the rules: every claim word is shown, so "Yes" at 0.9
    top = client(tmp_path).first_token_logprobs(question)
    assert [t for t, _ in top] == ["Yes", "No"] and math.exp(top[0][1]) == pytest.approx(0.9)
    assert len(fake.calls) == 2  # the rate limit was retried
    again = client(tmp_path)
    assert again.first_token_logprobs(question) == top and len(fake.calls) == 2  # from the cache
    assert again.usage.cached_calls == 1
