"""BM25F computed over raw posting blocks, for queries of terms, phrases, AND and OR.

The same formula and idf as Whoosh's ``BM25F`` (a differential test compares every score); it
reads BM25F's per-field ``B`` and the blocks of ``blocks.py``, so it lives inside the fence.
"""

from __future__ import annotations

import bisect
import math

from whoosh import query as Q
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from . import took
from .blocks import lengths_bytes, posting_blocks


def weighting():
    return BM25F(B=0.75, K1=1.2)


_BYTE_TO_LENGTH = [byte_to_length(i) for i in range(256)]


class FastScorer:
    """BM25F over raw posting blocks for queries made only of terms, phrases, AND and OR.

    Whoosh walks a tree of matcher objects per matching document (~60 µs each in Python): a
    two-word query matches ~6 fields × 2 words, and common words match most documents. This
    reads each posting list block by block and accumulates scores in a dict, ~5× faster, with
    the same formula as ``BM25F`` (tests compare both). ``scores()`` returns None for anything
    else (prefixes, ranges, NOT…), which then goes through Whoosh's own search.
    """

    def __init__(self, searcher):
        self.s = searcher
        self.weighting = searcher.weighting
        self.leaves = searcher.reader().leaf_readers()
        self._terms: dict[tuple[str, str], tuple[int, list]] = {}

    # -- shapes
    def supported(self, q) -> bool:
        if isinstance(q, Q.Term):
            return isinstance(q.text, str) and q.fieldname in self.s.schema
        if isinstance(q, Q.Phrase):
            field = self.s.schema[q.fieldname] if q.fieldname in self.s.schema else None
            return (
                field is not None and bool(field.format) and field.format.supports("positions")
                and len(q.words) > 1 and all(isinstance(w, str) for w in q.words)
            )
        if isinstance(q, (Q.Or, Q.And)) and q.subqueries:
            return all(self.supported(c) for c in q.subqueries)
        return False

    def scores(self, q, allowed: set[int] | None = None) -> dict[int, float] | None:
        if not self.supported(q):
            took("scorer.stock")
            return None
        took("scorer.fast")
        return self._scores(q, None if allowed is None else Allowed(allowed))

    def docset(self, q) -> set[int]:
        """Documents matching ``q`` (unscored, deleted ones included), e.g. a filter."""
        if self.supported(q):
            took("filter.fast")
            return set(self._scores(q, None, scored=False))
        if isinstance(q, Q.And) and q.subqueries:
            sets = sorted((self.docset(c) for c in q.subqueries), key=len)
            return sets[0].intersection(*sets[1:])
        took("filter.stock")  # a date range: Whoosh's own matcher
        return set(self.s.docs_for_query(q))

    def term_docs(self, fieldname: str, text: str) -> dict[int, float]:
        """The documents holding a term (deleted ones included), each with score 0."""
        return self._term(fieldname, text, 1.0, None, False)

    def drop_deleted(self, scores: dict[int, float]) -> None:
        if not scores:
            return
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                for d in leaf.deleted_docs_set:
                    scores.pop(d + offset, None)

    # -- evaluation
    def _scores(self, q, allowed, scored=True) -> dict[int, float]:
        if isinstance(q, Q.Term):
            out = self._term(q.fieldname, q.text, q.boost, allowed, scored)
        elif isinstance(q, Q.Phrase):
            # Whoosh scores a phrase as the AND of its words (SpanNear2 over an intersection),
            # kept where the words stand in order, each within ``slop`` of the previous one.
            terms = Q.And([Q.Term(q.fieldname, w) for w in q.words])
            out = self._scores(terms, allowed, scored)
            if out:
                out = self._in_sequence(q, out)
        elif isinstance(q, Q.Or):
            parts = sorted((self._scores(c, allowed, scored) for c in q.subqueries),
                           key=len, reverse=True)
            out = parts[0] if parts else {}
            for part in parts[1:]:
                get = out.get
                for d, v in part.items():
                    out[d] = get(d, 0.0) + v
        else:  # And: rarest part first, the others only looked up where it matched
            parts = sorted(q.subqueries, key=self._estimate)
            out = self._scores(parts[0], allowed, scored)
            for c in parts[1:]:
                if not out:
                    break
                part = self._scores(c, Allowed(out), scored)
                out = {d: v + part[d] for d, v in out.items() if d in part}
        if scored and q.boost != 1.0 and not isinstance(q, Q.Term):  # _term applied it
            boost = q.boost
            out = {d: v * boost for d, v in out.items()}
        return out

    def _in_sequence(self, q, candidates: dict[int, float]) -> dict[int, float]:
        """The candidates whose field holds the phrase's words in order, each 1..slop
        positions after the previous one (Whoosh's ordered SpanNear2 with mindist 1)."""
        fmt = self.s.schema[q.fieldname].format
        allowed = Allowed(candidates)
        values = [self._values(q.fieldname, w, allowed) for w in q.words]
        slop = max(1, q.slop)
        out = {}
        for d, score in candidates.items():
            ends = set(fmt.decode_positions(values[0][d]))
            for vals in values[1:]:
                ends = {p for p in fmt.decode_positions(vals[d])
                        if any(p - k in ends for k in range(1, slop + 1))}
                if not ends:
                    break
            if ends:
                out[d] = score
        return out

    def _values(self, fieldname: str, text: str, allowed: Allowed) -> dict[int, bytes]:
        """The posting values (encoded positions) of a term in the allowed documents."""
        out: dict[int, bytes] = {}
        keep = allowed.docs
        for n, leaf, offset, info in self._lookup(fieldname, text)[1]:
            local = allowed.local(n, offset, leaf.doc_count_all())
            if not local:
                continue
            for ids, values in posting_blocks(leaf, fieldname, info, local, values=True):
                for d, v in zip(ids, values, strict=True):
                    if d + offset in keep:
                        out[d + offset] = v
        return out

    def _estimate(self, q) -> int:
        """Match count upper bound, to evaluate the rarest part of an AND first."""
        if isinstance(q, Q.Term):
            return self._lookup(q.fieldname, q.text)[0]
        if isinstance(q, Q.Phrase):
            return min((self._lookup(q.fieldname, w)[0] for w in q.words), default=0)
        if isinstance(q, Q.Or):
            return sum(self._estimate(c) for c in q.subqueries)
        if isinstance(q, Q.And):
            return min((self._estimate(c) for c in q.subqueries), default=0)
        return 0

    def _lookup(self, fieldname: str, text: str) -> tuple[int, list]:
        """(document frequency, [(segment number, reader, docnum offset, TermInfo)]) for a term:
        one term-table lookup per segment, shared by ordering and scoring."""
        key = (fieldname, text)
        hit = self._terms.get(key)
        if hit is None:
            df, found = 0, []
            for n, (leaf, offset) in enumerate(self.leaves):
                try:
                    info = leaf.term_info(fieldname, text)
                except TermNotFound:
                    continue
                df += info.doc_frequency()
                found.append((n, leaf, offset, info))
            hit = self._terms[key] = (df, found)
        return hit

    def _term(self, fieldname, text, boost, allowed, scored) -> dict[int, float]:
        s = self.s
        field = s.schema[fieldname]
        out: dict[int, float] = {}
        bm25 = scored and field.scorable
        df, found = self._lookup(fieldname, text)
        if not found:
            return out
        if bm25:
            # Whoosh's BM25F with its idf (log(N / (df + 1)) + 1), from the lookups made here.
            w = self.weighting
            B = w._field_B.get(fieldname, w.B)
            K1 = w.K1
            idf = math.log(s.doc_count_all() / (df + 1)) + 1
            num = boost * idf * (K1 + 1)
            c1 = K1 * (1 - B)
            c2 = K1 * B / (s.avg_field_length(fieldname) or 1)
        table = _BYTE_TO_LENGTH
        for n, leaf, offset, info in found:
            lengths = lengths_bytes(leaf, fieldname) if bm25 else None
            local = None if allowed is None else allowed.local(n, offset, leaf.doc_count_all())
            for ids, weights in posting_blocks(leaf, fieldname, info, local):
                if not scored:
                    out.update(dict.fromkeys([d + offset for d in ids], 0.0))
                    continue
                if not bm25:
                    for d, wt in zip(ids, weights, strict=False):
                        out[d + offset] = wt * boost
                else:
                    for d, wt in zip(ids, weights, strict=False):
                        out[d + offset] = num * wt / (wt + c1 + c2 * table[lengths[d]])
        if allowed is not None and out:
            keep = allowed.docs
            out = {d: v for d, v in out.items() if d in keep}
        return out


class Allowed:
    """A set of global docnums, with per-segment sorted local lists made on demand.

    The docnums are sorted once and each segment's range is cut out by bisection: filtering
    the whole set for every segment cost a fifth of a common two-word query at 5 GiB
    (16 segments, ~100,000 allowed documents)."""

    def __init__(self, docs):
        self.docs = docs if isinstance(docs, (set, frozenset, dict)) else set(docs)
        self._local: dict[int, list[int]] = {}
        self._sorted: list[int] | None = None

    def local(self, n: int, offset: int, count: int) -> list[int]:
        if n not in self._local:
            if self._sorted is None:
                self._sorted = sorted(self.docs)
            ordered = self._sorted
            lo = bisect.bisect_left(ordered, offset)
            hi = bisect.bisect_left(ordered, offset + count, lo)
            self._local[n] = [d - offset for d in ordered[lo:hi]] if offset else ordered[lo:hi]
        return self._local[n]


