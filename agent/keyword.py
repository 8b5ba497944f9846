"""The keyword index: BM25 (bm25s) over every chunk, persisted beside the vectors.

bm25s builds a sparse score matrix, which makes queries sub-millisecond at 75k papers but means an
index is rebuilt, not patched, when chunks change. The catalog's generation number says when.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

_STEMMER = None


def _stemmer():  # type: ignore[no-untyped-def]
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


def _tokenize(texts: list[str], ids: bool):  # type: ignore[no-untyped-def]
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=ids, show_progress=False)


class KeywordIndex:
    """BM25 over chunk texts; `search` returns (chunk id, score) pairs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._model = None
        self._ids: list[str] = []
        self._keys: list[str] = []

    def built_generation(self) -> int:
        state = self.folder / "state.json"
        return json.loads(state.read_text())["generation"] if state.exists() else -1

    def build(self, rows: list[tuple[str, str, str]], generation: int) -> None:
        """Rebuild from (chunk id, key, text) rows; written to a temp folder, then swapped in."""
        import bm25s

        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        tokens = _tokenize([r[2] for r in rows], ids=True) if rows else None
        if tokens is not None and tokens.vocab:  # all-stopword texts leave nothing to index
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
            model.save(str(tmp / "bm25"))
        (tmp / "chunks.json").write_text(json.dumps({"ids": [r[0] for r in rows], "keys": [r[1] for r in rows]}))
        (tmp / "state.json").write_text(json.dumps({"generation": generation, "chunks": len(rows)}))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)
        self._model = None

    def _load(self) -> bool:
        if self._model is None:
            import bm25s

            if not (self.folder / "bm25").exists():
                return False
            self._model = bm25s.BM25.load(str(self.folder / "bm25"), mmap=True)
            chunks = json.loads((self.folder / "chunks.json").read_text())
            self._ids, self._keys = chunks["ids"], chunks["keys"]
        return True

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
        docs, scores = self._model.retrieve([tokens], k=n, weight_mask=mask, show_progress=False, n_threads=1)
        return [(self._ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
