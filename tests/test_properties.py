"""Property tests: the parser, the CLI and restore against generated, hostile input.

Claude Code's transcripts are undocumented and written while a session runs, so the archive must
survive anything a file can hold, and restore must never write outside its target root whatever
names it is given. Examples are few and derandomized (each CLI example runs a real ingest), so
the file stays well under a minute and fails the same way on every machine.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import orjson
import pytest
import unprivileged
from conftest import FIXTURES, SHORT_ID, SPOTTER
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from archive.ingest import ingest
from archive.roots import discover_roots
from archive.transcript import iter_lines, parse_bytes, parse_lines

WORK_ID = "29ccd257-68b1-427f-ae5f-6524b7cb6f20"  # held by the work profile only
PERSONAL_ID = "c45af7b1-cb7c-4e51-93db-8cbb250a877a"  # held by personal only
HOLDER = {SHORT_ID: "default", WORK_ID: "work", PERSONAL_ID: "personal"}
OK_CODES = {0, 1, 2}  # anything else from a read command is a crash (70) or worse

# Fast and repeatable: the same examples on every run, no example database on disk.
FAST = settings(max_examples=120, deadline=None, derandomize=True, database=None)
# A function-scoped fixture here only sets the environment; every example makes its own folders.
SLOW = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# -- material ------------------------------------------------------------------------------------


def _fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.jsonl") if p.stat().st_size)


FIXTURE_FILES = _fixture_files()
SMALL_FILES = [p for p in FIXTURE_FILES if p.stat().st_size < 200_000]
FIXTURE_LINES = sorted(
    {line for p in FIXTURE_FILES for line in p.read_bytes().split(b"\n") if line},
    key=lambda line: (len(line), line),  # shrinks toward short lines
)
SHORT_LINES = [line for line in FIXTURE_LINES if len(line) < 20_000]

# Where a wrong value may be put in a line; missing containers are created on the way.
FIELD_PATHS = [
    ("type",), ("message",), ("message", "content"), ("message", "usage"),
    ("message", "usage", "input_tokens"), ("message", "usage", "cache_read_input_tokens"),
    ("message", "usage", "cache_creation_input_tokens"), ("message", "model"),
    ("message", "id"), ("message", "role"), ("timestamp",), ("sessionId",), ("cwd",),
    ("isSidechain",), ("isMeta",), ("isCompactSummary",), ("requestId",), ("gitBranch",),
    ("version",), ("agentId",), ("subtype",), ("compactMetadata",),
    ("compactMetadata", "preTokens"), ("summary",), ("customTitle",), ("aiTitle",),
    ("toolUseResult",), ("message", "content", 0), ("message", "content", 0, "type"),
    ("message", "content", 0, "text"), ("message", "content", 0, "input"),
    ("message", "content", 0, "content"), ("message", "content", 0, "tool_use_id"),
    ("message", "content", 0, "name"), ("message", "content", 0, "id"),
    ("message", "content", 0, "is_error"), ("message", "content", 0, "thinking"),
]
# Placeholder strings replaced by this many nested brackets after serialising: orjson dumps at
# most 254 levels and loads at most 1024.
DEEP = {f"\x00deep{n}{kind}\x00": (n, kind) for n in (300, 1000, 1100, 3000) for kind in "[{"}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e30, -1e30, 2**53 + 1, 1.5, -0.0]),
    st.text(max_size=24),
    st.sampled_from([
        "", " ", "user", "assistant", "tool_use", "tool_result", "text", "compact_boundary",
        "100", "1e999", "NaN", "2025-13-45T99:99:99Z", "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00", "<command-name>/x</command-name>", "[Request interrupted",
        "<ide_opened_file>", "\u202e\u0000\ufeff", "../../etc/passwd", "a" * 300,
    ]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)
wrong_values = st.one_of(
    json_values,
    st.sampled_from(sorted(DEEP)),
    st.sampled_from([10_000, 300_000, 2_000_000]).map(lambda n: "x" * n),  # huge strings
    st.sampled_from([{"type": "text", "text": "a dict, not a list"}, "a string", 42, [1, "x"],
                     {"input_tokens": "100", "output_tokens": "5"}]),
)
garbage_lines = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
    st.sampled_from([
        b"not json", b"{", b"}", b"[]", b"null", b'"a string"', b"123", b"{}", b"  ", b"\r",
        b'{"type":"user"', b'{"type": 5}', b'{"type":"banana","x":1}', b"\x00\x00",
        b"\xff\xfe{}", b'{"a":1}{"b":2}', b"[" * 2000 + b"]" * 2000,
        b'{"type":"user","message":{"content":"\\ud800"}}', b"1e400",
    ]),
)


def _set_path(obj: dict, path: tuple, value) -> dict:
    node = obj
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(key, int):
            if not isinstance(node, list):
                return obj
            if not node:
                node.append({})
            if last:
                node[0] = value
                return obj
            if not isinstance(node[0], dict | list):
                node[0] = {}
            node = node[0]
            continue
        if not isinstance(node, dict):
            return obj
        if last:
            node[key] = value
            return obj
        nxt = node.get(key)
        if not isinstance(nxt, dict | list):
            nxt = [] if isinstance(path[i + 1], int) else {}
            node[key] = nxt
        node = nxt
    return obj


def _delete_path(obj: dict, path: tuple) -> dict:
    node = obj
    for key in path[:-1]:
        if isinstance(key, int):
            if not isinstance(node, list) or not node:
                return obj
            node = node[0]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return obj
    if isinstance(node, dict) and not isinstance(path[-1], int):
        node.pop(path[-1], None)
    return obj


def _dump(obj) -> bytes:
    data = orjson.dumps(obj)
    for placeholder, (depth, kind) in DEEP.items():
        if kind == "{":
            nested = b'{"a":' * depth + b"1" + b"}" * depth
        else:
            nested = b"[" * depth + b"]" * depth
        data = data.replace(orjson.dumps(placeholder), nested)
    return data


@st.composite
def mutated(draw, line: bytes) -> bytes:
    """``line`` after up to three mutations, structural ones first where the line is JSON."""
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(
            ["wrong", "wrong", "missing", "truncate", "flip", "insert", "deep", "huge"]
        ))
        if op in ("wrong", "missing", "deep", "huge"):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            path = draw(st.sampled_from(FIELD_PATHS))
            if op == "wrong":
                obj = _set_path(obj, path, draw(wrong_values))
            elif op == "missing":
                obj = _delete_path(obj, path)
            elif op == "deep":
                obj = _set_path(obj, path, draw(st.sampled_from(sorted(DEEP))))
            else:
                obj = _set_path(obj, path, "y" * draw(st.sampled_from([50_000, 1_500_000])))
            try:
                line = _dump(obj)
            except orjson.JSONEncodeError:
                continue
        elif op == "truncate" and line:
            line = line[: draw(st.integers(0, len(line) - 1))]
        elif op == "flip" and line:
            at = draw(st.integers(0, len(line) - 1))
            bad = draw(st.sampled_from([b"\x80", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                                        b"\r", b"\xf4\x90\x80\x80"]))
            line = line[:at] + bad + line[at + 1 :]
        elif op == "insert":
            at = draw(st.integers(0, len(line)))
            extra = draw(st.sampled_from([b"\n", b"\nnot json\n", b"\n{}\n"]))
            line = line[:at] + extra + line[at:]
    return line


@st.composite
def transcripts(draw) -> bytes:
    """A transcript: a real file (kept in order, so turns look real) or a mix of real lines,
    some mutated, with garbage lines in between; then maybe cut at any byte."""
    if draw(st.booleans()):
        lines = draw(st.sampled_from(SMALL_FILES)).read_bytes().split(b"\n")[:-1]
        picks = draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=6))
        for i in picks:
            if lines:
                lines[i] = draw(mutated(lines[i]))
    else:
        source = st.sampled_from(SHORT_LINES)
        line = st.one_of(source, source.flatmap(mutated), garbage_lines)
        lines = draw(st.lists(line, max_size=25))
    data = b"\n".join(lines)
    ending = draw(st.sampled_from(["newline", "none", "cut"]))
    if ending == "newline" and data:
        data += b"\n"
    elif ending == "cut" and data:
        data = data[: draw(st.integers(0, len(data)))]
    return data


# -- the parser ----------------------------------------------------------------------------------


def reference_lines(data: bytes, max_len: int) -> list[tuple[int, bytes | None]]:
    """What iter_lines must yield, computed the obvious way."""
    out = []
    pos = 0
    pieces = data.split(b"\n")
    for i, piece in enumerate(pieces):
        if i == len(pieces) - 1 and not piece:
            break
        out.append((pos, piece if len(piece) <= max_len else None))
        pos += len(piece) + 1
    return out


def _not_json(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _damaged_but_json(raw: bytes) -> object:
    """What the parser still reads of a line orjson refuses: its text with a leading BOM removed
    and undecodable bytes replaced; a lone surrogate escape (stdlib json keeps it) too."""
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if b"\\ud" in raw.lower():
        try:
            return json.loads(text, parse_constant=_not_json)
        except (ValueError, RecursionError):
            return None
    return None


def check_session(data: bytes, s, *, cap: int = 8192, max_len: int = 32 * 1024 * 1024) -> None:
    """The parser's promises about any input."""
    expected = reference_lines(data, max_len)
    assert s.lines == len(expected)
    parsed = blank = 0
    for _, raw in expected:
        if raw is None:
            continue
        if not raw or raw.isspace():
            blank += 1
            continue
        try:
            parsed += type(orjson.loads(raw)) is dict
        except orjson.JSONDecodeError:
            parsed += type(_damaged_but_json(raw)) is dict
    assert s.bad_lines + parsed + blank == s.lines
    assert 0 <= s.unknown_lines <= parsed
    assert [t.number for t in s.turns] == list(range(1, len(s.turns) + 1))
    previous_end = 0
    for t in s.turns:
        assert previous_end <= t.start_offset <= t.end_offset <= len(data)
        # Both ends sit on line boundaries: a restored prefix never ends in half a line.
        assert t.start_offset == 0 or data[t.start_offset - 1] == 0x0A
        assert t.end_offset == 0 or data[t.end_offset - 1] == 0x0A or t.end_offset == t.start_offset
        assert isinstance(t.prompt, str) and t.prompt
        for call in t.tool_calls:
            assert len(call.output) <= cap and len(call.input_text) <= cap
            assert call.output_size >= len(call.output)
        previous_end = t.end_offset
    for number in (s.context_tokens, s.peak_context_tokens, *(t.context_tokens for t in s.turns)):
        assert number is None or 0 <= number < 2**63  # SQLite's INTEGER holds it
    if s.started and s.ended:
        assert s.started <= s.ended
    assert s.title is None or isinstance(s.title, str)
    for text in (s.title, s.project, s.session_id, *(t.prompt for t in s.turns)):
        if text is not None:
            text.encode("utf-8")  # no lone surrogate reaches the index or a terminal


class ShortReads(io.RawIOBase):
    """A stream that returns fewer bytes than asked (a pipe, a network file system)."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes, self.pos, self.n = data, sizes or [1], 0, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = self.sizes[self.n % len(self.sizes)]
        self.n += 1
        piece = self.data[self.pos : self.pos + min(step, size if size >= 0 else step)]
        self.pos += len(piece)
        return piece


@FAST
@given(st.binary(max_size=3000))
def test_parser_survives_arbitrary_bytes(data):
    check_session(data, parse_bytes(data))


@FAST
@given(transcripts())
@example(b"")
@example(b'{"type":"user","message":{"content":"hi"}}')  # one line, no newline: cut or not
@example(b'{"type":"assistant","message":{"usage":{"input_tokens":1e30},"content":"x"}}\n')
@example(b'{"type":"user","message":{"role":"user","content":"q"}}\n'
         b'{"type":"assistant","message":{"usage":{"input_tokens":18446744073709551615,'
         b'"cache_read_input_tokens":18446744073709551615},"content":"a"}}\n')
def test_parser_survives_mutated_real_transcripts(data):
    check_session(data, parse_bytes(data))


@settings(FAST, max_examples=80)
@given(
    transcripts().map(lambda d: d[:40_000]),  # one-byte reads of a huge line take too long
    st.integers(1, 400),
    st.lists(st.integers(1, 5000), min_size=1, max_size=5),
)
def test_line_reader_is_exact_whatever_the_reads_and_limit(data, max_len, sizes):
    got = list(iter_lines(ShortReads(data, sizes), max_len))
    assert got == reference_lines(data, max_len)
    # The parser over a stream of short reads sees what it sees over the whole bytes.
    whole = parse_bytes(data, max_line_bytes=max_len)
    check_session(data, whole, max_len=max_len)
    streamed = parse_lines(iter_lines(ShortReads(data, sizes), max_len), file_size=len(data))
    assert [(t.number, t.prompt, t.start_offset, t.end_offset) for t in streamed.turns] == [
        (t.number, t.prompt, t.start_offset, t.end_offset) for t in whole.turns
    ]
    assert (streamed.lines, streamed.bad_lines) == (whole.lines, whole.bad_lines)


# -- the CLI over hostile files ------------------------------------------------------------------


@pytest.fixture
def bare_home(tmp_path, monkeypatch) -> Path:
    """A HOME without Claude Code: the only roots are the ones a test passes with --root."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SESSION_ARCHIVE_FSYNC", "0")
    monkeypatch.setenv("COLUMNS", "200")
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG",
                "SESSION_ARCHIVE_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def session_id(i: int) -> str:
    return str(uuid.UUID(int=(0xF0 + i) << 120 | i))


def big_line(megabytes: int, valid: bool) -> bytes:
    body = b"z" * (megabytes * 1024 * 1024)
    if not valid:
        return body + b"\n"
    return (
        b'{"type":"user","sessionId":"x","message":{"role":"user","content":[{"type":'
        b'"tool_result","tool_use_id":"t","content":"' + body + b'"}]}}\n'
    )


CUT_LINE = SPOTTER.joinpath("short.jsonl").read_bytes().split(b"\n")[3][:-40]
# A usage figure no model reports; its context once overflowed SQLite and crashed every ingest.
HUGE_USAGE = (
    b'{"type":"user","message":{"role":"user","content":"q"}}\n'
    b'{"type":"assistant","message":{"model":"m","usage":{"input_tokens":1e30,'
    b'"cache_read_input_tokens":18446744073709551615},"content":"a"}}\n'
)
file_contents = st.one_of(
    st.just(b""),
    st.just(CUT_LINE),
    st.binary(max_size=400),
    transcripts(),
    transcripts().map(lambda d: d.replace(b"e", b"\xe9", 3)),  # invalid UTF-8 in places
)


@SLOW
@given(
    files=st.lists(file_contents, min_size=1, max_size=4),
    query=st.one_of(st.sampled_from(["the", "prompt:x AND NOT y", "tool_output:z*"]),
                    st.text(max_size=20)),
)
@example(
    files=[b"", CUT_LINE, b"\xff\xfe\xc3(\n\xed\xa0\x80\n", big_line(3, True), big_line(2, False),
           HUGE_USAGE],
    query='"unclosed',
)
def test_cli_never_crashes_and_cat_is_byte_exact(bare_home, cli, files, query):
    work = Path(tempfile.mkdtemp(dir=bare_home))
    try:
        root, adir = work / "root", work / "archive"
        folder = root / "projects" / "-fuzz"
        folder.mkdir(parents=True)
        ids = []
        for i, data in enumerate(files):
            sid = session_id(i)
            (folder / f"{sid}.jsonl").write_bytes(data)
            ids.append(sid)
        # The last file also appears as a sub-agent of the first session.
        (folder / ids[0] / "subagents").mkdir(parents=True)
        (folder / ids[0] / "subagents" / "agent-fuzz.jsonl").write_bytes(files[-1])
        common = ["--archive-dir", str(adir)]

        result = cli.json("ingest", "--root", f"fuzz={root}", *common)
        assert result["errors"] == []
        for sid, data in zip(ids, files, strict=True):
            assert cli("cat", sid, *common).stdout_bytes == data
            for args in (["show", sid], ["show", sid, "--json"], ["export", sid]):
                assert cli(*args, *common, code=None).exit_code in OK_CODES, args
        for fmt in ("html", "json"):  # the same parsed session as md: one file is enough
            args = ["export", ids[-1], "--format", fmt]
            assert cli(*args, *common, code=None).exit_code in OK_CODES, args
        for args in (["search", query], ["search", query, "--sessions", "--json"],
                     ["sessions"], ["sessions", "--json"], ["stats"], ["secrets"],
                     ["secrets", "--json"], ["verify"]):
            result = cli(*args, *common, code=None)
            assert result.exit_code in OK_CODES, (args, result.stderr)
    finally:
        shutil.rmtree(work)


# -- restore never writes outside its target root ------------------------------------------------


def tree(base: Path) -> dict[str, tuple]:
    """Every path under ``base`` (symlinks not followed) with what it is and holds."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            if name in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
                continue  # any reader of the archive makes these
            p = Path(dirpath) / name
            st_ = os.lstat(p)
            if os.path.islink(p):
                out[str(p)] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[str(p)] = ("dir",)
            else:
                out[str(p)] = ("file", st_.st_size, st_.st_mtime_ns)
    return out


TRICKS = ["..", ".", "", "/", "//", "\\", "..\\..", "\x00", "a\x00b", "~", "$HOME", "%2e%2e",
          "wörk", "ﾜｰｸ", "\u202e", "con", "-", "--to", "a" * 300, "../" * 40 + "etc",
          "/etc/passwd", "work/../..", "work/", "./work"]


def mostly(real, tricky):
    """``real`` seven times in ten, so most examples get as far as writing."""
    return st.integers(0, 9).flatmap(lambda n: real if n < 7 else tricky)


profiles = mostly(
    st.sampled_from(["work", "personal", "default"]),
    st.sampled_from(TRICKS) | st.text(alphabet=st.sampled_from("w./\\\x00é-_k"), max_size=12),
)
session_refs = mostly(
    st.sampled_from([SHORT_ID, SHORT_ID[:8], WORK_ID, PERSONAL_ID, PERSONAL_ID[:6]]),
    st.sampled_from([*TRICKS, "7"])  # "7": the prefix of two sessions
    | st.text(alphabet=st.sampled_from("5560/.\\\x00é-"), max_size=16),
)
project_part = st.one_of(st.sampled_from(TRICKS), st.text(max_size=10))
# Absolute paths made of plain (if odd) names: valid, so the restore goes on to write.
odd_name = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"), min_size=1, max_size=40
).filter(
    lambda n: n not in (".", "..")
)
projects = st.one_of(
    st.none(),
    st.lists(odd_name, min_size=1, max_size=6).map(lambda ps: "/" + "/".join(ps)),
    st.lists(odd_name, min_size=1, max_size=6).map(lambda ps: "/" + "/".join(ps)),
    st.sampled_from(["/", "/tmp", "/x/../../etc", "/a//b/", "/a/./b", "relative/path",
                     "~/x", "/" + "long" * 1500, "/proc/self/cwd", "/\udcff", "/a\x00/b",
                     "/" + "é" * 300]),
    st.lists(project_part, min_size=1, max_size=5).map(lambda ps: "/" + "/".join(ps)),
    st.lists(project_part, min_size=1, max_size=3).map("/".join),
)


@pytest.fixture
def archived(home):
    result = ingest(home.archive, discover_roots(), index=False, durable=False)
    assert result.errors == []
    return home


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(to=profiles, ref=session_refs, project=projects, new_id=st.booleans())
def test_restore_writes_only_inside_the_target_root(archived, cli, tmp_path, to, ref,
                                                    project, new_id):
    # The "outside" folder is named by some project paths; nothing may appear there.
    (tmp_path / "outside").mkdir(exist_ok=True)
    assume(HOLDER.get(next((s for s in HOLDER if s.startswith(ref or "-")), None)) != to)
    args = ["restore", "--to", to]
    if project is not None:
        args += ["--project", project]
    if new_id:
        args.append("--new-id")
    args += ["--", ref]  # a ref like "-0" is a session, not an option
    before = tree(tmp_path)
    result = cli(*args, code=None)
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how many wrote files
    after = tree(tmp_path)
    changed = sorted(p for p in after if before.get(p) != after[p])
    removed = [p for p in before if p not in after]
    try:
        assert removed == []
        if result.exit_code == 0:
            target = archived.root(to) / "projects"
            assert changed, result.stdout
            for p in changed:
                assert Path(p).is_relative_to(target), p
                assert not os.path.islink(p)
        else:
            assert result.exit_code == 2, (result.exit_code, result.stderr)
            first, *candidates = result.stderr.strip().splitlines()
            assert first.startswith("error: "), result.stderr
            # One line, except the candidates an ambiguous prefix lists below it.
            assert not candidates or "prefix of" in first, result.stderr
            assert changed == []
    finally:
        for p in sorted(changed, key=len, reverse=True):  # undo, so examples stay independent
            if before.get(p) is None and os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
            elif before.get(p) is None:
                os.unlink(p)


# -- symlinks and unreadable files ---------------------------------------------------------------


def test_symlink_loops_and_links_out_of_the_root(bare_home, cli):
    tmp = bare_home
    outside = tmp / "outside"
    outside.mkdir()
    secret = outside / "linked.jsonl"
    secret.write_bytes(SPOTTER.joinpath("short.jsonl").read_bytes())
    src = tmp / "src"
    spotter = src / "projects" / "-home-marco-projects-spotter"
    spotter.mkdir(parents=True)
    shutil.copyfile(SPOTTER / "short.jsonl", spotter / f"{SHORT_ID}.jsonl")
    loop = src / "projects" / "-loop"
    loop.mkdir()
    (loop / "up").symlink_to("..", target_is_directory=True)  # projects/-loop/up -> projects
    (loop / "self").symlink_to(".", target_is_directory=True)
    (loop / "a.jsonl").symlink_to("b.jsonl")  # a file loop: stat fails with ELOOP
    (loop / "b.jsonl").symlink_to("a.jsonl")
    (loop / "dangling.jsonl").symlink_to(tmp / "nowhere")
    linked_id = session_id(7)
    (loop / f"{linked_id}.jsonl").symlink_to(secret)  # a file outside the root
    dst = tmp / "dst"
    (dst / "projects").mkdir(parents=True)
    common = ["--root", f"src={src}", "--root", f"dst={dst}", "--archive-dir", str(tmp / "a")]

    result = cli.json("ingest", *common)
    assert result["errors"] == []
    assert result["files_seen"] == 1  # the real session, once; links to files are not followed
    assert len([w for w in result["warnings"] if "not followed" in w]) == 4
    cli("cat", linked_id, "--archive-dir", str(tmp / "a"), code=2)

    # The project folder in the target is a link out of the root: refused, nothing written.
    folder = dst / "projects" / "-home-marco-projects-spotter"
    folder.symlink_to(outside, target_is_directory=True)
    snap = tree(tmp)
    result = cli("restore", SHORT_ID, "--to", "dst", *common, code=2)
    assert "symlink" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert tree(tmp) == snap

    # The target file itself is a link out of the root: refused, even with --force, and the
    # file it points to is untouched.
    folder.unlink()
    folder.mkdir()
    target = folder / f"{SHORT_ID}.jsonl"
    victim = outside / "victim.jsonl"
    victim.write_bytes(b'{"type":"user","message":{"content":"keep me"}}\n')
    target.symlink_to(victim)
    snap = tree(tmp)
    for force in ([], ["--force"]):
        result = cli("restore", SHORT_ID, "--to", "dst", *force, *common, code=2)
        assert "symlink" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert tree(tmp) == snap
    assert victim.read_bytes() == b'{"type":"user","message":{"content":"keep me"}}\n'


@pytest.mark.skipif(unprivileged.how() == "not possible",
                    reason="cannot take away the privilege to read every file here")
def test_unreadable_file_is_an_error_and_the_rest_is_archived():
    with unprivileged.space() as tmp:
        folder = tmp / "src" / "projects" / "-p"
        folder.mkdir(parents=True)
        good = {session_id(i): data for i, data in enumerate(
            [SPOTTER.joinpath("short.jsonl").read_bytes(), b"", CUT_LINE]
        )}
        for sid, data in good.items():
            (folder / f"{sid}.jsonl").write_bytes(data)
        bad = session_id(9)
        (folder / f"{bad}.jsonl").write_bytes(CUT_LINE)
        unprivileged.hand_over(tmp)
        os.chmod(folder / f"{bad}.jsonl", 0)  # as root, only without its privilege
        if not unprivileged.denied(folder / f"{bad}.jsonl", tmp):
            pytest.skip(f"running {unprivileged.how()} still reads a chmod-000 file")
        common = ["--archive-dir", str(tmp / "a")]
        done = unprivileged.run(["ingest", "--root", f"src={tmp / 'src'}", *common, "--json"], tmp)
        assert done.returncode == 1, done.stderr
        result = orjson.loads(done.stdout)
        assert [(e["profile"], e["path"]) for e in result["errors"]] == [
            ("src", f"projects/-p/{bad}.jsonl")
        ]
        assert result["versions_added"] == len(good)
        for sid, data in good.items():
            cat = subprocess_bytes(unprivileged.run(["cat", sid, *common], tmp))
            assert cat == data
        assert unprivileged.run(["cat", bad, *common], tmp).returncode == 2  # never archived


def subprocess_bytes(done) -> bytes:
    assert done.returncode == 0, done.stderr
    return done.stdout.encode("utf-8", "surrogateescape")


# -- bugs found here once: transcript text as markup, names that are not UTF-8 ------------------


def _one_session_root(base: Path, cwd: str, prompt: str) -> tuple[Path, str]:
    sid = session_id(3)
    folder = base / "src" / "projects" / "-p"
    folder.mkdir(parents=True)
    (folder / f"{sid}.jsonl").write_bytes(
        orjson.dumps({"type": "user", "sessionId": sid, "cwd": cwd,
                      "timestamp": "2026-01-01T00:00:00Z",
                      "message": {"role": "user", "content": prompt}}) + b"\n"
    )
    return base / "src", sid


def test_transcript_text_is_never_read_as_markup(bare_home, cli):
    root, sid = _one_session_root(bare_home, "/srv/[/x]", "[/bold] why does this fail")
    common = ["--archive-dir", str(bare_home / "a")]
    cli.json("ingest", "--root", f"src={root}", *common)
    for args in (["sessions"], ["stats"], ["show", sid], ["search", "fail"]):
        assert cli(*args, *common, code=None).exit_code == 0, args


def test_a_file_name_that_is_not_utf8_does_not_stop_ingest(bare_home, cli):
    root, sid = _one_session_root(bare_home, "/srv", "hello")
    odd = os.fsencode(root / "projects" / "-p") + b"/\xff\xfe.jsonl"
    with open(odd, "wb") as f:
        f.write(b"{}\n")
    common = ["--archive-dir", str(bare_home / "a")]
    result = cli("ingest", "--root", f"src={root}", *common, code=None)
    assert result.exit_code in (0, 1), result.stderr  # reporting the odd file is fine
    assert cli("cat", sid, *common).stdout_bytes.startswith(b'{"type":"user"')
