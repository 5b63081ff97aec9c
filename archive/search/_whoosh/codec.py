"""Our own Whoosh codec: Whoosh 3's segments and columns, compact postings and term table.

Whoosh 3 pickles each posting block with pickle protocol 2, which spells every ``bytes`` value
(a posting's positions) as a call to ``_codecs.encode`` on a latin-1 string: a dense 20 MiB
corpus gave 28 MB of pickles for 3 MB of positions (15.6 MB after zlib), plus a 27-byte
pickled header per block; each rare term's inlined postings were a pickle of ~90 bytes; and its
term table, an ordered hash file, took ~80 bytes a term. Here a block is a 12-byte header and
typed arrays (ids as deltas, weights as small integers when they are, value lengths, values),
zlib'd when that pays, decoded by ``array.frombytes`` instead of pickle; a term's statistics
are varints (``CompactTermInfo``) in a sorted, front-coded table (``termtable.py``). The same
postings and statistics in under a third of the bytes (tests compare both codecs' contents).

Whoosh's own matchers, merges and queries run on it unchanged through ``CompactCodec``, whose
class path the segments pickle (``schema.SCHEMA_VERSION`` 6). Arrays are little-endian with
the platform's widths (``array``'s B/H/I/f): an index is rebuilt, never moved between machines.
"""

from __future__ import annotations

import pickle
import struct
import sys
import zlib
from array import array
from itertools import accumulate
from operator import sub

from whoosh.codec.base import FieldCursor, FieldWriter, TermsReader
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher, W3TermInfo
from whoosh.matching import ListMatcher
from whoosh.reading import TermNotFound
from whoosh.system import pack_ushort, unpack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from archive.errors import IndexDamaged

from ..folder import REINDEX_HINT
from .termtable import TermTableReader, TermTableWriter, get_varint, put_varint

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
    ``values`` holds one value per posting, or none (fields without values). Each test runs
    over the whole block at C speed (``map``, ``count``): this runs once per block written."""
    n = len(ids)
    if values and len(values) != n:
        raise ValueError("some postings lack a value")
    deltas = [ids[0], *map(sub, ids[1:], ids[:-1])]
    idw = _width(max(deltas))
    first = weights[0]
    if weights.count(1.0) == n:
        wcode, wbytes = _W_ONES, b""
    elif weights.count(first) == n:
        wcode, wbytes = _W_SAME, _raw("f", [first])
    else:
        wcode, wbytes = _W_FLOATS, b""
        try:
            whole = list(map(int, weights))
        except (OverflowError, ValueError):  # inf, nan
            whole = None
        if whole is not None and whole == list(weights) and 0 <= min(whole):
            top = max(whole)
            if top < 0x10000:
                wcode = _W_BYTES if top < 0x100 else _W_SHORTS
                wbytes = _raw("BH"[wcode - _W_BYTES], whole)
        if wcode == _W_FLOATS:
            wbytes = _raw("f", weights)
    code = idw | wcode << 2
    vbytes = b""
    if values:
        lengths = list(map(len, values))
        same = lengths.count(lengths[0]) == n
        lenw = _width(max(lengths))
        code |= _HAS_VALUES | (_SAME_LENGTH if same else 0)
        vbytes = bytes((lenw,)) + _raw(_WIDTHS[lenw], lengths[:1] if same else lengths)
        vbytes += b"".join(values)
    return bytes((code,)) + _raw(_WIDTHS[idw], deltas) + wbytes + vbytes


def decode_postings(data: bytes, count: int, values: bool = True):
    """``encode_postings`` reversed: (ids, weights, values) as tuples; values is None when
    the postings carry none, or when not asked for (``values=False``: scoring needs none)."""
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
    found = None
    if code & _HAS_VALUES:
        lenw = data[pos]
        if code & _SAME_LENGTH:
            (size,), pos = _array(_WIDTHS[lenw], data, pos + 1, 1)
            end = pos + size * count
            if values:
                found = tuple(data[i : i + size] for i in range(pos, end, size))
        else:
            lengths, pos = _array(_WIDTHS[lenw], data, pos + 1, count)
            end = pos + sum(lengths)
            if values:
                ends = list(accumulate(lengths, initial=pos))
                found = tuple(data[a:b] for a, b in zip(ends, ends[1:], strict=False))
        pos = end
    if pos != len(data):
        raise ValueError("posting data of the wrong length")
    return ids, weights, found


def first_block(pf, offset: int) -> int:
    """Where the first block of the posting list at ``offset`` begins, after the tag that
    names this format; a list without it is a damaged index."""
    if pf.get(offset, len(MAGIC)) != MAGIC:
        raise IndexDamaged("the search index is damaged (a posting list has no block tag)",
                           hint=REINDEX_HINT)
    return offset + len(MAGIC)


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


def read_postings(pf, start: int, end: int, flags: int, count: int,
                  values: bool = True):
    """The (ids, weights, values) of the block whose payload is ``pf[start:end]``; a payload
    that does not decode is a damaged index."""
    try:
        data = pf.get(start, end - start)
        return decode_postings(zlib.decompress(data) if flags & _ZLIBBED else data, count,
                               values)
    except (ValueError, IndexError, zlib.error) as e:
        raise IndexDamaged(f"the search index is damaged (a posting block: {e})",
                           hint=REINDEX_HINT) from None


# A term with fewer postings than this keeps them in its term-table entry ("inlined", which
# Whoosh's readers and merges support) instead of a block of its own in the postings file:
# most terms of a vocabulary occur in one to three documents, and a block's header and length
# cost more time and bytes than the postings.
INLINE_BELOW = 4

# Term info flags: postings inlined; total weight, max weight as varints (else float32); ids.
_TI_INLINED, _TI_WEIGHT_INT, _TI_MAXWEIGHT_INT, _TI_NO_IDS = 1, 2, 4, 8
_FLOAT = struct.Struct("<f")


def _put_number(out: bytearray, x) -> bool:
    """``x`` as a varint when it is a whole number (True), else as a float32."""
    if float(x).is_integer() and 0 <= x < 1 << 53:
        put_varint(out, int(x))
        return True
    out += _FLOAT.pack(x)
    return False


def _get_number(data: bytes, pos: int, whole: bool) -> tuple[float, int]:
    if whole:
        n, pos = get_varint(data, pos)
        return float(n), pos
    return _FLOAT.unpack_from(data, pos)[0], pos + 4


class CompactTermInfo(W3TermInfo):
    """Whoosh 3's term statistics (total weight, document frequency, min and max length, max
    weight, first and last id) and where the postings are, in varints: ~10 bytes a term
    where Whoosh 3 takes 38, or the inlined postings as ``encode_postings`` bytes."""

    def to_bytes(self):
        out = bytearray(1)
        flags = 0
        put_varint(out, self._df)
        if _put_number(out, self._weight):
            flags |= _TI_WEIGHT_INT
        out.append(0 if self._minlength is None else length_to_byte(self._minlength))
        out.append(length_to_byte(self._maxlength))
        if _put_number(out, self._maxweight):
            flags |= _TI_MAXWEIGHT_INT
        if self._minid is None:
            flags |= _TI_NO_IDS
        else:
            put_varint(out, self._minid)
            put_varint(out, self._maxid - self._minid)
        if self.is_inlined():
            flags |= _TI_INLINED
            ids, weights, values = self._inlined
            out += encode_postings(ids, weights, [v for v in values if v])
        else:
            put_varint(out, self._offset)
            put_varint(out, self._length)
        out[0] = flags
        return bytes(out)

    @classmethod
    def from_bytes(cls, s):
        try:
            return cls._decode(s)
        except (ValueError, IndexError, struct.error) as e:
            raise IndexDamaged(f"the search index is damaged (a term's statistics: {e})",
                               hint=REINDEX_HINT) from None

    @classmethod
    def _decode(cls, s):
        info = cls()
        flags = s[0]
        info._df, pos = get_varint(s, 1)
        info._weight, pos = _get_number(s, pos, flags & _TI_WEIGHT_INT)
        info._minlength = byte_to_length(s[pos])
        info._maxlength = byte_to_length(s[pos + 1])
        info._maxweight, pos = _get_number(s, pos + 2, flags & _TI_MAXWEIGHT_INT)
        if flags & _TI_NO_IDS:
            info._minid = info._maxid = None
        else:
            info._minid, pos = get_varint(s, pos)
            span, pos = get_varint(s, pos)
            info._maxid = info._minid + span
        if flags & _TI_INLINED:
            ids, weights, values = decode_postings(s[pos:], info._df)
            if values is None:  # as Whoosh's writer inlines them: an empty value each
                values = (b"",) * len(ids)
            info._inlined = (ids, weights, values)
        else:
            info._offset, pos = get_varint(s, pos)
            info._length, pos = get_varint(s, pos)
            if pos != len(s):
                raise ValueError("term statistics of the wrong length")
        return info


class CompactFieldWriter(FieldWriter):
    """Writes a segment's postings (``encode_postings`` blocks of up to ``blocklimit``, or
    inlined) and its term table (``termtable.py``). ``add_term`` takes a term's postings at
    once; Whoosh's posting-at-a-time calls (``start_term``, ``add``, ``finish_term``, its
    ``add_postings``) end in the same call."""

    def __init__(self, codec, storage, segment):
        self._blocklimit = codec._blocklimit
        self._compression = codec._compression or 1
        self._fieldmap: dict[str, int] = {}
        self._fieldid = None
        self._terms = TermTableWriter(segment.create_file(storage, codec.TERMS_EXT),
                                      self._fieldmap)
        self._postfile = segment.create_file(storage, codec.POSTS_EXT)
        self._term = None
        self.is_closed = False

    def start_field(self, fieldname, fieldobj):
        self._fieldid = self._fieldmap.setdefault(fieldname, len(self._fieldmap))

    def start_term(self, btext):
        self._term = (btext, [], [], [], [])

    def add(self, docnum, weight, vbytes, length):
        _btext, ids, weights, values, lengths = self._term
        ids.append(docnum)
        weights.append(weight)
        values.append(vbytes)
        lengths.append(length or None)

    def finish_term(self):
        self.add_term(*self._term)
        self._term = None

    def finish_field(self):
        self._fieldid = None

    def add_term(self, btext: bytes, ids, weights, values, lengths) -> None:
        """One term's postings in docnum order: weights, values (b"" or None for none) and the
        documents' field lengths (None for none), one each."""
        info = CompactTermInfo()
        info._df = len(ids)
        info._weight = sum(weights)
        info._maxweight = max(0, *weights)
        info._minid, info._maxid = ids[0], ids[-1]
        known = list(filter(None, lengths))
        info._minlength = min(known) if known else None
        info._maxlength = max(known) if known else 0
        if len(ids) < INLINE_BELOW:
            info._inlined = (tuple(ids), tuple(weights), tuple(v or b"" for v in values))
        else:
            start = self._postfile.tell()
            self._postfile.write(MAGIC)
            size = self._blocklimit
            for at in range(0, len(ids), size):
                self._write_block(ids[at : at + size], weights[at : at + size],
                                  values[at : at + size], lengths[at : at + size],
                                  at + size >= len(ids))
            info._offset, info._length = start, self._postfile.tell() - start
        self._terms.add(pack_ushort(self._fieldid) + btext, info.to_bytes())

    def _write_block(self, ids, weights, values, lengths, last: bool) -> None:
        if len(ids) > 0xFF:
            raise ValueError("a posting block holds at most 255 postings")
        payload = encode_postings(ids, weights, [v for v in values if v])
        flags = 0
        if len(payload) >= _MIN_ZLIB:
            packed = zlib.compress(payload, self._compression)
            if len(packed) < len(payload):
                payload, flags = packed, _ZLIBBED
        known = list(filter(None, lengths))
        header = HEADER.pack(len(ids), ids[-1], max(0, *weights), flags,
                             length_to_byte(min(known)) if known else 0,
                             length_to_byte(max(known)) if known else 0)
        length = len(header) + len(payload)
        self._postfile.write(_LENGTH.pack(-length if last else length) + header + payload)

    def close(self):
        self._terms.close()
        self._postfile.close()
        self.is_closed = True


class CompactLeafMatcher(W3LeafMatcher):
    """Whoosh 3's matcher (skipping by block statistics, lazy decoding) over compact blocks."""

    def _read_header(self):
        self._baseoffset = first_block(self._postfile, self._startoffset)

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


class CompactTermsReader(TermsReader):
    """A segment's term table (``termtable.py``): keys are a field number and the term's
    bytes, values ``CompactTermInfo`` bytes."""

    def __init__(self, codec, dbfile, length, postfile):
        self._codec = codec
        try:
            self._table = TermTableReader(dbfile, length)
        except (ValueError, EOFError, pickle.UnpicklingError, struct.error) as e:
            raise IndexDamaged(f"the search index is damaged (a term table: {e})",
                               hint=REINDEX_HINT) from None
        self._fieldmap = self._table.fieldmap
        self._fieldunmap = {num: name for name, num in self._fieldmap.items()}
        self._postfile = postfile

    def _key(self, fieldname: str, tbytes: bytes) -> bytes:
        return pack_ushort(self._fieldmap.get(fieldname, 0xFFFF)) + tbytes

    def _term(self, key: bytes) -> tuple[str, bytes]:
        return self._fieldunmap[unpack_ushort(key[:2])[0]], key[2:]

    def _info(self, fieldname: str, tbytes: bytes) -> CompactTermInfo:
        try:
            value = self._table.get(self._key(fieldname, tbytes))
        except (ValueError, IndexError) as e:
            raise IndexDamaged(f"the search index is damaged (a term table block: {e})",
                               hint=REINDEX_HINT) from None
        if value is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return CompactTermInfo.from_bytes(value)

    def __contains__(self, term):
        return self._table.get(self._key(*term)) is not None

    def indexed_field_names(self):
        return self._fieldmap.keys()

    def cursor(self, fieldname, fieldobj):
        return CompactFieldCursor(self, fieldname, fieldobj)

    def stored_items(self, key: bytes = b""):
        """((field, term bytes), its entry's bytes as stored) from ``key`` on, in order."""
        return ((self._term(k), value) for k, value in self._table.items_from(key))

    def terms(self):
        return (term for term, _ in self.stored_items())

    def terms_from(self, fieldname, prefix):
        return (term for term, _ in self.stored_items(self._key(fieldname, prefix)))

    def items(self):
        info = CompactTermInfo.from_bytes
        return ((term, info(value)) for term, value in self.stored_items())

    def items_from(self, fieldname, prefix):
        info = CompactTermInfo.from_bytes
        return ((term, info(value))
                for term, value in self.stored_items(self._key(fieldname, prefix)))

    def term_info(self, fieldname, tbytes):
        return self._info(fieldname, tbytes)

    def frequency(self, fieldname, tbytes):
        try:
            return self._info(fieldname, tbytes).weight()
        except TermNotFound:
            raise KeyError(tbytes) from None

    def doc_frequency(self, fieldname, tbytes):
        try:
            return self._info(fieldname, tbytes).doc_frequency()
        except TermNotFound:
            raise KeyError(tbytes) from None

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        return self._codec.postings_reader(self._postfile, self._info(fieldname, tbytes),
                                           format_, term=(fieldname, tbytes), scorer=scorer)

    def close(self):
        self._table.close()
        self._postfile.close()


class CompactFieldCursor(FieldCursor):
    """A field's terms in order, for Whoosh's automata (fuzzy and regex terms)."""

    def __init__(self, terms: CompactTermsReader, fieldname: str, fieldobj):
        self._terms, self._fieldname, self._fieldobj = terms, fieldname, fieldobj
        self._items = None
        self._current = None
        self.first()

    def first(self):
        return self.find(b"")

    def find(self, term):
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        self._items = self._terms.items_from(self._fieldname, term)
        return self.next()

    def next(self):
        self._current = next(self._items, None)
        if self._current is not None and self._current[0][0] != self._fieldname:
            self._current = None
        return self.text()

    def text(self):
        return None if self._current is None else self._fieldobj.from_bytes(self._current[0][1])

    def term(self):
        return self.text()

    def term_info(self):
        return None if self._current is None else self._current[1]

    def is_valid(self):
        return self._current is not None


class CompactCodec(W3Codec):
    """Whoosh 3's codec (per-document columns, segments) with ``CompactFieldWriter``'s
    postings and term table."""

    def field_writer(self, storage, segment):
        return CompactFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        raise NotImplementedError("postings are written by CompactFieldWriter.add_term")

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
