"""The survey writer: `SurveyAgent.write` and `SurveyAgent.related_work` (see writer.py for the stages, plan.py
for the sections of each).

May import `agent.check`, `agent.evidence`, `agent.store`, `agent.sources`, `agent.llm` and `agent.core`.
"""

from agent.survey.models import (
    Outline,
    PaperCard,
    RelatedWorkRequest,
    Scope,
    Section,
    Sentence,
    Survey,
    SurveyRequest,
    Theme,
)
from agent.survey.writer import ProgressEvent, SurveyWriter

__all__ = ["Outline", "PaperCard", "ProgressEvent", "RelatedWorkRequest", "Scope", "Section", "Sentence", "Survey",
           "SurveyRequest", "SurveyWriter", "Theme"]
