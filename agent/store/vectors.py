"""Chunk vectors in Chroma: embedded `PersistentClient` by default, `HttpClient` for a server."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

from agent.core import offline  # noqa: F401
from agent.core.errors import SurveyError


def collection_name(prefix: str, embedder_name: str) -> str:
    """One collection per vector space, so a new embedding model never mixes with old vectors."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", f"{prefix}-{embedder_name}").strip("-._")
    return slug[:120]


class VectorsUnavailable(Exception):
    """Chroma could not be opened or read (a damaged or deleted store folder): vectors need a rebuild."""


def _unavailable(where: str, exc: Exception) -> VectorsUnavailable:
    return VectorsUnavailable(f"the vectors at {where} are unreadable ({str(exc)[:160]})")


class VectorIndex:
    """The Chroma collection holding one vector per chunk (metadata: paper key, year).

    Any failure to open or read Chroma is raised as `VectorsUnavailable`: the vectors are derived from
    the catalog, so the store can rebuild them (ingest, `survey doctor --fix`) or search without them.
    """

    def __init__(self, store: Path, chroma_url: str | None, name: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.name, self.folder, self.remote = name, store / "chroma", bool(chroma_url)
        self.where = chroma_url or str(self.folder)
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:
            url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
            try:
                self.client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:  # connection refused, bad URL, version mismatch
                raise SurveyError(f"cannot reach the Chroma server at {chroma_url} ({exc}); start it or unset SURVEY_CHROMA_URL") from exc
        else:
            self._connect_local()
        self._open()

    def _connect_local(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            self.client = chromadb.PersistentClient(path=str(self.folder), settings=ChromaSettings(anonymized_telemetry=False))
        except Exception as exc:  # a damaged chroma.sqlite3 fails here or at the first read
            _forget_client(self.folder)
            raise _unavailable(self.where, exc) from exc

    def _open(self) -> None:
        # Vectors are always computed by our embedder and passed in, so the collection needs none.
        try:
            self.collection = self.client.get_or_create_collection(
                self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as exc:
            raise _unavailable(self.where, exc) from exc

    def count(self) -> int:
        try:
            return self.collection.count()
        except Exception as exc:
            raise _unavailable(self.where, exc) from exc

    def ids(self, page: int = 5000) -> set[str]:
        """Every chunk id with a vector (read in pages: a big collection is ~150k ids)."""
        found: set[str] = set()
        try:
            while True:
                batch = self.collection.get(include=[], limit=page, offset=len(found))["ids"]
                found.update(batch)
                if len(batch) < page:
                    return found
        except Exception as exc:
            raise _unavailable(self.where, exc) from exc

    def upsert(self, ids: list[str], vectors: list[list[float]], keys: list[str], years: list[int | None]) -> None:
        metadatas = [{"key": k, "year": y if y is not None else -1} for k, y in zip(keys, years)]
        self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 5000):  # Chroma caps the size of one request
            self.collection.delete(ids=ids[start : start + 5000])

    def get(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors of these chunk ids (ids without a vector are left out)."""
        if not ids:
            return {}
        try:
            result = self.collection.get(ids=ids, include=["embeddings"])
        except Exception as exc:
            raise _unavailable(self.where, exc) from exc
        return {cid: [float(x) for x in vec] for cid, vec in zip(result["ids"], result["embeddings"])}

    def query(self, vector: list[float], n: int, keys: set[str] | None = None) -> list[tuple[str, float]]:
        """Nearest chunks as (chunk id, cosine similarity); `keys` restricts to those papers."""
        where = {"key": {"$in": sorted(keys)}} if keys is not None else None
        if keys is not None and not keys:
            return []
        try:
            result = self.collection.query(query_embeddings=[vector], n_results=n, where=where, include=["distances"])
        except Exception as exc:
            raise _unavailable(self.where, exc) from exc
        return [(cid, 1.0 - dist) for cid, dist in zip(result["ids"][0], result["distances"][0])]

    def reset(self) -> None:
        """Drop every vector: the collection (server) or the whole damaged folder (embedded Chroma).

        Only for a rebuild: the caller marks every chunk pending in the catalog first.
        """
        if self.remote:
            try:
                self.client.delete_collection(self.name)
            except Exception:  # already gone
                pass
            self._open()
            return
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        self._connect_local()
        self._open()

    def close(self) -> None:
        """Let go of the embedded client, so its files can be replaced (and reopened fresh)."""
        if not self.remote and self.client is not None:
            try:
                self.client.close()
            except Exception:  # a damaged store may fail even to close
                pass
            _forget_client(self.folder)
        self.collection = self.client = None  # type: ignore[assignment]


def _forget_client(folder: Path) -> None:
    # Chroma keeps one system per store path for the whole process; a replaced folder needs a new one.
    # Only this path's entry goes: other stores open in this process keep theirs.
    from chromadb.api.shared_system_client import SharedSystemClient

    for name in {str(folder), str(folder.resolve())}:
        SharedSystemClient._identifier_to_system.pop(name, None)
        SharedSystemClient._identifier_to_refcount.pop(name, None)


def remove_local(folder: Path) -> None:
    """Delete an embedded Chroma folder that cannot even be opened (its vectors are made again)."""
    _forget_client(folder)
    shutil.rmtree(folder, ignore_errors=True)
