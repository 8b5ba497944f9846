"""`survey doctor`: check that catalog, keyword index and vectors agree, and rebuild what can be rebuilt.

The catalog is the source of truth; the keyword index and the Chroma vectors are derived from it, so
either can always be made again. A catalog SQLite cannot read is restored from the newest backup in
`<store>/backups/`; without one, what was lost is said plainly, with how to get it back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

from agent.core.errors import SurveyError
from agent.store.catalog import Catalog, backups, check_integrity
from agent.store.embeddings import embedder_name
from agent.store.store import Store
from agent.store.vectors import VectorsUnavailable


# The JSON shape of `DoctorReport.to_dict` (docs/schema/ is generated from it by agent.schema).
class DoctorCheckShape(TypedDict):
    name: str  # catalog | keyword index | vectors | backups
    ok: bool  # healthy as found
    found: str
    todo: str  # what the user can do, when not ok and not fixed
    done: str  # what --fix did
    fixed: bool
    healthy: bool  # ok, or fixed


class DoctorShape(TypedDict):
    """`survey doctor --json`."""

    store: str
    fix: bool
    healthy: bool
    checks: list[DoctorCheckShape]


@dataclass
class Check:
    """One part of the store: what was found, what to do about it, what `--fix` did."""

    name: str
    ok: bool  # healthy as found
    found: str
    todo: str = ""  # what the user can do (when not ok and not fixed)
    done: str = ""  # what --fix did
    fixed: bool = False

    @property
    def healthy(self) -> bool:
        return self.ok or self.fixed


@dataclass
class DoctorReport:
    """Every check of one store; `healthy` when each part is fine as found or after the fix."""

    store: str
    fix: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.checks)

    def to_dict(self) -> DoctorShape:
        """The JSON shape of `survey doctor --json`."""
        return {"store": self.store, "fix": self.fix, "healthy": self.healthy,
                "checks": [{**asdict(c), "healthy": c.healthy} for c in self.checks]}


def diagnose(store: Store, fix: bool = False) -> DoctorReport:
    """Check (and with `fix`, repair) the catalog, then the keyword index and the vectors against it."""
    if not store.root.is_dir():
        raise SurveyError(f"no store at {store.root}: check --store / SURVEY_STORE")
    report = DoctorReport(str(store.root), fix)
    catalog = _check_catalog(store, fix)
    report.checks.append(catalog)
    if not catalog.healthy and not catalog.done:
        return report  # the derived parts cannot be compared with a catalog that cannot be read
    keyword = _check_keyword(store, fix=False)
    vectors = _check_vectors(store, fix=False)
    if fix and not (keyword.ok and vectors.ok):
        store.backup_catalog()  # before any rebuild, so a fix never costs what the catalog held
        keyword = keyword if keyword.ok else _check_keyword(store, fix=True)
        vectors = vectors if vectors.ok else _check_vectors(store, fix=True)
    report.checks += [keyword, vectors]
    newest = backups(store.backups_folder)
    report.checks.append(Check("backups", True, f"{len(newest)} in {store.backups_folder}, newest {newest[0].name}"
                               if newest else "none yet (one is taken after every ingest that changes the catalog)"))
    return report


# --- catalog -------------------------------------------------------------------------------------
def _check_catalog(store: Store, fix: bool) -> Check:
    path = store.root / "catalog.sqlite"
    problem = check_integrity(path) if path.exists() else "missing"
    if problem == "ok":
        catalog = store.catalog
        mode = catalog.db.execute("PRAGMA journal_mode").fetchone()[0]
        return Check("catalog", True, f"ok: {catalog.count()} papers, {len(catalog.chunk_ids())} chunks "
                                      f"(integrity check passed, {mode} journal)")
    newest = backups(store.backups_folder)
    found = f"{path} is {problem}" if problem == "missing" else f"{path} is damaged ({problem})"
    if not fix:
        todo = (f"run `survey doctor --fix`: it restores the newest backup, {newest[0].name}" if newest else
                "no backup exists: run `survey doctor --fix` to set the damaged file aside and start an empty "
                "catalog, then `survey ingest` your sources again")
        return Check("catalog", False, found, todo=todo)
    with store.locked("ingest", "waiting for an ingest on this store to finish before repairing it..."):
        store.close()
        kept = _set_aside(path) if problem != "missing" else None
        aside = f"; the damaged file is kept as {kept.name}" if kept else ""
        for backup in newest:
            if check_integrity(backup) == "ok":
                tmp = path.with_name(f".{path.name}.{os.getpid()}.restore")
                shutil.copyfile(backup, tmp)
                os.replace(tmp, path)
                taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
                return Check("catalog", False, found, fixed=True, done=(
                    f"restored from backup {backup.name} (taken {taken}){aside}; papers added after it are "
                    "missing: run `survey ingest` on your sources again to bring them back"))
        sources = _readable_sources(kept)
        Catalog(path).close()  # an empty catalog, so the derived parts can be brought in line with it
    listed = f": {', '.join(sources[:10])}" + (" ..." if len(sources) > 10 else "") if sources else ""
    return Check("catalog", False, found, done=f"no usable backup: started an empty catalog{aside}",
                 todo=f"every paper was lost from the catalog; run `survey ingest` on your sources again{listed}")


def _set_aside(path: Path) -> Path:
    """Move a damaged catalog (and its WAL files, which must never meet a restored copy) out of the way."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            os.replace(part, Path(f"{target}{suffix}"))
    return target


def _readable_sources(damaged: Path | None) -> list[str]:
    """The source files a damaged catalog still names, if SQLite can read that table."""
    if damaged is None:
        return []
    try:
        db = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
        try:
            return [r[0] for r in db.execute("SELECT path FROM files ORDER BY path")]
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return []


# --- keyword index -------------------------------------------------------------------------------
def _keyword_problem(store: Store) -> str | None:
    problem = store.keyword.problem()
    if problem:
        return problem
    generation, built = store.catalog.generation, store.keyword.built_generation()
    if built != generation:
        return f"stale (built at catalog generation {built}, the catalog is at {generation})"
    held, expected = store.keyword.chunk_ids(), store.catalog.chunk_ids()
    if len(held) != len(set(held)) or set(held) != expected:
        extra, lacking = len(set(held) - expected), len(expected - set(held))
        return f"out of step with the catalog ({lacking} chunks missing, {extra} it should not have)"
    return None


def _check_keyword(store: Store, fix: bool) -> Check:
    problem = _keyword_problem(store)
    if problem is None:
        return Check("keyword index", True, f"ok: {len(store.keyword.chunk_ids())} chunks, same as the catalog")
    found = f"{store.keyword.folder} is {problem}"
    if not fix:
        return Check("keyword index", False, found, todo="run `survey doctor --fix` (or any search) to rebuild it")
    store.refresh_keyword_index(force=True)
    left = _keyword_problem(store)
    if left:
        return Check("keyword index", False, found, done="rebuilt it", todo=f"still {left}; remove {store.keyword.folder}")
    return Check("keyword index", False, found, fixed=True,
                 done=f"rebuilt it from the catalog ({len(store.keyword.chunk_ids())} chunks)")


# --- vectors -------------------------------------------------------------------------------------
def _vector_problems(store: Store) -> list[str]:
    missing, orphans = store.vector_drift()
    pending, removed = store.catalog.pending_count(), len(store.catalog.removed_chunks())
    problems = []
    if missing:
        problems.append(f"{len(missing)} chunks marked embedded have no vector")
    if orphans:
        problems.append(f"{len(orphans)} vectors belong to no chunk")
    if pending:
        problems.append(f"{pending} chunks wait to be embedded")
    if removed:
        problems.append(f"{removed} vectors of removed chunks wait to be deleted")
    return problems


def _check_vectors(store: Store, fix: bool) -> Check:
    made_by = store.catalog.meta("embedder")
    if not made_by:
        return Check("vectors", True, "none: a keyword-only store")
    if embedder_name(store.settings.embedding_model) != made_by:
        return Check("vectors", True, f"not checked: they were made by {made_by!r}, this run uses "
                                      f"{store.settings.embedding_model!r} (set SURVEY_EMBEDDING_MODEL to check them)")
    try:
        store.open_vectors()
        problems = _vector_problems(store)
    except VectorsUnavailable as exc:
        problems = [str(exc)]
    if not problems:
        return Check("vectors", True, f"ok: {store.vectors.count()} vectors, one per catalog chunk")
    found = "; ".join(problems)
    if not fix:
        return Check("vectors", False, found, todo="run `survey doctor --fix` (or `survey ingest` again) to "
                                                   "embed what is missing and delete what no chunk owns")
    try:
        orphans = len(store.vector_drift()[1])
    except VectorsUnavailable:  # rebuilt from nothing: no vector to delete
        orphans = 0
    embedded = store.sync(verify=True)
    left = _vector_problems(store)
    done = f"embedded {embedded} chunks" + (f", deleted {orphans} vectors no chunk owns" if orphans else "")
    if left:
        return Check("vectors", False, found, done=done, todo=f"still: {'; '.join(left)}")
    return Check("vectors", False, found, fixed=True, done=done)
