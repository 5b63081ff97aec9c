"""A compact posting format as a Whoosh codec: Whoosh 3's files and term table, smaller blocks.

Whoosh 3 pickles each posting block with pickle protocol 2, which spells every ``bytes`` value
(a posting's positions) as a call to ``_codecs.encode`` on a latin-1 string: a dense 20 MiB
corpus gave 28 MB of pickles for 3 MB of positions (15.6 MB after zlib), plus a 27-byte
pickled header per block; and each rare term's inlined postings in the term table were a
pickle of ~90 bytes. Here a block is a 12-byte header and typed arrays (ids as deltas, weights
as small integers when they are, value lengths, values), zlib'd when that pays: the same
postings in under a third of the bytes, decoded by ``array.frombytes`` instead of pickle.

Everything else is Whoosh 3's (term table, columns, segments, the 26-byte term statistics its
readers seek into), so Whoosh's own matchers, merges and queries run on it unchanged through
``CompactCodec``, whose class path the segments pickle (``schema.SCHEMA_VERSION`` 6).
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from itertools import accumulate

from whoosh.codec.whoosh3 import (
    W3Codec,
    W3FieldCursor,
    W3FieldWriter,
    W3LeafMatcher,
    W3PostingsWriter,
    W3TermInfo,
    W3TermsReader,
)
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from archive.errors import IndexDamaged

from ..folder import REINDEX_HINT

# The first bytes of each term's postings (Whoosh 3 writes ``W3Bl``): a reader can tell the
# two formats apart, and refuses postings that are neither.
MAGIC = b"SAc1"

# Block header: posting count, last id, max weight, flags (bit 0: zlib'd), min and max length
# (Whoosh's length bytes).
HEADER = struct.Struct("<BIfBBB")
_LENGTH = struct.Struct("<i")  # the block's byte length, negative for a term's last block

_ZLIBBED = 1
_MIN_ZLIB = 48  # shorter payloads are stored as they are
_WIDTHS = "BHI"  # array type codes of the id and value-length arrays, by width code
_SWAP = sys.byteorder == "big"  # arrays are stored little-endian

# Code byte: bits 0-1 the id width, 2-4 how weights are kept (every posting 1.0; one float
# for all; integers in bytes; in shorts; floats), then whether values follow and whether they
# all have one length.
_W_ONES, _W_SAME, _W_BYTES, _W_SHORTS, _W_FLOATS = range(5)
_HAS_VALUES = 0x20
_SAME_LENGTH = 0x40


def _width(top: int) -> int:
    return 0 if top < 0x100 else 1 if top < 0x10000 else 2


def _raw(code: str, items) -> bytes:
    a = array(code, items)
    if _SWAP:
        a.byteswap()
    return a.tobytes()


def _array(code: str, data: bytes, start: int, count: int) -> tuple[array, int]:
    a = array(code)
    end = start + count * a.itemsize
    a.frombytes(data[start:end])
    if len(a) != count:
        raise ValueError("truncated posting data")
    if _SWAP:
        a.byteswap()
    return a, end


def encode_postings(ids, weights, values) -> bytes:
    """One block's (or a term's inlined) postings: a code byte, then the id deltas, the
    weights and the values with their lengths (one length when all are as long).
    ``values`` holds one value per posting, or none (fields without values)."""
    if values and len(values) != len(ids):
        raise ValueError("some postings lack a value")
    deltas = [ids[0], *(b - a for a, b in zip(ids, ids[1:], strict=False))]
    idw = _width(max(deltas))
    first = weights[0]
    if all(w == 1.0 for w in weights):
        wcode, wbytes = _W_ONES, b""
    elif all(w == first for w in weights):
        wcode, wbytes = _W_SAME, _raw("f", [first])
    elif all(float(w).is_integer() and 0 <= w < 0x10000 for w in weights):
        wcode = _W_BYTES if max(weights) < 0x100 else _W_SHORTS
        wbytes = _raw("BH"[wcode - _W_BYTES], map(int, weights))
    else:
        wcode, wbytes = _W_FLOATS, _raw("f", weights)
    code = idw | wcode << 2
    vbytes = b""
    if values:
        lengths = [len(v) for v in values]
        same = lengths.count(lengths[0]) == len(lengths)
        lenw = _width(max(lengths))
        code |= _HAS_VALUES | (_SAME_LENGTH if same else 0)
        vbytes = bytes((lenw,)) + _raw(_WIDTHS[lenw], lengths[:1] if same else lengths)
        vbytes += b"".join(values)
    return bytes((code,)) + _raw(_WIDTHS[idw], deltas) + wbytes + vbytes


def decode_postings(data: bytes, count: int):
    """``encode_postings`` reversed: (ids, weights, values) as tuples; values is None when
    the postings carry none."""
    code = data[0]
    deltas, pos = _array(_WIDTHS[code & 3], data, 1, count)
    ids = tuple(accumulate(deltas))
    wcode = code >> 2 & 7
    if wcode == _W_ONES:
        weights = (1.0,) * count
    elif wcode == _W_SAME:
        same, pos = _array("f", data, pos, 1)
        weights = (same[0],) * count
    else:
        raw, pos = _array("BHf"[wcode - _W_BYTES], data, pos, count)
        weights = tuple(map(float, raw))
    values = None
    if code & _HAS_VALUES:
        lenw = data[pos]
        if code & _SAME_LENGTH:
            (size,), pos = _array(_WIDTHS[lenw], data, pos + 1, 1)
            values = tuple(data[i : i + size] for i in range(pos, pos + size * count, size))
            pos += size * count
        else:
            lengths, pos = _array(_WIDTHS[lenw], data, pos + 1, count)
            ends = list(accumulate(lengths, initial=pos))
            values = tuple(data[a:b] for a, b in zip(ends, ends[1:], strict=False))
            pos = ends[-1]
    if pos != len(data):
        raise ValueError("posting data of the wrong length")
    return ids, weights, values


def read_block(pf, position: int):
    """(header fields, payload offset, next block's position, last) of the block at
    ``position`` of the postings file."""
    try:
        length = _LENGTH.unpack(pf.get(position, 4))[0]
        last, length = length < 0, abs(length)
        count, lastid, maxweight, flags, minlen, maxlen = HEADER.unpack(
            pf.get(position + 4, HEADER.size))
    except (struct.error, ValueError, OSError) as e:
        raise IndexDamaged(f"the search index is damaged (a posting block header: {e})",
                           hint=REINDEX_HINT) from None
    if length < HEADER.size + 2 or not count:
        raise IndexDamaged("the search index is damaged (a posting block of no length)",
                           hint=REINDEX_HINT)
    start = position + 4 + HEADER.size
    return (count, lastid, maxweight, flags, minlen, maxlen), start, position + 4 + length, last


def read_postings(pf, start: int, end: int, flags: int, count: int):
    """The (ids, weights, values) of the block whose payload is ``pf[start:end]``; a payload
    that does not decode is a damaged index."""
    try:
        data = pf.get(start, end - start)
        return decode_postings(zlib.decompress(data) if flags & _ZLIBBED else data, count)
    except (ValueError, IndexError, zlib.error) as e:
        raise IndexDamaged(f"the search index is damaged (a posting block: {e})",
                           hint=REINDEX_HINT) from None


class CompactTermInfo(W3TermInfo):
    """Whoosh 3's term statistics (the fixed 26 bytes its readers seek into), with inlined
    postings as ``encode_postings`` bytes instead of a pickle."""

    def to_bytes(self):
        if not self.is_inlined():
            return super().to_bytes()
        ids, weights, values = self._inlined
        head = self._struct.pack(
            1, self._weight, self._df,
            0 if self._minlength is None else length_to_byte(self._minlength),
            length_to_byte(self._maxlength), self._maxweight,
            0xFFFFFFFF if self._minid is None else self._minid,
            0xFFFFFFFF if self._maxid is None else self._maxid)
        return head + encode_postings(ids, weights, [v for v in values if v])

    @classmethod
    def from_bytes(cls, s):
        if not s[0]:
            return super().from_bytes(s)
        size = cls._struct.size
        info = super().from_bytes(b"\x00" + s[1:size] + bytes(12))  # statistics, no extent
        info._offset = info._length = None
        ids, weights, values = decode_postings(s[size:], info._df)
        if values is None:  # as Whoosh's writer inlines them: an empty value each
            values = (b"",) * len(ids)
        info._inlined = (ids, weights, values)
        return info


class CompactPostingsWriter(W3PostingsWriter):
    """Whoosh 3's posting writer (blocks of up to 128 postings, term statistics) writing
    ``encode_postings`` blocks."""

    def _write_block(self, last=False):
        if not self._blockcount:
            self._postfile.write(MAGIC)
        self._terminfo.add_block(self)
        ids = self._ids
        if len(ids) > 0xFF:
            raise ValueError("a posting block holds at most 255 postings")
        payload = encode_postings(ids, self._weights, self._values)
        flags = 0
        if len(payload) >= _MIN_ZLIB:
            packed = zlib.compress(payload, self._compression or 1)
            if len(packed) < len(payload):
                payload, flags = packed, _ZLIBBED
        header = HEADER.pack(len(ids), ids[-1], self._maxweight, flags,
                             length_to_byte(self._minlength or 0),
                             length_to_byte(self._maxlength))
        length = len(header) + len(payload)
        pf = self._postfile
        pf.write(_LENGTH.pack(-length if last else length))
        pf.write(header)
        pf.write(payload)
        self._blockcount += 1
        self._new_block()


class CompactFieldWriter(W3FieldWriter):
    def start_term(self, btext):
        super().start_term(btext)
        self._postwriter._terminfo = CompactTermInfo()


class CompactLeafMatcher(W3LeafMatcher):
    """Whoosh 3's matcher (skipping by block statistics, lazy decoding) over compact blocks."""

    def _read_header(self):
        if self._postfile.get(self._startoffset, 4) != MAGIC:
            raise IndexDamaged("the search index is damaged (a posting list has no block tag)",
                               hint=REINDEX_HINT)
        self._baseoffset = self._startoffset + 4

    def _goto(self, position):
        self._ids = self._weights = self._values = None
        self._i = 0
        header, self._dataoffset, self._nextoffset, self._lastblock = read_block(
            self._postfile, position)
        count, self._maxid, self._maxweight, self._compression, mnlen, mxlen = header
        self._blocklength = count
        self._minlength = byte_to_length(mnlen)
        self._maxlength = byte_to_length(mxlen)

    def _read_data(self):
        ids, weights, values = read_postings(self._postfile, self._dataoffset, self._nextoffset,
                                             self._compression, self._blocklength)
        self._ids = ids
        self._weights = weights
        if values is None:
            values = (None,) * self._blocklength
        self._values = values

    def _read_ids(self):
        self._read_data()

    def _read_weights(self):
        self._read_data()

    def _read_values(self):
        self._read_data()


class CompactFieldCursor(W3FieldCursor):
    def term_info(self):
        if not self.is_valid():
            return None
        data = self._tindex.dbfile.get(self._datapos, self._datalen)
        return CompactTermInfo.from_bytes(data)


class CompactTermsReader(W3TermsReader):
    """Whoosh 3's term table, its inlined postings decoded by ``CompactTermInfo``."""

    def cursor(self, fieldname, fieldobj):
        return CompactFieldCursor(self._tindex, fieldname, self._keycoder, self._keydecoder,
                                  fieldobj)

    def _decoded(self, pairs):
        decode, info = self._keydecoder, CompactTermInfo.from_bytes
        return ((decode(keybytes), info(valbytes)) for keybytes, valbytes in pairs)

    def items(self):
        return self._decoded(self._tindex.items())

    def items_from(self, fieldname, prefix):
        return self._decoded(self._tindex.items_from(self._keycoder(fieldname, prefix)))

    def term_info(self, fieldname, tbytes):
        try:
            data = self._tindex[self._keycoder(fieldname, tbytes)]
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None
        return CompactTermInfo.from_bytes(data)


class CompactCodec(W3Codec):
    """Whoosh 3's codec with ``encode_postings`` blocks and inlined postings."""

    def field_writer(self, storage, segment):
        return CompactFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        if byteids:
            raise ValueError("term vectors are not written by this schema")
        return CompactPostingsWriter(dbfile, blocklimit=self._blocklimit,
                                     compression=self._compression,
                                     inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term,
                               terminfo=terminfo)
        offset, length = terminfo.extent()
        return CompactLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def terms_reader(self, storage, segment):
        name = segment.make_filename(self.TERMS_EXT)
        return CompactTermsReader(self, storage.open_file(name), storage.file_length(name),
                                  segment.open_file(storage, self.POSTS_EXT))
