"""A segment's posting lists written a term at a time instead of a posting at a time.

Whoosh's ``FieldWriter.add_postings`` makes four Python calls and a field-length lookup per
posting (checks, array appends, block statistics): about half of a first ingest's CPU went
there. This hands each term's postings to ``CompactFieldWriter.add_term`` at once, with the
documents' field lengths read from the segment's length column, read once (a differential
test compares the bytes with Whoosh's posting-at-a-time ``add_postings`` through the same
writer).
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

from . import WhooshInternalsChanged, took
from .blocks import MemLengths
from .codec import CompactFieldWriter

# Length byte -> length, with 0 -> None as Whoosh's ``doc_field_length`` gives (a document
# without the field): block statistics skip it.
_LENGTH_OF_BYTE = [None] + [byte_to_length(b) for b in range(1, 256)]
_FIELD_AND_TERM = itemgetter(0, 1)


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


def write_postings(fieldwriter, schema, pdr, items) -> None:
    """Write ``items`` ((field, term bytes, docnum, weight, value), sorted) to the segment as
    Whoosh's ``fieldwriter.add_postings(schema, lengths, items)`` would."""
    if not isinstance(fieldwriter, CompactFieldWriter):
        raise WhooshInternalsChanged(f"field writer {type(fieldwriter).__name__}, not ours")
    took("postings.terms")
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
        fieldwriter.add_term(btext, docs, weights, values,
                             [table[fieldlengths[d]] for d in docs])
    if lastfield is not None:
        fieldwriter.finish_field()
