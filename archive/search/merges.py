"""Which segments a commit merges: a log-structured policy over segment sizes on disk.

Passed to Whoosh's public ``commit(mergetype=...)``; the merge itself (posting blocks copied
whole) is the fence's ``_whoosh.segment``.
"""

from __future__ import annotations

from whoosh.reading import SegmentReader

from ._whoosh import took

# Searches pay per segment (term lookups, open files): from this many on, commits merge.
MAX_SEGMENTS = 8
# This many segments of about one size (the largest at most PEERS times the smallest) are
# merged together.
MERGE_FACTOR = 4
PEERS = 3
# Segments bigger than this on disk (a first ingest writes ~25 MB ones) are not merged by tier:
# merging them costs more than indexing them did.
MERGE_MAX_BYTES = 16 * 1024 * 1024
# A commit merges at most this many bytes of segments, or MERGE_BUDGET_FACTOR times the text it
# adds if more: a nightly ingest adding 1% to a 5 GiB archive spent 12 of its 19 s merging
# three of the first ingest's 31 MB segments. Big merges are left to big ingests, which
# pay for them in proportion.
MERGE_BUDGET_MIN = 64 * 1024 * 1024
MERGE_BUDGET_FACTOR = 6


def merge_budget(added_text_bytes: int) -> int:
    """The most bytes of segments a commit adding ``added_text_bytes`` of text may merge."""
    return max(MERGE_BUDGET_MIN, MERGE_BUDGET_FACTOR * added_text_bytes)


def merge_policy(writer, segments, budget: int | None = None):
    """From ``MAX_SEGMENTS`` segments on, merge the ``MERGE_FACTOR`` smallest segments of
    about one size (sizes on disk) into one, about ``MERGE_FACTOR`` times bigger: a
    log-structured merge, of at most ``budget`` bytes (``merge_budget``; None: any).

    Each daily ingest adds a small segment; a document is then merged about once per size
    step, a handful of times in the index's life, and the number of segments grows like the
    log of the index. (Merging "the segments under 1/4 of the largest" never merged daily segments
    as big as the first one: one more segment a day, forever.) Segments over
    ``MERGE_MAX_BYTES`` are left alone unless the index reaches twice ``MAX_SEGMENTS``;
    then the ``MERGE_FACTOR`` smallest are merged whatever their tier. Merging also drops
    deleted documents.
    """

    if len(segments) < MAX_SEGMENTS:
        return segments
    size = {id(seg): segment_bytes(writer.storage, seg) for seg in segments}
    by_size = sorted(segments, key=lambda seg: size[id(seg)])
    small = [seg for seg in by_size if size[id(seg)] <= MERGE_MAX_BYTES]
    merge = None
    for i in range(len(small) - MERGE_FACTOR + 1):  # the smallest run of peers
        run = small[i : i + MERGE_FACTOR]
        if size[id(run[-1])] <= PEERS * max(size[id(run[0])], 1):
            merge = run
            break
    if merge is None and len(segments) >= 2 * MAX_SEGMENTS:
        merge = by_size[:MERGE_FACTOR]
    if not merge or (budget is not None and sum(size[id(seg)] for seg in merge) > budget):
        if merge:
            took("merge.over_budget")
        return segments
    for seg in merge:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    merged = {id(seg) for seg in merge}
    return [seg for seg in segments if id(seg) not in merged]


def segment_bytes(storage, seg) -> int:
    """A segment's size on disk (its compound file), or an estimate from its document count."""
    try:
        return storage.file_length(f"{seg.segment_id()}.seg")
    except OSError:
        took("merge.size_estimated")  # a segment not written as one compound file
        return seg.doc_count_all() * 4096

