"""Whoosh's segment writer made faster: lean documents, posting blocks merged whole, postings
written a block at a time at flush, cheaper posting compression.

``add_document`` writes the same postings, lengths, stored values and columns as Whoosh's
(a test compares both indexes), without Whoosh's per-posting calls.
"""

from __future__ import annotations

from whoosh.writing import SegmentWriter

from . import WhooshInternalsChanged, took
from .blocks import term_blocks
from .codec import CompactCodec
from .pool import FastPool
from .postings import write_postings


class FastSegmentWriter(SegmentWriter):
    """SegmentWriter with postings pooled a field at a time and written a block at a time at
    flush, with cheaper posting compression."""

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", codec())
        super().__init__(ix, **kwargs)
        store_offsets(self)
        self.pool = FastPool(self._tempstorage, self.newsegment,
                              limitmb=kwargs.get("limitmb", 128))
        # The lean add_document below leaves out what this schema never uses.
        self._lean = not any(
            f.vector or f.separate_spelling() for _name, f in self.schema.items()
        )

    def add_document(self, **fields):
        """Whoosh's add_document (same postings, lengths, stored values and columns) without
        per-posting calls; falls back to it for features the lean path does not cover."""
        if not self._lean or any(name.startswith("_") for name in fields):
            took("segment.stock_add")  # vectors, spelling or per-document boosts: unused here
            return super().add_document(**fields)
        took("segment.lean_add")
        self._check_state()
        perdoc, schema, docnum, pool = self.perdocwriter, self.schema, self.docnum, self.pool
        docboost = self._doc_boost(fields)
        names = sorted(fields)
        self._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, name, docboost)
                    length = pool.add_field(name, field.index(value), docnum, boost)
                    if not field.scorable:
                        length = 0
                perdoc.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """Whoosh's (for merges), reading each term's blocks whole (see ``compact_blocks``) instead
        of one posting at a time through a matcher and a term lookup each: merges spent most
        of their time there. Deleted documents have no entry in ``docmap`` and are dropped."""
        terms = getattr(reader, "_terms", None)
        postfile = getattr(terms, "_postfile", None)
        if postfile is None or not hasattr(terms, "items"):
            raise WhooshInternalsChanged("a merged segment's terms reader has no posting file")
        took("merge.blocks")
        schema, pool = self.schema, self.pool
        for (fieldname, btext), info in terms.items():
            if fieldname not in schema:
                continue
            blocks = term_blocks(postfile, info, schema[fieldname].format, None, "both")
            postings = []
            for ids, weights, vals in blocks:
                for d, w, v in zip(ids, weights, vals, strict=True):
                    if docmap is not None:
                        d = docmap.get(d)
                        if d is None:
                            continue
                    else:
                        d += startdoc
                    postings.append((fieldname, btext, d, w, v))
            pool.add_postings(postings)

    def _flush_segment(self):
        took("segment.block_postings")
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            write_postings(self.fieldwriter, self.schema, pdr, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if pdr is not None:
                pdr.close()


def store_offsets(writer) -> None:
    """Write the stored-fields offsets table for every segment, not only those over 32768
    documents: without it each search rebuilds it in a Python loop (~6 ms per 10k documents)
    before reading the first hit. Readers detect the table themselves (same codec)."""
    try:
        column = writer.perdocwriter._colwriters["_stored"]
    except (AttributeError, KeyError):
        raise WhooshInternalsChanged("no stored-fields column writer") from None
    while hasattr(column, "_child"):  # PickleColumn wraps the variable-bytes writer
        column = column._child
    if not hasattr(column, "cutoff"):
        raise WhooshInternalsChanged("the stored-fields column writer has no offsets cutoff")
    column.cutoff = 0
    took("writer.stored_offsets")


def codec():
    # zlib level 1 for posting blocks (Whoosh's default is 3): ~5% less indexing time for a
    # slightly larger index.
    return CompactCodec(compression=1)

