"""The one step every transcript-derived string takes on its way out of the program.

Transcripts and the files around them (names, paths, history prompts, tool output) are data from
elsewhere: they hold credentials, and they can hold bytes a terminal acts on. Invariants:

- Masking (:mod:`redact`) applies to every output unless the user asked otherwise
  (``--no-redact``); it runs on the whole string first, so no later cut can split a secret.
- Terminal output never interprets control characters from transcripts. :func:`visible` turns
  each C0 control but newline and tab, DEL, each C1 control and the bidirectional overrides into
  visible text (``^[``, ``^G``, ``^?``, ``\\x9b``, ``<U+202E>``), so no escape sequence (CSI
  colours or hidden text, OSC 8 links, OSC 52 clipboard writes, window titles, DCS) reaches a
  terminal whole. A lone carriage return, which could overwrite a line, is shown as ``^M``.
- Files (``export -o``, ``cat`` into a pipe) keep the text as it was: :func:`visible` is for
  terminals only.
- JSON keeps the data exact: the encoder escapes C0 controls, and :func:`json_text` also escapes
  C1 controls and bidi overrides (``\\u009b`` is the same string to any JSON reader), so ``--json``
  on a terminal is safe too.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

# What each unsafe character becomes on a terminal: caret notation for C0 and DEL (as `cat -v`
# and less show them), a Python-style escape for C1, the code point for format characters.
_C0 = {c: f"^{chr(c + 64)}" for c in range(32) if chr(c) not in "\n\t"}
_TABLE: dict[int, str] = {
    **_C0,
    0x7F: "^?",
    **{c: f"\\x{c:02x}" for c in range(0x80, 0xA0)},
    **{c: f"<U+{c:04X}>" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE = {**_TABLE, ord("\n"): " ", ord("\t"): " "}
_ONE_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, *, lines: bool = True) -> str:
    """``text`` with every character a terminal would act on shown as text (see module doc).

    With ``lines`` newlines and tabs stay (``\\r\\n`` becomes ``\\n``); without, they become
    spaces, for a one-line cell."""
    if not isinstance(text, str):
        return text
    if lines:
        if _UNSAFE.search(text) is None:
            return text
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        return text.translate(_TABLE)
    if _ONE_LINE_UNSAFE.search(text) is None:
        return text
    return text.replace("\r\n", "\n").translate(_ONE_LINE)


def visible_spans(text: str, spans, *, lines: bool = True) -> tuple[str, list[tuple[int, int]]]:
    """:func:`visible` for a text with marked spans (a snippet's matches): the text made visible
    and each span moved to cover the same characters in it (one control becomes several)."""
    if not isinstance(text, str) or _ONE_LINE_UNSAFE.search(text) is None:
        return text, [tuple(s) for s in spans or ()]
    out: list[str] = []
    moved: list[tuple[int, int]] = []
    pos = size = 0
    for start, end in sorted(tuple(s) for s in spans or ()):
        if start < pos or end > len(text):
            continue
        before = visible(text[pos:start], lines=lines)
        inside = visible(text[start:end], lines=lines)
        out += [before, inside]
        moved.append((size + len(before), size + len(before) + len(inside)))
        size += len(before) + len(inside)
        pos = end
    out.append(visible(text[pos:], lines=lines))
    return "".join(out), moved


def outward(text: str, *, redact: bool = True, terminal: bool = False) -> str:
    """``text`` as it may leave the program: masked unless ``redact`` is off, made visible when
    it goes to a terminal."""
    if not isinstance(text, str) or not text:
        return text
    if redact:
        from .redact import redact as mask_secrets

        text = mask_secrets(text)
    return visible(text) if terminal else text


def outward_data(value, *, redact: bool = True, terminal: bool = False,
                 counts: Counter | None = None):
    """A copy of JSON-like data (or a dataclass row) with every string passed through
    :func:`outward`.

    Dictionary keys are ours (field names) and stay, except that on a terminal they are made
    visible too (a tool input's keys come from a transcript). ``counts`` (optional) is
    incremented by kind for each secret masked, so a caller can say what it masked."""
    if isinstance(value, str):
        if redact and value:
            from .redact import find_secrets
            from .redact import redact as mask_secrets

            found = find_secrets(value)
            if found:
                if counts is not None:
                    counts.update(f.kind for f in found)
                value = mask_secrets(value, found)
        return visible(value) if terminal else value
    if isinstance(value, dict):
        return {
            (visible(k) if terminal else k): outward_data(
                v, redact=redact, terminal=terminal, counts=counts
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            dict(v) if isinstance(v, dict) and _unchanged(v, redact, terminal)
            else outward_data(v, redact=redact, terminal=terminal, counts=counts)
            for v in value
        ]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A row the library returns as a dataclass (AtRisk, LostSession): the same with its
        # strings passed through; other fields (counters, numbers) as they are.
        changes = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if isinstance(v, str | list | tuple) or dataclasses.is_dataclass(v):
                new = outward_data(v, redact=redact, terminal=terminal, counts=counts)
                if new != v:
                    changes[f.name] = type(v)(new) if isinstance(v, tuple) else new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def _unchanged(row: dict, redact: bool, terminal: bool) -> bool:
    """Whether :func:`outward_data` would leave every string of ``row`` as it is, decided by
    one search in C over the row's JSON instead of string by string in Python: ``sessions
    --all --json`` over 60,000 sessions spent most of its time calling the masking per string.

    The JSON's escapes are undone first, so the text holds each string exactly. No trigger of
    the masking there (:func:`redact.may_hold_secrets`, sound for joined strings) and, for a
    terminal, no character :func:`visible` would change prove the row unchanged; anything else
    (a trigger, a value JSON cannot hold) takes the string by string path."""
    if not redact and not terminal:
        return True
    import codecs

    import orjson

    from .redact import may_hold_secrets

    # The values: the keys are ours (field names), except that a terminal shows them too.
    values = [*row, *row.values()] if terminal else list(row.values())
    try:
        text = orjson.dumps(values).decode()
    except (TypeError, ValueError):  # not JSON (a lone surrogate, a Path): string by string
        return False
    if "\\" in text:  # JSON escapes undone; non-ASCII goes through as \u… and comes back
        text = codecs.decode(text.encode("ascii", "backslashreplace"), "unicode_escape")
    if terminal and _UNSAFE.search(text) is not None:
        return False
    return not (redact and may_hold_secrets(text))


# UTF-8 of the characters a JSON encoder leaves raw but a terminal may act on.
_JSON_UNSAFE = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def _json_escape(m: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(m.group().decode("utf-8"))


def json_bytes(data, *, redact: bool = True, indent: bool = True) -> bytes:
    """``data`` as JSON for stdout: masked unless ``redact`` is off, every string exact, and
    nothing a terminal would act on left raw (they can only occur inside strings, where an
    escape means the same character)."""
    import orjson

    if redact:
        data = outward_data(data)
    option = orjson.OPT_INDENT_2 if indent else 0
    return _JSON_UNSAFE.sub(_json_escape, orjson.dumps(data, option=option))


__all__ = ["json_bytes", "outward", "outward_data", "visible", "visible_spans"]
