"""The compact posting format (``_whoosh/codec.py``): the same postings as Whoosh 3's format in
fewer bytes, read by Whoosh's own queries and by the fast paths alike."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import doc, filler_turns, index_sessions, make_session
from test_differential import _dump, _inner_files
from whoosh.codec.whoosh3 import W3Codec

from archive import search as ix
from archive.search import search
from archive.search._whoosh import segment
from archive.search._whoosh.codec import MAGIC, decode_postings, encode_postings

_ids = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=200, unique=True).map(sorted)


@st.composite
def _postings(draw):
    ids = draw(_ids)
    n = len(ids)
    weights = draw(st.one_of(
        st.just([1.0] * n),
        st.floats(0.25, 8.0, width=32).map(lambda w: [w] * n),
        st.lists(st.integers(0, 70000).map(float), min_size=n, max_size=n),
        st.lists(st.floats(0, 1e6, width=32), min_size=n, max_size=n),
    ))
    values = draw(st.one_of(
        st.just([]),
        st.binary(min_size=1, max_size=6).flatmap(lambda v: st.just([v] * n)),
        st.lists(st.binary(min_size=1, max_size=300), min_size=n, max_size=n),
        st.lists(st.binary(min_size=70000, max_size=70001), min_size=n, max_size=n)
        if n < 3 else st.just([]),
    ))
    return ids, weights, values


@settings(max_examples=300, deadline=None)
@given(_postings())
def test_postings_round_trip(postings):
    ids, weights, values = postings
    got_ids, got_weights, got_values = decode_postings(encode_postings(ids, weights, values),
                                                       len(ids))
    assert got_ids == tuple(ids)
    assert got_weights == tuple(weights)
    assert got_values == (tuple(values) if values else None)
    assert decode_postings(encode_postings(ids, weights, values), len(ids), values=False) == (
        got_ids, got_weights, None)  # scoring reads no values


def test_truncated_or_overlong_postings_are_refused():
    data = encode_postings([3, 9, 400], [1.0, 2.0, 3.0], [b"\x01\x02", b"\x01\x05", b"\x01\x07"])
    for bad in (data[:-1], data + b"\x00", data[:4]):
        with pytest.raises(ValueError):
            decode_postings(bad, 3)


def _corpus():
    rnd = random.Random(17)
    sessions = [make_session(f"c{i}", filler_turns(rnd, 6), title=f"title {i} jwt.decode()")
                for i in range(50)]
    for i, s in enumerate(sessions):
        if i % 4 == 0:
            s.turns[0].answer = ""  # documents lacking a field
    sessions[7].turns[2].prompt += " 外部キー制約のエラー refresh_token quokka"
    return [doc(["work", "home"][i % 2], s) for i, s in enumerate(sessions)]


QUERIES = ("bravo", "kilo lima", '"mike november"', '"bravo charlie"~2', "zulu OR yankee",
           "bravo NOT kilo", "lim*", "tools:bash", "prompt:delta", "profile:work charlie",
           "quokka", "外部キー")


def _build_both(tmp, docs, monkeypatch, queries=QUERIES):
    """The same documents indexed with Whoosh 3's codec (and its posting-at-a-time writer)
    and with the compact one: (everything each holds through Whoosh's public API, Whoosh's
    own search results per query, the segment's inner files)."""
    built = {}
    for name, make in (("compact", segment.codec), ("w3", lambda: W3Codec(compression=1))):
        with monkeypatch.context() as m:
            m.setattr(segment, "codec", make)
            if name == "w3":  # Whoosh's own posting-at-a-time writing
                m.setattr(segment, "write_postings",
                          lambda fw, schema, pdr, items: fw.add_postings(schema, pdr, items))
            d = tmp / name
            index_sessions(d, docs)
        idx = ix.open_index(d)
        with idx.searcher() as s:
            leaf = s.reader().leaf_readers()[0][0]
            assert type(leaf.codec()).__name__ == ("CompactCodec" if name == "compact"
                                                   else "W3Codec")
            found = {}
            for text in queries:
                q = ix.parse_query(text, idx.schema)
                found[text] = [(h.docnum, round(h.score, 9)) for h in s.search(q, limit=None)]
        built[name] = (_dump(d), found, _inner_files(d))
    return built


def test_compact_segments_hold_whooshs_postings_in_fewer_bytes(tmp_path, monkeypatch):
    """The same terms, postings (ids, weights, positions), lengths, stored fields and texts;
    Whoosh's own search (its matchers skip by the block statistics) gives the same hits and
    scores; the postings take under half the bytes."""
    built = _build_both(tmp_path, _corpus(), monkeypatch)
    assert built["compact"][0] == built["w3"][0]
    assert built["compact"][1] == built["w3"][1]
    assert all(built["compact"][1].values())
    compact_pst, w3_pst = built["compact"][2]["pst"], built["w3"][2]["pst"]
    assert compact_pst.count(MAGIC) and not w3_pst.count(MAGIC)
    assert len(compact_pst) < 0.5 * len(w3_pst), (len(compact_pst), len(w3_pst))
    assert len(built["compact"][2]["trm"]) < len(built["w3"][2]["trm"])


_WORDS = ["bravo", "kilo", "lima", "quokka", "外部キー", "x9", "refresh_token", "jwt.decode()",
          "deadbeefcafe", "naïve", "0042"]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), sessions=st.integers(1, 12),
       repeat=st.sampled_from([1, 3, 300]))
def test_any_corpus_reads_back_as_whooshs(tmp_path_factory, monkeypatch, seed, sessions, repeat):
    """Random corpora (a word repeated up to 300 times in a turn: weights past a byte and
    positions past 255; empty fields; terms past one 128-posting block) hold and answer the
    same through both codecs."""
    rnd = random.Random(seed)

    def text(n):
        return " ".join(rnd.choice(_WORDS) for _ in range(n)) + (" kilo" * rnd.choice(
            [0, repeat]))

    docs = []
    for i in range(sessions):
        turns = [{"prompt": text(rnd.randint(0, 30)), "answer": text(rnd.randint(0, 300)),
                  "thinking": text(rnd.randint(0, 5)),
                  "tools": [("Bash", text(3), text(rnd.randint(0, 50)))]}
                 for _ in range(rnd.randint(1, 25))]
        docs.append(doc("work", make_session(f"h{i}", turns, title=text(2))))
    built = _build_both(tmp_path_factory.mktemp("h"), docs, monkeypatch,
                        ("kilo", "bravo lima", '"kilo kilo"', "quokka OR x9", "prompt:kilo",
                         "lim*", "外部キー"))
    assert built["compact"][0] == built["w3"][0]
    assert built["compact"][1] == built["w3"][1]


def test_fast_search_reads_compact_segments(tmp_path):
    d = tmp_path / "index"
    index_sessions(d, _corpus())
    hits = search(d, "quokka", limit=5)
    assert [h.session_id for h in hits] == ["c7"]
    assert search(d, '"mike november"', limit=500)


class _MemFile:
    """The two calls the term table makes on Whoosh's structured files, over bytes."""

    def __init__(self, data: bytes = b""):
        self.data = bytearray(data)

    def write(self, b):
        self.data += b

    def tell(self):
        return len(self.data)

    def get(self, pos, n):
        return bytes(self.data[pos : pos + n])

    def close(self):
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.binary(max_size=12), st.binary(max_size=40), max_size=300),
       st.lists(st.binary(max_size=12), max_size=20))
def test_term_table_finds_every_key_and_only_those(table, probes):
    from archive.search._whoosh.termtable import TermTableReader, TermTableWriter

    f = _MemFile()
    w = TermTableWriter(f, {"prompt": 0})
    for key in sorted(table):
        w.add(key, table[key])
    w.close()
    r = TermTableReader(f, len(f.data))
    assert r.fieldmap == {"prompt": 0}
    assert list(r.items_from()) == sorted(table.items())
    for key in [*table, *probes]:
        assert r.get(key) == table.get(key)
        assert list(r.items_from(key)) == [(k, v) for k, v in sorted(table.items()) if k >= key]


def test_term_table_refuses_keys_out_of_order_and_a_damaged_trailer():
    from archive.search._whoosh.termtable import TermTableReader, TermTableWriter

    f = _MemFile()
    w = TermTableWriter(f, {})
    w.add(b"b", b"1")
    with pytest.raises(ValueError, match="out of order"):
        w.add(b"a", b"2")
    w.close()
    for bad in (f.data[:-3], f.data[:5], b"\xff" * len(f.data)):
        with pytest.raises(ValueError):
            TermTableReader(_MemFile(bad), len(bad))


def test_texts_are_zstd_and_garbled_texts_are_a_damaged_index(tmp_path):
    """Hits' texts are zstd frames (faster to read back than zlib); a frame that no longer
    decodes makes the search report a damaged index, not crash."""
    from archive.errors import IndexDamaged
    from archive.search import ranking

    d = tmp_path / "index"
    index_sessions(d, _corpus())
    hits = search(d, "quokka", limit=5)
    assert hits and "quokka" in hits[0].snippet
    (seg,) = d.glob("*.seg")
    data = bytearray(seg.read_bytes())
    frames = [i for i in range(len(data)) if data.startswith(b"\x28\xb5\x2f\xfd", i)]
    assert len(frames) >= 50 * 7  # one per document
    for at in frames:
        data[at + 6 : at + 14] = b"\xff" * 8
    seg.write_bytes(bytes(data))
    ranking._SEARCHERS.clear()
    with pytest.raises(IndexDamaged, match="index is damaged"):
        search(d, "quokka", limit=5)
