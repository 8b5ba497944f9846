"""Shared helpers for the benchmarks: the arXiv scale corpus, its texts, a vector cache, grounded section names."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.core.paper import Paper  # noqa: E402
from agent.sources import parse_file  # noqa: E402
from agent.store.chunking import abstract_text  # noqa: E402

ARXIV = ROOT.parent / "shared" / "data" / "arxiv-75k.jsonl.gz"
DEFAULT_CACHE = Path.home() / ".cache" / "survey-agent" / "bench"
SHARD = 1000


def arxiv_papers(path: Path = ARXIV) -> list[Paper]:
    """The scale corpus parsed by the project's own JSONL parser."""
    if not path.exists():
        sys.exit(f"{path} is missing: the benchmarks need ../shared/data/arxiv-75k.jsonl.gz")
    return parse_file(path, path.read_bytes(), "jsonl").papers


def texts_of(papers: list[Paper]) -> list[str]:
    """Exactly the text ingest embeds for each paper's abstract chunk."""
    return [abstract_text(p) for p in papers]


def titles_of(papers: list[Paper]) -> list[str]:
    """Exactly the text ingest embeds for each paper's title chunk."""
    return [p.title for p in papers]


def paper_text(title: str, abstract: str | None) -> str:
    """What a section name is grounded in: a paper's title and whole abstract."""
    return f"{title}. {abstract or ''}"


def grounded_name(name: str, texts: list[str], topic: str) -> bool:
    """Whether a section name is grounded in its papers (`paper_text` of each): the product's rule
    (agent/survey/naming.py), its content words, the topic's aside, on average in half of the texts and
    each in a third. One definition for bench/sections.py and bench/synthesis.py."""
    from agent.survey.naming import grounded

    return grounded(name, texts, topic)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class VectorCache:
    """Vectors of the scale corpus, in shards of 1,000, filled once and reused by every run.

    `kind="abstract"` (the default) holds the abstract-chunk vectors bench/vector_cache.py writes;
    `kind="titles"` holds title-chunk vectors in a `titles/` subfolder with the same shard layout.
    """

    def __init__(self, root: Path, embedder_name: str, kind: str = "abstract") -> None:
        self.dir = root / f"arxiv75k-{embedder_name}"
        if kind != "abstract":
            self.dir = self.dir / kind
        self.dir.mkdir(parents=True, exist_ok=True)

    def shard_path(self, index: int) -> Path:
        return self.dir / f"shard_{index:04d}.npy"

    def have(self, n: int) -> bool:
        return all(self.shard_path(i).exists() for i in range((n + SHARD - 1) // SHARD))

    def count(self) -> int:
        n = 0
        while self.shard_path(n).exists():
            n += 1
        return n * SHARD

    def save(self, index: int, vectors: np.ndarray) -> None:
        tmp = self.dir / f".tmp_{index:04d}.npy"
        np.save(tmp, vectors.astype(np.float32))
        tmp.replace(self.shard_path(index))  # atomic: an interrupted run never leaves half a shard

    def load(self, n: int) -> np.ndarray:
        shards = [np.load(self.shard_path(i)) for i in range((n + SHARD - 1) // SHARD)]
        return np.concatenate(shards)[:n]
