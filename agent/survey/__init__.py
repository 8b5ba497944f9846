"""The survey writer: `SurveyAgent.write` and `SurveyAgent.related_work` (see writer.py for the stages)."""

from agent.survey.models import Outline, PaperCard, Scope, Section, Sentence, Survey, Theme
from agent.survey.writer import ProgressEvent, SurveyWriter

__all__ = ["Outline", "PaperCard", "ProgressEvent", "Scope", "Section", "Sentence", "Survey", "SurveyWriter", "Theme"]
