"""Model faults over real HTTP: a misbehaving OpenAI-compatible server on 127.0.0.1 (tests/fake_server.py).

Bounded retries, one-line errors, nothing cached, a cut-off stream never passed off as a reply, and
stdout that stays JSON under `--json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.core.errors import ModelError
from agent.core.settings import Settings
from agent.llm.client import EmptyReply, LLMClient

from fake_server import REPLY, FakeServer

MESSAGES = [{"role": "user", "content": "What do long video benchmarks measure?"}]
RETRIES = 3


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")  # the openai/ route wants one


def client(server: FakeServer, tmp_path: Path, **overrides: object) -> LLMClient:
    values = {"model": "openai/fake", "api_base": server.api_base, "cache_dir": tmp_path / "cache",
              "llm_retries": RETRIES, "llm_retry_wait": 0.01, "llm_timeout": 2, **overrides}
    return LLMClient(Settings().with_overrides(**values))


@pytest.mark.parametrize("fault, attempts", [("500", RETRIES), ("hang", RETRIES), ("garbage", RETRIES), ("no_choices", 1)])
def test_a_failing_server_is_one_line_error_after_bounded_attempts_and_nothing_is_cached(
        tmp_path: Path, fault: str, attempts: int) -> None:
    with FakeServer([fault] * attempts + ["ok"], hang=10) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as caught:
            client(server, tmp_path).complete(MESSAGES)
        assert time.monotonic() - started < 30  # a hanging server costs the timeout per attempt, no more
        assert len(server.requests) == attempts
        assert "\n" not in str(caught.value) and "openai/fake" in str(caught.value)
        # The server recovers: the same question reaches it again (no fault was cached) and is answered.
        assert client(server, tmp_path).complete(MESSAGES).text == REPLY
        assert len(server.requests) == attempts + 1


def test_a_rate_limit_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    with FakeServer(["429", "ok"], retry_after=1.5) as server:
        reply = client(server, tmp_path).complete(MESSAGES)
    assert reply.text == REPLY
    first, second = (r["at"] for r in server.requests)
    assert second - first >= 1.4  # our own back-off here is 0.01 s


def test_a_retry_after_beyond_the_cap_is_not_waited_out_forever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agent.llm.client.MAX_RETRY_AFTER", 0.5)  # the real cap is 60 s
    with FakeServer(["429"], retry_after=3600) as server:
        started = time.monotonic()
        with pytest.raises(ModelError, match="failed after 2 attempts"):
            client(server, tmp_path, llm_retries=2).complete(MESSAGES)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("stream", [False, True])
def test_an_empty_reply_is_an_error_and_the_next_call_reaches_the_server(tmp_path: Path, stream: bool) -> None:
    on_token = (lambda _text: None) if stream else None
    with FakeServer(["empty", "ok"]) as server:
        with pytest.raises(EmptyReply):
            client(server, tmp_path).complete(MESSAGES, on_token=on_token)
        assert client(server, tmp_path).complete(MESSAGES, on_token=on_token).text == REPLY
        assert len(server.requests) == 2


def test_a_stream_cut_mid_reply_is_an_error_not_a_short_answer(tmp_path: Path) -> None:
    shown: list[str] = []
    with FakeServer(["stream_cut", "ok"]) as server:
        with pytest.raises(ModelError, match="mid-reply"):
            client(server, tmp_path).complete(MESSAGES, on_token=shown.append)
        assert shown  # the user saw the start of it: the error says it was cut, and it is not retried silently
        assert len(server.requests) == 1
        whole = client(server, tmp_path).complete(MESSAGES, on_token=lambda _t: None)
    assert whole.text == REPLY and not whole.cached


def test_ask_under_json_with_a_failing_server_prints_only_the_json_error(sample_store: Path, tmp_path: Path) -> None:
    survey = Path(sys.executable).with_name("survey")
    for fault in ("500", "garbage", "no_choices", "empty"):
        with FakeServer([fault]) as server:
            env = {**os.environ, "SURVEY_MODEL": "openai/fake", "SURVEY_API_BASE": server.api_base,
                   "SURVEY_CACHE_DIR": str(tmp_path / "cache"), "SURVEY_LLM_RETRIES": "2", "SURVEY_LLM_RETRY_WAIT": "0.01"}
            result = subprocess.run([str(survey), "ask", "How long are the videos in InfiniBench?", "--json",
                                     "--store", str(sample_store)], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 3, (fault, result.stderr)
        assert json.loads(result.stdout)["exit_code"] == 3, fault  # stdout is the JSON error and nothing else
        assert "Traceback" not in result.stderr and "Give Feedback" not in result.stdout + result.stderr, fault
        assert 1 <= len(server.requests) <= 2, fault
