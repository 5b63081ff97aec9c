"""Snapshot manifests: the catalog's history, written beside the objects so it can be rebuilt.

Like restic's snapshot and index files, each manifest is an immutable, content-named record of
what one commit of an ingest adds to the catalog: the snapshot it belongs to, the files and
versions it recorded (with each version's SHA-256, size and ordered chunk list), the files found
gone or back at the source, and the snapshot's final counts. ``archive repair`` replays them in
order to rebuild a lost or damaged catalog; the same files are what a later push to object
storage sends (write-once, named by their hash, so an upload is idempotent).

Invariants:
- A manifest is durable (temp file, fsync, rename, fsync of the folder) *before* the catalog
  transaction it describes commits, and it names only objects that are already durable. A crash
  between the two leaves a manifest describing a batch the catalog lacks: its objects exist and
  its versions were real contents of the source, and the next ingest records the same contents
  again. Replay is idempotent by content (a version equal to the file's newest one is not added
  twice), so such a manifest only makes a rebuilt catalog attribute those versions to the
  interrupted snapshot instead of the next one. Nothing is lost, nothing is invented.
- Manifests are never changed or deleted. The name is ``<snapshot>-<part>-<sha256>.json.zst``
  (the hash of the file's bytes): sorting by name is replay order, and a manifest whose bytes do
  not hash to its name is damaged.
- Each manifest carries its snapshot's host, so a push to shared object storage can put them
  under a per-machine prefix (issue 21) without rewriting them.
- An archive made before manifests existed gets one *baseline* manifest of its whole catalog at
  its next ingest, so every archive becomes recoverable.

Format (zstd-compressed JSON, ``format`` 1)::

    {"format": 1, "written_at": ISO, "part": N,
     "snapshots": [{"id", "started_at", "host", "roots", ...final counts when known}],
     "versions": [{"snapshot", "profile", "relpath", "kind", "session_id", "sha256", "size",
                   "captured_at", "mtime_ns", "appended_to" (SHA-256 of the base or null),
                   "chunks": [[sha256, size], ...]}],
     "captured": [[profile, relpath]],   # read again, content unchanged: present at the source
     "gone": [[snapshot, profile, relpath]], "back": [[profile, relpath]],
     "moved": [[profile, old relpath, new relpath]]}   # Claude Code's /cd; read first
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import zstandard

from .fsutil import atomic_write

MANIFEST_DIR = "manifests"
FORMAT = 1
ZSTD_LEVEL = 10  # small files written once: spend a little more CPU for a smaller upload
NAME = re.compile(r"^(\d{8})-(\d{5})-([0-9a-f]{64})\.json\.zst$")


def manifest_dir(archive_dir: Path) -> Path:
    return archive_dir / MANIFEST_DIR


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_manifest(
    archive_dir: Path, snapshot: int, part: int, body: dict, *, durable: bool = True
) -> Path:
    """Write one manifest durably; returns its path. ``body`` holds the record lists."""
    folder = manifest_dir(archive_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    doc = {"format": FORMAT, "written_at": _now(), "part": part, **body}
    blob = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(orjson.dumps(doc))
    name = f"{snapshot:08d}-{part:05d}-{hashlib.sha256(blob).hexdigest()}.json.zst"
    # Temp file, fsync, hard link to the final name (never over an existing one), fsync of
    # the folder; a failure leaves no temp file.
    return atomic_write(folder / name, blob, replace=False, durable=durable)


def clean_tmp(archive_dir: Path) -> None:
    """Remove temp files of a killed writer (only under the archive lock)."""
    folder = manifest_dir(archive_dir)
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)


def has_manifests(archive_dir: Path) -> bool:
    folder = manifest_dir(archive_dir)
    return folder.is_dir() and any(NAME.match(p.name) for p in folder.iterdir())


@dataclass
class Manifest:
    name: str
    doc: dict | None  # None when damaged
    problem: str | None = None


def read_manifests(archive_dir: Path) -> Iterator[Manifest]:
    """Every manifest in replay order, each checked against its name; a damaged one is yielded
    with its problem (and no content) so callers can name it."""
    folder = manifest_dir(archive_dir)
    if not folder.is_dir():
        return
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    for name in names:
        m = NAME.match(name)
        if not m:
            yield Manifest(name, None, "not a manifest name")
            continue
        try:
            blob = (folder / name).read_bytes()
        except OSError as exc:
            yield Manifest(name, None, f"cannot be read: {exc.strerror}")
            continue
        if hashlib.sha256(blob).hexdigest() != m.group(3):
            yield Manifest(name, None, "content does not match its hash")
            continue
        try:
            doc = orjson.loads(zstandard.ZstdDecompressor().decompress(blob))
        except (zstandard.ZstdError, orjson.JSONDecodeError):
            yield Manifest(name, None, "does not decompress or parse")
            continue
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            yield Manifest(name, None, f"unknown format {doc.get('format')!r}"
                           if isinstance(doc, dict) else "not a manifest")
            continue
        yield Manifest(name, doc)


class ManifestWriter:
    """The manifests of one snapshot: one per catalog commit, numbered from 1."""

    def __init__(self, archive_dir: Path, snapshot: dict, *, durable: bool = True):
        self.archive_dir = archive_dir
        self.header = {k: snapshot[k] for k in ("id", "started_at", "host", "roots")}
        self.durable = durable
        self.part = 0

    def write(self, *, finish: dict | None = None, **records: list) -> Path:
        self.part += 1
        body = {"snapshots": [self.header | (finish or {})]}
        body.update({k: v for k, v in records.items() if v})
        return write_manifest(
            self.archive_dir, self.header["id"], self.part, body, durable=self.durable
        )


def ensure_baseline(archive_dir: Path, catalog, *, durable: bool = True) -> Path | None:
    """Give an archive made before manifests existed one manifest of its whole catalog, so that
    a catalog lost later can be rebuilt with all its history. Does nothing when manifests exist
    or nothing was ever recorded."""
    if has_manifests(archive_dir):
        return None
    snaps = catalog.snapshots()
    if not snaps or not catalog.totals()["versions"]:
        return None
    files = {f.id: f for f in catalog.all_files()}
    by_version: dict[int, str] = {}
    versions = []
    for v in catalog.all_versions():
        f = files[v.file_id]
        by_version[v.id] = v.sha256
        versions.append(version_record(
            v.snapshot_id, f.profile, f.relpath, f.kind, f.session_id, v.sha256, v.size,
            v.captured_at, v.mtime_ns, by_version.get(v.appended_to) if v.appended_to else None,
            [(c.sha256, c.size) for c in catalog.chunks_of(v.id)],
        ))
    gone = [[f.gone_snapshot, f.profile, f.relpath] for f in files.values() if f.gone_snapshot]
    for s in snaps:
        if s["status"] == "running":
            s["status"] = "interrupted"
    return write_manifest(
        archive_dir, snaps[-1]["id"], 0,
        {"snapshots": snaps, "versions": versions, "gone": gone}, durable=durable,
    )


def version_record(
    snapshot: int, profile: str, relpath: str, kind: str, session_id: str | None, sha256: str,
    size: int, captured_at: str, mtime_ns: int | None, appended_to: str | None,
    chunks: list[tuple[str, int]],
) -> dict:
    return {
        "snapshot": snapshot, "profile": profile, "relpath": relpath, "kind": kind,
        "session_id": session_id, "sha256": sha256, "size": size, "captured_at": captured_at,
        "mtime_ns": mtime_ns, "appended_to": appended_to,
        "chunks": [[sha, size] for sha, size in chunks],
    }
