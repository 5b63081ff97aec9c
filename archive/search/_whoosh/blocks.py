"""Posting blocks and field lengths read straight from the segment files.

Whoosh reads a posting list one posting at a time through matcher objects and a field length
with a seek per document; reading a block's bytes at once (``codec.py``'s format), and a
segment's 1-byte length column whole, gives the same values several times faster. Both rely on
the layout of Whoosh 3's files, so any surprise raises ``WhooshInternalsChanged`` instead of
quietly taking Whoosh's slow path.
"""

from __future__ import annotations

import bisect

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3TermInfo, _lenfield

from . import WhooshInternalsChanged, took
from .codec import first_block, read_block, read_postings


class MemLengths:
    """A segment's field-length column held in memory.

    Without mmap every length lookup is a seek+read, and BM25 asks for one per scored
    document and field: preloading the column (1 byte per document) made scoring ~2× faster.
    """

    def __init__(self, reader):
        self._count = reader._count
        self._default = reader._default
        width = reader._fixedlen
        size = self._count * width
        self._data = reader._dbfile.get(reader._basepos, size) if size else b""

    def __getitem__(self, docnum):
        return self._data[docnum] if docnum < self._count else self._default


def preload_lengths(searcher, fieldnames) -> None:
    for leaf, _ in searcher.reader().leaf_readers():
        preload_leaf(leaf, fieldnames)


def preload_leaf(leaf, fieldnames) -> None:
    """Replace the segment's length column readers of ``fieldnames`` by in-memory ones."""
    readers = _perdoc_readers(leaf)
    perdoc = leaf._perdoc
    for name in fieldnames:
        lenfield = _lenfield(name)
        current = perdoc._cached_reader(lenfield, LENGTHS_COLUMN)
        if current is None or isinstance(current, MemLengths):
            continue  # no document of the segment has the field, or already loaded
        if getattr(current, "_fixedlen", None) != 1:
            raise WhooshInternalsChanged(f"the length column of {name!r} is not 1 byte wide")
        readers[lenfield] = MemLengths(current)
        took("lengths.preloaded")


def _perdoc_readers(leaf) -> dict:
    readers = getattr(getattr(leaf, "_perdoc", None), "_readers", None)
    if not isinstance(readers, dict):
        raise WhooshInternalsChanged("a segment reader has no per-document column readers")
    return readers


def lengths_bytes(leaf, fieldname) -> bytes:
    """The segment's field lengths in memory (loaded on first use); called only for a field
    that has postings in the segment, so it has a length column."""
    readers = _perdoc_readers(leaf)
    lenfield = _lenfield(fieldname)
    if not isinstance(readers.get(lenfield), MemLengths):
        preload_leaf(leaf, (fieldname,))
    reader = readers.get(lenfield)
    if not isinstance(reader, MemLengths):
        raise WhooshInternalsChanged(f"no length column for {fieldname!r}")
    took("lengths.in_memory")
    return reader._data


def posting_blocks(leaf, fieldname: str, info, local: list[int] | None, *, values: bool = False):
    """A term's postings in one segment, deleted documents included: (ids, weights) per
    block, or (ids, values) with ``values``. With ``local`` (sorted docnums), blocks holding
    none of them are skipped from their header, without decompressing them."""
    postfile = getattr(getattr(leaf, "_terms", None), "_postfile", None)
    fmt = leaf.schema[fieldname].format
    return term_blocks(postfile, info, fmt, local, "only" if values else False)


def term_blocks(postfile, info, fmt, local: list[int] | None, values):
    """A term's posting blocks as ``compact_blocks`` yields them, inlined postings (kept in
    the term table) included."""
    if postfile is None:
        raise WhooshInternalsChanged("a segment's terms reader has no posting file")
    if not isinstance(info, W3TermInfo):
        raise WhooshInternalsChanged(f"term info of type {type(info).__name__}, not W3TermInfo")
    if info.is_inlined():
        took("blocks.inlined")
        ids, weights, vals = info.inlined_postings()
        if fmt.fixed_value_size() == 0:  # a field without values (ID, BOOLEAN), as below
            vals = (None,) * len(ids)
        if not values:
            return [(ids, weights)]
        return [(ids, vals) if values == "only" else (ids, weights, vals)]
    start = first_block(postfile, info.extent()[0])
    took("blocks.raw")
    return compact_blocks(postfile, start, local, values)


def compact_blocks(pf, position: int, local: list[int] | None, values):
    """The blocks of a term's postings (``codec.py``'s format), each read with one call:
    (ids, weights), or (ids, values) with ``values="only"``, or (ids, weights, values) with
    ``values="both"``. With ``local``, a block holding none of those documents is skipped from
    its header (its last id), without reading its payload."""
    low = -1
    while True:
        header, start, end, last = read_block(pf, position)
        count, high, flags = header[0], header[1], header[3]
        skip = False
        if local is not None:
            i = bisect.bisect_right(local, low)
            if i >= len(local):
                return
            skip = local[i] > high
        if not skip:
            ids, weights, vals = read_postings(pf, start, end, flags, count, bool(values))
            if vals is None:
                vals = (None,) * count
            if not values:
                yield ids, weights
            elif values == "only":
                yield ids, vals
            else:
                yield ids, weights, vals
        if last:
            return
        low = high
        position = end
