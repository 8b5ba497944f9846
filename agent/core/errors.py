"""User-facing errors: the CLI prints them as one line, without a traceback, and exits with their code.

Exit codes (docs/json.md): 0 ok; 1 partial failure (rejected records, claims not supported with
--strict, problems `doctor` could not fix); 2 usage or input error (this module's default); 3 the model
or its server failed; 4 the store is damaged; 130 interrupted.
"""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12


class ErrorShape(TypedDict):
    """What every command prints on stdout under `--json` when it fails (exit code 2, 3 or 4)."""

    error: str
    exit_code: int


class SurveyError(Exception):
    """A problem the user can fix; the message says what and how."""

    exit_code = 2


class EmptyStoreError(SurveyError):
    """The store has no papers yet."""


class ModelError(SurveyError):
    """The model or its server failed (unreachable, refused the credentials, an empty reply)."""

    exit_code = 3


class StoreDamaged(SurveyError):
    """A file of the store cannot be read; `survey doctor --fix` repairs or rebuilds it."""

    exit_code = 4
