"""A segment's posting lists written a block at a time instead of a posting at a time.

Whoosh's ``FieldWriter.add_postings`` makes four Python calls and a field-length lookup per
posting (checks, array appends, block statistics): about half of a first ingest's CPU went
there. This writes the same terms and blocks through the same posting writer (``codec.py``'s,
which encodes, compresses and records each block: a differential test compares its bytes with
posting-at-a-time writing), but fills each block from slices of the term's postings and the
segment's length column read once.
"""

from __future__ import annotations

from array import array
from itertools import groupby
from operator import itemgetter

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3FieldWriter, _lenfield
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length

from . import WhooshInternalsChanged, took
from .blocks import MemLengths

# Length byte -> length, with 0 -> None as Whoosh's ``doc_field_length`` gives (a document
# without the field): block statistics skip it.
_LENGTH_OF_BYTE = [None] + [byte_to_length(b) for b in range(1, 256)]
_FIELD_AND_TERM = itemgetter(0, 1)
# A term with fewer postings than this keeps them in its term-table entry ("inlined", which
# Whoosh's readers and merges support) instead of a compressed block of its own in the
# postings file: most terms of a vocabulary occur in one to three documents, and a block's
# header and length cost more time and bytes than the postings. (Whoosh's own writer cannot
# inline: it calls ``set_inline``, its term info has ``set_inlined``.)
INLINE_BELOW = 4


class _Lengths:
    """Each field's length bytes of the new segment, read whole once (1 byte per document)."""

    def __init__(self, pdr):
        self._pdr = pdr
        self._count = pdr.doc_count_all() if pdr is not None else 0
        self._cache: dict[str, bytes] = {}

    def of(self, fieldname: str) -> bytes:
        data = self._cache.get(fieldname)
        if data is None:
            data = b""
            if self._pdr is not None:
                reader = self._pdr._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                if reader is not None:
                    if getattr(reader, "_fixedlen", None) != 1:
                        raise WhooshInternalsChanged(
                            f"the length column of {fieldname!r} is not 1 byte wide")
                    data = MemLengths(reader)._data
            data = data.ljust(self._count + 1, b"\0")
            self._cache[fieldname] = data
        return data


def _finish_inlined(fieldwriter, pw, btext: bytes, values: list[bytes]) -> None:
    """Whoosh's ``finish_term`` for a term whose postings (buffered in ``pw``) go inline.
    Every posting keeps a value, empty ones too: Whoosh's list matcher of inlined postings
    answers ``""`` (text, which its own merge rejects) for a posting without one."""
    info = pw._terminfo
    info.add_block(pw)
    info.set_inlined(pw._ids, pw._weights, values)
    fieldwriter._tindex.add(pack_ushort(fieldwriter._fieldid) + btext, info.to_bytes())
    pw._terminfo = None


def write_postings(fieldwriter, schema, pdr, items) -> None:
    """Write ``items`` ((field, term bytes, docnum, weight, value), sorted) to the segment as
    Whoosh's ``fieldwriter.add_postings(schema, lengths, items)`` would."""
    if not isinstance(fieldwriter, W3FieldWriter):
        raise WhooshInternalsChanged(f"field writer {type(fieldwriter).__name__}, not W3's")
    took("postings.blocks")
    lengths = _Lengths(pdr)
    table = _LENGTH_OF_BYTE
    lastfield = lastterm = None
    fieldlengths = b""
    for (fieldname, btext), group in groupby(items, _FIELD_AND_TERM):
        if fieldname != lastfield:
            if lastfield is not None:
                if fieldname < lastfield:
                    raise ValueError(f"postings out of order: field {lastfield!r} .. {fieldname!r}")
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            fieldlengths = lengths.of(fieldname)
            lastfield, lastterm = fieldname, None
        elif btext <= lastterm:
            raise ValueError(f"postings out of order: term {lastterm!r} .. {btext!r}")
        lastterm = btext
        _f, _t, docs, weights, values = zip(*group, strict=True)
        if docs[0] == -1:  # Whoosh's spelling marker: never pooled by this schema
            raise WhooshInternalsChanged("a spelling posting reached the posting writer")
        fieldwriter.start_term(btext)
        pw = fieldwriter._postwriter
        size = pw._blocklimit if len(docs) >= INLINE_BELOW else len(docs)
        for start in range(0, len(docs), size):
            if start:
                pw._write_block()
            ids = docs[start : start + size]
            ws = weights[start : start + size]
            lens = [n for n in map(table.__getitem__, map(fieldlengths.__getitem__, ids)) if n]
            top = max(ws)
            pw._ids = array("I", ids)
            pw._weights = array("f", ws)
            pw._values = [v for v in values[start : start + size] if v]
            pw._maxweight = top if top > 0 else 0
            pw._minlength = min(lens) if lens else None
            pw._maxlength = max(lens) if lens else 0
        if len(docs) < INLINE_BELOW:
            _finish_inlined(fieldwriter, pw, btext, [v or b"" for v in values])
        else:
            fieldwriter.finish_term()
    if lastfield is not None:
        fieldwriter.finish_field()
