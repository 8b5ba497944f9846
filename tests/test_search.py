"""Hybrid search on real stores: known answers, acronyms, filters, and Chroma server mode."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from agent.api import SurveyAgent
from agent.core.errors import EmptyStoreError, SurveyError
from agent.store.search import Filters
from agent.store.vectors import collection_name

from conftest import SEED_000, abstract


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("benchmarking very long video understanding", "InfiniBench"),
        ("InfiniBench", "InfiniBench"),
        ("mPLUG-Owl", "mPLUG-Owl"),
        ("OCR", "HiddenMysteryOCR"),  # acronym: "On the Hidden Mystery of OCR in Large Multimodal Models"
        ("multimodal embeddings trained on synthetic data", "mmE5"),
    ],
)
def test_known_answer_is_ranked_first(sample_agent: SurveyAgent, query: str, expected: str) -> None:
    assert sample_agent.search(query, k=5)[0].key == expected


@pytest.mark.parametrize(("acronym", "expansion"), [("RLHF", "human feedback"), ("MoE", "mixture")])
def test_acronym_queries_find_papers_about_them(sample_agent: SurveyAgent, acronym: str, expansion: str) -> None:
    for hit in sample_agent.search(acronym, k=2):
        text = (hit.title + " " + sample_agent.paper(hit.key).abstract).lower()
        assert acronym.lower() in text or expansion in text, hit.key


def test_one_hit_per_paper_with_snippet(sample_agent: SurveyAgent) -> None:
    hits = sample_agent.search("long video understanding benchmark", k=10)
    assert len(hits) == 10
    assert len({h.key for h in hits}) == 10
    assert all(h.snippet and h.chunk_id.startswith(h.key + "#") for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("video" in h.snippet.lower() for h in hits[:3])


def test_keyword_and_dense_modes_disagree_somewhere(sample_agent: SurveyAgent) -> None:
    query = "teaching language models to see pictures"
    keyword = [h.key for h in sample_agent.search(query, k=10, mode="keyword")]
    dense = [h.key for h in sample_agent.search(query, k=10, mode="dense")]
    hybrid = [h.key for h in sample_agent.search(query, k=10)]
    assert keyword != dense
    assert set(hybrid) & set(dense) and set(hybrid) & set(keyword)


def test_empty_store_and_empty_query(tmp_path: Path, sample_agent: SurveyAgent) -> None:
    with pytest.raises(EmptyStoreError, match="survey ingest"):
        SurveyAgent(store=tmp_path / "empty").search("video")
    with pytest.raises(SurveyError, match="empty query"):
        sample_agent.search("   ")


def test_year_and_source_filters(tmp_path: Path) -> None:
    records = [
        {"id": f"{yy}01.0000{n}", "title": f"Sparse attention study {n}", "summary": abstract("sparse attention", n)}
        for n, yy in enumerate(["19", "21", "23", "24"])
    ]
    jsonl = tmp_path / "papers.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records))
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"title": "Sparse attention elsewhere", "abstract": abstract("sparse attention"), "year": 2024}))
    with SurveyAgent(store=tmp_path / "store") as agent:
        agent.ingest([jsonl, other])
        assert {h.year for h in agent.search("sparse attention", k=10)} == {2019, 2021, 2023, 2024}
        for mode in ("hybrid", "dense", "keyword"):
            recent = agent.search("sparse attention", k=10, year_from=2023, mode=mode)
            assert sorted(h.year for h in recent) == [2023, 2024, 2024], mode
            assert {h.year for h in agent.search("sparse attention", k=10, year_to=2021, mode=mode)} == {2019, 2021}
        assert [h.title for h in agent.search("sparse attention", k=10, source="other.jsonl")] == ["Sparse attention elsewhere"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path: Path):
    """A real `chroma run` on 127.0.0.1, stopped after the test."""
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_server_mode_keeps_vectors_in_the_chroma_server(tmp_path: Path, chroma_server: str) -> None:
    store = tmp_path / "store"
    with SurveyAgent(store=store, chroma_url=chroma_server) as agent:
        report = agent.ingest([SEED_000])
        assert report.new == 91
        assert agent.search("benchmarking very long video understanding", k=3)[0].key == "InfiniBench"
    assert not (store / "chroma").exists()  # nothing embedded locally
    port = int(chroma_server.rsplit(":", 1)[1])
    remote = chromadb.HttpClient(host="127.0.0.1", port=port)
    assert remote.get_collection(collection_name("papers", "minilm-l6-v2-int8")).count() == 2 * 91
    with SurveyAgent(store=store, chroma_url=chroma_server) as again:  # a new client sees the same store
        assert again.ingest([SEED_000]).embedded == 0
        assert again.search("mPLUG-Owl", k=1)[0].key == "mPLUG-Owl"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with SurveyAgent(store=tmp_path / "s", chroma_url=f"http://127.0.0.1:{_free_port()}") as agent:
        with pytest.raises(SurveyError, match="Chroma server"):
            agent.ingest([SEED_000])


def test_filters_are_one_object(tmp_path: Path) -> None:
    """`Filters` says when it filters; `filters=` and the keyword arguments find the same papers, never both."""
    assert not Filters().active and not Filters(source="").active
    assert Filters(source="other").active and not Filters(source="other").by_year
    assert Filters(year_to=2021).active and Filters(year_to=2021).by_year
    records = [{"title": f"Sparse attention study {n}", "abstract": abstract("sparse attention", n), "year": year}
               for n, year in enumerate([2019, 2023, 2024])]
    jsonl = tmp_path / "papers.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records))
    with SurveyAgent(store=tmp_path / "store", embedding_model="none") as agent:
        agent.ingest([jsonl])
        named = agent.search("sparse attention", k=10, year_from=2023)
        assert sorted(h.year for h in named) == [2023, 2024]
        assert agent.search("sparse attention", k=10, filters=Filters(year_from=2023)) == named
        with pytest.raises(SurveyError, match="not both"):
            agent.search("sparse attention", filters=Filters(year_from=2023), source="papers")
