"""Rebuild a lost or damaged catalog from the snapshot manifests and the objects.

The catalog is the archive's one commit point, so it is the one file whose loss would orphan
every object. Every commit that records history is preceded by a manifest (manifest.py);
replaying them in order gives back every snapshot, file, version (with its chunk list) and
"gone from source" flag. Invariants:

- The damaged catalog is never deleted or written: it is moved aside (with its -wal/-shm) as
  ``catalog.damaged-<time>.sqlite`` (``catalog.replaced-…`` for a sound one rebuilt with
  ``--force``) for inspection, and only after the new catalog is complete.
- The new catalog is built beside the old one and renamed into place: a crash during repair
  leaves the old state (refused until repaired) and a leftover temp file the next repair
  replaces.
- Replay is idempotent by content: a version equal to the file's newest one is not added twice
  (a manifest written by a batch that was killed before its commit is repeated by the next
  ingest).

Derived data is not rebuilt here: ``session_meta`` and the index come back with
``archive reindex``. The stat columns are left empty, so the next ingest reads each source file
once (adding no version for unchanged content).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import manifest
from .catalog import CATALOG_FILE, Catalog, check_archive_dir, holds_archived_data
from .errors import ArchiveError, CatalogDamaged, environment_errors
from .fsutil import fsync_dir, private_umask
from .lock import ArchiveLock

REBUILDING = "catalog.rebuilding.sqlite"
_SNAPSHOT_COLS = (
    "id", "started_at", "finished_at", "host", "roots", "status", "files_seen", "files_changed",
    "versions_added", "bytes_read", "bytes_stored", "gone_from_source", "errors",
)


@dataclass
class RepairResult:
    needed: bool
    reason: str | None = None
    dry_run: bool = False
    moved_aside: list[str] = field(default_factory=list)
    manifests: int = 0
    damaged_manifests: list[dict] = field(default_factory=list)  # {name, problem}
    snapshots: int = 0
    files: int = 0
    versions: int = 0
    gone_from_source: int = 0
    missing_objects: int = 0  # named by a manifest, absent from objects/

    @property
    def ok(self) -> bool:
        return not self.damaged_manifests and not self.missing_objects

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "needed": self.needed,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "moved_aside": self.moved_aside,
            "manifests": self.manifests,
            "damaged_manifests": self.damaged_manifests,
            "snapshots": self.snapshots,
            "files": self.files,
            "versions": self.versions,
            "gone_from_source": self.gone_from_source,
            "missing_objects": self.missing_objects,
        }


def catalog_problem(archive_dir: Path) -> str | None:
    """Why the catalog cannot be used (missing, empty, garbled, failing SQLite's own check), or
    None when it is sound. Raises when the folder holds no archive at all."""
    try:
        catalog = Catalog(archive_dir, readonly=True)
    except CatalogDamaged as exc:
        return str(exc)
    try:
        rows = catalog.conn.execute("PRAGMA quick_check").fetchall()
    except Exception as exc:  # sqlite3.DatabaseError: a page SQLite cannot read
        return f"the catalog fails SQLite's check ({exc})"
    finally:
        catalog.close()
    if rows != [("ok",)]:
        return f"the catalog fails SQLite's check ({rows[0][0]})"
    return None


@environment_errors
def repair(
    archive_dir: Path, *, force: bool = False, dry_run: bool = False, durable: bool = True
) -> RepairResult:
    """Rebuild the catalog from the manifests when it is missing or damaged (always with
    ``force``); ``dry_run`` builds it and reports what it would hold, changing nothing."""
    check_archive_dir(archive_dir)
    if not archive_dir.is_dir() or not (
        holds_archived_data(archive_dir) or (archive_dir / CATALOG_FILE).exists()
    ):
        raise ArchiveError(f"no archive at {archive_dir}", hint="check --archive-dir")
    with private_umask(), ArchiveLock(archive_dir, purpose="repair"):
        reason = catalog_problem(archive_dir)
        result = RepairResult(needed=reason is not None, reason=reason, dry_run=dry_run)
        if reason is None and not force:
            return result
        if not manifest.has_manifests(archive_dir):
            raise ArchiveError(
                f"{archive_dir} holds no snapshot manifests to rebuild the catalog from",
                hint="archives written before manifests existed cannot be rebuilt; the objects "
                "are intact",
            )
        tmp = archive_dir / REBUILDING
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)  # a previous repair's leftover
        catalog = Catalog(archive_dir, path=tmp, allow_new=True)
        try:
            _replay(archive_dir, catalog, result)
        finally:
            catalog.close()
        short = _versions_short(archive_dir, result) if reason is None else 0
        if dry_run or short:
            for suffix in ("", "-wal", "-shm"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
            if short:
                raise ArchiveError(
                    f"the manifests record {result.versions} versions, the sound catalog "
                    f"{result.versions + short}; kept the catalog as it is",
                    hint="`archive ingest` writes a baseline manifest for older archives",
                )
            return result
        if durable:
            _fsync(tmp)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        live = archive_dir / CATALOG_FILE
        for suffix in ("", "-wal", "-shm"):
            old = Path(str(live) + suffix)
            if os.path.lexists(old):
                what = "damaged" if reason else "replaced"  # --force over a sound one
                aside = archive_dir / f"catalog.{what}-{stamp}.sqlite{suffix}"
                os.rename(old, aside)
                result.moved_aside.append(aside.name)
        os.rename(tmp, live)
        if durable:
            fsync_dir(archive_dir)
        return result


def _versions_short(archive_dir: Path, result: RepairResult) -> int:
    """How many more versions the (sound) catalog holds than the rebuilt one: a forced rebuild
    must never replace a catalog with one that knows less."""
    catalog = Catalog(archive_dir, readonly=True)
    try:
        return max(0, catalog.totals()["versions"] - result.versions)
    finally:
        catalog.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replay(archive_dir: Path, catalog: Catalog, result: RepairResult) -> None:
    """Two passes over the manifests: the snapshots first (versions refer to them), then the
    history in order, in one transaction."""
    snapshots: dict[int, dict] = {}
    for m in manifest.read_manifests(archive_dir):
        result.manifests += 1
        if m.doc is None:
            result.damaged_manifests.append({"name": m.name, "problem": m.problem})
            continue
        for row in m.doc.get("snapshots", []):
            merged = snapshots.setdefault(row["id"], {})
            merged.update({k: v for k, v in row.items() if v is not None})
    store_root = archive_dir / "objects"
    with catalog.transaction() as conn:
        for sid in sorted(snapshots):
            row = {"status": "interrupted"} | snapshots[sid]
            if row["status"] == "running":
                row["status"] = "interrupted"
            cols = [c for c in _SNAPSHOT_COLS if c in row]
            conn.execute(
                f"INSERT INTO snapshots ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols],
            )
        result.snapshots = len(snapshots)
        files: dict[tuple[str, str], int] = {}
        newest: dict[int, tuple[int, str]] = {}  # file id -> (version id, sha256)
        chunks: set[str] = set()
        for m in manifest.read_manifests(archive_dir):
            if m.doc is None:
                continue
            for profile, old, new in m.doc.get("moved", []):  # Claude Code's /cd moves
                if (profile, old) in files and (profile, new) not in files:
                    files[(profile, new)] = fid = files.pop((profile, old))
                    catalog.move_file(fid, new)
            for rec in m.doc.get("versions", []):
                key = (rec["profile"], rec["relpath"])
                fid = files.get(key)
                if fid is None:
                    fid = files[key] = catalog.add_file(
                        *key, rec["kind"], rec["session_id"], rec["snapshot"]
                    )
                catalog.mark_back([fid])
                latest = newest.get(fid)
                if latest is not None and latest[1] == rec["sha256"]:
                    continue  # the same content recorded again (see the module docstring)
                for sha, size in rec["chunks"]:
                    if sha in chunks:
                        continue
                    chunks.add(sha)
                    try:
                        stored = (store_root / sha[:2] / sha[2:]).stat().st_size
                    except FileNotFoundError:
                        stored = 0
                        result.missing_objects += 1
                    catalog.add_chunk(sha, size, stored)
                base = rec.get("appended_to")
                appended = latest[0] if base and latest and latest[1] == base else None
                v = catalog.add_version(
                    fid, rec["sha256"], rec["size"], rec["snapshot"], rec["captured_at"],
                    rec["mtime_ns"], [sha for sha, _ in rec["chunks"]], appended,
                )
                newest[fid] = (v.id, v.sha256)
                result.versions += 1
            known = [files[(p, r)] for p, r in m.doc.get("captured", []) if (p, r) in files]
            known += [files[(p, r)] for p, r in m.doc.get("back", []) if (p, r) in files]
            catalog.mark_back(known)
            for snapshot, profile, relpath in m.doc.get("gone", []):
                if (profile, relpath) in files:
                    catalog.mark_gone([files[(profile, relpath)]], snapshot)
        result.files = len(files)
        result.gone_from_source = len(catalog.gone_files())
