"""Stage files of one survey run, each keyed by a hash of its inputs, so an interrupted run resumes.

Like STORM's saved stage artifacts, with paper-qa's rule that a settings change invalidates: a stage is
reused only when its inputs (topic, papers, model, the outline...) hash the same as when it was saved.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from agent.core.errors import SurveyError
from agent.core.hashing import fingerprint


def digest(inputs: Any) -> str:
    """A stage's inputs, fingerprinted: a saved stage is reused only when they are the same."""
    return fingerprint(inputs)[:16]


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a reader never sees half of it (temp file + rename)."""
    # A temp name per process and thread: two writers of one file never rename each other's temp file away.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RunState:
    """A folder of `<stage>.json` files: {"inputs": hash, "data": ...}."""

    def __init__(self, folder: Path, fresh: bool = False) -> None:
        self.folder = folder
        if fresh and folder.exists():
            shutil.rmtree(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SurveyError(f"cannot create {folder} ({exc.strerror}); pass -o with a writable path") from None
        self.reused: list[str] = []

    def __enter__(self) -> "RunState":
        return self

    def __exit__(self, *exc: object) -> None:
        """A run that failed before saving anything leaves no empty folder behind."""
        try:
            if not any(self.folder.iterdir()):
                self.folder.rmdir()
        except OSError:
            pass

    def _path(self, stage: str) -> Path:
        return self.folder / f"{stage}.json"

    def load(self, stage: str, inputs: Any) -> Any | None:
        """The saved result of a stage, if it was saved with the same inputs."""
        path = self._path(stage)
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged stage file is redone, not trusted
        if saved.get("inputs") != digest(inputs):
            return None
        self.reused.append(stage)
        return saved.get("data")

    def save(self, stage: str, inputs: Any, data: Any) -> None:
        path = self._path(stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"inputs": digest(inputs), "data": data}, ensure_ascii=False, default=str))

    def write_text(self, name: str, text: str) -> Path:
        path = self.folder / name
        write_atomic(path, text)
        return path
