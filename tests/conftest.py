"""Shared fixtures: real files, a real embedded Chroma store of the sample corpus, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.api import SurveyAgent, sample_papers

import fake_llm

fake_llm.register()  # `fake/...` model strings now resolve inside litellm, for every test

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = sample_papers()
SEED_000 = SAMPLE / "000_8a34393494afa678.txt"
SEED_001 = SAMPLE / "001_5103593e110b87cd.txt"
SEED_002 = SAMPLE / "002_7a44af2fa3d20944.txt"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `survey ...` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    survey = Path(sys.executable).with_name("survey")  # the installed console script
    return subprocess.run([str(survey), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=600)


def cli_json(*args: str, **kwargs) -> object:
    result = run_cli(*args, "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three sample pages ingested once, with dense embeddings, into an embedded Chroma store."""
    store = tmp_path_factory.mktemp("sample-store")
    with SurveyAgent(store=store) as agent:
        report = agent.ingest([SAMPLE])
    assert report.new == 297 and not report.rejected
    return store


@pytest.fixture()
def sample_agent(sample_store: Path):
    with SurveyAgent(store=sample_store) as agent:
        yield agent


def write_listing(path: Path, papers: list[tuple[str, str]]) -> Path:
    """A paper-listing page in the blank-line layout."""
    path.write_text("Daily Papers\n\n" + "".join(f"{t}\n\n{a}\n\n" for t, a in papers), encoding="utf-8")
    return path


def abstract(topic: str, n: int = 1) -> str:
    """A plausible abstract long enough to be read as one (>= 250 characters)."""
    return (
        f"We study {topic} in depth. Our method improves results on three public benchmarks by a clear margin. "
        f"Experiments across {n + 2} settings and ablations show where the gains come from and why they hold "
        f"for {topic} in practice, and we release code and data for others to build on."
    )


@pytest.fixture()
def fake():
    """The fake model's script and call log, clean for each test."""
    fake_llm.FAKE.reset()
    yield fake_llm.FAKE
    fake_llm.FAKE.reset()


@pytest.fixture()
def llm_settings(tmp_path: Path) -> dict:
    """Agent overrides for tests that talk to the fake model (own response cache, fast retries).

    Answers are not verified here: these tests check the ask loop itself; test_verify.py turns it on.
    """
    return {"model": "fake/rules", "cache_dir": tmp_path / "cache", "llm_retry_wait": 0.01, "verify": False}
