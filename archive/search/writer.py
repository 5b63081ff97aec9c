"""Writing the index: the one ``IndexWriter`` an ingest holds, under the archive-wide lock.

Searches take no lock: Whoosh readers open the last committed table of contents, so they never
wait for an ingest and never see a half-written index.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from whoosh import query as Q
from whoosh.util.filelock import try_for

from archive.errors import ArchiveError

from ._whoosh.multiproc import can_fork, mp_writer_class
from ._whoosh.segment import FastSegmentWriter, codec
from ._whoosh.toc import committed_segments
from .documents import IndexedSession, rebuild_session_doc, session_doc, texts_of, turn_doc
from .folder import (
    DAMAGE_ERRORS,
    INDEX_NAME,
    META_FILE,
    check_version,
    create_empty,
    damaged,
    exists,
    secure_tree,
    storage,
    unlink,
    write_meta,
)
from .merges import merge_budget, merge_policy
from .schema import SCHEMA_VERSION

_LOCK_NAME = "WRITELOCK"
# Seconds to wait for Whoosh's write lock before treating it as stale (see _take_lock).
LOCK_WAIT = 3.0
# Commit (without advancing indexed_snapshot) after this much text per worker process.
FLUSH_TEXT_MB = 32


def _take_lock(ix, wait: float):
    """Acquire Whoosh's write lock, breaking it when it outlived its owner.

    Whoosh's FileStorage lock is an flock on ``MAIN_WRITELOCK``: the file stays after a crash
    but the kernel drops the lock with the process, so a dead writer alone never blocks us. It
    can stay held by orphaned MpWriter workers (they inherit the descriptor). The caller holds
    the archive-wide lock, so no live writer can own it: after ``wait`` seconds (time for guarded
    workers to notice their parent is gone) unlink the file and lock a fresh one.
    """
    lock = ix.lock(_LOCK_NAME)
    if try_for(lock.acquire, timeout=wait, delay=0.1):
        return lock
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(ix.storage.folder, f"{INDEX_NAME}_{_LOCK_NAME}"))
    lock = ix.lock(_LOCK_NAME)
    if not lock.acquire():
        raise ArchiveError("the search index is locked by another process")
    return lock


def _clean_dead_writer(ix) -> None:
    """Remove what a killed writer left: its temp folder, uncommitted segment files, TOC temps.

    Called with the write lock held. Only names that no committed TOC lists are removed, as
    Whoosh itself does at each commit.
    """
    folder = ix.storage.folder
    generation, live = committed_segments(ix)
    seg_re = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.")
    toc_re = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc(\..*)?$")
    for entry in os.scandir(folder):
        name = entry.name
        if name == f"{INDEX_NAME}.tmp" or name.endswith(".doclist"):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                unlink(entry.path)
            continue
        m = toc_re.match(name)
        if m:
            if m.group(2) or int(m.group(1)) < generation:
                unlink(entry.path)
            continue
        m = seg_re.match(name)
        if m and m.group(1) not in live and not name.endswith(_LOCK_NAME):
            unlink(entry.path)
    for name in os.listdir(folder):
        if name.startswith(f".{META_FILE}.") and name.endswith(".tmp"):
            unlink(os.path.join(folder, name))


class IndexWriter:
    """Adds, replaces and deletes session documents; a context manager.

    The Whoosh writer is opened lazily and reopened after each commit, so one IndexWriter can
    commit once per snapshot. Every ~32 MB of text (per worker) it commits on its own, without
    advancing ``indexed_snapshot``: searches may see part of a snapshot early, and a crash is
    repaired by replaying it (replace_session is idempotent). Leaving the ``with`` block without
    ``commit()`` cancels what was not committed yet. While it is open the process umask is
    0o077 (Whoosh creates its own files).

    ``procs=2`` uses Whoosh's multi-process writer (fork only; one segment per worker and
    commit). It helps only when a core is idle: measured 1.6× on a quiet 2-core machine (200
    MiB of transcripts: 14.5 against 9.1 MB/s), no faster when other work competes for the
    cores (the indexer decides, see ``indexer.index_procs``).
    """

    def __init__(self, index_dir: Path, *, limitmb: int = 256, procs: int = 1):
        self.index_dir = Path(index_dir)
        self.limitmb = limitmb
        self.procs = max(1, int(procs))
        if self.procs > 1 and not can_fork():
            self.procs = 1  # the worker guard relies on fork; spawn would also re-import us
        self._w = None
        self._touched: set[str] = set()
        self._pending = 0  # characters of text added since the last commit
        self._old_umask = os.umask(0o077)
        self._closed = False
        try:
            if not exists(self.index_dir):
                create_empty(self.index_dir)
            check_version(self.index_dir)
            try:
                self._ix = storage(self.index_dir).open_index(INDEX_NAME)
            except DAMAGE_ERRORS as e:  # a garbled table of contents: `archive reindex`
                raise damaged(e) from None
        except BaseException:
            self.close()
            raise

    # -- context manager
    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Cancel anything uncommitted and restore the umask."""
        if self._closed:
            return
        self._closed = True
        try:
            self.cancel()
        finally:
            os.umask(self._old_umask)

    # -- internals
    def _writer(self):
        if self._closed:
            raise ArchiveError("index writer is closed")
        if self._w is None:
            lock = _take_lock(self._ix, wait=LOCK_WAIT)
            try:
                _clean_dead_writer(self._ix)
                if self.procs > 1:
                    w = mp_writer_class()(
                        self._ix,
                        procs=self.procs,
                        multisegment=True,
                        _lk=False,
                        limitmb=self.limitmb,
                        subargs={"limitmb": self.limitmb, "codec": codec()},
                        codec=codec(),
                    )
                else:
                    w = FastSegmentWriter(self._ix, _lk=False, limitmb=self.limitmb)
            except BaseException:
                lock.release()
                raise
            w.writelock = lock  # released by Whoosh at commit/cancel
            self._w = w
        return self._w

    def _flush(self) -> None:
        """Commit without advancing indexed_snapshot.

        Whoosh cannot delete documents added by the same, uncommitted writer, so a key replaced
        twice needs a commit in between. Safe after a crash: replaying the snapshot replaces the
        key's documents again.
        """
        if self._w is not None:
            w, self._w = self._w, None
            budget = merge_budget(self._pending)
            w.commit(mergetype=lambda writer, segments: merge_policy(writer, segments, budget))
        self._touched.clear()
        self._pending = 0

    # -- API
    def replace_session(self, doc: IndexedSession, from_turn: int = 1) -> int:
        """Index ``doc``: drop its turns >= from_turn and its session document, add them anew.

        With from_turn=k for a session that only grew, turns 1..k-1 keep their documents.
        Returns the number of documents added (turns + 1 session document).
        """
        if doc.key in self._touched:
            self._flush()
        w = self._writer()
        s = doc.session
        from_turn = max(1, int(from_turn))
        if from_turn <= 1:
            w.delete_by_term("key", doc.key)
        else:
            # Walking the key's few documents is ~70x faster than delete_by_query with a
            # numeric range on a many-segment index (measured: 0.9 ms against 70 ms).
            searcher = w.searcher()
            for docnum in list(searcher.document_numbers(key=doc.key)):
                stored = searcher.stored_fields(docnum)
                if stored.get("kind") == "session" or (stored.get("turn") or 0) >= from_turn:
                    w.delete_document(docnum)
        files = set(s.files)
        added = 0
        for turn in s.turns:
            if turn.number >= from_turn:
                fields = turn_doc(doc, turn, files)
                self._pending += len(fields["src"])
                w.add_document(**fields)
                added += 1
        w.add_document(**session_doc(doc))
        self._touched.add(doc.key)
        if self._pending > FLUSH_TEXT_MB * 1_000_000 * self.procs:
            # Whoosh sorts all pending postings at commit, which gets slower than linear: one
            # commit of 167 MB of text indexed at 0.7 MB/s, commits every ~32 MB at 1.5 MB/s.
            self._flush()
        return added + 1

    def delete_key(self, key: str) -> None:
        """Remove every document of one archived file."""
        if key in self._touched:  # added by this writer: only a commit makes it deletable
            self._flush()
        self._writer().delete_by_term("key", key)

    def set_gone(self, key: str, gone: bool) -> bool:
        """Flip gone_from_source on the key's session document (rebuilt from stored fields).

        Turn documents do not carry the flag: a hit's gone_from_source is read from the session
        document. Returns False when the key has no session document.
        """
        if key in self._touched:
            self._flush()
        w = self._writer()
        q = Q.Term("session_key", key)
        s = w.searcher()
        docnums = list(s.docs_for_query(q))
        if not docnums:
            return False
        stored = s.stored_fields(docnums[-1])
        if bool(stored.get("gone_from_source")) == bool(gone):
            return True
        texts = texts_of(s.reader().column_reader("src"), docnums[-1])
        w.delete_by_query(q)
        w.add_document(**rebuild_session_doc(stored, texts, bool(gone)))
        self._touched.add(key)
        return True

    def commit(self, indexed_snapshot: int) -> None:
        """Make all changes visible to searches, then record the snapshot they cover.

        A crash between the two leaves meta.json one snapshot behind: the caller re-indexes
        snapshots > indexed_snapshot, which is idempotent.
        """
        self._flush()
        write_meta(
            self.index_dir,
            {"schema_version": SCHEMA_VERSION, "indexed_snapshot": indexed_snapshot},
        )
        secure_tree(self.index_dir)

    def cancel(self) -> None:
        """Drop everything since the last commit."""
        w, self._w = self._w, None
        self._touched.clear()
        if w is not None and not w.is_closed:
            w.cancel()

