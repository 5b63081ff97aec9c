"""One ingest = one snapshot: scan every root, store what changed, record it.

Invariants:
- Nothing recorded is ever lost: versions are only added; a file missing at the source is
  marked gone, never removed.
- Objects first, catalog second: a batch of captured files is committed only after its objects
  are durable, so a kill at any instant leaves either orphan objects (harmless) or a complete
  batch. The next ingest finishes the work: unchanged-stat detection only skips files whose stat
  was committed together with their version.
- Append-aware: when a file starts with the bytes of its previous version (checked by hashing
  that prefix while streaming), the new version reuses the previous chunk list and stores only
  the new tail. Memory stays bounded by the chunk size whatever the file size.
- Whatever bytes a file holds when read are a version: a transcript Claude Code is writing, or a
  cut last line, is fine; the next snapshot stores the rest as an append.
- Every catalog commit that records history (a batch, the gone/back marks, the snapshot's end)
  is preceded by a durable manifest of it (manifest.py), from which ``archive repair`` rebuilds
  a lost catalog.
- A full disk or an I/O error stops the run with exit 74: the open batch is rolled back, what
  was committed stays, and the next ingest (after space is freed) completes the work.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import stat
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from . import manifest
from .catalog import Catalog, VersionRow, check_archive_dir
from .config import ensure_private_dir
from .errors import ArchiveError, environment_errors, from_environment
from .faults import crash_point, pause_point
from .fsutil import private_umask
from .indexer import IndexStats
from .lock import ArchiveLock
from .repo import Repository
from .retention import DAY, SWEPT_KINDS, cleanup_periods
from .roots import Root, SourceFile, WalkReport, iter_root_stats, source_file
from .store import Chunker, ObjectStore
from .text import plural

READ_BLOCK = 1024 * 1024
AT_RISK_DAYS = 7  # warn about files Claude Code's cleanup deletes within this many days
# A batch is committed when it holds this many files or bytes: bounds the work a kill can undo
# and the time between commits, without an fsync per file.
BATCH_FILES = 500
BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class IngestError:
    profile: str
    path: str
    error: str

    def to_dict(self) -> dict:
        return {"profile": self.profile, "path": self.path, "error": self.error}


@dataclass
class IngestResult:
    snapshot: int | None  # None: no config root was found, so no snapshot was recorded
    files_seen: int = 0
    files_changed: int = 0
    versions_added: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0
    gone_from_source: int = 0
    vanished: int = 0  # files the walk found that were gone (or no longer regular) when read
    seconds: float = 0.0
    errors: list[IngestError] = field(default_factory=list)
    roots: list[dict] = field(default_factory=list)
    changed_file_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    indexed: IndexStats | None = None

    def to_dict(self) -> dict:
        return {
            "snapshot": self.snapshot,
            "files_seen": self.files_seen,
            "files_changed": self.files_changed,
            "versions_added": self.versions_added,
            "bytes_read": self.bytes_read,
            "bytes_stored": self.bytes_stored,
            "gone_from_source": self.gone_from_source,
            "vanished": self.vanished,
            "seconds": round(self.seconds, 3),
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "indexed": {
                "transcripts": self.indexed.transcripts,
                "documents": self.indexed.documents,
                "bad_lines": self.indexed.bad_lines,
                "processes": self.indexed.procs,
                "rebuilt": self.indexed.rebuilt,
                "skipped": self.indexed.skipped,
            }
            if self.indexed
            else None,
        }


@dataclass
class _Captured:
    """A file read and stored, waiting for its batch's catalog commit."""

    profile: str
    source: SourceFile
    file_id: int | None  # None: a file new to the catalog
    sha256: str
    size: int
    chunks: list[tuple[str, int, int]]  # (sha, raw size, stored size) of every chunk
    appended_to: int | None
    new_version: bool
    moved_from: str | None = None  # the relpath this file had before Claude Code moved it


# (phase, done, total): "scan" (files found, None), "store" (bytes read, bytes to read: known
# once the scan is over), then the indexer's "index" (bytes indexed, bytes to index) and
# "commit" (0, None: the index written). Each phase's counts only grow.
ProgressFn = Callable[[str, int, int | None], None]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@environment_errors
def ingest(
    archive_dir: Path,
    roots: list[Root],
    *,
    wait: float = 0.0,
    durable: bool = True,
    progress: ProgressFn | None = None,
    index: bool = True,
    tool_output_cap: int | None = None,
    locked: bool = False,
    only: list[str] | None = None,
) -> IngestResult:
    """Take one snapshot of ``roots`` into the archive at ``archive_dir``.

    ``locked``: the caller already holds the archive lock (restore --force, which must keep it
    from archiving a target to replacing it). ``only``: capture just these relpaths of each
    root (resume's freshness capture); nothing else is looked at, so nothing is marked gone."""
    started = time.monotonic()
    if only is None and not any(root.exists for root in roots):
        return _nothing_to_ingest(roots)
    warnings = []
    check_archive_dir(archive_dir)
    if ensure_private_dir(archive_dir):
        warnings.append(f"{archive_dir} was readable by other users; now 0700")
    lock = nullcontext() if locked else ArchiveLock(archive_dir, wait=wait, purpose="ingest")
    with private_umask(), lock:
        repo = Repository(archive_dir, readonly=False, durable=durable)
        catalog, store = repo.catalog, repo.store
        try:
            store.clean_tmp()
            manifest.clean_tmp(archive_dir)
            manifest.ensure_baseline(archive_dir, catalog, durable=durable)
            roots_json = orjson.dumps(
                [{"profile": r.profile, "path": str(r.path)} for r in roots if r.exists]
            ).decode()
            snapshot = catalog.begin_snapshot(utc_now(), socket.gethostname(), roots_json)
            result = IngestResult(snapshot=snapshot, warnings=warnings)
            manifests = manifest.ManifestWriter(
                archive_dir, catalog.snapshot(snapshot), durable=durable
            )
            run = _Run(catalog, store, result, progress, cleanup_periods(roots), manifests)
            # Every root is walked before any file is read, so the bytes to read are known.
            surveys = []
            for root in roots:
                result.roots.append(root.to_dict())
                if root.exists and only is not None:
                    run.scan_files(root, only)
                elif root.exists:
                    surveys.append(run.survey(root))
            run.store_surveyed(surveys)
            run.flush()
            if run.at_risk:
                result.warnings.append(
                    f"{plural(run.at_risk, 'file')} that Claude Code deletes within "
                    f"{AT_RISK_DAYS} days {'was' if run.at_risk == 1 else 'were'} not archived "
                    "yet; archived now"
                )
            crash_point("after-catalog-before-index")
            if index:
                _update_index(repo, result, tool_output_cap, progress)
            result.seconds = time.monotonic() - started
            finish = dict(
                finished_at=utc_now(),
                status="complete",
                files_seen=result.files_seen,
                files_changed=result.files_changed,
                versions_added=result.versions_added,
                bytes_read=result.bytes_read,
                bytes_stored=result.bytes_stored,
                gone_from_source=result.gone_from_source,
                errors=len(result.errors),
            )
            manifests.write(finish=finish)
            with catalog.transaction():
                catalog.update_snapshot(snapshot, **finish)
            return result
        finally:
            repo.close()


def _nothing_to_ingest(roots: list[Root]) -> IngestResult:
    """No config root exists: nothing to snapshot, so no snapshot is recorded (an empty one
    would only say "nothing" in `archive snapshots`) and the archive is not touched. Not a
    failure (a machine may only pull from a remote), but said on every run, cron's too: an
    ingest that archives nothing is what the person must hear about."""
    looked = ", ".join(str(root.path) for root in roots) or "nowhere"
    return IngestResult(
        snapshot=None,
        roots=[root.to_dict() for root in roots],
        warnings=[f"no config root found (looked at {looked}); nothing archived: "
                  "`archive roots` says where it looks, --root NAME=PATH adds one"],
    )


def _update_index(repo: Repository, result: IngestResult, tool_output_cap: int | None,
                  progress: ProgressFn | None = None) -> None:
    """Bring the index up to date; a failure there is reported but never undoes the archive."""
    from .indexer import update_index

    try:
        result.indexed = update_index(repo, result.snapshot, tool_output_cap=tool_output_cap,
                                      progress=progress)
        for skip in result.indexed.skipped:
            result.errors.append(
                IngestError(skip["profile"], skip["path"], f"not indexed: {skip['problem']}")
            )
        if result.indexed.rebuilt:
            result.warnings.append(
                "the index was built by another version of archive; rebuilt it from the archive"
            )
    except ArchiveError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        result.errors.append(IngestError("-", "index", f"{exc}{hint}"))
    except Exception as exc:  # a bug in indexing must not stop the nightly archiving
        known = from_environment(exc)
        if known is not None:
            raise known from None  # a full disk: the files are archived; say what to do
        result.errors.append(
            IngestError(
                "-", "index",
                f"index update failed ({type(exc).__name__}); the files are archived; "
                "run `archive reindex`, and report the bug if it happens again",
            )
        )


@dataclass
class _Survey:
    """What the walk of one root found: files to read, and files back at or gone from it."""

    root: Root
    # (source, file id or None when new, the relpath it was moved from)
    todo: list[tuple[SourceFile, int | None, str | None]] = field(default_factory=list)
    back: list[int] = field(default_factory=list)  # file ids
    gone: list[int] = field(default_factory=list)
    walk: WalkReport = field(default_factory=WalkReport)


class _Run:
    def __init__(
        self, catalog: Catalog, store: ObjectStore, result: IngestResult, progress, periods,
        manifests: manifest.ManifestWriter,
    ):
        self.catalog = catalog
        self.manifests = manifests
        self.periods = periods  # profile -> (cleanupPeriodDays, where it was read)
        self.at_risk = 0  # new versions stored of files Claude Code deletes within AT_RISK_DAYS
        self.now = time.time()
        self.store = store
        self.result = result
        self.progress = progress
        self.pending: list[_Captured] = []
        self.pending_bytes = 0
        self.known_chunks: set[str] = set()
        self.to_read = 0  # bytes the surveyed files hold: the store phase's total
        self._tails: tuple[str, dict[str, list[str]]] | None = None  # for _moved_from

    def survey(self, root: Root) -> _Survey:
        """Walk ``root``: which files to read (new or changed), which are back at the source,
        which are gone. Nothing is read yet."""
        # The hot path of every cron run: most files are unchanged, so each costs one stat, one
        # dict lookup and a stat comparison; a SourceFile is built only for files to read.
        known = self.catalog.file_stats_of_profile(root.profile)  # whatever is left is unseen
        found = _Survey(root)
        result = self.result
        walk = found.walk
        for stat_tuple in iter_root_stats(root, walk):
            result.files_seen += 1
            if self.progress and not result.files_seen % 64:
                self.progress("scan", result.files_seen, None)
            relpath, _, size, mtime_ns, inode = stat_tuple
            row = known.pop(relpath, None)
            if row is not None:
                if row[3] == size and row[4] == mtime_ns and row[5] == inode:
                    if row[2] is not None:
                        found.back.append(row[1])
                    continue
            elif not _storable_name(relpath):
                # os.scandir hands undecodable bytes over as surrogates, which SQLite cannot
                # store. Claude Code names its files by UUID, so this is a stranger's file:
                # report it and go on rather than lose the whole batch. (A known relpath was
                # stored, so it is storable.)
                result.errors.append(
                    IngestError(
                        root.profile,
                        relpath.encode("utf-8", "backslashreplace").decode(),
                        "file name is not valid UTF-8; not archived",
                    )
                )
                continue
            source = source_file(*stat_tuple)
            moved_from = None
            if row is None and source.session_id is not None:
                moved_from = self._moved_from(root, relpath, known)
                if moved_from is not None:
                    row = known.pop(moved_from)
            found.todo.append((source, row[1] if row else None, moved_from))
        # Only what the walk looked at and did not find is gone: a folder it could not read,
        # or a symlink it did not follow, still holds its files as far as we know.
        found.gone = [
            row[1] for relpath, row in known.items() if row[2] is None and not walk.covers(relpath)
        ]
        if self.progress:
            self.progress("scan", result.files_seen, None)
        return found

    def store_surveyed(self, surveys: list[_Survey]) -> None:
        """Read and store every file the surveys found new or changed, then record what is
        back and what is gone, root by root."""
        self.to_read = sum(source.size for s in surveys for source, _, _ in s.todo)
        self._report_store()
        pause_point("after-walk-before-read")
        for found in surveys:
            self._store_root(found)

    def _report_store(self) -> None:
        if self.progress:
            self.to_read = max(self.to_read, self.result.bytes_read)  # a file grew meanwhile
            self.progress("store", self.result.bytes_read, self.to_read)

    def _store_root(self, found: _Survey) -> None:
        root, result = found.root, self.result
        for source, file_id, moved_from in found.todo:
            try:
                captured = self.capture(root.profile, source, file_id)
                if isinstance(captured, _Gone):
                    self._vanished(found, source, file_id, captured)
                    continue
                captured.moved_from = moved_from
                if captured.new_version and self._soon_deleted(root, source):
                    self.at_risk += 1  # bytes the archive did not hold until now
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # the archive's disk is full: no later file can be stored either
                result.errors.append(
                    IngestError(root.profile, source.relpath, exc.strerror or type(exc).__name__)
                )
                continue
            self.pending.append(captured)
            self.pending_bytes += captured.size
            if len(self.pending) >= BATCH_FILES or self.pending_bytes >= BATCH_BYTES:
                self.flush()
        for relpath, reason in found.walk.unreadable:
            result.errors.append(IngestError(root.profile, relpath, reason))
        for relpath, why in found.walk.skipped:
            result.warnings.append(f"{root.profile}: {relpath} is {why}")
        self.flush()
        self.mark(found.back, found.gone)
        result.gone_from_source += len(found.gone)

    def _vanished(self, found: _Survey, source: SourceFile, file_id: int | None,
                  gone: _Gone) -> None:
        """A file the walk found that was no longer there to read: treated as if the walk had
        not seen it. Claude Code deletes transcripts (cleanupPeriodDays) and moves them (/cd,
        set-aside copies) whenever it likes, so this is no error: archived before, the file is
        gone from source (its versions stay); new, it is nothing. A symlink put in its place
        is reported and not followed, as the walk does, and what was archived stays."""
        self.result.files_seen -= 1
        self.result.vanished += 1
        self.to_read -= source.size
        if gone.symlink:
            found.walk.skipped.append(
                (source.relpath, "a symlink; symlinks to files are not followed"))
        elif file_id is not None:
            found.gone.append(file_id)

    def _soon_deleted(self, root: Root, source: SourceFile) -> bool:
        """Whether Claude Code's cleanup would take ``source`` within AT_RISK_DAYS (Codex
        sweeps nothing)."""
        if source.kind not in SWEPT_KINDS or root.agent != "claude":
            return False
        age_days = (self.now - source.mtime_ns / 1e9) / DAY
        return self.periods[root.profile][0] - age_days < AT_RISK_DAYS

    def _moved_from(self, root: Root, relpath: str, known: dict) -> str | None:
        """The archived relpath a new file was moved from, if any: Claude Code's ``/cd`` moves
        a live transcript (and its folder) into another project folder. The same name under
        ``projects/<other folder>/``, not seen by this walk and no longer at its place, is the
        same file: its versions go on, appends across the move stored as appends."""
        parts = relpath.split("/", 2)
        if len(parts) < 3 or parts[0] != "projects":
            return None
        if self._tails is None or self._tails[0] != root.profile:
            tails: dict[str, list[str]] = {}
            for old in known:
                old_parts = old.split("/", 2)
                if len(old_parts) == 3 and old_parts[0] == "projects":
                    tails.setdefault(old_parts[2], []).append(old)
            self._tails = (root.profile, tails)
        for old in self._tails[1].get(parts[2], ()):
            if old not in known or old == relpath:
                continue  # seen at the source in this walk: a copy, not a move
            try:
                os.lstat(os.path.join(root.path, old))
            except FileNotFoundError:
                return old
            except OSError:
                continue  # cannot tell: not taken for a move
        return None

    def scan_files(self, root: Root, relpaths: list[str]) -> None:
        """Capture the named files of ``root`` whose stat changed, like :meth:`scan_root`."""
        known = self.catalog.file_stats_of_profile(root.profile)
        for relpath in relpaths:
            try:
                st = os.lstat(os.path.join(root.path, relpath))
            except (FileNotFoundError, NotADirectoryError):
                self.result.vanished += 1  # deleted or moved since it was named: nothing to do
                continue
            except OSError as exc:
                self.result.errors.append(
                    IngestError(root.profile, relpath, exc.strerror or type(exc).__name__)
                )
                continue
            if not stat.S_ISREG(st.st_mode):  # as the walk: symlinks to files are not followed
                continue
            self.result.files_seen += 1
            row = known.get(relpath)
            if row is not None and (row[3], row[4], row[5]) == (
                st.st_size, st.st_mtime_ns, st.st_ino
            ):
                continue
            source = source_file(relpath, os.path.join(root.path, relpath), st.st_size,
                                 st.st_mtime_ns, st.st_ino)
            try:
                captured = self.capture(root.profile, source, row[1] if row else None)
            except OSError as exc:
                self.result.errors.append(
                    IngestError(root.profile, relpath, exc.strerror or type(exc).__name__)
                )
                continue
            if isinstance(captured, _Gone):
                self.result.files_seen -= 1
                self.result.vanished += 1
            else:
                self.pending.append(captured)
        self.flush()

    def capture(self, profile: str, source: SourceFile, file_id: int | None
                ) -> _Captured | _Gone:
        """Read ``source`` once, storing the chunks of whatever is new in it; :class:`_Gone`
        when no regular file is at its place any more."""
        fh = _open_regular(source.abspath)
        if isinstance(fh, _Gone):
            return fh
        previous = self.catalog.latest_version(file_id) if file_id is not None else None
        with fh:
            chunks, appended_to, whole, size = self._read(fh, previous)
        sha = whole.hexdigest()
        new_version = previous is None or sha != previous.sha256
        return _Captured(profile, source, file_id, sha, size, chunks, appended_to, new_version)

    def _read(self, fh, previous: VersionRow | None):
        whole = hashlib.sha256()
        chunks: list[tuple[str, int, int]] = []
        appended_to = None
        size = 0
        if previous is not None and previous.size > 0:
            prefix_len = self._read_prefix(fh, previous.size, whole)
            if prefix_len == previous.size and whole.hexdigest() == previous.sha256:
                appended_to = previous.id
                size = previous.size
                chunks = [
                    (c.sha256, c.size, 0) for c in self.catalog.chunks_of(previous.id)
                ]
            else:  # rewritten, not appended: store it whole
                fh.seek(0)
                whole = hashlib.sha256()
        chunker = Chunker()
        while True:
            block = fh.read(READ_BLOCK)
            if not block:
                break
            whole.update(block)
            size += len(block)
            self.result.bytes_read += len(block)
            for chunk in chunker.feed(block):
                chunks.append(self._put(chunk))
            self._report_store()
        for chunk in chunker.finish():
            chunks.append(self._put(chunk))
        return chunks, appended_to, whole, size

    def _read_prefix(self, fh, length: int, hasher) -> int:
        done = 0
        while done < length:
            block = fh.read(min(READ_BLOCK, length - done))
            if not block:
                break
            hasher.update(block)
            done += len(block)
            self.result.bytes_read += len(block)
            self._report_store()
        return done

    def _put(self, chunk: bytes) -> tuple[str, int, int]:
        sha = hashlib.sha256(chunk).hexdigest()
        if sha in self.known_chunks or self.catalog.has_chunk(sha):
            return sha, len(chunk), 0
        sha, stored, new = self.store.put(chunk, sha)
        self.known_chunks.add(sha)
        if new:
            self.result.bytes_stored += stored
        return sha, len(chunk), stored

    def mark(self, back: list[int], gone: list[int]) -> None:
        """Record files back at, or gone from, the source: manifest first, then the catalog."""
        if not back and not gone:
            return
        names = self.catalog.names_of(back + gone)
        snapshot = self.result.snapshot
        self.manifests.write(
            back=[list(names[i]) for i in back],
            gone=[[snapshot, *names[i]] for i in gone],
        )
        with self.catalog.transaction():
            if back:
                self.catalog.mark_back(back)
            if gone:
                self.catalog.mark_gone(gone, snapshot)

    def _manifest_batch(self, captured_at: str) -> None:
        """The pending batch as a manifest, durable before the catalog commit that records it."""
        snapshot = self.result.snapshot
        versions, captured, moved = [], [], []
        for cap in self.pending:
            src = cap.source
            if cap.moved_from is not None:
                moved.append([cap.profile, cap.moved_from, src.relpath])
            if not cap.new_version:
                captured.append([cap.profile, src.relpath])
                continue
            base = self.catalog.version(cap.appended_to).sha256 if cap.appended_to else None
            versions.append(manifest.version_record(
                snapshot, cap.profile, src.relpath, src.kind, src.session_id, cap.sha256,
                cap.size, captured_at, src.mtime_ns, base, [(c[0], c[1]) for c in cap.chunks],
            ))
        # repair reads "moved" before the versions of the same manifest
        self.manifests.write(moved=moved, versions=versions, captured=captured)

    def flush(self) -> None:
        """Commit the pending batch: objects are made durable first, then its manifest, then
        one transaction."""
        if not self.pending:
            return
        self.store.sync()
        crash_point("after-objects-before-commit")
        snapshot = self.result.snapshot
        captured_at = utc_now()
        self._manifest_batch(captured_at)
        crash_point("after-manifest-before-commit")
        with self.catalog.transaction():
            for cap in self.pending:
                src = cap.source
                file_id = cap.file_id
                if file_id is None:
                    file_id = self.catalog.add_file(
                        cap.profile, src.relpath, src.kind, src.session_id, snapshot
                    )
                elif cap.moved_from is not None:
                    self.catalog.move_file(file_id, src.relpath)
                    if not cap.new_version:  # the same bytes at a new place: reindex its path
                        self.result.changed_file_ids.append(file_id)
                if cap.new_version:
                    for sha, raw, stored in cap.chunks:
                        if stored:
                            self.catalog.add_chunk(sha, raw, stored)
                    self.catalog.add_version(
                        file_id, cap.sha256, cap.size, snapshot, captured_at, src.mtime_ns,
                        [c[0] for c in cap.chunks], cap.appended_to,
                    )
                    self.result.versions_added += 1
                    self.result.files_changed += 1
                    self.result.changed_file_ids.append(file_id)
                self.catalog.set_stat(file_id, src.size, src.mtime_ns, src.inode)
        self.pending.clear()
        self.pending_bytes = 0


@dataclass
class _Gone:
    """What :func:`_open_regular` found instead of the regular file the walk saw."""

    symlink: bool = False


def _open_regular(path) -> BinaryIO | _Gone:
    """The regular file at ``path``, open for reading, or :class:`_Gone` when the walk's file
    is no longer there: deleted, moved, its folder gone, or replaced by a folder, a FIFO or a
    symlink since the walk. The link is never followed (a transcript swapped for a link to
    ``/proc/self/environ`` is not read) and a FIFO never blocks the run. A file that cannot be
    opened (permissions) raises, an error as before."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return _Gone()
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            return _Gone(symlink=True)
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return _Gone()
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _storable_name(relpath: str) -> bool:
    try:
        relpath.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def default_durable() -> bool:
    """fsync can be turned off for throw-away archives (tests, benchmarks of other parts)."""
    return os.environ.get("SESSION_ARCHIVE_FSYNC", "1") != "0"
