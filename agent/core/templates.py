"""Prompt templates: every word sent to a model lives in prompts/*.j2; code only passes data."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


def _folder() -> Path:
    """The repository's `prompts/` in a source checkout (this checkout's, even when an editable install of
    another checkout maps `agent.prompts` elsewhere); `agent/prompts` in an installed package."""
    checkout = Path(__file__).resolve().parents[2] / "prompts"
    if (checkout / "survey.md.j2").is_file():
        return checkout
    try:
        installed = Path(str(resources.files("agent.prompts")))
        if any(installed.glob("*.j2")):
            return installed
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "prompts"


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(str(_folder())),
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty string in a prompt
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render_template(name: str, **data: Any) -> str:
    """Render `prompts/<name>.j2` with `data`."""
    return _environment().get_template(f"{name}.j2").render(**data).strip()
