"""The catalog: papers, chunks and ingested files in SQLite, the store's source of truth.

Vectors (Chroma) and the keyword index are derived from it and caught up after every ingest, so an
interrupted ingest resumes from here. It is also what lets `survey papers` answer without loading
Chroma.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.errors import StoreDamaged
from agent.core.paper import Paper
from agent.store.chunking import Chunk
from agent.store.search import Filters

# Bumped with every change to _SCHEMA; a catalog made before one is backed up before it is changed.
SCHEMA_VERSION = 1
BACKUPS_KEPT = 2
_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT ("disk image is malformed"), SQLITE_NOTADB ("file is not a database")

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


class CatalogDamaged(StoreDamaged):
    """The catalog file itself is broken (truncated, overwritten): only a backup or a re-ingest helps."""

    def __init__(self, path: Path | str, cause: Exception) -> None:
        super().__init__(f"the catalog at {path} is damaged ({cause}); run `survey doctor --fix`")


def is_damage(exc: BaseException) -> bool:
    """Whether an sqlite3 error means a damaged file (not a lock, a constraint or a bug)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return (code & 0xFF) in _DAMAGE_CODES if code is not None else type(exc) is sqlite3.DatabaseError


class _Cursor(sqlite3.Cursor):
    """A cursor that reports a damaged file as `CatalogDamaged`, wherever in a query SQLite finds it
    (running a statement, or fetching a row from a damaged page)."""

    def _damaged(self, exc: sqlite3.DatabaseError) -> Exception:
        return CatalogDamaged(getattr(self.connection, "path", "?"), exc) if is_damage(exc) else exc


def _reporting_damage(name: str) -> Any:
    method = getattr(sqlite3.Cursor, name)

    def wrapped(self: _Cursor, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc

    wrapped.__name__ = name
    return wrapped


for _name in ("execute", "executemany", "executescript", "fetchone", "fetchall", "__next__"):
    setattr(_Cursor, _name, _reporting_damage(_name))


class _Connection(sqlite3.Connection):
    """Every statement runs through `_Cursor`, so damage is one clear error, never a traceback."""

    path: Path | str = "?"

    def execute(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self.cursor(_Cursor).execute(*args)

    def executemany(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self.cursor(_Cursor).executemany(*args)

    def executescript(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self.cursor(_Cursor).executescript(*args)


def check_integrity(path: Path) -> str:
    """"ok", or what SQLite's `PRAGMA integrity_check` (or opening the file) found wrong."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "ok" if rows == ["ok"] else "; ".join(rows)


def backups(folder: Path) -> list[Path]:
    """Catalog backups in `folder`, newest first."""
    return sorted(folder.glob("catalog-*.sqlite"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


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
        self._local = threading.local()
        self._connections: list[_Connection] = []
        self._lock = threading.Lock()
        self._use_wal()
        if self._schema_version() < SCHEMA_VERSION:
            self._update_schema(path.parent / "backups")

    def _use_wal(self, patience: float = 60.0) -> None:
        """WAL (kept by the file): readers never block the writer, a crash mid-write leaves the last commit intact.

        Switching a file to WAL takes an exclusive lock, and SQLite answers "database is locked" at once, without
        waiting, while another process opens the same new file: try again (2 of 180 processes failed when three
        opened a new store together on a loaded machine)."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _update_schema(self, backups_folder: Path) -> None:
        """Create or update the tables in one transaction. Two processes opening a new store at once must
        never see each other's half-made schema (one once found `papers` made but not `meta`)."""
        tables = self.db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if tables and self._schema_version() < SCHEMA_VERSION:
            self.backup(backups_folder)  # an existing catalog: keep it as it was before the change
        with self.transaction():
            if self._schema_version() >= SCHEMA_VERSION:  # another process got there first
                return
            for statement in filter(str.strip, _SCHEMA.split(";")):  # DDL is transactional in SQLite
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def db(self) -> "_Connection":
        """This thread's connection. A SQLite connection must not be shared by threads that may run at once
        (one agent serving several threads, the MCP server's workers); WAL lets them read side by side."""
        db = getattr(self._local, "db", None)
        if db is None:
            # Explicit transactions only; another process's ingest transaction may take a while to commit.
            db = sqlite3.connect(self.path, isolation_level=None, timeout=60, factory=_Connection,
                                 check_same_thread=False)  # only so that close() may close it from any thread
            db.path = self.path
            db.execute("PRAGMA synchronous=NORMAL")
            with self._lock:
                self._connections.append(db)
            self._local.db = db
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def backup(self, folder: Path, keep: int = BACKUPS_KEPT) -> Path:
        """A consistent copy through SQLite's online backup API; only the newest `keep` are kept.

        Written under a temporary name and renamed, so a backup is either whole or absent.
        """
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = folder / f"catalog-{stamp}-g{self.generation}.sqlite"
        tmp = folder / f".{target.name}.{os.getpid()}.tmp"
        copy = sqlite3.connect(tmp)
        try:
            self.db.backup(copy)
        except sqlite3.DatabaseError as exc:
            copy.close()
            tmp.unlink(missing_ok=True)
            raise CatalogDamaged(self.path, exc) from exc
        copy.close()
        os.replace(tmp, target)
        for old in backups(folder)[keep:]:
            old.unlink(missing_ok=True)
        return target

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

    def keys_where(self, filters: Filters) -> set[str]:
        """Keys of papers passing the search filters."""
        sql, args = "SELECT key, data FROM papers WHERE 1=1", []
        if filters.year_from is not None:
            sql, args = sql + " AND year >= ?", [*args, filters.year_from]
        if filters.year_to is not None:
            sql, args = sql + " AND year <= ?", [*args, filters.year_to]
        rows = self.db.execute(sql, args).fetchall()
        if filters.source:
            needle = filters.source.lower()
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

    def embedded_count(self) -> int:
        """Chunks the catalog says have a vector in Chroma."""
        return self.db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0]

    def chunk_ids(self, embedded: bool | None = None) -> set[str]:
        """Every chunk id (or only those marked embedded / pending): what the derived indexes must hold."""
        where = "" if embedded is None else f" WHERE embedded = {int(embedded)}"
        return {r[0] for r in self.db.execute(f"SELECT id FROM chunks{where}")}

    def mark_pending(self, ids: list[str] | None = None) -> None:
        """Re-embed these chunks (all chunks when `ids` is None) at the next sync: their vectors are gone."""
        if ids is None:
            self.db.execute("UPDATE chunks SET embedded = 0")
        else:
            self.db.executemany("UPDATE chunks SET embedded = 0 WHERE id = ?", [(i,) for i in ids])

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
