"""The JSON shapes of every `--json` output and MCP tool result, and their JSON Schemas.

Results that are plain dataclasses (`Paper`, `SearchHit`, `Verdict`, `Answer`, `Survey`) are their own
shape: `to_dict` is `asdict`, and the schema is derived from the dataclass. Results assembled by hand
have a `TypedDict` beside the code that builds them, which their `to_dict` is annotated with, so a type
checker sees a drift; this module only assembles them.
`python -m agent.schema --write` regenerates `docs/schema/`; a test fails when the checked-in files
and the code disagree, so a change of shape is a visible diff.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.api import ExportShape, RemoveShape
from agent.ask import Answer
from agent.check.evaluate import EvalShape, LabelConflicts
from agent.check.verdict import Verdict
from agent.check.verify import ClaimShape, VerificationShape, VerifyFileShape
from agent.core.errors import ErrorShape
from agent.core.paper import Paper
from agent.store.doctor import DoctorCheckShape, DoctorShape
from agent.store.ingest import FileShape, IngestShape, RejectionShape
from agent.store.search import SearchHit
from agent.survey.models import Survey

# Every shape, importable from here as before (tests and callers name them as agent.schema.X).
__all__ = ["ClaimShape", "DoctorCheckShape", "DoctorShape", "ErrorShape", "EvalShape", "ExportShape", "FileShape",
           "IngestShape", "LabelConflicts", "RejectionShape", "RemoveShape", "VerificationShape", "VerifyFileShape",
           "schemas"]


def _schemas() -> dict[str, dict[str, Any]]:
    from pydantic import TypeAdapter  # slow to import; only schema work needs it

    def schema(shape: Any, title: str, **namespace: Any) -> dict[str, Any]:
        adapter = TypeAdapter(shape)
        if namespace:  # forward references that name internal classes are given their JSON shape
            adapter.rebuild(_types_namespace=namespace)
        out = adapter.json_schema(mode="serialization")
        _every_field_required(out)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **out}

    survey = schema(Survey, "survey")
    # `Survey.to_dict` adds the verification summary to the dataclass fields.
    survey["properties"]["verification"] = {
        "type": "object",
        "properties": {"claims": {"type": "integer"}, "citation_recall": {"type": "number"},
                       "citation_precision": {"type": "number"}, "cited_papers": {"type": "integer"}},
        "required": ["claims", "citation_recall", "citation_precision", "cited_papers"],
    }
    survey["required"].append("verification")
    paper = schema(Paper, "paper")
    paper["properties"].pop("full_text")  # never in JSON output (it can be megabytes)
    paper["required"].remove("full_text")
    return {
        "paper": paper,
        "papers": {"$schema": paper["$schema"], "title": "papers", "type": "array",
                   "items": {k: v for k, v in paper.items() if k not in ("$schema", "title")}},
        "search": schema(list[SearchHit], "search"),
        "answer": schema(Answer, "answer", VerificationReport=VerificationShape),
        "verdict": schema(Verdict, "verdict"),
        "verification": schema(VerifyFileShape, "verification"),
        "ingest": schema(IngestShape, "ingest"),
        "remove": schema(RemoveShape, "remove"),
        "export": schema(ExportShape, "export"),
        "eval": schema(EvalShape, "eval"),
        "doctor": schema(DoctorShape, "doctor"),
        "survey": survey,
        "error": schema(ErrorShape, "error"),
    }


def _every_field_required(node: Any) -> None:
    """`to_dict` always writes every field, defaults included: say so, so a missing field fails validation."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
        for value in node.values():
            _every_field_required(value)
    elif isinstance(node, list):
        for value in node:
            _every_field_required(value)


def schemas() -> dict[str, dict[str, Any]]:
    """Name -> JSON Schema of every JSON output (cached: building them takes a moment)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = _schemas()
    return _CACHE


_CACHE: dict[str, dict[str, Any]] | None = None


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check the JSON Schemas in docs/schema/.")
    parser.add_argument("--write", action="store_true", help="regenerate the files")
    parser.add_argument("--folder", type=Path, default=Path("docs") / "schema", help="default: docs/schema (run from the checkout)")
    args = parser.parse_args(argv)
    stale = []
    for name, schema in schemas().items():
        path = args.folder / f"{name}.json"
        text = dumps(schema)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python -m agent.schema --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
