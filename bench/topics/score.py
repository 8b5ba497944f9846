"""Score a written survey or related-work file against one labeled case of topics.json: papers cited,
on-topic share (cited in must or may / cited), must-cite recall, and which papers were off-topic or missed.

    .venv/bin/python bench/topics/score.py OUTPUT.md CASE_ID
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cited_keys(markdown: str) -> list[str]:
    """Keys cited in the body (the references list aside)."""
    body = markdown.split("\n## References")[0]
    return sorted({k for group in re.findall(r"\[(@[^\]]+)\]", body) for k in re.findall(r"@([\w\-.:]+)", group)})


def main(argv: list[str]) -> int:
    output, case_id = Path(argv[0]), argv[1]
    case = {c["id"]: c for c in json.loads((HERE / "topics.json").read_text(encoding="utf-8"))}[case_id]
    must, may = set(case["must"]), set(case["may"])
    cited = cited_keys(output.read_text(encoding="utf-8"))
    on = [k for k in cited if k in must | may]
    print(f"{case_id}: cited {len(cited)}, on-topic {len(on)} ({len(on) / max(len(cited), 1):.2f}), "
          f"must-cite {len(must & set(cited))}/{len(must)}")
    print("  off-topic:", " ".join(k for k in cited if k not in must | may) or "-")
    print("  must-cite missed:", " ".join(sorted(must - set(cited))) or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
