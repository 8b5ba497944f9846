"""The layer contract (import-linter) and the lint (ruff) hold; a planted upward import breaks the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    # --no-cache: a cached graph of the real package must not answer for a planted copy
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_layers_and_folders_keep_their_contracts() -> None:
    done = _lint_imports(ROOT, ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_an_import_from_a_layer_above_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "agent", tmp_path / "agent", ignore=shutil.ignore_patterns("data", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    text = tmp_path / "agent" / "core" / "text.py"
    text.write_text(text.read_text() + "\nfrom agent.store.search import SearchHit  # noqa: E402\n")
    circle = tmp_path / "agent" / "store" / "keys.py"
    circle.write_text(circle.read_text() + "\nfrom agent.store import ingest  # noqa: E402\n")
    done = _lint_imports(tmp_path, tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "agent.core.text -> agent.store.search" in done.stdout  # the upward import is named
    assert "0 kept, 2 broken" in done.stdout  # and the circle agent.store.keys <-> agent.store.ingest too


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([str(BIN / "ruff"), "check", "agent", "tests", "bench", "train"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
