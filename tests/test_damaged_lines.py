"""Lines that are JSON but for their bytes keep their turn (issue 14, item 13).

A UTF-8 byte order mark and CRLF line ends (a transcript saved by an editor on Windows), a line
with invalid UTF-8, a line with a lone surrogate escape: each is parsed, with undecodable bytes
replaced in the parsed text only; the archive keeps the bytes as they were.
"""

from __future__ import annotations

import orjson

from archive.transcript import parse_bytes

SID = "0b0e0f00-0000-4000-8000-000000000013"


def _line(uuid: str, kind: str, text: str, parent: str | None = None) -> bytes:
    message = (
        {"role": "user", "content": text}
        if kind == "user"
        else {"id": f"m{uuid}", "role": "assistant", "model": "claude-x",
              "content": [{"type": "text", "text": text}]}
    )
    return orjson.dumps({
        "type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": SID, "cwd": "/w",
        "timestamp": f"2026-03-01T10:0{uuid}:00Z", "message": message,
    })


def _transcript() -> bytes:
    lines = [
        _line("1", "user", "first prompt about quetzalword"),
        _line("2", "assistant", "first answer", "1"),
        _line("3", "user", "second prompt about XBADX", "2"),
        _line("4", "assistant", "second answer", "3"),
        _line("5", "user", "third prompt about XSURX", "4"),
        _line("6", "assistant", "third answer", "5"),
    ]
    lines[2] = lines[2].replace(b"XBADX", b"ocelotword \xff\xfe caf\xe9")  # invalid UTF-8
    lines[4] = lines[4].replace(b"XSURX", b"pangolinword \\ud800 alone")  # lone surrogate
    return b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"


def test_bom_crlf_invalid_utf8_and_lone_surrogate_lines_are_parsed():
    s = parse_bytes(_transcript())
    assert [t.prompt for t in s.turns] == [
        "first prompt about quetzalword",
        "second prompt about ocelotword \ufffd\ufffd caf\ufffd",
        "third prompt about pangolinword \ufffd alone",
    ]
    assert [t.answer for t in s.turns] == ["first answer", "second answer", "third answer"]
    assert s.bad_lines == 0 and s.session_id == SID
    for t in s.turns:  # every parsed string can be written out (JSON, index, terminal)
        t.prompt.encode("utf-8")


def test_a_line_that_is_not_json_stays_bad():
    data = _transcript() + b"\xef\xbb\xbfnot json \xff\r\n" + b'{"a": NaN, "x": "\\ud800"}\r\n'
    s = parse_bytes(data)
    assert len(s.turns) == 3 and s.bad_lines == 2


def test_show_and_search_keep_every_turn_and_cat_keeps_the_bytes(home, cli):
    folder = home.root("default") / "projects" / "-w"
    folder.mkdir(parents=True)
    data = _transcript()
    (folder / f"{SID}.jsonl").write_bytes(data)
    cli.json("ingest")
    shown = cli.json("show", SID)
    assert [t["prompt"] for t in shown["turns"]] == [
        "first prompt about quetzalword",
        "second prompt about ocelotword \ufffd\ufffd caf\ufffd",
        "third prompt about pangolinword \ufffd alone",
    ]
    for word, turn in (("quetzalword", 1), ("ocelotword", 2), ("pangolinword", 3)):
        hits = cli.json("search", word)
        assert [(h["session_id"], h["turn"]) for h in hits] == [(SID, turn)], word
    assert cli("cat", SID).stdout_bytes == data  # the archive holds the bytes as they were
    text = cli("show", SID)
    assert "ocelotword" in text.stdout and "pangolinword" in text.stdout
