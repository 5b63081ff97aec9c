"""THE FENCE: every use of a private or undocumented Whoosh name lives in this package.

The rest of ``archive.search`` uses Whoosh's public API only (tests hold it so). What is here
makes indexing and searching several times faster than Whoosh's generic code, by relying on
Whoosh 2.7 internals: ``PRIVATE_NAMES`` lists every one of them, and a contract test checks
that the installed Whoosh is the pinned version and still has each name.

A fast path never falls back silently: it is taken, or it raises ``WhooshInternalsChanged``
naming what it missed. Where a fallback is legitimate (a query shape the fast scorer does not
handle) ``TAKEN`` counts which path ran, so tests can assert that the fast one did.
"""

from __future__ import annotations

from collections import Counter

from archive.errors import ArchiveError

from .lean import import_whoosh_lean

import_whoosh_lean()  # before any other Whoosh import of the process (see lean.py)

# (owner, name): every private or undocumented Whoosh name the fence reads, calls, overrides or
# assigns. An owner is a module or a class; a name may be set by the owner's __init__.
PRIVATE_NAMES: list[tuple[str, str]] = [
    # lean.py: the modules Whoosh imports that the lean import answers with stand-ins
    ("whoosh.compat", "urlretrieve"),
    ("whoosh.reading", "cached_property"),
    ("whoosh.query.terms", "variations"),
    # fields.py: the stored-offsets cutoff and the texts column's zstd (the Positions encoding it
    # writes by hand is held by a differential test, not a name)
    ("whoosh.columns.VarBytesColumn.Writer", "cutoff"),
    ("whoosh.columns.CompressedBytesColumn.Writer", "_compress"),
    ("whoosh.columns.CompressedBytesColumn.Reader", "_decompress"),
    # pool.py: the posting pool's run files and memory accounting
    ("whoosh.externalsort.SortingPool", "_write_run"),
    ("whoosh.externalsort.SortingPool", "_read_run"),
    ("whoosh.externalsort.SortingPool", "_open_run"),
    ("whoosh.externalsort.SortingPool", "_remove_run"),
    ("whoosh.externalsort.SortingPool", "current"),
    ("whoosh.writing.PostingPool", "currentsize"),
    ("whoosh.externalsort.SortingPool", "runs"),
    ("whoosh.writing.PostingPool", "limit"),
    ("whoosh.externalsort.SortingPool", "save"),
    ("whoosh.writing.PostingPool", "fieldnames"),
    # segment.py: the lean document writer, merges from raw blocks, flush with cached lengths
    ("whoosh.writing.SegmentWriter", "_added"),
    ("whoosh.writing.SegmentWriter", "_check_state"),
    ("whoosh.writing.SegmentWriter", "_check_fields"),
    ("whoosh.writing.SegmentWriter", "_doc_boost"),
    ("whoosh.writing.SegmentWriter", "_field_boost"),
    ("whoosh.writing.SegmentWriter", "_flush_segment"),
    ("whoosh.writing.SegmentWriter", "_tempstorage"),
    ("whoosh.writing.SegmentWriter", "add_postings_to_pool"),
    ("whoosh.writing.SegmentWriter", "perdocwriter"),
    ("whoosh.writing.SegmentWriter", "fieldwriter"),
    ("whoosh.writing.SegmentWriter", "newsegment"),
    ("whoosh.writing.SegmentWriter", "docnum"),
    ("whoosh.writing.SegmentWriter", "pool"),
    ("whoosh.codec.whoosh3.W3PerDocWriter", "_colwriters"),
    ("whoosh.columns.WrappedColumnWriter", "_child"),
    # multiproc.py: the guarded multi-process writer
    ("whoosh.multiproc", "SegmentWriter"),
    ("whoosh.multiproc.MpWriter", "_commit"),
    ("whoosh.multiproc.MpWriter", "jobqueue"),
    ("whoosh.multiproc.MpWriter", "resultqueue"),
    ("whoosh.multiproc.MpWriter", "tasks"),
    ("whoosh.multiproc.MpWriter", "subargs"),
    ("whoosh.multiproc.MpWriter", "multisegment"),
    ("whoosh.multiproc.MpWriter", "_new_task"),
    # postings.py: each term's postings handed to the field writer at once, with the new
    # segment's length column read whole (W3PerDocReader._cached_reader, below)
    # codec.py: the compact posting format and term table inside Whoosh 3's codec, matcher and
    # term statistics
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_read_header"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_goto"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_read_data"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_read_ids"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_read_weights"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_read_values"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_postfile"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_startoffset"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_baseoffset"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_dataoffset"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_nextoffset"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_lastblock"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_blocklength"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_i"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_ids"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_weights"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_values"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_maxid"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_maxweight"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_compression"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_minlength"),
    ("whoosh.codec.whoosh3.W3LeafMatcher", "_maxlength"),
    ("whoosh.codec.whoosh3.W3TermInfo", "_inlined"),
    ("whoosh.codec.whoosh3.W3TermInfo", "_offset"),
    ("whoosh.codec.whoosh3.W3TermInfo", "_length"),
    ("whoosh.reading.TermInfo", "_weight"),
    ("whoosh.reading.TermInfo", "_df"),
    ("whoosh.reading.TermInfo", "_minlength"),
    ("whoosh.reading.TermInfo", "_maxlength"),
    ("whoosh.reading.TermInfo", "_maxweight"),
    ("whoosh.reading.TermInfo", "_minid"),
    ("whoosh.reading.TermInfo", "_maxid"),
    ("whoosh.codec.whoosh3.W3Codec", "_blocklimit"),
    ("whoosh.codec.whoosh3.W3Codec", "_compression"),
    # toc.py: which segments the committed table of contents lists
    ("whoosh.index.FileIndex", "_read_toc"),
    # blocks.py: posting blocks read whole, field lengths preloaded
    ("whoosh.reading.SegmentReader", "_terms"),
    ("whoosh.reading.SegmentReader", "_perdoc"),
    ("whoosh.reading.SegmentReader", "deleted_docs_set"),
    ("whoosh.codec.whoosh3.W3PerDocReader", "_readers"),
    ("whoosh.codec.whoosh3.W3PerDocReader", "_cached_reader"),
    ("whoosh.codec.whoosh3", "_lenfield"),
    ("whoosh.codec.whoosh3", "LENGTHS_COLUMN"),
    ("whoosh.codec.whoosh3.W3TermInfo", "inlined_postings"),
    ("whoosh.codec.whoosh3.W3TermInfo", "extent"),
    ("whoosh.columns.NumericColumn.Reader", "_count"),
    ("whoosh.columns.NumericColumn.Reader", "_default"),
    ("whoosh.columns.NumericColumn.Reader", "_fixedlen"),
    ("whoosh.columns.NumericColumn.Reader", "_dbfile"),
    ("whoosh.columns.NumericColumn.Reader", "_basepos"),
    # scorer.py: BM25F's per-field B
    ("whoosh.scoring.BM25F", "_field_B"),
]

# Fast path (or legitimate fallback) -> times taken in this process. Tests read it.
TAKEN: Counter[str] = Counter()


def took(path: str) -> None:
    TAKEN[path] += 1


class WhooshInternalsChanged(ArchiveError):
    """A fast path found a Whoosh internal it relies on missing or different."""

    def __init__(self, what: str):
        super().__init__(
            f"the installed Whoosh differs from the one the search index was written for: {what}",
            hint="install the pinned version (pip install 'whoosh-reloaded==2.7.5')",
        )
