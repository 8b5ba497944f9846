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

    # --- language model ---------------------------------------------------------------------
    model: str = Field(
        "local",
        description="`local` (embedded llama.cpp) or any litellm model string, e.g. `openai/gpt-4o-mini`.",
    )
    local_model_path: Path | None = Field(
        None, description="A GGUF file for `local`; unset = the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M."
    )
    local_ctx: int = Field(4096, ge=512, description="Context window of the embedded model, in tokens.")
    local_threads: int = Field(0, ge=0, description="Threads of the embedded model; 0 = one per core.")
    api_base: str | None = Field(None, description="Base URL for the model (an OpenAI-compatible server, Ollama, ...).")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = deterministic).")
    max_tokens: int = Field(400, ge=16, description="Longest reply a model may write, in tokens.")
    llm_timeout: float = Field(180.0, gt=0, description="Seconds before one model call times out.")
    llm_retries: int = Field(4, ge=1, description="Attempts per model call on rate limits, timeouts and 5xx errors.")
    llm_retry_wait: float = Field(1.0, ge=0, description="First wait between attempts in seconds (doubles each time).")
    llm_cache: bool = Field(True, description="Cache model responses on disk (keyed by model, messages, parameters).")

    # --- ask ------------------------------------------------------------------------------------
    ask_k: int = Field(5, ge=1, description="Papers retrieved as evidence for an answer.")
    evidence_sentences: int = Field(2, ge=1, description="Most abstract sentences quoted per paper as evidence.")
    evidence_tokens: int = Field(700, ge=100, description="Token budget of the evidence put in front of the model.")
    reformulate: bool = Field(True, description="Rewrite the query with the model and search again when retrieval is weak.")

    # --- verify -----------------------------------------------------------------------------------
    verify_model: str = Field(
        "trained",
        description="Claim judge: `trained` (the shipped offline verifier), `cascade` (trained, plus the embedded "
        "model's Yes/No log-probabilities on the pairs it is UNCERTAIN of; `cascade:MODEL` for another model), "
        "`local`, or any litellm model (`ollama/bespoke-minicheck` uses MiniCheck's document/claim format).",
    )
    verify: bool = Field(True, description="Verify every answer's cited claims against the cited abstracts.")
    repair: str = Field(
        "drop,recite,remove",
        description="How generated text is repaired, modes tried in order: drop, recite, rewrite, remove, flag.",
    )

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the non-None overrides applied (how CLI flags win over env and `.env`)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=values) if values else self
