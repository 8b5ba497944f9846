"""Ingest into a real Chroma store: dedupe, idempotence, updates, resume, persistence."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from agent.api import SurveyAgent
from agent.core.errors import SurveyError
from agent.store.vectors import collection_name

from conftest import SAMPLE, SEED_000, SEED_001, SEED_002, abstract, cli_json, run_cli, write_listing


def _chroma_count(store: Path) -> int:
    client = chromadb.PersistentClient(path=str(store / "chroma"))
    return client.get_collection(collection_name("papers", "minilm-l6-v2-int8")).count()


def _chunk_count(store: Path) -> int:
    with sqlite3.connect(store / "catalog.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_sample_pages_dedupe_to_297_papers(sample_agent: SurveyAgent) -> None:
    papers = sample_agent.papers()
    assert len(papers) == 297  # 91 + 86 + 176 listings, 56 of them repeats
    keys = [p.key for p in papers]
    assert len(set(k.lower() for k in keys)) == 297
    note = next(p for p in papers if p.title.startswith("NoteLLM-2"))
    assert sorted(Path(s).name for s in note.sources) == sorted(p.name for p in (SEED_000, SEED_001, SEED_002))


def test_every_chunk_has_a_vector(sample_store: Path) -> None:
    chunks = _chunk_count(sample_store)
    assert chunks == 2 * 297  # a title chunk and a title+abstract chunk per paper
    assert _chroma_count(sample_store) == chunks


def test_reingest_adds_nothing(sample_store: Path) -> None:
    before = _chroma_count(sample_store)
    with SurveyAgent(store=sample_store) as agent:
        report = agent.ingest([SAMPLE])
    assert (report.new, report.updated, report.embedded) == (0, 0, 0)
    assert all(f.unchanged for f in report.files)
    assert report.duplicate == 0 and report.skipped == 353  # not read again: not "duplicates"
    assert _chroma_count(sample_store) == before


def test_counts_on_first_ingest_of_overlapping_pages(tmp_path: Path) -> None:
    with SurveyAgent(store=tmp_path / "s", embedding_model="none") as agent:
        first = agent.ingest([SEED_000])
        rest = agent.ingest([SEED_001, SEED_002])
    assert (first.new, first.duplicate) == (91, 0)
    assert rest.new == 297 - 91
    assert rest.new + rest.updated + rest.duplicate == 86 + 176


def test_changed_file_updates_its_papers(tmp_path: Path) -> None:
    page = write_listing(tmp_path / "page.txt", [("Alpha: Sparse Attention", abstract("sparse attention")),
                                                 ("Beta: Graph Pruning", abstract("graph pruning"))])
    store = tmp_path / "store"
    with SurveyAgent(store=store) as agent:
        agent.ingest([page])
        write_listing(page, [("Alpha: Sparse Attention", abstract("sparse attention with zebras")),
                             ("Beta: Graph Pruning", abstract("graph pruning")),
                             ("Gamma: Quantum Kernels", abstract("quantum kernels"))])
        report = agent.ingest([page])
        assert (report.new, report.updated, report.duplicate) == (1, 1, 1)
        assert "zebras" in agent.paper("Alpha").abstract
        assert agent.search("zebras", k=1)[0].key == "Alpha"
    assert _chroma_count(store) == _chunk_count(store) == 6


def test_interrupted_ingest_resumes_without_duplicates(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("survey")), "ingest", str(SEED_002), "--store", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    embedded = 0
    while time.time() < deadline and proc.poll() is None:  # kill once some, not all, vectors are in
        time.sleep(0.5)
        if (store / "catalog.sqlite").exists():
            try:
                with sqlite3.connect(store / "catalog.sqlite") as db:
                    embedded = db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if embedded > 0:
                break
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < embedded < 2 * 176
    with SurveyAgent(store=store) as agent:
        report = agent.ingest([SEED_002])
        assert report.new == 0 and report.files[0].unchanged  # the catalog part had committed
        assert report.embedded > 0  # ... and the vectors are caught up now
        assert agent.search("ImageBind one embedding space", k=1)[0].key == "ImageBind"
    assert _chroma_count(store) == _chunk_count(store) == 2 * 176


def test_persistence_across_processes(sample_store: Path) -> None:
    papers = cli_json("papers", "--store", str(sample_store))
    assert len(papers) == 297
    assert {"key", "title", "year", "source"} <= set(papers[0])
    hits = cli_json("search", "benchmarking very long video understanding", "-k", "3", "--store", str(sample_store))
    assert hits[0]["key"] == "InfiniBench"
    assert {"key", "title", "score", "snippet"} <= set(hits[0])
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_bad_files_are_rejected_and_the_rest_ingested(tmp_path: Path) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03 not text")
    (tmp_path / "empty.bib").write_text("")
    (tmp_path / "mixed.jsonl").write_text('{"title": "Good Paper", "abstract": "It works."}\n{not json\n')
    good = write_listing(tmp_path / "good.txt", [("Delta: Robust Parsing", abstract("robust parsing"))])
    store = tmp_path / "store"
    result = run_cli("ingest", str(tmp_path / "binary.txt"), str(tmp_path / "empty.bib"), str(tmp_path / "mixed.jsonl"),
                     str(good), str(tmp_path / "missing.pdf"), "--store", str(store), "--keyword-only")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rejected")]
    assert len(errors) == 4
    assert any("binary.txt" in e and "binary" in e for e in errors)
    assert any("empty.bib" in e and "empty" in e for e in errors)
    assert any("mixed.jsonl:2" in e and "JSON" in e for e in errors)
    assert any("missing.pdf" in e and "no such file" in e for e in errors)
    titles = {p["title"] for p in cli_json("papers", "--store", str(store))}
    assert titles == {"Good Paper", "Delta: Robust Parsing"}


def test_an_unreadable_file_named_directly_is_one_rejected_line_not_a_usage_box(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    locked = write_listing(tmp_path / "locked.txt", [("Epsilon: Locked Away", abstract("locked files"))])
    good = write_listing(tmp_path / "good.txt", [("Zeta: Open Papers", abstract("open papers"))])
    if os.geteuid() == 0:  # root reads a mode-000 file anyway: make reading it fail as it does for a user
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == "locked.txt":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    else:
        locked.chmod(0)
    result = CliRunner().invoke(app, ["ingest", str(locked), str(good), "--store", str(tmp_path / "store"), "--keyword-only"])
    assert result.exit_code == 1, result.output  # partial: the other file was ingested
    assert "Usage:" not in result.output and "Traceback" not in result.output
    assert "locked.txt: cannot read (Permission denied)" in result.output
    assert "1 new" in result.output


def test_search_on_empty_or_missing_store_says_ingest_first(tmp_path: Path) -> None:
    result = run_cli("search", "anything", "--store", str(tmp_path / "nothing-here"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "survey ingest" in result.stderr
    assert "no store at" in result.stderr  # not "has no papers yet": the path is wrong, not the store empty
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "nothing-here").exists()  # a search never creates a store
    listing = run_cli("papers", "--store", str(tmp_path / "nothing-here"))
    assert listing.returncode == 0 and "survey ingest" in listing.stdout and "No store at" in listing.stdout
    assert not (tmp_path / "nothing-here").exists()
    assert cli_json("papers", "--store", str(tmp_path / "nothing-here")) == []


def test_unknown_format_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("ingest", str(SEED_000), "--format", "docx", "--store", str(tmp_path / "s"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--format" in result.stderr


def test_remove_keeps_catalog_vectors_and_keyword_index_together(tmp_path: Path) -> None:
    a = write_listing(tmp_path / "a.txt", [("Alpha: Sparse Retrieval", abstract("sparse retrieval")),
                                           ("Shared: Memory Banks", abstract("memory banks"))])
    b = write_listing(tmp_path / "b.txt", [("Beta: Dense Captioning", abstract("dense captioning")),
                                           ("Shared: Memory Banks", abstract("memory banks"))])
    store = tmp_path / "store"
    with SurveyAgent(store=store) as agent:
        agent.ingest([a, b])
        keys = {p.title: p.key for p in agent.papers()}
        before = _chroma_count(store)
        with pytest.raises(SurveyError, match="no paper with key"):
            agent.remove(["Nope-Key", keys["Beta: Dense Captioning"]])  # one unknown key: nothing removed
        assert len(agent.papers()) == 3

        result = agent.remove([keys["Beta: Dense Captioning"]])
        assert result["removed"] == [keys["Beta: Dense Captioning"]] and result["papers_in_store"] == 2
        assert _chroma_count(store) == _chunk_count(store) < before  # its vectors went with it
        assert keys["Beta: Dense Captioning"] not in {h.key for h in agent.search("dense captioning", k=5, mode="keyword")}

        result = agent.remove(source=a)  # Alpha goes; Shared was also read from b.txt and stays
        assert result["removed"] == [keys["Alpha: Sparse Retrieval"]]
        assert result["kept_from_other_files"] == [keys["Shared: Memory Banks"]]
        assert [p.title for p in agent.papers()] == ["Shared: Memory Banks"]
        assert _chroma_count(store) == _chunk_count(store)
        assert agent.ingest([a]).new == 1  # the file is read again, not skipped as unchanged


def test_export_bib_parses_back(sample_store: Path, tmp_path: Path) -> None:
    import bibtexparser

    out = tmp_path / "refs.bib"
    result = run_cli("export", "--bib", "InfiniBench", "Video-MME", "-o", str(out), "--store", str(sample_store))
    assert result.returncode == 0, result.stderr
    library = bibtexparser.parse_string(out.read_text(encoding="utf-8"))
    assert [e.key for e in library.entries] == ["InfiniBench", "Video-MME"]
    assert "InfiniBench" in library.entries[0]["title"]
    bad = run_cli("export", "--bib", "No-Such-Key", "--store", str(sample_store))
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "No-Such-Key" in bad.stderr


def test_search_flags_say_what_they_do(sample_store: Path) -> None:
    zero = run_cli("search", "video", "-k", "0", "--store", str(sample_store))
    assert zero.returncode == 2 and "-k" in zero.stderr  # not silently 10 results
    dated = run_cli("search", "video", "--from", "2020", "--store", str(sample_store))
    assert "left out 297 papers" in dated.stderr  # the sample listings carry no years
    help_text = run_cli("search", "--help", env={"COLUMNS": "120"}).stdout
    assert "<bool>" not in next(line for line in help_text.splitlines() if "--json" in line)
    assert "default 10" in help_text
