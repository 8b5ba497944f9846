"""Embed the 75k arXiv abstracts once with the offline model, in resumable shards of 1,000.

Takes hours on 2 cores: run it in the background (`nice -n 19 python bench/vector_cache.py &`); every
finished shard is kept, so a stopped run continues where it left off. bench/ingest_search.py reuses them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from common import DEFAULT_CACHE, SHARD, VectorCache, arxiv_papers, texts_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--limit", type=int, default=None, help="stop after this many papers")
    args = parser.parse_args()

    from agent.store.embeddings import LocalMiniLM

    embedder = LocalMiniLM(Path.home() / ".cache" / "survey-agent")
    cache = VectorCache(args.cache, embedder.name)
    texts = texts_of(arxiv_papers())[: args.limit]
    shards = (len(texts) + SHARD - 1) // SHARD
    for index in range(shards):
        if cache.shard_path(index).exists():
            continue
        start = time.perf_counter()
        batch = texts[index * SHARD : (index + 1) * SHARD]
        cache.save(index, np.asarray(embedder.embed(batch), dtype=np.float32))
        rate = len(batch) / (time.perf_counter() - start)
        print(f"shard {index + 1}/{shards}: {rate:.1f} texts/s", flush=True)


if __name__ == "__main__":
    main()
