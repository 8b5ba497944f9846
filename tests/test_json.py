"""Every command's `--json` output, validated against its checked-in schema in docs/schema/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.schema import main as schema_main

from conftest import ROOT, abstract, run_cli, write_listing

SCHEMAS = ROOT / "docs" / "schema"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def run_json(*args: str, env: dict[str, str] | None = None, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_checked_in_schemas_match_the_code() -> None:
    """A change of shape must show up as a diff in docs/schema/ (regenerate with python -m agent.schema --write)."""
    assert schema_main(["--folder", str(SCHEMAS)]) == 0  # the checkout's files, also under a non-editable install


def test_schemas_reject_a_wrong_shape() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"key": "x", "title": "t"}], schema("search"))  # score, snippet... missing
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"new": "1"}, schema("ingest"))


def test_store_commands(tmp_path: Path) -> None:
    """ingest, papers, search, export, remove: each output is valid against its schema."""
    store = str(tmp_path / "store")
    write_listing(tmp_path / "a.txt", [("Sparse attention for long documents", abstract("sparse attention")),
                                       ("Retrieval augmented generation at scale", abstract("retrieval"))])
    env = {"SURVEY_EMBEDDING_MODEL": "none"}
    report = run_json("ingest", str(tmp_path / "a.txt"), "--store", store, env=env)
    jsonschema.validate(report, schema("ingest"))
    assert report["new"] == 2
    papers = run_json("papers", "--store", store, env=env)
    jsonschema.validate(papers, schema("papers"))
    assert "full_text" not in papers[0]
    hits = run_json("search", "sparse attention", "--store", store, env=env)
    jsonschema.validate(hits, schema("search"))
    exported = run_json("export", "--bib", "--store", store, env=env)
    jsonschema.validate(exported, schema("export"))
    assert exported["entries"] == 2 and exported["output"] is None
    health = run_json("doctor", "--store", store, env=env)
    jsonschema.validate(health, schema("doctor"))
    assert health["healthy"] and {c["name"] for c in health["checks"]} >= {"catalog", "keyword index"}
    removed = run_json("remove", papers[0]["key"], "--store", store, env=env)
    jsonschema.validate(removed, schema("remove"))
    assert removed["papers_in_store"] == 1


def test_ask_and_verify(sample_store: Path, tmp_path: Path, fake) -> None:
    env = {"SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(tmp_path / "cache"), "SURVEY_STORE": str(sample_store)}
    answer = run_json("ask", "How long are the videos in InfiniBench on average?", env=env)
    jsonschema.validate(answer, schema("answer"))
    assert answer["verification"] is not None  # the nested report has its own shape, checked too
    verdict = run_json("verify", "--claim", "InfiniBench averages 76 minutes per video.", "--paper", "InfiniBench", env=env)
    jsonschema.validate(verdict, schema("verdict"))
    text = tmp_path / "t.md"
    text.write_text("InfiniBench videos average 76.34 minutes [@InfiniBench]. Nothing supports this [@Nope].\n")
    report = run_json("verify", str(text), env=env)
    jsonschema.validate(report, schema("verification"))
    assert report["unknown_keys"] == ["Nope"]


def test_eval(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"doc_id": 1, "title": "T", "abstract": ["Videos average 76 minutes.", "Other."]}) + "\n")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(json.dumps({"id": 1, "claim": "Videos average 76 minutes.",
                                  "evidence": {"1": [{"sentences": [0], "label": "SUPPORT"}]}, "cited_doc_ids": [1]}) + "\n")
    result = run_json("eval", "scifact", "--claims", str(claims), "--corpus", str(corpus))
    jsonschema.validate(result, schema("eval"))
    assert result["n"] == 1


def test_errors_are_json_too(tmp_path: Path) -> None:
    """A failing command under --json still prints one JSON object on stdout, with its exit code."""
    result = run_cli("search", "x", "--store", str(tmp_path / "none"), "--json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema("error"))
    assert result.returncode == data["exit_code"] == 2 and "no store" in data["error"]
    usage = run_cli("search", "x", "--no-such-option", "--json")
    assert usage.returncode == json.loads(usage.stdout)["exit_code"] == 2 and "No such option" in usage.stderr
