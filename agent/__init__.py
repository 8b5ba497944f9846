"""survey-agent: ingest papers, answer with citations, write verified surveys.

Public names load lazily so that `import agent` (and `survey --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.core import offline as _offline  # noqa: F401  (offline switches first, always)

if TYPE_CHECKING:
    from agent.api import SurveyAgent, sample_papers, verify_claim, verify_text
    from agent.ask import Answer
    from agent.check.verdict import Verdict
    from agent.check.verify import VerificationReport
    from agent.core.errors import ModelError, StoreDamaged, SurveyError
    from agent.core.paper import Paper
    from agent.core.settings import Settings
    from agent.store.ingest import IngestReport
    from agent.store.search import SearchHit
    from agent.survey.models import Survey

__all__ = ["SurveyAgent", "Settings", "Paper", "SearchHit", "Answer", "Verdict", "VerificationReport", "Survey",
           "IngestReport", "SurveyError", "ModelError", "StoreDamaged", "verify_claim", "verify_text", "sample_papers"]
_WHERE = {
    "SurveyAgent": "agent.api",
    "Paper": "agent.core.paper",
    "SearchHit": "agent.store.search",
    "IngestReport": "agent.store.ingest",
    "Settings": "agent.core.settings",
    "SurveyError": "agent.core.errors",
    "ModelError": "agent.core.errors",
    "StoreDamaged": "agent.core.errors",
    "Answer": "agent.ask",
    "Verdict": "agent.check.verdict",
    "VerificationReport": "agent.check.verify",
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
