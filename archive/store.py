"""The object store: write-once chunks named by the SHA-256 of their raw bytes.

Invariants:
- An object's name is the SHA-256 of its *uncompressed* bytes; every read re-hashes and refuses
  bytes that do not match, so damage is reported, never returned.
- Objects are written to a temp file, fsync'ed and renamed into place: a crash leaves at worst an
  orphan temp file or an unreferenced object, never a half-written object under a real name.
- Objects are never modified or deleted by ingest; the catalog refers to them only after they
  are durable.

Layout: ``objects/<first 2 hex>/<remaining 62 hex>``, each a zstd frame (level 3: several times
faster than zlib at a similar ratio on JSONL).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import zstandard

from .errors import Damaged
from .fsutil import create_temp, fsync_dir, private_mkdir, write_all

ZSTD_LEVEL = 3

# Chunking of new bytes. Part of how versions are stored (changing it changes which chunks
# future versions share), not of any hash: a version's SHA-256 is always of its whole bytes.
CHUNK_TARGET = 4 * 1024 * 1024  # cut at the last newline once this many bytes are buffered
CHUNK_MAX = 8 * 1024 * 1024  # cut here even without a newline (a huge single line)


class CorruptObject(Damaged):
    """An object is missing, unreadable or does not hash to its name."""


_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    c = getattr(_local, "cctx", None)
    if c is None:
        c = _local.cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "dctx", None)
    if d is None:
        d = _local.dctx = zstandard.ZstdDecompressor()
    return d


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    def __init__(self, root: Path, *, durable: bool = True):
        self.root = root
        self.durable = durable
        self._tmp = root / "tmp"
        self._dirty_dirs: set[Path] = set()

    def path_for(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        return self.path_for(sha).exists()

    def put(self, data: bytes, sha: str | None = None) -> tuple[str, int, bool]:
        """Store ``data``; returns (sha256, stored size, whether it was new)."""
        sha = sha or sha256_hex(data)
        final = self.path_for(sha)
        if final.exists():
            return sha, final.stat().st_size, False
        blob = _compressor().compress(data)
        private_mkdir(final.parent)
        private_mkdir(self._tmp)
        # The temp file lives in tmp/, not beside the object, so clean_tmp finds every leftover.
        fd, tmp = create_temp(self._tmp, sha)
        try:
            try:
                write_all(fd, blob)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty_dirs.add(final.parent)
        return sha, len(blob), True

    def sync(self) -> None:
        """Make the renames of new objects durable; call before committing catalog rows."""
        if self.durable:
            for folder in self._dirty_dirs:
                fsync_dir(folder)
        self._dirty_dirs.clear()

    def get(self, sha: str) -> bytes:
        """The raw bytes of object ``sha``, verified against its name."""
        path = self.path_for(sha)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise CorruptObject(f"object {sha[:12]} is missing") from None
        except OSError as exc:
            raise CorruptObject(f"object {sha[:12]} cannot be read: {exc.strerror}") from None
        try:
            data = _decompressor().decompress(blob)
        except zstandard.ZstdError:
            raise CorruptObject(f"object {sha[:12]} is damaged (does not decompress)") from None
        if sha256_hex(data) != sha:
            raise CorruptObject(f"object {sha[:12]} is damaged (content does not match its hash)")
        return data

    def iter_names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for fan in sorted(self.root.iterdir()):
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for obj in sorted(fan.iterdir()):
                yield fan.name + obj.name

    def clean_tmp(self) -> int:
        """Remove temp files left by a killed writer (call only under the archive lock)."""
        removed = 0
        if self._tmp.is_dir():
            for leftover in self._tmp.iterdir():
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


class Chunker:
    """Cuts a stream of bytes into chunks at line boundaries, holding at most CHUNK_MAX bytes.

    Line-boundary cuts keep a chunk's bytes stable when a file only grows, and let a reader of one
    chunk see whole JSONL lines."""

    def __init__(self, target: int = CHUNK_TARGET, maximum: int = CHUNK_MAX):
        self.target = target
        self.maximum = maximum
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        while len(self._buf) >= self.target:
            cut = self._buf.rfind(b"\n", 0, self.maximum)
            if cut < 0 or cut + 1 < self.target // 4:
                if len(self._buf) < self.maximum:
                    return
                cut = self.maximum - 1
            chunk = bytes(self._buf[: cut + 1])
            del self._buf[: cut + 1]
            yield chunk

    def finish(self) -> Iterator[bytes]:
        if self._buf:
            chunk = bytes(self._buf)
            self._buf.clear()
            yield chunk
