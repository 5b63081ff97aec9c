"""A segment's term table: sorted keys, front-coded in small blocks, and an index of each
block's first key.

Whoosh 3 keeps its term table in an ordered hash file: ~36 bytes of hash slots and offsets
per term besides the key and its statistics, ~80 bytes per term in all, a third of a
text-dense index. Terms are written in sorted order and looked up by exact key or read in order
from a prefix, so a sorted file does both: a lookup bisects the in-memory list of first keys
and reads one block of ``BLOCK_TERMS`` entries; each entry stores only what its key adds to the
previous one.

File: ``MAGIC``, the blocks, then the trailer (a pickle of the field map, the first keys and
the block offsets), its length (8 bytes) and ``MAGIC`` again.
"""

from __future__ import annotations

import bisect
import pickle
import struct
from array import array

MAGIC = b"SAt1"
BLOCK_TERMS = 32
CACHED_BLOCKS = 256  # decoded blocks kept per open table: a query looks a word up in ~6 fields
_TAIL = struct.Struct("<Q4s")


def put_varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)


def get_varint(data: bytes, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    n, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


class TermTableWriter:
    """Takes (key, value) pairs in increasing key order; ``close`` writes the trailer."""

    def __init__(self, dbfile, fieldmap: dict[str, int]):
        self._file = dbfile
        self._fieldmap = fieldmap  # filled by the field writer as fields start
        self._firsts: list[bytes] = []
        self._offsets = array("Q")
        self._block = bytearray()
        self._count = 0
        self._last = b""
        dbfile.write(MAGIC)

    def add(self, key: bytes, value: bytes) -> None:
        if self._firsts and key <= self._last:
            raise ValueError(f"term table keys out of order: {self._last!r} .. {key!r}")
        block = self._block
        if not self._count:
            self._firsts.append(key)
            self._offsets.append(self._file.tell())
            shared = 0
        else:
            last, limit = self._last, min(len(key), len(self._last))
            shared = 0
            while shared < limit and key[shared] == last[shared]:
                shared += 1
        put_varint(block, shared)
        put_varint(block, len(key) - shared)
        block += key[shared:]
        put_varint(block, len(value))
        block += value
        self._last = key
        self._count += 1
        if self._count == BLOCK_TERMS:
            self._flush()

    def _flush(self) -> None:
        if self._block:
            self._file.write(bytes(self._block))
        self._block = bytearray()
        self._count = 0

    def close(self) -> None:
        self._flush()
        end = self._file.tell()
        trailer = pickle.dumps((dict(self._fieldmap), self._firsts, self._offsets.tobytes(),
                                end), protocol=5)
        self._file.write(trailer)
        self._file.write(_TAIL.pack(len(trailer), MAGIC))
        self._file.close()


class TermTableReader:
    """Reads what ``TermTableWriter`` wrote: exact lookups and in-order iteration."""

    def __init__(self, dbfile, length: int):
        self._file = dbfile
        if length < len(MAGIC) + _TAIL.size:
            raise ValueError("term table too short")
        size, magic = _TAIL.unpack(dbfile.get(length - _TAIL.size, _TAIL.size))
        if magic != MAGIC or dbfile.get(0, len(MAGIC)) != MAGIC:
            raise ValueError("not a term table")
        fieldmap, self._firsts, offsets, self._end = pickle.loads(
            dbfile.get(length - _TAIL.size - size, size))
        self.fieldmap: dict[str, int] = fieldmap
        self._offsets = array("Q")
        self._offsets.frombytes(offsets)
        self._cache: dict[int, list[tuple[bytes, bytes]]] = {}

    def _entries(self, i: int) -> list[tuple[bytes, bytes]]:
        """Block ``i``'s (key, value) pairs."""
        found = self._cache.get(i)
        if found is not None:
            return found
        start = self._offsets[i]
        end = self._offsets[i + 1] if i + 1 < len(self._offsets) else self._end
        data = self._file.get(start, end - start)
        out, pos, key = [], 0, b""
        while pos < len(data):
            shared, pos = get_varint(data, pos)
            n, pos = get_varint(data, pos)
            key = key[:shared] + data[pos : pos + n]
            pos += n
            n, pos = get_varint(data, pos)
            out.append((key, data[pos : pos + n]))
            pos += n
        if pos != len(data):
            raise ValueError("a term table block overruns")
        if len(self._cache) >= CACHED_BLOCKS:
            self._cache.clear()
        self._cache[i] = out
        return out

    def get(self, key: bytes) -> bytes | None:
        i = bisect.bisect_right(self._firsts, key) - 1
        if i < 0:
            return None
        entries = self._entries(i)
        j = bisect.bisect_left(entries, (key,))
        if j < len(entries) and entries[j][0] == key:
            return entries[j][1]
        return None

    def items_from(self, key: bytes = b""):
        """Every (key, value) from ``key`` on, in order."""
        i = max(0, bisect.bisect_right(self._firsts, key) - 1)
        for b in range(i, len(self._firsts)):
            entries = self._entries(b)
            if b == i:
                entries = entries[bisect.bisect_left(entries, (key,)):]
            yield from entries

    def close(self) -> None:
        self._file.close()
