"""survey-agent: ingest papers, answer with citations, write verified surveys.

Public names load lazily so that `import agent` (and `survey --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent import offline as _offline  # noqa: F401  (offline switches first, always)

if TYPE_CHECKING:
    from agent.api import SurveyAgent, sample_papers
    from agent.ask import Answer
    from agent.errors import ModelError, StoreDamaged, SurveyError
    from agent.ingest import IngestReport
    from agent.paper import Paper
    from agent.search import SearchHit
    from agent.settings import Settings
    from agent.judges import Verdict
    from agent.verify import VerificationReport
    from agent.api import verify_claim, verify_text
    from agent.survey.models import Survey

__all__ = ["SurveyAgent", "Settings", "Paper", "SearchHit", "Answer", "Verdict", "VerificationReport", "Survey",
           "IngestReport", "SurveyError", "ModelError", "StoreDamaged", "verify_claim", "verify_text", "sample_papers"]
_WHERE = {
    "SurveyAgent": "agent.api",
    "Paper": "agent.paper",
    "SearchHit": "agent.search",
    "IngestReport": "agent.ingest",
    "Settings": "agent.settings",
    "SurveyError": "agent.errors",
    "ModelError": "agent.errors",
    "StoreDamaged": "agent.errors",
    "Answer": "agent.ask",
    "Verdict": "agent.judges",
    "VerificationReport": "agent.verify",
    "verify_claim": "agent.api",
    "sample_papers": "agent.api",
    "verify_text": "agent.api",
    "Survey": "agent.survey.models",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
