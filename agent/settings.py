"""One settings object: `SURVEY_*` environment variables, a `.env` file, then CLI overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    return Path.home() / ".cache" / "survey-agent"


class Settings(BaseSettings):
    """Every knob of survey-agent. `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_prefix="SURVEY_", env_file=".env", extra="ignore")

    store: Path = Field(Path("store"), description="Directory of the persistent store.")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`); unset = embedded Chroma in `store`."
    )
    embedding_model: str = Field(
        "local",
        description="`local` (offline MiniLM ONNX), `none` (keyword index only), or a litellm embedding model.",
    )
    collection: str = Field("papers", description="Chroma collection name prefix (the embedding model is appended).")
    cache_dir: Path = Field(default_factory=_default_cache, description="Model and response caches.")
    search_k: int = Field(10, ge=1, description="Default number of papers a search returns.")
    chunk_chars: int = Field(1500, ge=200, description="Target size of a full-text (PDF) chunk in characters.")
    chunk_overlap: int = Field(200, ge=0, description="Characters shared by consecutive full-text chunks.")
    embed_batch: int = Field(
        256, ge=1, description="Chunks embedded and stored per step during ingest (the unit of resume)."
    )

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the non-None overrides applied (how CLI flags win over env and `.env`)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=values) if values else self
