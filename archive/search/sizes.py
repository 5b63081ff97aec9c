"""Where the index's bytes go: each segment's inner files summed by kind.

For the benchmark and for deciding what to index: postings (``pst``) grow with the text and
its positions, the term table (``trm``) with the vocabulary, columns (``col``) hold the texts
column, stored fields and field lengths; ``field_costs`` splits them by field.
"""

from __future__ import annotations

from pathlib import Path

from whoosh.filedb.compound import CompoundStorage

from .folder import open_index, storage


def index_parts(index_dir: Path) -> dict[str, int]:
    """Bytes by kind of segment file (the extension: ``pst``, ``trm``, ``col``...)."""
    parts: dict[str, int] = {}
    store = storage(Path(index_dir))
    for seg in sorted(Path(index_dir).glob("*.seg")):
        compound = CompoundStorage(store.open_file(seg.name), use_mmap=False)
        try:
            for name in compound.list():
                kind = name.rsplit(".", 1)[-1]
                parts[kind] = parts.get(kind, 0) + compound.file_length(name)
        finally:
            compound.close()
    return parts


def field_costs(index_dir: Path, texts_sample: int = 5000) -> dict[str, dict[str, int]]:
    """Postings, term-table and texts bytes by field (see ``_whoosh/costs.py``)."""
    from ._whoosh.costs import field_costs as costs

    with open_index(Path(index_dir)).reader() as reader:
        return costs(reader, texts_sample)
