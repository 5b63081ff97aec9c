"""The index folder: creating it, its ``meta.json`` (schema version, last indexed snapshot),
its permissions, opening the committed index, and making a rebuilt index live.

An index is derived data: whatever is wrong with the folder (another schema version, a
half-created index, a damaged segment), the answer is to rebuild it from the archive. A
rebuild is written beside the live index (``index.new/``) and made live by one rename, so
searches keep answering from the old index until then, and a killed rebuild leaves the old
index serving; what such a kill leaves beside it is removed by the next writer.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import re
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path

import zstandard
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from archive.errors import ArchiveError, IndexDamaged, IndexOutOfDate
from archive.faults import crash_point
from archive.fsutil import atomic_write, fsync_dir, private_umask

from .schema import SCHEMA_VERSION, build_schema

INDEX_NAME = "MAIN"
META_FILE = "meta.json"
REINDEX_HINT = "run `archive reindex`, or the next ingest that archives anything rebuilds it"
# Beside the live ``index/``: a rebuild in progress, and the index it replaced (both removed
# by the next writer when a kill left them).
STAGING = "new"
RETIRED = "old"
# What reading a truncated or garbled segment raises inside Whoosh (its files are pickles,
# packed integers, zlib and zstd streams): damaged data, not a bug of ours.
DAMAGE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    struct.error,
    zlib.error,
    zstandard.ZstdError,
    UnicodeDecodeError,
    OverflowError,
    IndexError,
    KeyError,
    ValueError,
    AssertionError,
    MemoryError,
    TypeError,  # Whoosh's varint reader on an emptied table of contents
    NotADirectoryError,
    IsADirectoryError,
)

# The subset an ingest's writer takes as damage (it also runs our parsing code, whose
# ValueError or KeyError would be a bug, not a damaged index).
WRITE_DAMAGE_ERRORS = (pickle.UnpicklingError, EOFError, struct.error, zlib.error,
                       zstandard.ZstdError)


def damaged(exc: BaseException) -> IndexDamaged:
    """The one-line error for an index that cannot be read (the exception's type names what
    failed; its text may quote indexed bytes, so it is left out)."""
    kind = type(exc)
    name = kind.__name__ if kind.__name__ != "error" else f"{kind.__module__}.error"
    return IndexDamaged(
        f"the search index is damaged ({name} reading it)",
        hint="run `archive reindex` to rebuild it from the archive",
    )


def storage(index_dir: Path) -> FileStorage:
    # mmap makes opening large segments slow (see whoosh-notes): every cold search pays it.
    return FileStorage(str(index_dir), supports_mmap=False)


def read_meta(index_dir: Path) -> dict | None:
    try:
        with open(Path(index_dir) / META_FILE, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def write_meta(index_dir: Path, meta: dict) -> None:
    """Atomic (temp + fsync + rename + fsync of the folder), 0600: a crash leaves the old or
    the new file."""
    atomic_write(Path(index_dir) / META_FILE, json.dumps(meta, sort_keys=True).encode() + b"\n")


def make_dir(index_dir: Path) -> None:
    index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(index_dir, 0o700)


def secure_tree(index_dir: Path) -> None:
    """Files 0600, folders 0700: the index holds transcript text, credentials included."""
    for root, dirs, files in os.walk(index_dir):
        for name, mode in [(d, 0o700) for d in dirs] + [(f, 0o600) for f in files]:
            path = os.path.join(root, name)
            with contextlib.suppress(FileNotFoundError):
                if os.lstat(path).st_mode & 0o777 != mode:
                    os.chmod(path, mode)
    os.chmod(index_dir, 0o700)


def create_empty(index_dir: Path) -> None:
    """meta.json first, then the table of contents: a crash in between leaves no index (the
    next ingest creates it), never a TOC without a schema version, which searches would
    report as an index to rebuild."""
    with private_umask():
        make_dir(index_dir)
        write_meta(
            index_dir, {"schema_version": SCHEMA_VERSION, "indexed_snapshot": None}
        )
        storage(index_dir).create_index(build_schema(), indexname=INDEX_NAME)
        secure_tree(index_dir)


def check_version(index_dir: Path) -> None:
    meta = read_meta(index_dir)
    found = (meta or {}).get("schema_version")
    if found != SCHEMA_VERSION:
        raise IndexOutOfDate(
            f"index was built with schema version {found if found is not None else 'unknown'}, "
            f"this version of archive uses {SCHEMA_VERSION}",
            hint=REINDEX_HINT,
        )


TOC_NAME = re.compile(rf"^_{INDEX_NAME}_\d+\.toc$")


def schema_outdated(index_dir: Path) -> bool:
    """An index is there but was built with another schema version (an upgrade): rebuild it."""
    meta = read_meta(Path(index_dir))
    return meta is not None and meta.get("schema_version") != SCHEMA_VERSION


def exists(index_dir: Path) -> bool:
    """A committed table of contents is there (a directory listing: no need to unpickle it)."""
    try:
        return any(TOC_NAME.match(name) for name in os.listdir(index_dir))
    except (FileNotFoundError, NotADirectoryError):
        return False


def open_index(index_dir: Path):
    """Open the committed index for reading; checks the schema version first."""
    index_dir = Path(index_dir)
    if not exists(index_dir) and not _switched_in(index_dir):
        raise ArchiveError("no index yet: run `archive ingest`")
    check_version(index_dir)
    try:
        return storage(index_dir).open_index(INDEX_NAME)
    except whoosh_index.EmptyIndexError:
        raise ArchiveError("no index yet: run `archive ingest`") from None
    except (AttributeError, ImportError, ModuleNotFoundError) as e:
        # The pickled schema names classes that no longer exist: an index from another version.
        raise IndexOutOfDate(
            f"index cannot be read by this version ({e})", hint=REINDEX_HINT
        ) from None
    except DAMAGE_ERRORS as e:
        raise damaged(e) from None


def _switched_in(index_dir: Path, wait: float = 2.0) -> bool:
    """Where the filesystem cannot exchange two folders, a rebuilt index goes live by two
    renames (``index`` → ``index.old``, ``index.new`` → ``index``): a search that falls in
    between waits for the second one rather than reporting no index."""
    deadline = time.monotonic() + wait
    while os.path.isdir(beside(index_dir, RETIRED)) and time.monotonic() < deadline:
        time.sleep(0.02)
        if exists(index_dir):
            return True
    return False


def indexed_snapshot(index_dir: Path) -> int | None:
    """The last snapshot whose changes are committed to the index (None: none yet)."""
    meta = read_meta(Path(index_dir))
    value = (meta or {}).get("indexed_snapshot")
    return value if isinstance(value, int) else None


def clear_index(index_dir: Path) -> None:
    """Remove everything in the index folder and create an empty index in place.

    Only for an index that serves nothing (none yet, or one searches refuse); a rebuild of a
    live index goes through ``start_beside`` and ``make_live`` instead."""
    index_dir = Path(index_dir)
    if index_dir.is_dir() and not index_dir.is_symlink():
        for entry in os.scandir(index_dir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    else:
        remove_tree(index_dir)
    create_empty(index_dir)


def beside(index_dir: Path, tag: str) -> Path:
    """``index.new`` / ``index.old``: in the same folder, so a rename moves them."""
    index_dir = Path(index_dir)
    return index_dir.with_name(f"{index_dir.name}.{tag}")


def remove_tree(path: Path) -> None:
    """Remove a folder (or whatever else sits at ``path``); gone already is fine."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        shutil.rmtree(path)  # still there (a file appeared meanwhile): say why
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def leftovers(index_dir: Path) -> list[Path]:
    """What a killed rebuild left beside the live index."""
    return [p for p in (beside(index_dir, STAGING), beside(index_dir, RETIRED))
            if os.path.lexists(p)]


def clean_leftovers(index_dir: Path) -> None:
    """Remove a half-built ``index.new/`` (never live) and a replaced ``index.old/``. When the
    live index is missing because a kill fell between the two renames of the fallback switch,
    the replaced index is put back first: the catalog's ``session_meta`` still describes it.
    The caller holds the archive lock."""
    index_dir = Path(index_dir)
    retired = beside(index_dir, RETIRED)
    if not os.path.lexists(index_dir) and retired.is_dir() and not retired.is_symlink():
        os.rename(retired, index_dir)
        fsync_dir(index_dir.parent)
    for path in leftovers(index_dir):
        remove_tree(path)


def start_beside(index_dir: Path) -> Path:
    """An empty index in ``index.new/`` for a rebuild, beside the live one (untouched)."""
    new_dir = beside(index_dir, STAGING)
    remove_tree(new_dir)
    create_empty(new_dir)
    return new_dir


def make_live(index_dir: Path, new_dir: Path, *, durable: bool = True) -> None:
    """Make the committed index in ``new_dir`` the live ``index_dir`` with one rename.

    Its files are made durable first; then the two folders are exchanged atomically
    (``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np(RENAME_SWAP)`` on macOS), so at
    every instant ``index/`` is a complete index, the old or the new; the folder holding both
    is fsync'ed, and the replaced index is removed. Where no exchange exists the switch is
    two renames, which searches wait out (``open_index``) and ``clean_leftovers`` repairs.
    Searches that had the old index open keep their open files; their next search opens the
    new one (a file they open later is gone, which the search retries)."""
    index_dir, new_dir = Path(index_dir), Path(new_dir)
    if durable:
        fsync_tree(new_dir)
    retired: Path | None = None
    if os.path.lexists(index_dir):
        if exchange(new_dir, index_dir):
            retired = new_dir  # it now holds the replaced index
        else:
            retired = beside(index_dir, RETIRED)
            remove_tree(retired)
            os.rename(index_dir, retired)
            crash_point("index-between-renames")
            os.rename(new_dir, index_dir)
    else:
        os.rename(new_dir, index_dir)
    fsync_dir(index_dir.parent)
    crash_point("index-live-before-cleanup")
    if retired is not None:
        remove_tree(retired)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or the filesystem cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
            at_fdcwd, rename_exchange = -100, 2
            rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b),
                                rename_exchange)
        elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
            rc = libc.renamex_np(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
        else:
            return False
    except OSError:
        return False
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False  # not supported here: the caller falls back to two renames
    raise OSError(err, os.strerror(err), str(b))


def fsync_tree(path: Path) -> None:
    """fsync every file under ``path`` and the folders holding them."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def doc_count(index_dir: Path) -> int:
    """Live documents (turns + sessions), deletions excluded."""
    return open_index(index_dir).doc_count()


def toc_names(index_dir: Path) -> tuple:
    """The committed TOC files, named and stat'ed: a rebuilt index reuses generation names."""
    try:
        with os.scandir(index_dir) as entries:
            return tuple(sorted(
                (e.name, e.inode(), e.stat().st_mtime_ns, e.stat().st_size)
                for e in entries if TOC_NAME.match(e.name)
            ))
    except OSError:
        return ()


def unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

