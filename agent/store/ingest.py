"""Ingest: files -> papers (deduplicated, keyed) -> catalog -> vectors and keyword index."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import TypedDict  # pydantic needs this one, not typing's, before Python 3.12

from agent.core.hashing import sha256
from agent.core.paper import Paper
from agent.sources import SUFFIXES, Rejection, SourceError, parse_file
from agent.store.catalog import Catalog
from agent.store.chunking import chunk_paper
from agent.store.keys import assign_key
from agent.store.store import Progress


# The JSON shape of `IngestReport.to_dict` (docs/schema/ is generated from it by agent.schema).
class RejectionShape(TypedDict):
    file: str
    line: int | None
    reason: str


class FileShape(TypedDict):
    path: str
    new: int
    updated: int
    duplicate: int
    unchanged: bool
    skipped: int
    error: str | None


class IngestShape(TypedDict):
    """`survey ingest --json`, MCP `ingest`."""

    new: int
    updated: int
    duplicate: int
    skipped_unchanged: int
    rejected: list[RejectionShape]
    embedded_chunks: int
    papers_in_store: int
    files: list[FileShape]


@dataclass
class FileReport:
    """What happened to one file."""

    path: str
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    unchanged: bool = False
    skipped: int = 0  # papers of an unchanged file: not read again, so neither new nor duplicate
    rejected: list[Rejection] = field(default_factory=list)
    error: str | None = None


@dataclass
class IngestReport:
    """Totals over all files of one ingest."""

    files: list[FileReport] = field(default_factory=list)
    embedded: int = 0
    seconds: float = 0.0
    papers_in_store: int = 0

    @property
    def new(self) -> int:
        return sum(f.new for f in self.files)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.files)

    @property
    def duplicate(self) -> int:
        return sum(f.duplicate for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def rejected(self) -> list[Rejection]:
        out: list[Rejection] = []
        for f in self.files:
            out += f.rejected
            if f.error:
                out.append(Rejection(f.path, f.error))
        return out

    def to_dict(self) -> IngestShape:
        """The JSON shape of `survey ingest --json` (and the MCP tool): docs/schema/ingest.json."""
        return {
            "new": self.new,
            "updated": self.updated,
            "duplicate": self.duplicate,
            "skipped_unchanged": self.skipped,
            "rejected": [{"file": r.file, "line": r.line, "reason": r.reason} for r in self.rejected],
            "embedded_chunks": self.embedded,
            "papers_in_store": self.papers_in_store,
            "files": [
                {"path": f.path, "new": f.new, "updated": f.updated, "duplicate": f.duplicate,
                 "unchanged": f.unchanged, "skipped": f.skipped, "error": f.error}
                for f in self.files
            ],
        }


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus paper files inside named folders (sorted, hidden files skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith(SUFFIXES) and not p.name.startswith(".")
            )
        else:
            found.append(path)
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError("no such file") from exc
    except IsADirectoryError as exc:
        raise SourceError("is a directory") from exc
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror})") from exc


def merge_papers(
    catalog: Catalog, papers: list[Paper], report: FileReport, chunking: tuple[int, int], progress: Progress | None = None
) -> None:
    """Add each paper, or merge it into the stored paper it duplicates."""
    for n, paper in enumerate(papers, start=1):
        if progress and (n % 1000 == 0 or n == len(papers)):
            progress(f"cataloguing {Path(report.path).name}", n, len(papers))
        stored = catalog.find(paper)
        if stored is None:
            paper.key = assign_key(paper, catalog.key_taken)
            catalog.put(paper, chunk_paper(paper, *chunking), is_new=True)
            report.new += 1
            continue
        merged = stored.merged_with(paper)
        before, after = stored.to_dict(full_text=True), merged.to_dict(full_text=True)
        if before != after:
            catalog.put(merged, chunk_paper(merged, *chunking), is_new=False)
        # Being listed in one more file is not an update; a better abstract or new metadata is.
        before.pop("sources"), after.pop("sources")
        if before == after:
            report.duplicate += 1
        else:
            report.updated += 1


def ingest_file(
    catalog: Catalog, path: Path, fmt: str | None, chunking: tuple[int, int], progress: Progress | None = None
) -> FileReport:
    """Parse and store one file in one transaction; an unchanged file is skipped."""
    report = FileReport(str(path))
    try:
        data = _read(path)
        digest = sha256(data)
        ident = str(path.resolve())
        known = catalog.file(ident)
        if known and known.sha256 == digest:
            report.unchanged, report.skipped = True, known.papers
            return report
        parsed = parse_file(path, data, fmt)
    except SourceError as exc:
        report.error = str(exc)
        return report
    except Exception as exc:  # a parser bug on one file must not cost the files after it
        detail = " ".join(str(exc).split())[:160]
        report.error = f"could not be parsed ({type(exc).__name__}: {detail}); other files are unaffected, please report this"
        return report
    report.rejected = parsed.rejected
    for paper in parsed.papers:  # the resolved path: the same file reached from elsewhere is the same source
        paper.source, paper.sources = ident, [ident]
    with catalog.transaction():
        merge_papers(catalog, parsed.papers, report, chunking, progress if len(parsed.papers) >= 1000 else None)
        catalog.set_file(ident, digest, len(data), len(parsed.papers))
    return report


def ingest_paths(
    catalog: Catalog, paths: Iterable[Path], fmt: str | None, chunking: tuple[int, int], progress: Progress | None = None
) -> IngestReport:
    """Catalog phase of an ingest; the caller then catches vectors and keyword index up."""
    started = time.perf_counter()
    files = expand(paths)
    report = IngestReport()
    for n, path in enumerate(files, start=1):
        report.files.append(ingest_file(catalog, path, fmt, chunking, progress))
        if progress:
            progress("reading", n, len(files))
    report.seconds = time.perf_counter() - started
    return report


def display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it, others as they are."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative
