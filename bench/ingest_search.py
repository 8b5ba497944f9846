"""Ingest throughput and search latency of survey-agent on the 75k arXiv corpus.

What it measures (../shared/data/arxiv-75k.jsonl.gz):

1. Dense ingest at N papers (`--dense-sizes`): `SurveyAgent(store=tmp).ingest([first N records])`
   end to end, against the raw embedding model on exactly the texts the store embeds (title chunk +
   title/abstract chunk per paper, in batches of `embed_batch`), with the pipeline time split into
   phases (parse+catalog, model load, Chroma open, embedding, Chroma upsert, catalog bookkeeping,
   keyword index). Target: pipeline papers/s >= 0.90 x raw papers/s.
2. Keyword-only ingest of the whole file (`embedding_model="none"`), same phases. Target: < 60 s.
3. Search latency p50/p95 over a fixed list of queries in hybrid, keyword and dense mode, plus the
   pieces (query embedding, BM25, Chroma query), and peak RSS of a fresh process that opens the store
   and searches (`--search-sizes`). Target: hybrid p50 < 50 ms at 75k. Search stores are built without
   re-embedding: abstract vectors come from the vector cache (bench/vector_cache.py), title vectors
   from a `titles/` cache beside it that this script fills on first use (~200 titles/s).

Every measurement runs in a fresh subprocess, so peaks of RSS and warm caches do not carry over.

Run from the repository root:

    # once, in the background (hours on 2 cores, resumable): the vectors the search stores are built from
    nice -n 19 .venv/bin/python bench/vector_cache.py &
    # full run: dense ingest at 1k and 10k, keyword-only ingest of all 75k, search at 1k, 10k and 75k
    .venv/bin/python bench/ingest_search.py --out bench/results.json
    # the same as JSON on stdout
    .venv/bin/python bench/ingest_search.py --json
    # a quick check (a few minutes)
    .venv/bin/python bench/ingest_search.py --dense-sizes 200 --keyword-size 2000 --search-sizes 1000
    # search only, keeping the built stores for the next run
    .venv/bin/python bench/ingest_search.py --skip-dense --skip-keyword --store-dir /tmp/bench-stores

`--store-dir DIR` keeps the built search stores and reuses them on the next run (building the 75k
store takes minutes); delete DIR after changing how agent/ parses, chunks or indexes. Numbers are
only meaningful on an otherwise idle machine: the load average is printed at the start and end.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from common import ARXIV, DEFAULT_CACHE, SHARD, VectorCache, arxiv_papers, peak_rss_mb, texts_of, titles_of

# Realistic questions for a mostly cs.CV / cs.CL / cs.AI 2025-26 corpus: topics, acronyms, exact titles.
QUERIES = [
    "benchmark for long video understanding",
    "LoRA",
    "retrieval augmented generation hallucination",
    "RAG",
    "parameter-efficient fine-tuning of large language models",
    "vision-language models for chest X-ray report generation",
    "diffusion models for text-to-image generation",
    "3D Gaussian splatting",
    "NeRF novel view synthesis",
    "chain-of-thought reasoning in LLMs",
    "reinforcement learning from human feedback",
    "DPO preference optimization",
    "open-vocabulary object detection",
    "few-shot semantic segmentation",
    "multimodal large language model hallucination",
    "KV cache compression for long context inference",
    "mixture of experts",
    "speculative decoding",
    "autonomous driving trajectory prediction",
    "medical image segmentation with transformers",
    "contrastive learning",
    "jailbreak attacks on aligned language models",
    "watermarking AI-generated text",
    "Reed-Solomon codes",
    "robot manipulation with vision-language-action models",
    "SLAM",
    "ViT",
    "how do LLM agents use tools",
    "empathetic response generation",
    "Improving the Performance of Unimodal Dynamic Hand-Gesture Recognition with Multimodal Training",
    "Medical Imaging AI Competitions Lack Fairness",
    "Evaluating RAG Reliability under Clean, Misleading, and Mixed Retrieval",
]

TARGET_RATIO = 0.90  # dense ingest papers/s over raw model papers/s
TARGET_KEYWORD_S = 60.0  # keyword-only ingest of the whole corpus
TARGET_HYBRID_P50_MS = 50.0  # hybrid search p50 at 75k papers
UPSERT_BATCH = 1000  # vectors per Chroma upsert when building search stores from the cache
BUILT_MARKER = "bench-built.json"


# --- small helpers ------------------------------------------------------------------------------
def log(message: str) -> None:
    """Progress goes to stderr, so `--json` output on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    """`"1000,10000"` -> [1000, 10000]; an empty string means none."""
    return [int(part) for part in text.replace(" ", "").split(",") if part]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def latency_stats(ms: list[float]) -> dict[str, float]:
    """p50/p95/mean/max of a list of latencies in milliseconds."""
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(float(np.mean(ms)), 2) if ms else math.nan,
        "max_ms": round(max(ms), 2) if ms else math.nan,
        "samples": len(ms),
    }


class Timers:
    """Seconds accumulated per named phase; `wrap` times every call of one method of one object."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.calls[name] += 1

    def wrap(self, obj: object, method: str, name: str) -> None:
        original: Callable[..., Any] = getattr(obj, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(obj, method, timed)  # an instance attribute: only this object is affected


def write_corpus(n: int, folder: Path) -> tuple[Path, int]:
    """The first `n` records of the corpus as a JSONL file in `folder`; the gz itself if n covers it all.

    Returns (path, records in it).
    """
    target = folder / f"arxiv-first-{n}.jsonl"
    written = 0
    with gzip.open(ARXIV, "rt", encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            if not line.strip():
                continue
            if written == n:
                return target, written
            out.write(line)
            written += 1
    target.unlink()
    return ARXIV, written


_RECORDS: list[int] = []


def corpus_records() -> int:
    """Records in the whole corpus file (counted once)."""
    if not _RECORDS:
        with gzip.open(ARXIV, "rt", encoding="utf-8") as source:
            _RECORDS.append(sum(1 for line in source if line.strip()))
    return _RECORDS[0]


# --- instrumenting a store ------------------------------------------------------------------------
# Phases of one `SurveyAgent.ingest`, in the order they happen; together they add up to the total.
PHASES = [
    "parse + catalog",
    "load model",
    "open chroma",
    "embedding",
    "chroma upsert",
    "catalog bookkeeping",
    "keyword index",
    "other",
]


def instrument(store: Any, timers: Timers) -> None:
    """Time the parts of `store.sync` by wrapping methods of this store instance only.

    The embedder and Chroma collection are made lazily inside `sync`; the wrapper makes them at the
    start of the same `sync` call (where the store would make them anyway), timed, then wraps them.
    """
    catalog = store.catalog
    timers.wrap(catalog, "pending_chunks", "catalog bookkeeping")
    timers.wrap(catalog, "mark_embedded", "catalog bookkeeping")
    timers.wrap(store, "refresh_keyword_index", "keyword index")
    original_sync = store.sync

    def sync(*args: Any, **kwargs: Any) -> int:
        started = time.perf_counter()
        try:
            return _sync(*args, **kwargs)
        finally:  # everything before sync is the catalog phase (parse, dedupe, keys, SQLite)
            timers.seconds["sync"] = timers.seconds.get("sync", 0.0) + time.perf_counter() - started

    def _sync(*args: Any, **kwargs: Any) -> int:
        with timers.phase("load model"):
            embedder = store.embedder
        if embedder is not None:
            timers.wrap(embedder, "embed", "embedding")
            with timers.phase("open chroma"):
                vectors = store.vectors
            timers.wrap(vectors, "upsert", "chroma upsert")
        return original_sync(*args, **kwargs)

    store.sync = sync


def phase_breakdown(timers: Timers, catalog_seconds: float, total: float) -> dict[str, float]:
    """Seconds per phase of PHASES; "other" is what no timer covered."""
    phases = {"parse + catalog": catalog_seconds}
    for name in PHASES[1:-1]:
        phases[name] = timers.seconds.get(name, 0.0)
    phases["other"] = max(0.0, total - sum(phases.values()))
    return {k: round(v, 3) for k, v in phases.items()}


def timed_ingest(agent: Any, corpus: Path) -> dict[str, Any]:
    """Run `agent.ingest([corpus])` once, instrumented; totals, rates and phases."""
    timers = Timers()
    instrument(agent.store, timers)
    start = time.perf_counter()
    report = agent.ingest([corpus])
    total = time.perf_counter() - start
    problems = [str(r) for r in report.rejected]
    return {
        "papers": report.papers_in_store,
        "new": report.new,
        "duplicate_or_merged": report.duplicate + report.updated,
        "rejected": len(problems),
        "chunks_embedded": report.embedded,
        "seconds": round(total, 3),
        "papers_per_s": round(report.papers_in_store / total, 2),
        "phases": phase_breakdown(timers, total - timers.seconds.get("sync", 0.0), total),
        "embed_calls": timers.calls.get("embedding", 0),
    }


def parse_only_seconds(corpus: Path) -> float:
    """Parsing the file alone (no catalog), to split the "parse + catalog" phase."""
    from agent.sources import parse_file

    start = time.perf_counter()
    parse_file(corpus, corpus.read_bytes(), None)
    return round(time.perf_counter() - start, 3)


# --- workers: each runs in its own process ----------------------------------------------------------
def worker_dense(spec: dict[str, Any]) -> dict[str, Any]:
    """Dense ingest of spec["corpus"] into a fresh store, then the raw model on the same texts."""
    from agent.api import SurveyAgent
    from agent.sources import parse_file
    from agent.store.chunking import chunk_paper
    from agent.store.embeddings import LocalMiniLM

    corpus = Path(spec["corpus"])
    agent = SurveyAgent(store=spec["store"], embedding_model="local")
    settings = agent.settings
    result = timed_ingest(agent, corpus)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)  # before the raw model adds a second ONNX session
    agent.close()
    del agent
    gc.collect()

    papers = parse_file(corpus, corpus.read_bytes(), None).papers
    texts = [c.text for p in papers for c in chunk_paper(p, settings.chunk_chars, settings.chunk_overlap)]
    if len(texts) != result["chunks_embedded"]:
        log(f"  note: {len(texts)} chunk texts from chunk_paper, but the store embedded {result['chunks_embedded']}")
    sample = texts[: spec["raw_sample"]] if spec["raw_sample"] else texts
    texts_per_paper = len(texts) / len(papers)

    embedder = LocalMiniLM(settings.cache_dir)
    embedder.embed(["warm-up: load the ONNX session"])
    batch = settings.embed_batch
    start = time.perf_counter()
    for i in range(0, len(sample), batch):
        embedder.embed(sample[i : i + batch])
    raw_seconds = time.perf_counter() - start
    raw_papers_per_s = len(sample) / raw_seconds / texts_per_paper
    result.update(
        embed_batch=batch,
        chunk_texts=len(texts),
        raw_texts=len(sample),
        raw_seconds=round(raw_seconds, 3),
        raw_papers_per_s=round(raw_papers_per_s, 2),
        ratio=round(result["papers_per_s"] / raw_papers_per_s, 3),
        embedding_phase_papers_per_s=round(result["papers"] / max(result["phases"]["embedding"], 1e-9), 2),
    )
    if spec.get("raw_sorted"):  # the same texts in one call: sorted by length across the whole sample
        start = time.perf_counter()
        embedder.embed(sample)
        sorted_seconds = time.perf_counter() - start
        result["raw_one_call_papers_per_s"] = round(len(sample) / sorted_seconds / texts_per_paper, 2)
    result["parse_only_seconds"] = parse_only_seconds(corpus)
    return result


def worker_keyword(spec: dict[str, Any]) -> dict[str, Any]:
    """Keyword-only ingest (no embedding model) of spec["corpus"] into a fresh store."""
    from agent.api import SurveyAgent

    corpus = Path(spec["corpus"])
    agent = SurveyAgent(store=spec["store"], embedding_model="none")
    result = timed_ingest(agent, corpus)
    agent.close()
    result["parse_only_seconds"] = parse_only_seconds(corpus)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def title_vectors(cache: VectorCache, n: int, embedder: Any) -> np.ndarray:
    """Title vectors of the first `n` papers, embedding (and caching) any missing shard of 1,000."""
    shards = (n + SHARD - 1) // SHARD
    missing = [i for i in range(shards) if not cache.shard_path(i).exists()]
    if missing:
        titles = titles_of(arxiv_papers())  # a shard always covers 1,000 papers of the whole corpus
        for index in missing:
            start = time.perf_counter()
            batch = titles[index * SHARD : (index + 1) * SHARD]
            cache.save(index, np.asarray(embedder.embed(batch), dtype=np.float32))
            log(f"  title shard {index + 1}/{shards}: {len(batch) / (time.perf_counter() - start):.0f} titles/s")
    return cache.load(n)


def check_cache(embedder: Any, texts: list[str], vectors: np.ndarray, what: str) -> None:
    """Re-embed three cached texts; a mismatch means the cache is from another model or text rule."""
    for i in sorted({0, len(texts) // 2, len(texts) - 1}):
        fresh = np.asarray(embedder.embed([texts[i]])[0], dtype=np.float32)
        cosine = float(fresh @ vectors[i] / (np.linalg.norm(fresh) * np.linalg.norm(vectors[i])))
        if cosine < 0.99:
            raise SystemExit(
                f"the cached {what} vector of paper {i} does not match the embedder (cosine {cosine:.3f}); "
                "delete the cache folder and re-run bench/vector_cache.py"
            )


def worker_build(spec: dict[str, Any]) -> dict[str, Any]:
    """A search store from cached vectors: catalog ingest, cached vectors into Chroma, keyword index."""
    from agent.api import SurveyAgent
    from agent.sources import parse_file
    from agent.store.ingest import ingest_paths

    corpus, timers = Path(spec["corpus"]), Timers()
    agent = SurveyAgent(store=spec["store"], embedding_model="local")
    store, settings = agent.store, agent.settings
    with timers.phase("parse + catalog"):
        ingest_paths(store.catalog, [corpus], None, (settings.chunk_chars, settings.chunk_overlap))
    embedder = store.embedder
    store.catalog.use_embedder(embedder.name)  # before marking: a model switch would mark everything pending

    with timers.phase("load cached vectors"):
        papers = parse_file(corpus, corpus.read_bytes(), None).papers
        abstracts = VectorCache(Path(spec["cache"]), embedder.name).load(len(papers))
        titles = title_vectors(VectorCache(Path(spec["cache"]), embedder.name, "titles"), len(papers), embedder)
        check_cache(embedder, texts_of(papers), abstracts, "abstract")
        check_cache(embedder, titles_of(papers), titles, "title")
        by_text = {
            "abstract": {t: i for i, t in enumerate(texts_of(papers))},
            "title": {t: i for i, t in enumerate(titles_of(papers))},
        }
        source = {"abstract": abstracts, "title": titles}

    pending = store.catalog.pending_chunks(10**9)
    ids, keys, years = [r[0] for r in pending], [r[1] for r in pending], [r[3] for r in pending]
    matrix = np.zeros((len(pending), abstracts.shape[1]), dtype=np.float32)
    unmatched = []
    for row, (cid, _, text, _) in enumerate(pending):
        found = by_text.get(cid.rsplit("#", 1)[1], {}).get(text)
        if found is None:
            unmatched.append(row)  # e.g. a duplicate's merged abstract, or a full-text chunk
        else:
            matrix[row] = source[cid.rsplit("#", 1)[1]][found]
    with timers.phase("embed unmatched"):
        if unmatched:
            matrix[unmatched] = np.asarray(embedder.embed([pending[r][2] for r in unmatched]), dtype=np.float32)
    with timers.phase("chroma upsert"):
        for start in range(0, len(ids), UPSERT_BATCH):
            end = start + UPSERT_BATCH
            store.vectors.upsert(ids[start:end], matrix[start:end], keys[start:end], years[start:end])
            with store.catalog.transaction():
                store.catalog.mark_embedded(ids[start:end])
    with timers.phase("keyword index"):
        embedded_by_sync = store.sync()
    if embedded_by_sync:
        log(f"  warning: sync still embedded {embedded_by_sync} chunks")
    result = {
        "papers": store.catalog.count(),
        "vectors": store.vectors.count(),
        "unmatched_embedded": len(unmatched),
        "build_phases": {k: round(v, 3) for k, v in timers.seconds.items()},
        "build_seconds": round(sum(timers.seconds.values()), 3),
        "build_peak_rss_mb": round(peak_rss_mb(), 1),
    }
    agent.close()
    (Path(spec["store"]) / BUILT_MARKER).write_text(json.dumps(result))
    return result


def time_calls(fn: Callable[[str], Any], queries: list[str], repeats: int) -> list[float]:
    """Milliseconds of `fn(query)`: one untimed warm-up per query, then `repeats` timed runs."""
    ms: list[float] = []
    for query in queries:
        fn(query)
        for _ in range(repeats):
            start = time.perf_counter()
            fn(query)
            ms.append((time.perf_counter() - start) * 1000)
    return ms


def dense_title_at_1(agent: Any, n: int = 20) -> float:
    """Share of n stored papers that a dense search for their exact title ranks first.

    A sanity check, not a quality measure: it fails if cached vectors landed on the wrong chunk ids.
    """
    papers = agent.papers()
    picks = [papers[i * len(papers) // n] for i in range(min(n, len(papers)))]
    found = sum(1 for p in picks if [h.key for h in agent.search(p.title, k=1, mode="dense")] == [p.key])
    return round(found / len(picks), 2) if picks else math.nan


def worker_search(spec: dict[str, Any]) -> dict[str, Any]:
    """Open an existing store in this fresh process and time searches; peak RSS at the end."""
    from agent.api import SurveyAgent

    queries, repeats = spec["queries"], spec["repeats"]
    start = time.perf_counter()
    agent = SurveyAgent(store=spec["store"], embedding_model="local")
    agent.search(queries[0], k=10)
    cold_ms = (time.perf_counter() - start) * 1000
    store = agent.store

    modes = {
        mode: latency_stats(time_calls(lambda q, m=mode: agent.search(q, k=10, mode=m), queries, repeats))
        for mode in ("hybrid", "keyword", "dense")
    }
    depth = 50  # what Store.search asks each index for at k=10
    vectors = {q: store.embedder.embed([q])[0] for q in queries}
    parts = {
        "query embedding": latency_stats(time_calls(lambda q: store.embedder.embed([q]), queries, repeats)),
        "bm25 only": latency_stats(time_calls(lambda q: store.keyword.search(q, depth), queries, repeats)),
        "chroma query only": latency_stats(
            time_calls(lambda q: store.vectors.query(vectors[q], depth), queries, repeats)
        ),
    }
    result = {
        "papers": store.catalog.count(),
        "vectors": store.vectors.count(),
        "dense_title_at_1": dense_title_at_1(agent),
        "cold_first_query_ms": round(cold_ms, 1),
        "modes": modes,
        "parts": parts,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    agent.close()
    return result


WORKERS = {"dense": worker_dense, "keyword": worker_keyword, "build": worker_build, "search": worker_search}


def run_worker(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one worker in a fresh Python process; its result is the last line it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--spec", json.dumps(spec)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        return {"error": f"{kind} worker exited with {done.returncode} (see its stderr above)"}
    return json.loads(lines[-1])


# --- the three benchmarks -------------------------------------------------------------------------
def bench_dense(sizes: list[int], work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for n in sizes:
        corpus, records = write_corpus(n, work)
        log(f"[dense ingest] {records} records ...")
        store = Path(tempfile.mkdtemp(prefix=f"dense-{n}-", dir=work))
        spec = {
            "corpus": str(corpus),
            "store": str(store),
            "raw_sample": args.raw_sample,
            "raw_sorted": args.raw_sorted,
        }
        result = {"size": n, "records": records, **run_worker("dense", spec)}
        shutil.rmtree(store, ignore_errors=True)
        if corpus != ARXIV:
            corpus.unlink()
        results.append(result)
    return results


def bench_keyword(size: int | None, work: Path) -> dict[str, Any]:
    corpus, records = (ARXIV, None) if size is None else write_corpus(size, work)
    log(f"[keyword-only ingest] {'all' if records is None else records} records of {ARXIV.name} ...")
    store = Path(tempfile.mkdtemp(prefix="keyword-", dir=work))
    measured = run_worker("keyword", {"corpus": str(corpus), "store": str(store)})
    result = {"size": size or "all", "corpus": str(corpus), **measured}
    shutil.rmtree(store, ignore_errors=True)
    if corpus != ARXIV:
        corpus.unlink()
    return result


def search_store(n: int, work: Path, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """A built search store of the first n papers: reused from --store-dir if complete, else built."""
    from agent.store.embeddings import LocalMiniLM

    root = args.store_dir or work
    store = root / f"search-{n}-{LocalMiniLM.name}"
    marker = store / BUILT_MARKER
    if marker.exists():
        log(f"[search {n}] reusing the store in {store}")
        return store, {"reused": True, **json.loads(marker.read_text())}
    shutil.rmtree(store, ignore_errors=True)
    corpus, records = write_corpus(n, work)
    log(f"[search {n}] building a store of {records} records from cached vectors ...")
    built = run_worker("build", {"corpus": str(corpus), "store": str(store), "cache": str(args.cache)})
    if corpus != ARXIV:
        corpus.unlink()
    return store, {"reused": False, **built}


def bench_search(sizes: list[int], work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    from agent.store.embeddings import LocalMiniLM

    cache = VectorCache(args.cache, LocalMiniLM.name)
    results = []
    for n in sizes:
        need = min(n, corpus_records())
        if not cache.have(need):
            message = (
                f"skipped: the vector cache holds {cache.count()} abstract vectors, {need} needed; "
                f"run `nice -n 19 .venv/bin/python bench/vector_cache.py` (cache: {cache.dir})"
            )
            log(f"[search {n}] {message}")
            results.append({"size": n, "skipped": message})
            continue
        store, build = search_store(n, work, args)
        if "error" in build:
            results.append({"size": n, **build})
            continue
        log(f"[search {n}] timing {len(QUERIES)} queries x {args.repeats} runs per mode in a fresh process ...")
        result = run_worker("search", {"store": str(store), "queries": QUERIES, "repeats": args.repeats})
        results.append({"size": n, "build": build, **result})
        if args.store_dir is None:
            shutil.rmtree(store, ignore_errors=True)
    return results


# --- report -----------------------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def phase_rows(results: list[dict[str, Any]], label: Callable[[dict[str, Any]], str]) -> list[list[Any]]:
    rows = []
    for r in results:
        if "phases" in r:
            phases, total = r["phases"], r["seconds"]
            rows.append([label(r)] + [f"{phases[p]:.2f} ({100 * phases[p] / total:.0f}%)" for p in PHASES])
    return rows


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the value measured for it (None if this run did not measure it)."""
    dense = [r for r in results.get("dense", []) if "ratio" in r]
    largest = max(dense, key=lambda r: r["papers"]) if dense else None
    keyword = results.get("keyword") or {}
    full_keyword = keyword.get("size") == "all" and "seconds" in keyword
    search = [r for r in results.get("search", []) if "modes" in r and r["papers"] >= 74_000]
    found = [
        ("dense ingest / raw model papers/s", f">= {TARGET_RATIO}", largest["ratio"] if largest else None,
         lambda v: v >= TARGET_RATIO),
        ("keyword-only ingest, whole corpus (s)", f"< {TARGET_KEYWORD_S:g}",
         keyword["seconds"] if full_keyword else None, lambda v: v < TARGET_KEYWORD_S),
        ("hybrid search p50 at 75k (ms)", f"< {TARGET_HYBRID_P50_MS:g}",
         search[0]["modes"]["hybrid"]["p50_ms"] if search else None, lambda v: v < TARGET_HYBRID_P50_MS),
    ]

    def status(value: float | None, ok: Callable[[float], bool]) -> str:
        return "not measured" if value is None else ("PASS" if ok(value) else "FAIL")

    return [
        {"target": name, "goal": goal, "measured": value, "status": status(value, ok)}
        for name, goal, value, ok in found
    ]


def print_report(results: dict[str, Any]) -> None:
    env = results["environment"]
    print(f"survey-agent ingest/search benchmark  ({env['cpus']} CPUs, load {env['load_start']} -> {env['load_end']}, "
          f"python {env['python']})")
    print(f"embed_batch={env['embed_batch']}  repeats={results['args']['repeats']}  queries={len(QUERIES)}\n")

    dense = results.get("dense")
    if dense:
        print("1. Dense ingest (embedding_model=local)")
        rows = []
        for r in dense:
            if "error" in r:
                rows.append([r["size"], r["error"]])
                continue
            rows.append([r["papers"], r["seconds"], r["papers_per_s"], r["raw_papers_per_s"],
                         f"{r['raw_texts']}/{r['chunk_texts']}", r.get("raw_one_call_papers_per_s", "-"),
                         r["ratio"], r["parse_only_seconds"], r["peak_rss_mb"]])
        print(table(["papers", "ingest s", "papers/s", "raw papers/s", "raw texts", "raw sorted p/s",
                     "ratio", "parse-only s", "peak RSS MB"], rows))
        print("   raw = LocalMiniLM.embed on the same chunk texts in batches of embed_batch;")
        print("   ratio = pipeline papers/s over raw papers/s;")
        print("   raw sorted (--raw-sorted) = the same texts in one call, so titles and abstracts are padded apart.")
        print("\n   where the ingest time goes (seconds, % of ingest):")
        print(table(["papers", *PHASES], phase_rows(dense, lambda r: str(r["papers"]))))
        print()

    keyword = results.get("keyword")
    if keyword:
        print("2. Keyword-only ingest (embedding_model=none)")
        if "error" in keyword:
            print(f"   {keyword['error']}")
        else:
            print(table(["papers", "ingest s", "papers/s", "parse-only s", "peak RSS MB"],
                        [[keyword["papers"], keyword["seconds"], keyword["papers_per_s"], keyword["parse_only_seconds"],
                          keyword["peak_rss_mb"]]]))
            print("\n   where the ingest time goes (seconds, % of ingest):")
            print(table(["papers", *PHASES], phase_rows([keyword], lambda r: str(r["papers"]))))
        print()

    search = results.get("search")
    if search:
        print("3. Search latency (k=10; each query once to warm up, then timed; fresh process per size)")
        rows, notes = [], []
        for r in search:
            if "skipped" in r or "error" in r:
                notes.append(f"   {r['size']}: {r.get('skipped') or r.get('error')}")
                continue
            for group in ("modes", "parts"):
                for name, s in r[group].items():
                    label = name if group == "modes" else f"  {name}"
                    rows.append([r["papers"], label, s["p50_ms"], s["p95_ms"], s["mean_ms"], s["max_ms"]])
        if rows:
            print(table(["papers", "search", "p50 ms", "p95 ms", "mean ms", "max ms"], rows))
            print()
            built = [[r["papers"], r["vectors"], r["cold_first_query_ms"], r["peak_rss_mb"],
                      "reused" if r["build"].get("reused") else r["build"]["build_seconds"],
                      r["build"]["unmatched_embedded"], r["dense_title_at_1"]]
                     for r in search if "modes" in r]
            print(table(["papers", "vectors", "cold 1st query ms", "peak RSS MB", "store build s", "re-embedded",
                         "dense title@1"], built))
        for note in notes:
            print(note)
        print()

    print("Targets")
    print(table(["target", "goal", "measured", "status"],
                [[t["target"], t["goal"], t["measured"], t["status"]] for t in results["targets"]]))


# --- main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--dense-sizes", type=parse_sizes, default=[1000, 10000], help="papers per dense ingest (default 1000,10000)")
    add("--raw-sample", type=int, default=0, help="time the raw model on only the first K chunk texts (default all)")
    add("--raw-sorted", action="store_true", help="also time the raw model on all texts in one call (length-sorted)")
    add("--keyword-size", type=int, default=None, help="papers for the keyword-only ingest (default: the whole file)")
    add("--search-sizes", type=parse_sizes, default=[1000, 10000, 75000],
        help="papers per search store (default 1000,10000,75000)")
    add("--repeats", type=int, default=3, help="timed runs of each query per mode (default 3)")
    add("--skip-dense", action="store_true", help="skip the dense ingest benchmark")
    add("--skip-keyword", action="store_true", help="skip the keyword-only ingest benchmark")
    add("--skip-search", action="store_true", help="skip the search benchmark")
    add("--cache", type=Path, default=DEFAULT_CACHE, help=f"vector cache root (default {DEFAULT_CACHE})")
    add("--store-dir", type=Path, default=None, help="keep search stores here and reuse them next run")
    add("--tmp", type=Path, default=None, help="temporary corpora and stores go here (default: system temp)")
    add("--json", action="store_true", help="print the results as JSON instead of tables")
    add("--out", type=Path, default=None, help="also write the results as JSON to this file")
    add("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    add("--spec", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:  # inside a measurement subprocess
        print(json.dumps(WORKERS[args.worker](json.loads(args.spec))))
        return

    from agent.core.settings import Settings

    settings = Settings()
    results: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("worker", "spec")},
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_start": round(os.getloadavg()[0], 2),
            "embed_batch": settings.embed_batch,
            "chroma_url": settings.chroma_url,
        },
        "queries": QUERIES,
    }
    if args.store_dir:
        args.store_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="survey-bench-", dir=args.tmp))
    try:
        if not args.skip_dense and args.dense_sizes:
            results["dense"] = bench_dense(args.dense_sizes, work, args)
        if not args.skip_keyword:
            results["keyword"] = bench_keyword(args.keyword_size, work)
        if not args.skip_search and args.search_sizes:
            results["search"] = bench_search(args.search_sizes, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["environment"]["load_end"] = round(os.getloadavg()[0], 2)
    results["targets"] = targets(results)

    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)


if __name__ == "__main__":
    main()
