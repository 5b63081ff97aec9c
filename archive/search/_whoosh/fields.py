"""Field and column types that write Whoosh's posting values themselves.

``AnalyzedText`` yields postings already encoded in Whoosh's ``Positions`` format, and
``TextsColumn`` sets a private writer attribute: both depend on Whoosh internals. Their class
paths are pickled into the index (bump ``schema.SCHEMA_VERSION`` when they move).
"""

from __future__ import annotations

from collections import defaultdict
from pickle import dumps

from whoosh.columns import CompressedBytesColumn
from whoosh.fields import TEXT
from whoosh.system import pack_uint

from ..analysis import index_terms


class AnalyzedText(TEXT):
    """TEXT whose indexing runs the analyzer through ``index_terms`` (same terms, positions
    and weights as Whoosh's generic path, which costs most of the indexing time).
    Queries still go through the field's analyzer."""

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
        one = _ONE
        for term, lst in poses.items():
            n = len(lst)
            if n == 1:
                yield term.encode("utf-8"), 1, fb, one + dumps(lst, 2)
            else:
                # Whoosh's Positions encoding: count, then the pickled position deltas.
                deltas = [lst[0]]
                deltas += [b - a for a, b in zip(lst, lst[1:], strict=False)]
                yield term.encode("utf-8"), n, n * fb, pack_uint(n) + dumps(deltas, 2)


_ONE = pack_uint(1)


class TextsColumn(CompressedBytesColumn):
    """A document's texts (JSON, zlib level 1), read only for the hits a search shows.

    Offsets are written for every segment: without them, opening the column rebuilds them in a
    Python loop over every document (Whoosh writes them only past 32,768 documents)."""

    def __init__(self):
        super().__init__(level=1)

    def writer(self, dbfile):
        w = super().writer(dbfile)
        w.cutoff = 0
        return w


