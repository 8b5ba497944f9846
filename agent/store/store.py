"""The store: catalog (truth) + Chroma vectors + keyword index, kept in step."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.core.errors import EmptyStoreError, StoreDamaged, SurveyError
from agent.core.settings import Settings
from agent.store.catalog import Catalog, backups
from agent.store.embeddings import Embedder, embedder_name, make_embedder
from agent.store.keyword import KeywordIndex, KeywordIndexDamaged
from agent.store.search import Filters, SearchHit, fuse, papers_in_order, snippet
from agent.store.vectors import VectorsUnavailable

Progress = Callable[[str, int, int], None]  # (phase, done, total): what ingest and sync report as they go

FIX_HINT = "run `survey doctor --fix` (or `survey ingest` again)"


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


class Store:
    """One paper store. Heavy parts (Chroma, the embedding model) load on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.store)
        self._catalog: Catalog | None = None
        self._embedder: Embedder | None | bool = False  # False = not made yet; None = keyword-only
        self._vectors = None
        self._vectors_checked = False  # search says once per store object that vectors are missing
        self.keyword = KeywordIndex(self.root / "keyword")
        # Where one-line notes go (a rebuilt index, a missing Chroma, a wait for another ingest).
        self.notify: Callable[[str], None] = _to_stderr
        # Threads sharing this store build each heavy part once (two Chroma clients on one folder conflict).
        self._parts_lock = threading.RLock()

    # --- parts ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.root / "catalog.sqlite").exists()

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            with self._parts_lock:
                if self._catalog is None:
                    if self.root.exists() and not self.root.is_dir():
                        raise SurveyError(f"store {self.root} is a file, not a directory; pass --store DIR")
                    self._catalog = Catalog(self.root / "catalog.sqlite")
        return self._catalog

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder is False:
            with self._parts_lock:
                if self._embedder is False:
                    self._embedder = make_embedder(self.settings.embedding_model, self.settings.cache_dir)
        return self._embedder  # type: ignore[return-value]

    @property
    def vectors(self):  # type: ignore[no-untyped-def]
        if self._vectors is None and self.embedder is not None:
            from agent.store.vectors import VectorIndex, collection_name

            with self._parts_lock:
                if self._vectors is None:
                    self._vectors = VectorIndex(self.root, self.settings.chroma_url,
                                                collection_name(self.settings.collection, self.embedder.name))
        return self._vectors

    @property
    def backups_folder(self) -> Path:
        return self.root / "backups"

    def close(self) -> None:
        """Release the catalog, the Chroma client and the embedding model."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        self._vectors = None
        self._embedder = False

    @contextmanager
    def locked(self, name: str, waiting: str) -> Iterator[None]:
        """Hold `<store>/<name>.lock` (an advisory `flock`, released when the process dies, even killed).

        A second process on the same store says `waiting` once and waits its turn.
        """
        try:
            import fcntl
        except ImportError:  # no flock (Windows): concurrent ingests stay correct, only slower
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.notify(waiting)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def backup_catalog(self) -> Path:
        """Copy the catalog to `<store>/backups/` (the newest two are kept)."""
        return self.catalog.backup(self.backups_folder)

    def _backup_if_changed(self) -> None:
        # One backup per catalog generation: the latest good state is always one restore away.
        newest = backups(self.backups_folder)
        if self.catalog.count() and not (newest and newest[0].stem.endswith(f"-g{self.catalog.generation}")):
            self.backup_catalog()

    # --- keeping derived indexes in step ------------------------------------------------------
    def sync(self, progress: Progress | None = None, verify: bool = False) -> int:
        """Embed chunks that have no vector yet, drop vectors of removed chunks, rebuild BM25 if stale.

        Runs after every ingest, so an interrupted one is finished by the next. Vectors that went missing
        (a deleted or damaged Chroma folder) are made again, vectors no chunk owns are dropped. One
        process at a time per store: a second one waits, then finds nothing left to embed. `verify`
        compares every chunk id with Chroma, not only the counts (the doctor's fix). Returns chunks
        embedded.
        """
        waiting = f"waiting for another ingest on this store ({self.root}) to finish..."
        with self.locked("ingest", waiting):
            catalog, embedded = self.catalog, 0
            if self.embedder is not None:
                catalog.use_embedder(self.embedder.name)
                vectors = self.open_vectors(rebuild=True)
                removed = catalog.removed_chunks()
                if removed:
                    vectors.delete(removed)
                    catalog.forget_removed(removed)
                if verify or vectors.count() != catalog.embedded_count():  # cheap test; full diff on a mismatch
                    self.repair_vectors(*self.vector_drift())
                total = catalog.pending_count()
                while True:
                    batch = catalog.pending_chunks(self.settings.embed_batch)
                    if not batch:
                        break
                    ids, keys, texts, years = (list(x) for x in zip(*batch))
                    embeddings = self.embedder.embed(texts)
                    vectors.upsert(ids, embeddings, keys, years)
                    with catalog.transaction():
                        catalog.mark_embedded(ids)
                    embedded += len(ids)
                    if progress:
                        progress("embedding", embedded, total)
            self.refresh_keyword_index(progress)
            self._backup_if_changed()
        return embedded

    def open_vectors(self, rebuild: bool = False):  # type: ignore[no-untyped-def]
        """The Chroma collection. If it cannot be read: raise `VectorsUnavailable`, or with `rebuild`
        start it again empty and mark every chunk to re-embed (the catalog keeps every text)."""
        try:
            vectors = self.vectors
            vectors.count()  # a damaged Chroma often opens and fails only at the first read
            return vectors
        except VectorsUnavailable as exc:
            if not rebuild:
                raise
            self.notify(f"note: {exc}; making them again from the catalog")
        self.backup_catalog()
        with self.catalog.transaction():
            self.catalog.mark_pending()
        if self._vectors is not None:
            self._vectors.reset()
        else:  # it did not even open: clear the folder and open afresh
            from agent.store.vectors import remove_local

            remove_local(self.root / "chroma")
        return self.vectors

    def vector_drift(self) -> tuple[list[str], list[str]]:
        """(chunks marked embedded whose vector is not in Chroma, vectors in Chroma no chunk owns)."""
        stored = self.vectors.ids()  # read before the catalog: a chunk added meanwhile is not an orphan
        embedded, every = self.catalog.chunk_ids(embedded=True), self.catalog.chunk_ids()
        return sorted(embedded - stored), sorted(stored - every)

    def repair_vectors(self, missing: list[str], orphans: list[str]) -> None:
        """Mark chunks whose vector went missing to re-embed; delete vectors no chunk owns."""
        if missing:
            with self.catalog.transaction():
                self.catalog.mark_pending(missing)
        if orphans:
            self.vectors.delete(orphans)

    def refresh_keyword_index(self, progress: Progress | None = None, force: bool = False) -> None:
        """Rebuild BM25 from the catalog when it is stale, missing or unreadable (it is cheap)."""
        generation = self.catalog.generation
        if not force and self.keyword.built_generation() == generation and self.keyword.problem() is None:
            return
        with self.locked("keyword", "waiting for another process to rebuild the keyword index..."):
            # Another process may have rebuilt it while this one waited.
            problem = self.keyword.problem()
            if not force and self.keyword.built_generation() == generation and problem is None:
                return
            if problem and problem != "missing" and not force:
                self.notify(f"note: the keyword index at {self.keyword.folder} was {problem}; rebuilt it from the catalog")
            if progress:
                progress("keyword index", 0, 1)
            self.keyword.build(list(self.catalog.chunk_texts()), generation)
            if progress:
                progress("keyword index", 1, 1)

    @property
    def holds_vectors(self) -> bool:
        """True when the store's vectors were made by this embedder (False in a keyword-only store)."""
        return self.embedder is not None and embedder_name(self.settings.embedding_model) == self.catalog.meta("embedder")

    def paper_vectors(self, keys: list[str]) -> dict[str, list[float]] | None:
        """One vector per paper (its title+abstract chunk), stored or computed; None in a keyword-only store."""
        if self.embedder is None:
            return None
        stored = self.vectors.get([f"{k}#abstract" for k in keys]) if self.holds_vectors else {}
        found = {cid.rsplit("#", 1)[0]: vec for cid, vec in stored.items()}
        missing = [k for k in keys if k not in found]
        if missing:
            from agent.store.chunking import abstract_text

            papers = [p for p in self.catalog.papers(missing)]
            for paper, vec in zip(papers, self.embedder.embed([abstract_text(p) for p in papers])):
                found[paper.key] = vec
        return found

    def embed_text(self, text: str) -> list[float] | None:
        """The embedder's vector of a text (a topic, an abstract); None in a keyword-only store."""
        return self.embedder.embed([text])[0] if self.embedder is not None else None

    # --- search -----------------------------------------------------------------------------
    def _dense(self, query: str, depth: int, keys: set[str] | None) -> list[tuple[str, float]]:
        """Nearest chunks by embedding; says once when Chroma holds fewer vectors than the catalog expects."""
        vectors = self.vectors
        if not self._vectors_checked:
            self._vectors_checked = True
            held, expected = vectors.count(), self.catalog.embedded_count()
            if held < expected:
                self.notify(f"warning: the vectors at {vectors.where} hold {held} of {expected} chunks, so meaning-based "
                            f"results are incomplete; {FIX_HINT}")
        vector = self.embedder.embed([query])[0]  # type: ignore[union-attr]
        # A big key filter is cheaper applied after the query than sent to Chroma as a list.
        small = keys if keys is not None and len(keys) <= 2000 else None
        dense = vectors.query(vector, depth * (1 if keys is None or small is not None else 4), small)
        return [(c, s) for c, s in dense if keys is None or c.rsplit("#", 1)[0] in keys]

    def require_papers(self) -> None:
        """Raise a one-line error when there is no store at this path, or it holds no papers."""
        if not self.root.exists():
            raise EmptyStoreError(f"no store at {self.root}: check --store / SURVEY_STORE, or create one with "
                                  f"`survey ingest PATH --store {self.root}`")
        if not self.exists() or self.catalog.count() == 0:
            raise EmptyStoreError(f"no papers in the store at {self.root} yet; run `survey ingest PATH` first")

    def search(
        self,
        query: str,
        k: int,
        filters: Filters | None = None,
        mode: str = "hybrid",
    ) -> list[SearchHit]:
        """Papers for a query: BM25 and dense chunk rankings fused by reciprocal rank."""
        if not query.strip():
            raise SurveyError("empty query; say what to search for")
        self.require_papers()
        self.refresh_keyword_index()
        keys = self.catalog.keys_where(filters) if filters is not None and filters.active else None
        if keys is not None and not keys:
            return []  # nothing passes the filters (and Chroma refuses an empty `$in`)
        depth = max(50, 5 * k)
        names: list[str] = []
        chunk_lists: list[list[tuple[str, float]]] = []
        if mode in ("hybrid", "keyword"):
            names.append("keyword")
            try:
                chunk_lists.append(self.keyword.search(query, depth, keys))
            except KeywordIndexDamaged as exc:  # damage deep in its arrays shows only now: rebuild, once
                self.notify(f"note: {exc}; rebuilt it from the catalog")
                self.refresh_keyword_index(force=True)
                chunk_lists.append(self.keyword.search(query, depth, keys))
        # Dense search only where this store holds vectors of this embedder (not in a keyword-only store).
        has_vectors = self.holds_vectors
        if mode == "dense" and not has_vectors:
            raise SurveyError(
                f"the store {self.root} has no vectors for {self.settings.embedding_model!r}; "
                "run `survey ingest` without --keyword-only"
            )
        if mode in ("hybrid", "dense") and has_vectors:
            try:
                dense = self._dense(query, depth, keys)
            except VectorsUnavailable as exc:
                if mode == "dense":
                    raise StoreDamaged(f"{exc}; {FIX_HINT}") from None
                self.notify(f"warning: {exc}; searching by keywords only — {FIX_HINT}")
            else:
                names.append("dense")
                chunk_lists.append(dense)
        all_ids = list({cid for lst in chunk_lists for cid, _ in lst})
        info = self.catalog.chunks_by_id(all_ids)  # stale vectors of deleted chunks drop out here
        chunk_key = {cid: v[0] for cid, v in info.items()}
        rankings = [papers_in_order(lst, chunk_key) for lst in chunk_lists]
        hits = []
        for key, score, cid, ranks in fuse(rankings, k):
            by_name = dict(zip(names, ranks))
            paper = self.catalog.get(key)
            if paper is None:
                continue
            if info[cid][1] == "title":  # a title says little: show the abstract around the query words
                cid = f"{key}#abstract"
            section, _, text = self.catalog.chunk(cid) or ("", "", "")
            hits.append(
                SearchHit(
                    key=key,
                    title=paper.title,
                    score=round(score, 6),
                    snippet=snippet(text, query),
                    year=paper.year,
                    source=paper.source,
                    chunk_id=cid,
                    section=section,
                    keyword_rank=by_name.get("keyword"),
                    dense_rank=by_name.get("dense"),
                )
            )
        return hits
