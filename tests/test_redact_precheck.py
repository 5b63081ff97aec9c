"""The masking's pre-check: a row whose strings hold no trigger is passed as it is, without a
scan of each string, and the output is exactly what the string by string path gives.

``outward_data`` decides per row, over its JSON, whether any string could hold a secret
(``redact.may_hold_secrets``); ``sessions --all --json`` over 60,000 sessions spent most of its
time masking string by string. The differential tests compare against that path, written out
here as the reference."""

from __future__ import annotations

import re

import orjson
import pytest
from credentials import CREDENTIALS, leaked
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive import redact
from archive.outward import json_bytes, outward_data, visible


def per_string(value, *, terminal: bool = False):
    """The reference: every string masked on its own (``find_secrets`` + ``redact``), then made
    visible for a terminal; dict keys made visible on a terminal; tuples become lists."""
    if isinstance(value, str):
        value = redact.redact(value)
        return visible(value) if terminal else value
    if isinstance(value, dict):
        return {(visible(k) if terminal else k): per_string(v, terminal=terminal)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [per_string(v, terminal=terminal) for v in value]
    return value


# Pieces that make triggers, near-triggers, separators, JSON escapes, terminal controls and
# non-ASCII (incl. outside the BMP), so generated strings cross every path of the pre-check.
_PIECES = [
    "sk-", "ant-", "api03-", "proj-", "ghp_", "AKIA", "AC", "SK", "eyJ", "xoxb-", "://", "@",
    "password", "Password", "token", "secret", "api_key", "_KEY", "Key", "authorization",
    "Bearer ", "mysql -p", "sshpass -p ", "-----BEGIN RSA PRIVATE KEY-----", "hooks.slack.com/",
    ":AA", "sq0", "dapi", "=", ":", ": ", "=>", ":=", '"', "'", "`", "\\", "\\n", "\t", "\n",
    "\r\n", "\r", "\x00", "\x01", "\x1b[31m", "\x7f", "\x9b", "\u202e", "é", "日本", "🙂", " ",
    "aB3dE6gH9kLmN0pQrS2tUv4wXy5z", "3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e", "hunter22",
    "Z7Q2M4X9B3N6P8R5", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYQ8z3T5v1Ab", "/home/me/src", "x", "0",
]
_text = st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=12).map("".join)
_scalar = st.none() | st.booleans() | st.integers(-10, 10**6) | _text
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["title", "project", "a\x1bb", "key", "x"]), inner,
                      max_size=4),
    max_leaves=12,
)
_row = st.dictionaries(
    st.sampled_from(["session_id", "title", "project", "copies", "models", "path", "turns"]),
    _value, max_size=7,
)
# The rows of a listing: (almost) all clean, a few holding a secret somewhere.
_planted = st.sampled_from(CREDENTIALS).map(lambda c: {"title": c.text, "copies": [{"p": c.text}]})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row | _planted, max_size=6), terminal=st.booleans())
@example(rows=[{"title": 'say "password=hunter22" \\ \t "token": "aB3dE6gH9kLm"'}],
         terminal=False)
@example(rows=[{"title": "password\t=\x01\x02\x03\x04\x05"}], terminal=False)
@example(rows=[{"t": ["a\ud800b", "password=hunter22"]}], terminal=True)  # JSON cannot hold it
def test_rows_come_out_exactly_as_string_by_string(rows, terminal):
    want = per_string(rows, terminal=terminal)
    got = outward_data(rows, terminal=terminal)
    assert got == want
    if not terminal:
        try:
            expected = json_bytes(want, redact=False)
        except TypeError:  # a lone surrogate: JSON cannot hold it either way
            return
        assert json_bytes(rows) == expected


@pytest.mark.parametrize("cred", CREDENTIALS, ids=[c.id for c in CREDENTIALS])
@pytest.mark.parametrize("where", ["top", "nested", "after-escapes"])
def test_every_credential_is_masked_wherever_it_sits_in_a_row(cred, where):
    clean = {"session_id": "4f2a", "title": "a plain title", "turns": 3}
    row = {
        "top": {**clean, "title": cred.text},
        "nested": {**clean, "copies": [{"project": "/p", "ended": None}, {"x": [cred.text]}]},
        "after-escapes": {**clean, "title": f'"quoted"\\back\tslash\n{cred.text} é 🙂'},
    }[where]
    rows = [clean, row, clean]
    out = outward_data(rows)
    assert leaked(orjson.dumps(out).decode()) == []
    assert out == per_string(rows)


def test_clean_rows_are_not_scanned_string_by_string(monkeypatch):
    """The pre-check is what makes a listing fast: rows without a trigger cost no call of the
    per-string scan, and the row holding one is still masked."""
    calls = []
    real = redact.find_secrets

    def counted(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(redact, "find_secrets", counted)
    key = next(c.secret for c in CREDENTIALS if c.kind == "github-token")
    rows = [{"session_id": f"{i:08x}-0000", "title": f"fix the parser, take {i}",
             "project": "/home/me/src/app", "models": ["claude-opus-4-1"],
             "copies": [{"profile": "work", "sha256": f"{i:064x}"}]} for i in range(500)]
    rows[250]["title"] = f"push with {key} now"
    out = outward_data(rows)
    assert out[250]["title"] == f"push with {redact.mask('github-token')} now"
    assert out[:250] == rows[:250] and out[251:] == rows[251:]
    assert 0 < len(calls) <= 10, len(calls)  # only the strings of the row that holds a trigger


def test_clean_rows_come_back_as_copies():
    rows = [{"title": "plain", "copies": [{"p": "work"}]}]
    out = outward_data(rows)
    out[0]["title"] = "changed"
    assert rows[0]["title"] == "plain"


# -- the regex keeps the property the pre-check relies on ----------------------------------------


def _walk(parsed):
    for op, av in parsed:
        yield op, av
        if isinstance(av, tuple | list):
            for item in av:
                if isinstance(item, re._parser.SubPattern):
                    yield from _walk(item)
                elif isinstance(item, tuple | list):
                    for sub in item:
                        if isinstance(sub, re._parser.SubPattern):
                            yield from _walk(sub)
        elif isinstance(av, re._parser.SubPattern):
            yield from _walk(av)


def test_trigger_regex_matches_inside_any_text_holding_the_string():
    """Joining strings can only add trigger matches when the regex asserts nothing about what
    is absent: no negative lookaround, no position anchor (^, $, \\b), and possessive runs only
    of characters JSON never puts around a string (spaces and tabs)."""
    pattern = redact._TRIGGERS.pattern
    ops = list(_walk(re._parser.parse(pattern)))
    names = {str(op) for op, _ in ops}
    assert {"ASSERT", "POSSESSIVE_REPEAT", "IN"} <= names  # the parser's names, as read below
    assert "AT" not in names, "a position anchor (^, $, \\b, \\A, \\Z)"
    assert "ASSERT_NOT" not in names, "a negative lookaround"
    for op, av in ops:
        if str(op) == "POSSESSIVE_REPEAT":
            _, _, body = av
            assert [str(o) for o, _ in body] == ["IN"], body
            chars = {chr(c) for o, c in body[0][1] if str(o) == "LITERAL"}
            assert chars <= {" ", "\t"}, chars


def test_may_hold_secrets_on_joined_strings():
    for cred in CREDENTIALS:
        assert redact.may_hold_secrets(cred.text)
        assert redact.may_hold_secrets(orjson.dumps(["x", {"a": cred.text}]).decode())
    assert not redact.may_hold_secrets("fix the parser, take 3 /home/me/src/app 2026-11-01")
    assert re.search(r"\(\?<!|\(\?!", redact._TRIGGERS.pattern) is None
