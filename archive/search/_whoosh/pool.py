"""Whoosh's posting pool fed a whole field at a time, spilling runs in batches.

Overrides the pool's private run-file methods and memory accounting (see ``PRIVATE_NAMES``).
"""

from __future__ import annotations

import bisect
import itertools
import marshal

from whoosh.writing import PostingPool

from . import took

_RUN_BATCH = 4096  # postings per marshal call in a spilled run
# Whoosh's estimate of a pooled posting's memory (tuple, strings, numbers), plus the lengths of
# its field name, term (twice) and value.
_POSTING_BYTES = 150


def _write_batch(f, batch: list) -> None:
    """One length-prefixed marshal record: read back with one read and one loads (marshal.load
    on a file makes a read call per object, most of the cost of reading a run)."""
    data = marshal.dumps(batch, 2)
    f.write(len(data).to_bytes(8, "little"))
    f.write(data)


class FastPool(PostingPool):
    """Whoosh's posting pool, fed a whole field at a time instead of one posting per call,
    spilling runs to disk in batches.

    Past its memory limit the pool sorts its postings and writes them to a temporary run;
    commit merges the runs. Whoosh marshals one posting per call each way, which was ~40% of
    a first ingest's CPU; batches of a few thousand postings per call do the same in C."""

    def _write_run(self, f, items):
        took("pool.batched_run")
        if isinstance(items, list):
            for i in range(0, len(items), _RUN_BATCH):
                _write_batch(f, items[i : i + _RUN_BATCH])
        else:  # a merge of runs (Whoosh's reduce_to): batch as it streams
            batch = []
            for item in items:
                batch.append(item)
                if len(batch) >= _RUN_BATCH:
                    _write_batch(f, batch)
                    batch = []
            if batch:
                _write_batch(f, batch)
        f.close()

    def _batches(self, path):
        """A spilled run's postings, batch by batch (sorted lists); the file goes afterwards."""
        f = self._open_run(path)
        try:
            while len(head := f.read(8)) == 8:
                yield marshal.loads(f.read(int.from_bytes(head, "little")))
        finally:
            f.close()
            self._remove_run(path)

    def _read_run(self, path):  # Whoosh's interface (reduce_to), unused by items() below
        for batch in self._batches(path):
            yield from batch

    def items(self, maxfiles=128):
        """All postings in order. Runs are merged a batch at a time: the postings of every run
        up to the smallest last posting of the current batches are cut out (bisect) and sorted
        together (Timsort merges sorted runs in C), with no Python step per posting."""
        if not self.runs:
            return super().items(maxfiles)  # all in memory: one sort, nothing to merge
        if len(self.runs) + 1 > maxfiles:
            took("pool.stock_merge")  # more runs than open files allowed: Whoosh's reduction
            return super().items(maxfiles)
        took("pool.batched_merge")
        self.save()
        runs, self.runs = self.runs, []
        return itertools.chain.from_iterable(self._merged(runs))

    def _merged(self, paths):
        heads = []  # [current batch, the run's batch iterator]
        for path in paths:
            batches = self._batches(path)
            first = next(batches, None)
            if first:
                heads.append([first, batches])
        while heads:
            cutoff = min(batch[-1] for batch, _ in heads)
            out = []
            for head in heads:
                batch = head[0]
                cut = bisect.bisect_right(batch, cutoff)
                out += batch[:cut]
                head[0] = batch[cut:]
            for head in heads:
                while not head[0]:
                    head[0] = next(head[1], None)
                    if head[0] is None:
                        break
            heads = [h for h in heads if h[0]]
            out.sort()
            yield out

    def add_postings(self, postings: list) -> None:
        """Pool ready-made postings of one field (a merge's)."""
        if not postings:
            return
        fieldname = postings[0][0]
        base = _POSTING_BYTES + len(fieldname)
        size = 0
        for _f, tbytes, _d, _w, vbytes in postings:
            size += base + 2 * len(tbytes) + (len(vbytes) if vbytes else 0)
        self.current.extend(postings)
        self._grew(fieldname, size)

    def add_field(self, fieldname: str, items, docnum: int, boost: float) -> int:
        """Pool the field's postings; returns the field length (sum of term frequencies)."""
        current = self.current
        base = _POSTING_BYTES + len(fieldname)
        size = length = 0
        for tbytes, freq, weight, vbytes in items:
            current.append((fieldname, tbytes, docnum, weight * boost, vbytes))
            size += base + 2 * len(tbytes) + (len(vbytes) if vbytes else 0)
            length += freq
        self._grew(fieldname, size)
        return length

    def _grew(self, fieldname: str, size: int) -> None:
        self.fieldnames.add(fieldname)
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()

