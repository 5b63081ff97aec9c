"""The index folder: creating it, its ``meta.json`` (schema version, last indexed snapshot),
its permissions, and opening the committed index.

An index is derived data: whatever is wrong with the folder (another schema version, a
half-created index), the answer is to rebuild it from the archive.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from archive.errors import ArchiveError, IndexOutOfDate

from .schema import SCHEMA_VERSION, build_schema

INDEX_NAME = "MAIN"
META_FILE = "meta.json"
REINDEX_HINT = "run `archive reindex`, or the next ingest that archives anything rebuilds it"


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
    """Atomic (temp + fsync + rename), 0600: a crash leaves the old or the new file."""
    index_dir = Path(index_dir)
    tmp = index_dir / f".{META_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(meta, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, index_dir / META_FILE)
    with contextlib.suppress(OSError):
        dfd = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


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


@contextlib.contextmanager
def private_umask():
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


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
    if not exists(index_dir):
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


def indexed_snapshot(index_dir: Path) -> int | None:
    """The last snapshot whose changes are committed to the index (None: none yet)."""
    meta = read_meta(Path(index_dir))
    value = (meta or {}).get("indexed_snapshot")
    return value if isinstance(value, int) else None


def clear_index(index_dir: Path) -> None:
    """Remove everything in the index folder and create an empty index (for reindex).

    The caller holds the archive lock. Searches running meanwhile keep their open files
    (POSIX) or fail once; new searches see an empty index until reindex commits.
    """
    index_dir = Path(index_dir)
    if index_dir.is_dir():
        for entry in os.scandir(index_dir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    create_empty(index_dir)


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

