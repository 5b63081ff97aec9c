"""What each field costs in a segment: its postings, its term-table entries, its texts.

For the benchmark and for deciding what to index (issue 20: "measure what each field costs").
Posting bytes are each term's extent in the postings file (inlined postings count in the term
table); term-table bytes are each entry's key and value as stored (front coding makes the key
shorter on disk: this is an upper bound); texts are the ``src`` column's JSON per field, and
what zstd makes of each field's texts alone (a session document's texts, e.g. all its prompts
again, are counted apart).
"""

from __future__ import annotations

from collections import Counter

import zstandard

from archive.search.documents import texts_of

from .codec import CompactTermInfo


def field_costs(reader, texts_sample: int = 5000) -> dict[str, dict[str, int]]:
    """{field: {terms, postings, postings_bytes, term_table_bytes, texts_bytes,
    texts_zstd_bytes}} over every segment of ``reader``; texts from the first
    ``texts_sample`` documents of each segment, scaled to the segment's size."""
    out: dict[str, Counter] = {}
    for leaf, _offset in reader.leaf_readers():
        for (fieldname, btext), value in leaf._terms.stored_items():
            info = CompactTermInfo.from_bytes(value)
            c = out.setdefault(fieldname, Counter())
            c["terms"] += 1
            c["postings"] += info.doc_frequency()
            c["term_table_bytes"] += 2 + len(btext) + len(value)
            if not info.is_inlined():
                c["postings_bytes"] += info.extent()[1]
        count = leaf.doc_count_all()
        if not count or not leaf.has_column("src"):
            continue
        column = leaf.column_reader("src")
        sample = min(count, texts_sample)
        scale = count / sample
        for docnum in range(sample):
            session = leaf.stored_fields(docnum).get("kind") == "session"
            for fieldname, text in texts_of(column, docnum).items():
                raw = text.encode("utf-8")
                name = f"{fieldname} (session documents)" if session else fieldname
                c = out.setdefault(name, Counter())
                c["texts_bytes"] += int(len(raw) * scale)
                c["texts_zstd_bytes"] += int(len(zstandard.compress(raw, 3)) * scale)
    return {name: dict(c) for name, c in sorted(out.items())}
