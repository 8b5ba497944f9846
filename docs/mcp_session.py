"""Record a real MCP session with `survey mcp` for docs/mcp.md: the SDK's stdio client, the real server.

    python docs/mcp_session.py --store store/demo > docs/mcp-session.md

Uses whatever model the environment configures (the embedded one by default), so `ask` takes a while.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters


def show(title: str, request: dict[str, Any], result: Any, seconds: float) -> None:
    print(f"### {title}\n\n```json\n// request (answered in {seconds:.1f} s)\n{json.dumps(request, indent=2)}\n```\n")
    if hasattr(result, "content"):
        text = result.content[0].text if result.content else ""
        body = {"isError": result.is_error, "text": text}
        if result.structured_content is not None:
            structured = json.dumps(result.structured_content, ensure_ascii=False)
            body["structuredContent"] = structured if len(structured) < 1500 else structured[:1500] + " …"
        print(f"```json\n// result\n{json.dumps(body, indent=2, ensure_ascii=False)}\n```\n")
    else:
        print(f"```json\n// result\n{json.dumps(result, indent=2, ensure_ascii=False)[:1500]}\n```\n")


async def session(store: Path, allow: Path) -> None:
    survey = shutil.which("survey") or str(Path(sys.executable).with_name("survey"))
    # The response cache off: every call in the record is a real model run.
    params = StdioServerParameters(command=survey, args=["mcp", "--store", str(store), "--allow", str(allow)],
                                   env={"SURVEY_LLM_CACHE": "false"})
    async with Client(params) as client:
        started = time.perf_counter()
        tools = (await client.list_tools()).tools
        show("tools/list", {"method": "tools/list"}, {"tools": [t.name for t in tools]}, time.perf_counter() - started)
        calls = [
            ("search_papers", {"query": "long video understanding benchmark", "k": 3}),
            ("ask", {"question": "How long are the videos in InfiniBench on average?"}),
            ("verify_claim", {"claim": "InfiniBench videos average 76 minutes.", "key": "InfiniBench"}),
            ("ingest", {"paths": ["/etc/passwd"]}),
        ]
        for name, arguments in calls:
            progress: list[str] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append(f"{done:g}/{total:g} {message}" if total else f"{done:g} {message}")

            started = time.perf_counter()
            result = await client.call_tool(name, arguments, progress_callback=on_progress)
            show(f"tools/call {name}", {"method": "tools/call", "params": {"name": name, "arguments": arguments}},
                 result, time.perf_counter() - started)
            if progress:
                print(f"Progress notifications received: {len(progress)} (first: {progress[0]!r}, last: {progress[-1]!r})\n")
        started = time.perf_counter()
        resource = await client.read_resource("paper://InfiniBench")
        show("resources/read paper://InfiniBench", {"method": "resources/read", "params": {"uri": "paper://InfiniBench"}},
             json.loads(resource.contents[0].text), time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path("store/demo"))
    parser.add_argument("--allow", type=Path, default=Path.cwd())
    args = parser.parse_args()
    print(f"## A recorded session\n\n`survey mcp --store {args.store} --allow {args.allow}` driven by the MCP SDK's "
          f"stdio client (`python docs/mcp_session.py`), {time.strftime('%Y-%m-%d')}; long results are cut at 1,500 "
          "characters.\n")
    anyio.run(session, args.store, args.allow.resolve())


if __name__ == "__main__":
    main()
