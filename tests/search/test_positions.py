"""Positions in the index: the compact encoding and phrase search at every width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from index_helpers import doc, index_sessions, make_session

from archive.search import search
from archive.search._whoosh.fields import CompactPositions, encode_positions


@given(st.lists(st.integers(0, 2**31), min_size=1, max_size=60, unique=True))
def test_positions_round_trip(positions):
    positions.sort()
    fmt = CompactPositions()
    value = encode_positions(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.encode(positions) == value


def test_one_position_takes_two_bytes():
    """Most postings hold one position: Whoosh's pickled list took 17 bytes for it."""
    assert len(encode_positions([7])) == 2
    assert len(encode_positions([7, 300])) == 1 + 2 * 2


def test_phrases_are_found_past_each_width(tmp_path):
    """A phrase after 255 and 65,535 words (positions stored in 2 and 4 bytes) is found, and
    the same words apart are not a phrase."""
    filler = " ".join(f"w{i}x" for i in range(70_000))
    text = f"amber {filler[:2000]} quartz basalt {filler} cobalt zircon, cobalt garnet zircon"
    index_sessions(tmp_path, [doc("default", make_session("long", [{"answer": text}]))])
    for phrase in ('"quartz basalt"', '"cobalt zircon"'):
        assert [h.turn for h in search(tmp_path, phrase)] == [1], phrase
    assert search(tmp_path, '"amber quartz"') == []
    assert search(tmp_path, '"garnet cobalt"') == []
