"""Content fingerprints: what a file or a JSON-able value hashes to (response cache keys, run-state stages,
model and source files)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (model files are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(data: str | bytes) -> str:
    """The SHA-256 of bytes, or of a text's UTF-8 bytes."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def fingerprint(value: Any) -> str:
    """The SHA-256 of a value's canonical JSON (keys sorted; what JSON cannot hold is written as str)."""
    return sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))
