"""Chunk vectors in Chroma: embedded `PersistentClient` by default, `HttpClient` for a server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from agent import offline  # noqa: F401
from agent.errors import SurveyError


def collection_name(prefix: str, embedder_name: str) -> str:
    """One collection per vector space, so a new embedding model never mixes with old vectors."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", f"{prefix}-{embedder_name}").strip("-._")
    return slug[:120]


class VectorIndex:
    """The Chroma collection holding one vector per chunk (metadata: paper key, year)."""

    def __init__(self, store: Path, chroma_url: str | None, name: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

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
            self.client = chromadb.PersistentClient(path=str(store / "chroma"), settings=chroma_settings)
        # Vectors are always computed by our embedder and passed in, so the collection needs none.
        self.collection = self.client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def count(self) -> int:
        return self.collection.count()

    def upsert(self, ids: list[str], vectors: list[list[float]], keys: list[str], years: list[int | None]) -> None:
        metadatas = [{"key": k, "year": y if y is not None else -1} for k, y in zip(keys, years)]
        self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.collection.delete(ids=ids)

    def get(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors of these chunk ids (ids without a vector are left out)."""
        if not ids:
            return {}
        result = self.collection.get(ids=ids, include=["embeddings"])
        return {cid: [float(x) for x in vec] for cid, vec in zip(result["ids"], result["embeddings"])}

    def query(self, vector: list[float], n: int, keys: set[str] | None = None) -> list[tuple[str, float]]:
        """Nearest chunks as (chunk id, cosine similarity); `keys` restricts to those papers."""
        where = {"key": {"$in": sorted(keys)}} if keys is not None else None
        if keys is not None and not keys:
            return []
        result = self.collection.query(query_embeddings=[vector], n_results=n, where=where, include=["distances"])
        return [(cid, 1.0 - dist) for cid, dist in zip(result["ids"][0], result["distances"][0])]
