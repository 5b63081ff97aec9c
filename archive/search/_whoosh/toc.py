"""What the committed table of contents lists (Whoosh reads it with a private method)."""

from __future__ import annotations


def committed_segments(ix) -> tuple[int, set[str]]:
    """(the committed generation, the ids of the segments it lists)."""
    toc = ix._read_toc()
    return toc.generation, {s.segment_id() for s in toc.segments}
