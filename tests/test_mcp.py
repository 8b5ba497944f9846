"""`survey mcp` through the SDK's own clients: a real server process, stdio and streamable HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import jsonschema
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from conftest import ROOT, abstract, write_listing

LAUNCHER = ROOT / "tests" / "fake_survey.py"  # `survey` with the fake model registered
SCHEMAS = ROOT / "docs" / "schema"
TOOLS = {"search_papers", "list_papers", "get_paper", "ask", "verify_claim", "verify_text", "write_survey",
         "related_work", "ingest"}


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def server(store: Path, allow: Path, cache: Path, delay: float = 0.0) -> StdioServerParameters:
    env = {**os.environ, "SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(cache), "FAKE_LLM_DELAY": str(delay)}
    return StdioServerParameters(command=sys.executable, args=[str(LAUNCHER), "mcp", "--store", str(store),
                                 "--allow", str(allow)], env=env, cwd=str(allow))


def test_a_client_session_over_stdio(sample_store: Path, tmp_path: Path) -> None:
    """Tools listed with schemas; search, ask, verify, write with progress; paths outside --allow refused."""
    out = tmp_path / "work"
    out.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_listing(outside / "p.txt", [("A paper outside the allowed folder", abstract("secrets"))])
    (out / "link.txt").symlink_to(outside / "p.txt")
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(server(sample_store, out, tmp_path / "cache")) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            seen["tools"] = listed
            seen["search"] = await client.call_tool("search_papers", {"query": "long video benchmark", "k": 3})
            progress: list[tuple[float, float | None, str | None]] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total, message))

            seen["ask"] = await client.call_tool(
                "ask", {"question": "How long are the videos in InfiniBench on average?"}, progress_callback=on_progress)
            seen["ask_progress"] = list(progress)
            seen["verify"] = await client.call_tool(
                "verify_claim", {"claim": "InfiniBench is a benchmark for very long video understanding.",
                                 "key": "InfiniBench"})
            progress.clear()
            seen["write"] = await client.call_tool(
                "write_survey", {"topic": "long video understanding", "papers": 6, "sections": 1,
                                 "output": "s.md"}, progress_callback=on_progress)
            seen["write_progress"] = list(progress)
            seen["escape"] = await client.call_tool("write_survey", {"topic": "x", "output": "../x.md"})
            seen["ingest_outside"] = await client.call_tool("ingest", {"paths": [str(outside / "p.txt")]})
            seen["ingest_link"] = await client.call_tool("ingest", {"paths": ["link.txt"]})
            seen["unknown"] = await client.call_tool("get_paper", {"key": "NoSuchPaper"})
            seen["paper"] = await client.read_resource("paper://InfiniBench")

    anyio.run(session)

    tools = seen["tools"]
    assert set(tools) == TOOLS
    assert all(t.output_schema and t.output_schema["type"] == "object" for t in tools.values())
    hits = seen["search"].structured_content["hits"]
    assert not seen["search"].is_error and hits[0]["key"] == "InfiniBench"
    jsonschema.validate(hits, schema("search"))
    answer = seen["ask"].structured_content
    jsonschema.validate(answer, schema("answer"))
    assert answer["citations"] and "[@" in seen["ask"].content[0].text
    assert seen["ask_progress"] and seen["ask_progress"][0][2] == "retrieving evidence"
    verdict = seen["verify"].structured_content
    jsonschema.validate(verdict, schema("verdict"))
    assert verdict["key"] == "InfiniBench" and verdict["label"] in ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")
    survey = seen["write"].structured_content
    assert not seen["write"].is_error, seen["write"].content[0].text
    jsonschema.validate(survey, schema("survey"))
    assert (out / "s.md").is_file() and survey["files"]["markdown"] == str(out / "s.md")
    assert {m.split(":")[0] for _, _, m in seen["write_progress"] if m} >= {"scope", "draft", "write"}
    for name in ("escape", "ingest_outside", "ingest_link"):
        result = seen[name]
        assert result.is_error and "outside the allowed directories" in result.content[0].text, name
    assert not (tmp_path / "x.md").exists()
    assert seen["unknown"].is_error and seen["unknown"].content[0].text.startswith("no paper with key NoSuchPaper")
    paper = json.loads(seen["paper"].contents[0].text)
    assert paper["key"] == "InfiniBench" and paper["abstract"] and paper["bibtex"].startswith("@")


def test_a_cancelled_write_leaves_no_half_written_output(sample_store: Path, tmp_path: Path) -> None:
    """Cancel `write_survey` mid-draft: no Markdown file appears, the server still answers, a rerun finishes."""
    out = tmp_path / "work"
    out.mkdir()
    args = {"topic": "long video understanding", "papers": 6, "sections": 1, "output": "c.md"}
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(server(sample_store, out, tmp_path / "cache", delay=0.05)) as client:
            # Cancelled once drafting has begun (not after a fixed time: how long a survey takes depends
            # on how many sentences the verifier sends to repair).
            with anyio.CancelScope() as scope:
                async def on_progress(done: float, total: float | None, message: str | None) -> None:
                    if message and message.startswith("draft"):
                        scope.cancel()

                seen["first"] = await client.call_tool("write_survey", args, progress_callback=on_progress)
            seen["cancelled"] = scope.cancelled_caught
            await anyio.sleep(6)  # time the uncancelled write would have had to finish
            seen["written_after_cancel"] = (out / "c.md").exists()
            seen["search"] = await client.call_tool("search_papers", {"query": "video", "k": 1})
            seen["rerun"] = await client.call_tool("write_survey", args)

    anyio.run(session)
    assert seen["cancelled"] and not seen["written_after_cancel"], seen.get("first")
    assert not seen["search"].is_error
    assert not seen["rerun"].is_error, seen["rerun"].content[0].text
    assert (out / "c.md").is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_transport(tmp_path: Path) -> None:
    """`--http 127.0.0.1:PORT`: the SDK's HTTP client ingests into an allowed folder and searches."""
    store = tmp_path / "store"
    papers = tmp_path / "papers"
    papers.mkdir()
    write_listing(papers / "p.txt", [("Sparse attention for long documents", abstract("sparse attention"))])
    port = free_port()
    env = {**os.environ, "SURVEY_EMBEDDING_MODEL": "none", "SURVEY_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), "mcp", "--store", str(store), "--allow", str(papers),
                             "--http", f"127.0.0.1:{port}"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)

        async def session() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                seen["ingest"] = await client.call_tool("ingest", {"paths": [str(papers)]})
                seen["search"] = await client.call_tool("search_papers", {"query": "sparse attention", "k": 1})

        anyio.run(session)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    report = seen["ingest"].structured_content
    jsonschema.validate(report, schema("ingest"))
    assert report["new"] == 1 and report["papers_in_store"] == 1
    assert seen["search"].structured_content["hits"][0]["title"] == "Sparse attention for long documents"


def test_mcp_help_shows_a_client_config() -> None:
    from conftest import run_cli

    result = run_cli("mcp", "--help")
    assert result.returncode == 0
    assert '"mcpServers"' in result.stdout and "--allow" in result.stdout
