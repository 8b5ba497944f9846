"""The keyword index: BM25 (bm25s) over every chunk, persisted beside the vectors.

bm25s builds a sparse score matrix, which makes queries sub-millisecond at 75k papers but means an
index is rebuilt, not patched, when chunks change. The catalog's generation number says when.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from agent.core.text import stemmer


def _tokenize(texts: list[str], ids: bool):  # type: ignore[no-untyped-def]
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), return_ids=ids, show_progress=False)


class KeywordIndexDamaged(Exception):
    """The index broke while being read; the store rebuilds it from the catalog."""


class KeywordIndex:
    """BM25 over chunk texts; `search` returns (chunk id, score) pairs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._model = None
        self._ids: list[str] = []
        self._keys: list[str] = []
        self._loaded: int | None = None  # the generation loaded in this process

    def built_generation(self) -> int:
        """The catalog generation the index was built at; -1 when there is none (or it is unreadable)."""
        try:
            return int(json.loads((self.folder / "state.json").read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return -1

    def problem(self) -> str | None:
        """None when the index loads whole; else what is wrong with it (then rebuild it from the catalog)."""
        generation = self.built_generation()
        if generation < 0:
            return "missing" if not (self.folder / "state.json").exists() else "unreadable (state.json)"
        if self._loaded != generation:  # not loaded yet, or another process rebuilt it since
            self._loaded = None
        try:
            self._load()
        except Exception as exc:  # bm25s, numpy and json raise many types for a damaged file
            self._loaded = None
            return f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
        return None

    def chunk_ids(self) -> list[str]:
        """The chunk ids the index holds (call after `problem()` returned None)."""
        self._load()
        return list(self._ids)

    def build(self, rows: list[tuple[str, str, str]], generation: int) -> None:
        """Rebuild from (chunk id, key, text) rows; written to a temp folder, then swapped in."""
        import bm25s

        # A name of its own per process: two processes rebuilding at once never share a folder.
        tmp = self.folder.with_name(f"{self.folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        tokens = _tokenize([r[2] for r in rows], ids=True) if rows else None
        if tokens is not None and tokens.vocab:  # all-stopword texts leave nothing to index
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
            model.save(str(tmp / "bm25"))
        (tmp / "chunks.json").write_text(json.dumps({"ids": [r[0] for r in rows], "keys": [r[1] for r in rows]}))
        (tmp / "state.json").write_text(json.dumps({"generation": generation, "chunks": len(rows)}))
        # The old index is renamed away before it is deleted, so the window without a folder is one rename.
        old = self.folder.with_name(f"{self.folder.name}.old-{os.getpid()}")
        if self.folder.exists():
            self.folder.rename(old)
        tmp.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._model, self._loaded = None, None

    def _load(self) -> bool:
        """Load the index; False when it holds no vocabulary (an empty or all-stopword catalog).

        Raises whatever bm25s, numpy or json raise for a damaged file: callers ask `problem()` first.
        """
        if self._loaded is None:
            import bm25s

            state = json.loads((self.folder / "state.json").read_text())
            chunks = json.loads((self.folder / "chunks.json").read_text())
            ids, keys = chunks["ids"], chunks["keys"]
            if state.get("chunks", len(ids)) != len(ids) or len(keys) != len(ids):
                raise ValueError(f"chunks.json lists {len(ids)} chunks, state.json says {state.get('chunks')}")
            model = bm25s.BM25.load(str(self.folder / "bm25"), mmap=True) if (self.folder / "bm25").exists() else None
            if model is not None and model.scores["num_docs"] != len(ids):
                raise ValueError(f"the BM25 matrix has {model.scores['num_docs']} chunks, chunks.json {len(ids)}")
            self._model, self._ids, self._keys, self._loaded = model, ids, keys, int(state["generation"])
        return self._model is not None

    def search(self, query: str, n: int, keys: set[str] | None = None) -> list[tuple[str, float]]:
        if not self._load():
            return []
        tokens = _tokenize([query], ids=False)[0]
        vocab = self._model.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        mask = None
        if keys is not None:
            mask = np.fromiter((k in keys for k in self._keys), dtype=np.float32, count=len(self._keys))
        n = min(n, len(self._ids))
        try:
            docs, scores = self._model.retrieve([tokens], k=n, weight_mask=mask, show_progress=False, n_threads=1)
            return [(self._ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
        except Exception as exc:  # damage inside the arrays shows only when they are read
            self._loaded = None
            raise KeywordIndexDamaged(f"the keyword index at {self.folder} is unreadable ({exc})") from exc
