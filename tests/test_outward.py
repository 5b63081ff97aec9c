"""The one outward step: masked, terminal-safe text, exact JSON.

The end-to-end promises (every command, every format, under a real pty) are in
``test_outward_cli.py``; these pin the function every output goes through."""

from __future__ import annotations

import orjson
import pytest
from credentials import CREDENTIALS, leaked

from archive.outward import json_bytes, outward, outward_data, visible
from archive.redact import mask

ESC = "\x1b"
# Sequences a transcript can carry that a terminal would act on (names say what they do).
ATTACKS = {
    "osc8-disguised-link": f"{ESC}]8;;https://evil.example/x{ESC}\\docs.python.org{ESC}]8;;{ESC}\\",
    "hidden-text": f"visible {ESC}[8mhidden{ESC}[0m",
    "clear-screen": f"{ESC}[2J{ESC}[H",
    "window-title": f"{ESC}]0;pwned\x07",
    "osc52-clipboard": f"{ESC}]52;c;cm0gLXJmIH4=\x07",
    "dcs": f"{ESC}P+q544e{ESC}\\",
    "c1-csi": "\x9b31mred\x9b0m",
    "c1-osc": "\x9d0;title\x9c",
    "carriage-return-overwrite": "rm -rf ~\rls -la   ",
    "backspaces": "safe\x08\x08\x08\x08evil",
    "bell-and-nul": "\x07\x00",
    "bidi-override": "access\u202e\u2066 = admin\u2069",
}


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0
            or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069]


@pytest.mark.parametrize("text", list(ATTACKS.values()), ids=list(ATTACKS))
def test_visible_leaves_nothing_a_terminal_acts_on(text):
    shown = visible(text)
    assert _raw_controls(shown) == []
    assert visible(shown) == shown  # idempotent: what it writes is plain text
    assert len(shown) >= len(text)  # every character still shows, none is dropped


def test_visible_notation():
    assert visible(f"{ESC}[31m") == "^[[31m"
    assert visible("\x07\x00\x7f") == "^G^@^?"
    assert visible("\x9b") == "\\x9b"
    assert visible("\u202e") == "<U+202E>"
    assert visible("a\r\nb\tc\rd") == "a\nb\tc^Md"
    assert visible("a\nb\tc", lines=False) == "a b c"
    assert visible("plain text, ünïcödé, 日本語 🙂") == "plain text, ünïcödé, 日本語 🙂"


def test_outward_masks_before_it_makes_visible():
    key = next(c.secret for c in CREDENTIALS if c.kind == "github-token")
    text = f"{ESC}]52;c;{key}\x07"
    assert outward(text) == f"{ESC}]52;c;{mask('github-token')}\x07"  # a file keeps the bytes
    assert outward(text, terminal=True) == f"^[]52;c;{mask('github-token')}^G"
    assert outward(text, redact=False, terminal=True) == f"^[]52;c;{key}^G"
    assert outward(text, redact=False) == text


def test_outward_data_masks_every_string_and_counts():
    data = {"rows": [{"title": c.text, "n": 1} for c in CREDENTIALS], "none": None}
    from collections import Counter

    counts: Counter = Counter()
    out = outward_data(data, counts=counts)
    assert leaked(orjson.dumps(out).decode()) == []
    assert sum(counts.values()) >= len(CREDENTIALS)
    assert out["none"] is None and out["rows"][0]["n"] == 1
    assert leaked(orjson.dumps(data).decode())  # the input is not changed


def test_json_bytes_is_exact_and_terminal_safe():
    data = {"title": "".join(ATTACKS.values()), f"key{ESC}": ["\x9b", "\u202e", "\x7f"]}
    raw = json_bytes(data, redact=False)
    assert orjson.loads(raw) == data  # the same strings, byte for byte
    text = raw.decode()
    assert [c for c in _raw_controls(text) if c != "\n"] == []
    assert "\\u009b" in text and "\\u202e" in text and "\\u001b" in text


def test_json_bytes_masks_unless_asked():
    data = {"title": [c.text for c in CREDENTIALS]}
    assert leaked(json_bytes(data).decode()) == []
    assert len(leaked(json_bytes(data, redact=False).decode())) == len(CREDENTIALS)


def test_shown_data_is_masked_once_with_the_same_result(capsys):
    """Rows from `shown()` were masked there: `print_json` does not mask them again (that
    doubled `sessions --all --json`), and prints what masking the raw rows prints; with
    `redact=False` given to shown, nothing is masked twice or at all."""
    from archive.cli.common import print_json, shown

    secret = CREDENTIALS[0].text
    rows = [{"title": f"deploy {secret}", "n": 1, "tags": [secret, "plain"]}]
    print_json(rows)
    raw = capsys.readouterr().out
    print_json(shown(rows))
    once = capsys.readouterr().out
    assert once == raw and not leaked(once) and "[REDACTED:" in once
    print_json(shown(rows, redact=False))
    assert secret in capsys.readouterr().out
