"""The catalog: papers, chunks and ingested files in SQLite, the store's source of truth.

Vectors (Chroma) and the keyword index are derived from it and caught up after every ingest, so an
interrupted ingest resumes from here. It is also what lets `survey papers` answer without loading
Chroma.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.chunking import Chunk
from agent.paper import Paper

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    key TEXT PRIMARY KEY COLLATE NOCASE,
    arxiv_id TEXT, doi TEXT, norm_title TEXT NOT NULL, year INTEGER,
    data TEXT NOT NULL, added REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_arxiv ON papers(arxiv_id);
CREATE INDEX IF NOT EXISTS papers_doi ON papers(doi);
CREATE INDEX IF NOT EXISTS papers_title ON papers(norm_title);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, key TEXT NOT NULL COLLATE NOCASE, ord INTEGER NOT NULL,
    kind TEXT NOT NULL, section TEXT NOT NULL, text TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_key ON chunks(key);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(embedded) WHERE embedded = 0;
CREATE TABLE IF NOT EXISTS removed_chunks (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, papers INTEGER NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    papers: int


class Catalog:
    """SQLite catalog at `<store>/catalog.sqlite`."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions only
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: an interrupted file leaves the catalog as it was before the file."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- meta -------------------------------------------------------------------------------
    def meta(self, name: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else default

    def set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", (name, value))

    @property
    def generation(self) -> int:
        """Bumped whenever chunk text changes; the keyword index records the one it was built at."""
        return int(self.meta("generation", "0"))

    def _bump(self) -> None:
        self.set_meta("generation", str(self.generation + 1))

    # --- papers -----------------------------------------------------------------------------
    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]

    def count_undated(self) -> int:
        """Papers without a year: a year filter leaves them out."""
        return self.db.execute("SELECT COUNT(*) FROM papers WHERE year IS NULL").fetchone()[0]

    def key_taken(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM papers WHERE key = ?", (key,)).fetchone() is not None

    def find(self, paper: Paper) -> Paper | None:
        """The stored paper this one duplicates: same arXiv id, DOI, or normalized title."""
        for column, value in (("arxiv_id", paper.arxiv_id), ("doi", paper.doi), ("norm_title", paper.norm_title)):
            if value:
                row = self.db.execute(f"SELECT data FROM papers WHERE {column} = ? LIMIT 1", (value,)).fetchone()
                if row:
                    return Paper.from_dict(json.loads(row[0]))
        return None

    def keys(self) -> list[str]:
        """Every citation key, without loading the papers."""
        return [r[0] for r in self.db.execute("SELECT key FROM papers")]

    def titles(self) -> dict[str, str]:
        """Normalized title -> key, for resolving references that name a paper by title."""
        return {r[0]: r[1] for r in self.db.execute("SELECT norm_title, key FROM papers") if r[0]}

    def get(self, key: str) -> Paper | None:
        row = self.db.execute("SELECT data FROM papers WHERE key = ?", (key,)).fetchone()
        return Paper.from_dict(json.loads(row[0])) if row else None

    def papers(self, keys: list[str] | None = None) -> list[Paper]:
        """Stored papers in the order they were added (or of `keys`), without full text."""
        if keys is None:
            rows = self.db.execute("SELECT data FROM papers ORDER BY added, rowid").fetchall()
            found = [Paper.from_dict(json.loads(r[0])) for r in rows]
        else:
            found = [p for p in (self.get(k) for k in keys) if p is not None]
        for paper in found:
            paper.full_text = None
        return found

    def put(self, paper: Paper, chunks: list[Chunk], is_new: bool) -> None:
        """Insert or replace a paper and its chunks; unchanged chunk text keeps its vector."""
        now = time.time()
        data = json.dumps(paper.to_dict(full_text=True), ensure_ascii=False)
        if is_new:
            self.db.execute(
                "INSERT INTO papers(key, arxiv_id, doi, norm_title, year, data, added, updated) VALUES (?,?,?,?,?,?,?,?)",
                (paper.key, paper.arxiv_id, paper.doi, paper.norm_title, paper.year, data, now, now),
            )
            old: dict[str, str] = {}
        else:
            self.db.execute(
                "UPDATE papers SET arxiv_id=?, doi=?, norm_title=?, year=?, data=?, updated=? WHERE key=?",
                (paper.arxiv_id, paper.doi, paper.norm_title, paper.year, data, now, paper.key),
            )
            old = dict(self.db.execute("SELECT id, text FROM chunks WHERE key = ?", (paper.key,)).fetchall())
        changed = [c for c in chunks if old.get(c.id) != c.text]
        gone = [cid for cid in old if cid not in {c.id for c in chunks}]
        if gone:
            self.db.executemany("DELETE FROM chunks WHERE id = ?", [(cid,) for cid in gone])
            self.db.executemany("INSERT OR IGNORE INTO removed_chunks(id) VALUES (?)", [(cid,) for cid in gone])
        if changed:
            self.db.executemany(
                "INSERT OR REPLACE INTO chunks(id, key, ord, kind, section, text, embedded) VALUES (?,?,?,?,?,?,0)",
                [(c.id, c.key, c.ord, c.kind, c.section, c.text) for c in changed],
            )
        if changed or gone:
            self._bump()

    def keys_where(self, year_from: int | None, year_to: int | None, source: str | None) -> set[str]:
        """Keys of papers passing the search filters."""
        sql, args = "SELECT key, data FROM papers WHERE 1=1", []
        if year_from is not None:
            sql, args = sql + " AND year >= ?", [*args, year_from]
        if year_to is not None:
            sql, args = sql + " AND year <= ?", [*args, year_to]
        rows = self.db.execute(sql, args).fetchall()
        if source:
            needle = source.lower()
            return {k for k, d in rows if any(needle in s.lower() for s in json.loads(d).get("sources", []))}
        return {k for k, _ in rows}

    def remove(self, keys: list[str]) -> list[str]:
        """Delete papers and their chunks (call inside a transaction); their vectors go at the next sync."""
        removed = []
        for key in keys:
            row = self.db.execute("SELECT key FROM papers WHERE key = ?", (key,)).fetchone()
            if row is None:
                continue
            ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE key = ?", (row[0],))]
            self.db.executemany("INSERT OR IGNORE INTO removed_chunks(id) VALUES (?)", [(i,) for i in ids])
            self.db.execute("DELETE FROM chunks WHERE key = ?", (row[0],))
            self.db.execute("DELETE FROM papers WHERE key = ?", (row[0],))
            removed.append(row[0])
        if removed:
            self._bump()
        return removed

    def from_source(self, path: str) -> tuple[list[str], list[str]]:
        """Keys of papers read from file `path`: (only from it, also from other files)."""
        only, shared = [], []
        for key, data in self.db.execute("SELECT key, data FROM papers"):
            sources = json.loads(data).get("sources", [])
            if path in sources:
                (only if set(sources) == {path} else shared).append(key)
        return only, shared

    def drop_source(self, key: str, path: str) -> None:
        """Forget that paper `key` was read from `path` (it stays: another file has it too)."""
        paper = self.get(key)
        if paper is not None:
            paper.sources = [s for s in paper.sources if s != path]
            paper.source = paper.sources[0] if paper.source == path and paper.sources else paper.source
            data = json.dumps(paper.to_dict(full_text=True), ensure_ascii=False)
            self.db.execute("UPDATE papers SET data = ? WHERE key = ?", (data, key))

    def forget_file(self, path: str) -> None:
        """Drop a file's record, so ingesting it again reads it again."""
        self.db.execute("DELETE FROM files WHERE path = ?", (path,))

    # --- chunks -----------------------------------------------------------------------------
    def chunk_texts(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, paper key, text) for every chunk: what the keyword index is built from."""
        yield from self.db.execute("SELECT id, key, text FROM chunks ORDER BY rowid")

    def chunks_by_id(self, ids: list[str]) -> dict[str, tuple[str, str, str]]:
        """chunk id -> (paper key, kind, text) for the ids that still exist."""
        found: dict[str, tuple[str, str, str]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT id, key, kind, text FROM chunks WHERE id IN ({marks})", part):
                found[row[0]] = (row[1], row[2], row[3])
        return found

    def chunk(self, chunk_id: str) -> tuple[str, str, str] | None:
        """(section, kind, text) of one chunk."""
        return self.db.execute("SELECT section, kind, text FROM chunks WHERE id = ?", (chunk_id,)).fetchone()

    def pending_chunks(self, limit: int) -> list[tuple[str, str, str, int | None]]:
        """Chunks whose vectors are not in Chroma yet: (id, key, text, year)."""
        return self.db.execute(
            "SELECT c.id, c.key, c.text, p.year FROM chunks c JOIN papers p ON p.key = c.key"
            " WHERE c.embedded = 0 ORDER BY c.rowid LIMIT ?",
            (limit,),
        ).fetchall()

    def pending_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 0").fetchone()[0]

    def mark_embedded(self, ids: list[str]) -> None:
        self.db.executemany("UPDATE chunks SET embedded = 1 WHERE id = ?", [(i,) for i in ids])

    def removed_chunks(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM removed_chunks")]

    def forget_removed(self, ids: list[str]) -> None:
        self.db.executemany("DELETE FROM removed_chunks WHERE id = ?", [(i,) for i in ids])

    def use_embedder(self, name: str) -> None:
        """Vectors of another model are useless: switching models marks every chunk to re-embed."""
        if self.meta("embedder") != name:
            with self.transaction():
                self.db.execute("UPDATE chunks SET embedded = 0")
                self.set_meta("embedder", name)

    # --- files ------------------------------------------------------------------------------
    def file(self, path: str) -> FileRecord | None:
        row = self.db.execute("SELECT path, sha256, papers FROM files WHERE path = ?", (path,)).fetchone()
        return FileRecord(*row) if row else None

    def set_file(self, path: str, sha256: str, size: int, papers: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files(path, sha256, size, papers, updated) VALUES (?,?,?,?,?)",
            (path, sha256, size, papers, time.time()),
        )
