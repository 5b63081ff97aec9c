"""Field, format and column types that write Whoosh's posting values themselves.

``AnalyzedText`` yields postings already encoded in ``CompactPositions``, a Whoosh ``Format``
(its public extension point: Whoosh's phrase matching and ours decode through it), and
``TextsColumn`` sets private attributes of Whoosh's column writer and reader. Their class
paths are pickled into the index (bump ``schema.SCHEMA_VERSION`` when they move or their
encoding changes).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from itertools import accumulate

import zstandard
from whoosh.columns import CompressedBytesColumn
from whoosh.fields import TEXT
from whoosh.formats import Positions
from whoosh.system import pack_uint

from ..analysis import index_terms

_WIDTHS = {1: "B", 2: "H", 4: "I"}


def encode_positions(positions: list[int]) -> bytes:
    """Positions as their deltas in the narrowest of 1, 2 or 4 bytes each, after one byte
    naming the width. Whoosh's ``Positions`` pickles a list per posting (17 bytes for a single
    position, most postings have one or two): the positions were half the index."""
    first = positions[0]
    deltas = [b - a for a, b in zip(positions, positions[1:], strict=False)]
    top = max(first, max(deltas)) if deltas else first
    if top < 0x100:
        return bytes([1, first, *deltas])
    width = 2 if top < 0x10000 else 4
    return bytes((width,)) + array(_WIDTHS[width], [first, *deltas]).tobytes()


class CompactPositions(Positions):
    """Whoosh's ``Positions`` (phrase search, frequency, weight) with ``encode_positions``'s
    encoding."""

    def encode(self, poslist):
        return encode_positions(poslist)

    def decode_positions(self, valuestring):
        return list(accumulate(array(_WIDTHS[valuestring[0]], valuestring[1:])))

    def decode_frequency(self, valuestring):
        return (len(valuestring) - 1) // valuestring[0]


class AnalyzedText(TEXT):
    """TEXT whose indexing runs the analyzer through ``index_terms`` (same terms, positions
    and weights as Whoosh's generic path, which costs most of the indexing time), positions
    kept in ``CompactPositions``. Queries still go through the field's analyzer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.format, Positions):
            self.format = CompactPositions(field_boost=self.format.field_boost)

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            yield from super().index(value, **kwargs)
            return
        fmt = self.format
        fb = fmt.field_boost
        terms = index_terms(value)
        if not fmt.supports("positions"):
            counts: dict[str, int] = {}
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
            for term, n in counts.items():
                yield term.encode("utf-8"), n, n * fb, pack_uint(n)
            return
        poses: dict[str, list[int]] = defaultdict(list)
        for i, term in enumerate(terms):
            poses[term].append(i)
        for term, lst in poses.items():
            if len(lst) == 1:
                p = lst[0]
                value = _ONE_BYTE[p] if p < 0x100 else encode_positions(lst)
                yield term.encode("utf-8"), 1, fb, value
            else:
                n = len(lst)
                yield term.encode("utf-8"), n, n * fb, encode_positions(lst)


_ONE_BYTE = [bytes((1, p)) for p in range(0x100)]  # a single position under 256


class TextsColumn(CompressedBytesColumn):
    """A document's texts (JSON), zstd level 3, read only for the hits a search shows.

    zstd, not Whoosh's zlib: decompressing the hits' texts was a fifth of a warm query's time
    (zlib at level 1), zstd decompresses ~2x faster, compresses faster and ~5% smaller.
    Offsets are written for every segment: without them, opening the column rebuilds them in a
    Python loop over every document (Whoosh writes them only past 32,768 documents)."""

    def __init__(self):
        super().__init__(level=3)

    def writer(self, dbfile):
        w = super().writer(dbfile)
        w.cutoff = 0
        w._compress = zstandard.compress
        return w

    def reader(self, dbfile, basepos, length, doccount):
        r = super().reader(dbfile, basepos, length, doccount)
        r._decompress = zstandard.decompress  # ZstdError: damage (``folder.DAMAGE_ERRORS``)
        return r
