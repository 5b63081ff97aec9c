"""Differential tests: every fast path of the fence gives exactly what stock Whoosh gives.

Scores against Whoosh's own BM25F search, merges against Whoosh's merge, spilled posting runs
against an in-memory pool, two writer processes against one, the lean document writer against
Whoosh's ``SegmentWriter.add_document``.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from index_helpers import T0, doc, filler_turns, index_sessions, make_session
from whoosh.writing import SegmentWriter

from archive import search as ix
from archive.search import IndexWriter, doc_count, merges, search
from archive.search._whoosh.scorer import FastScorer, weighting
from archive.search._whoosh.segment import FastSegmentWriter


def _segment_counts(d) -> list[int]:
    with ix.open_index(d).searcher() as s:
        return sorted(leaf.doc_count_all() for leaf, _ in s.reader().leaf_readers())


def test_multiprocess_writer_matches_single(tmp_path):
    rnd = random.Random(7)
    docs = [doc("default", make_session(f"m{i}", filler_turns(rnd, 30))) for i in range(8)]
    docs[3].session.turns[7].prompt += " mangosteen"
    single, multi = tmp_path / "one", tmp_path / "two"
    index_sessions(single, docs)
    with IndexWriter(multi, procs=2) as w:
        assert sum(w.replace_session(x) for x in docs) == 8 * 31
        w.commit(1)
    assert doc_count(single) == doc_count(multi) == 8 * 31
    for q in ("mangosteen", "bravo charlie"):
        a = sorted((h.session_id, h.turn, round(h.score, 4)) for h in search(single, q, limit=999))
        b = sorted((h.session_id, h.turn, round(h.score, 4)) for h in search(multi, q, limit=999))
        assert a and a == b


def test_fast_scorer_matches_whoosh(tmp_path):
    d = tmp_path / "index"
    rnd = random.Random(11)
    turns = [filler_turns(rnd, 8) for _ in range(12)]

    def build(i):
        s = make_session(f"f{i}", turns[i], start=T0 + timedelta(days=i))
        return doc(["work", "home"][i % 2], s)

    index_sessions(d, [build(i) for i in range(12)])
    with IndexWriter(d) as w:  # deletions in the first segment, a second segment
        for i in range(4):
            turns[i] += filler_turns(rnd, 2)
            w.replace_session(build(i), from_turn=8)
        w.commit(2)
    idx = ix.open_index(d)
    queries = ["bravo", "bravo charlie", "bravo OR zulu", "tools:bash bravo",
               "profile:work bravo", "prompt:bravo", "bravo^3 charlie", "(bravo OR kilo) lima",
               "bravo bravo", "bravo OR prompt:bravo", '"bravo charlie"', '"kilo lima mike"',
               '"bravo charlie" kilo', 'prompt:"lima kilo"', '"bravo charlie"~3',
               '"kilo bravo" OR zulu']
    with idx.searcher(weighting=weighting()) as s:
        assert len(s.reader().leaf_readers()) == 2 and s.reader().has_deletions()
        for text in queries:
            q = ix.parse_query(text, idx.schema)
            fast = FastScorer(s)
            scores = fast.scores(q)
            assert scores is not None, text
            fast.drop_deleted(scores)
            want = {h.docnum: h.score for h in s.search(q, limit=None)}
            assert want, text
            assert scores.keys() == want.keys(), text
            for docnum, score in want.items():
                assert scores[docnum] == pytest.approx(score, rel=1e-9), text
        # Shapes it does not handle go through Whoosh.
        for text in ("bravo NOT charlie", "brav*"):
            assert FastScorer(s).scores(ix.parse_query(text, idx.schema)) is None


def test_spilled_posting_runs_index_the_same(tmp_path):
    """A pool over its memory limit spills sorted runs to disk and merges them at commit: the
    index must be the same as one built in memory (same hits, same scores)."""
    rnd = random.Random(21)
    docs = [doc("default", make_session(f"r{i}", filler_turns(rnd, 6))) for i in range(30)]
    built = {}
    for name, limitmb in (("memory", 256), ("spilled", 1)):
        d = tmp_path / name
        with IndexWriter(d, limitmb=limitmb) as w:
            pool = w._writer().pool
            for x in docs:
                w.replace_session(x)
            spilled = bool(pool.runs)
            w.commit(1)
        assert spilled == (name == "spilled")
        built[name] = {
            q: [(h.session_id, h.turn, round(h.score, 9)) for h in search(d, q, limit=500)]
            for q in ("bravo", "kilo lima", '"mike november"', "zulu OR yankee")
        }
    assert built["memory"] == built["spilled"] and all(built["memory"].values())


def test_fast_merge_makes_the_same_index_as_whoosh(tmp_path, monkeypatch):
    """Merges read whole posting blocks instead of Whoosh's posting-at-a-time path: the
    merged index must answer every query exactly as one merged by Whoosh itself."""
    rnd = random.Random(8)
    days = [[doc(["work", "home"][i % 2], make_session(f"m{i}-{k}", filler_turns(rnd, 3)))
             for k in range(3)] for i in range(10)]
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(merges, "MERGE_FACTOR", 2)
    results = {}
    for name in ("fast", "whoosh"):
        if name == "whoosh":
            monkeypatch.setattr(FastSegmentWriter, "add_postings_to_pool",
                                SegmentWriter.add_postings_to_pool)
        d = tmp_path / name
        for i, day in enumerate(days):
            with IndexWriter(d) as w:
                for x in day:
                    w.replace_session(x)
                if i:  # replace yesterday's first session: deleted documents to drop
                    w.replace_session(days[i - 1][0])
                w.commit(i + 1)
        segments = _segment_counts(d)
        assert len(segments) < len(days)  # merges happened
        results[name] = (sum(segments), doc_count(d), {
            q: [(h.key, h.turn, round(h.score, 9)) for h in search(d, q, limit=500)]
            for q in ("bravo", "kilo lima", '"mike november"', "zulu OR yankee",
                      "profile:work charlie", "tools:bash", "prompt:delta")
        })
    assert results["fast"] == results["whoosh"]
    assert all(results["fast"][2].values())


def _dump(index_dir) -> dict:
    """Everything a segment holds, read through Whoosh's public API: every term's postings
    (document, weight, encoded value), stored fields, field lengths and the ``src`` column."""
    from whoosh.filedb.filestore import FileStorage

    idx = FileStorage(str(index_dir)).open_index("MAIN")
    with idx.reader() as r:
        n = r.doc_count_all()
        postings = {}
        for fieldname, text in r.all_terms():
            m = r.postings(fieldname, text)
            found = []
            while m.is_active():
                # No value reads None from a block, b"" from a term's inlined postings
                found.append((m.id(), m.weight(), m.value() or None))
                m.next()
            postings[(fieldname, text)] = found
        scorable = [name for name, field in idx.schema.items() if field.scorable]
        return {
            "docs": n,
            "postings": postings,
            "stored": [r.stored_fields(i) for i in range(n)],
            "lengths": {(i, f): r.doc_field_length(i, f) for i in range(n) for f in scorable},
            "field_lengths": {f: r.field_length(f) for f in scorable},
            "src": [r.column_reader("src")[i] for i in range(n)],
        }


def test_lean_document_writer_makes_the_same_index_as_whoosh(tmp_path):
    """The lean path (AnalyzedText's own posting encoding, FastPool.add_field, the lean
    add_document) writes exactly the terms, postings, lengths, stored fields and columns that
    Whoosh's stock TEXT field and SegmentWriter write for the same documents."""
    from whoosh.fields import TEXT
    from whoosh.filedb.filestore import FileStorage

    from archive.search.documents import session_doc, turn_doc
    from archive.search.schema import build_schema

    rnd = random.Random(13)
    sessions = [make_session(f"l{i}", filler_turns(rnd, 5), title=f"title {i} jwt.decode()")
                for i in range(6)]
    sessions[2].turns[1].prompt += " 外部キー制約のエラー refresh_token"
    sessions[4].turns[0].tool_calls[0].output += "\n    41\u2192import os\n"
    docs = [doc("default", s) for s in sessions]

    lean = tmp_path / "lean"
    index_sessions(lean, docs)

    stock = tmp_path / "stock"
    stock.mkdir()
    idx = FileStorage(str(stock)).create_index(build_schema(), indexname="MAIN")
    w = idx.writer()  # Whoosh's own SegmentWriter and pool
    assert type(w).__name__ == "SegmentWriter"
    analyzed = type(idx.schema["prompt"])
    original = analyzed.index
    analyzed.index = TEXT.index  # and Whoosh's generic analysis and posting encoding
    try:
        for x in docs:
            files = set(x.session.files)
            for turn in x.session.turns:
                w.add_document(**turn_doc(x, turn, files))
            w.add_document(**session_doc(x))
        w.commit()
    finally:
        analyzed.index = original

    a, b = _dump(lean), _dump(stock)
    assert a["docs"] == 6 * 6 and a["postings"]
    assert a == b


def _inner_files(index_dir) -> dict[str, bytes]:
    """Each segment file kind (``pst``, ``trm``, ...) with its bytes, for the one segment."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.filestore import FileStorage

    store = FileStorage(str(index_dir))
    (seg,) = [p.name for p in index_dir.glob("*.seg")]
    compound = CompoundStorage(store.open_file(seg), use_mmap=False)
    try:
        return {name.rsplit(".", 1)[-1]: compound.open_file(name).read()
                for name in compound.list()}
    finally:
        compound.close()


def test_block_posting_writer_writes_whooshs_bytes(tmp_path, monkeypatch):
    """Postings written a block at a time give the very bytes Whoosh's posting-at-a-time
    ``add_postings`` writes: posting blocks, their statistics (max weight, min/max length,
    which Whoosh's own search uses to skip blocks) and the term table. Terms past one block
    (128 postings), documents lacking a field, and weights other than 1 are all in there.
    (Whoosh's writer cannot inline a term's postings: inlining is off for the comparison.)"""
    from archive.search._whoosh import codec, segment

    monkeypatch.setattr(codec, "INLINE_BELOW", 1)

    rnd = random.Random(5)
    sessions = [make_session(f"b{i}", filler_turns(rnd, 5)) for i in range(60)]
    for i, s in enumerate(sessions):
        if i % 3 == 0:
            s.turns[0].answer = ""  # the answer field is absent from some documents
    built = {}
    for name in ("blocks", "whoosh"):
        if name == "whoosh":
            monkeypatch.setattr(
                segment, "write_postings",
                lambda fw, schema, pdr, items: fw.add_postings(schema, pdr, items))
        d = tmp_path / name
        with IndexWriter(d) as w:
            for s in sessions:
                w.replace_session(doc("default", s))
            w.commit(1)
        built[name] = _inner_files(d)
    assert built["blocks"]["pst"] == built["whoosh"]["pst"]
    assert built["blocks"]["trm"] == built["whoosh"]["trm"]
    assert len(built["blocks"]["pst"]) > 10_000


def test_inlined_postings_answer_as_blocks_do(tmp_path, monkeypatch):
    """Rare terms keep their postings in the term table (inlined): the index holds the same
    postings, lengths and texts as one with every term in blocks, Whoosh's own search (NOT,
    prefix) and the fast scorer give the same hits and scores, and a merge of inlined
    segments (fast and Whoosh's) keeps them."""
    from archive.search._whoosh import codec

    rnd = random.Random(9)
    days = [[doc("default", make_session(f"i{d}-{k}", filler_turns(rnd, 4))) for k in range(4)]
            for d in range(4)]
    queries = ("bravo", "kilo lima", '"mike november"', "zulu OR yankee", "bravo NOT kilo",
               "lim*", "tools:bash", "prompt:delta")
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 2)
    monkeypatch.setattr(merges, "MERGE_FACTOR", 2)
    built = {}
    for name, below in (("inlined", 4), ("blocks", 1)):
        monkeypatch.setattr(codec, "INLINE_BELOW", below)
        d = tmp_path / name
        for i, day in enumerate(days):
            with IndexWriter(d) as w:
                for x in day:
                    w.replace_session(x)
                w.commit(i + 1)
        built[name] = (_dump(d), {
            q: [(h.key, h.turn, round(h.score, 9)) for h in search(d, q, limit=500)]
            for q in queries})
        assert len(_segment_counts(d)) < len(days)  # merges happened
    assert built["inlined"] == built["blocks"]
    assert all(built["inlined"][1].values())
    with ix.open_index(tmp_path / "inlined").searcher() as s:
        inlined = [t for leaf, _ in s.reader().leaf_readers() for f, t in leaf.all_terms()
                   if leaf.term_info(f, t).is_inlined()]
    assert inlined  # the rare terms are inlined
