"""The library as other programs embed it: public surface, types, threads, the documented examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import agent
from agent import SurveyAgent

from conftest import ROOT


def test_public_surface_is_small_and_importable() -> None:
    assert set(agent.__all__) == {"SurveyAgent", "Settings", "Paper", "SearchHit", "Answer", "Verdict",
                                  "VerificationReport", "Survey", "IngestReport", "SurveyError", "ModelError",
                                  "StoreDamaged", "verify_claim", "verify_text", "sample_papers"}
    for name in agent.__all__:
        assert getattr(agent, name) is not None
    assert (Path(agent.__file__).parent / "py.typed").is_file()


@pytest.mark.slow
def test_public_surface_passes_the_type_checker() -> None:
    """mypy (configured in pyproject.toml) on the public modules, with every function typed."""
    files = ["agent/__init__.py", "agent/api.py", "agent/schema.py", "agent/mcp_server.py", "agent/store/ingest.py"]
    result = subprocess.run([sys.executable, "-m", "mypy", "--disallow-untyped-defs", "--disallow-incomplete-defs",
                             "--cache-dir", os.devnull if os.name == "nt" else "/tmp/survey-mypy-cache", *files],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_threads_on_one_agent(sample_store: Path, llm_settings: dict, fake) -> None:
    """search, ask (fake model) and verify at once from two threads on one agent: same results as alone."""
    question = "How long are the videos in InfiniBench on average?"
    claim = "InfiniBench videos average 76.34 minutes."
    with SurveyAgent(store=sample_store, **llm_settings) as shared:
        alone = ([h.key for h in shared.search("long video benchmark", k=5)], shared.ask(question).answer,
                 shared.verify_claim(claim, "InfiniBench").label)
    results: list[tuple] = []
    errors: list[BaseException] = []
    with SurveyAgent(store=sample_store, **llm_settings) as shared:  # fresh: lazy parts built under contention
        start = threading.Barrier(2)

        def work() -> None:
            try:
                start.wait()
                for _ in range(2):
                    results.append(([h.key for h in shared.search("long video benchmark", k=5)],
                                    shared.ask(question).answer, shared.verify_claim(claim, "InfiniBench").label))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors
    assert len(results) == 4 and all(r == alone for r in results)


def test_two_agents_on_one_store_in_one_process(tmp_path: Path) -> None:
    """Each agent has its own settings and clients; what one ingests the other finds."""
    from conftest import abstract, write_listing

    store = tmp_path / "store"
    write_listing(tmp_path / "a.txt", [("Sparse attention for long documents", abstract("sparse attention"))])
    one = SurveyAgent(store=store, embedding_model="none", model="fake/rules")
    two = SurveyAgent(store=store, embedding_model="none", model="fake/echo")
    try:
        one.ingest([tmp_path / "a.txt"])
        assert [h.title for h in two.search("sparse attention", k=1)] == ["Sparse attention for long documents"]
        assert one.settings.model == "fake/rules" and two.settings.model == "fake/echo"
        assert one.llm is not two.llm and one.llm.settings.model != two.llm.settings.model
        one.use_model("fake/abstain")
        assert two.settings.model == "fake/echo"  # switching one agent's model leaves the other alone
    finally:
        one.close()
        two.close()


@pytest.mark.slow
def test_docs_examples_run(tmp_path: Path) -> None:
    """Every Python block of docs/library.md, run in order as one script (fake model, fresh folder)."""
    text = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    script = tmp_path / "examples.py"
    prelude = f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\nimport fake_llm\nfake_llm.register()\n"
    script.write_text(prelude + "\n".join(blocks), encoding="utf-8")
    env = {**os.environ, "SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "outputs" / "docs-survey.md").is_file() and (tmp_path / "outputs" / "docs-related.md").is_file()
