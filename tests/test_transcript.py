"""Tests for archive.transcript: real fixtures, hand-checked figures, damaged input."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from archive.transcript import (
    DEFAULT_TOOL_OUTPUT_CAP,
    estimate_tokens,
    iter_lines,
    parse_bytes,
    parse_file,
    parse_lines,
    shorten,
)

FIXTURES = Path(__file__).parent / "fixtures"
ALL_JSONL = sorted(FIXTURES.rglob("*.jsonl"))
SPOTTER = FIXTURES / "marot__spotter/test/fixtures/transcripts"
SHORT = SPOTTER / "short.jsonl"
BIG = SPOTTER / "ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl"
FASTHOOKS_MAIN = FIXTURES / "oneryalcin__fasthooks/specs/data/sample_main_transcript.jsonl"
DAIN = FIXTURES / "handgemacht-ai__claude-code-log/test/test_data/real_projects"
SUMMARY_ONLY = (
    DAIN / "-Users-dain-workspace-claude-code-log-sample/4e27c414-a885-46a0-b5c8-d58e1417377d.jsonl"
)
SNAPSHOT_ONLY = DAIN / "-experiments-ideas/a95fea4a-b88a-4e49-ac07-4cc323d8700c.jsonl"
EMPTY = DAIN / "-Users-dain-workspace-JSSoundRecorder/2c5941bd-b9de-41d6-9414-221d175776f7.jsonl"
CCUSAGE_CHAT = (
    FIXTURES
    / "ryoppippi__ccusage/apps/ccusage/test/fixtures/claude/projects/project-alpha"
    / "session-alpha/chat.jsonl"
)


def _is_subagent(path: Path) -> bool:
    return "subagents" in path.parts or path.name.startswith("agent-")


def _complete_lines(prefix: bytes) -> list[bytes]:
    assert prefix.endswith(b"\n"), "a turn must end just past a newline"
    return prefix[:-1].split(b"\n")


def _valid(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


# --- every fixture ----------------------------------------------------------------------------


def test_fixtures_are_present():
    assert len(ALL_JSONL) >= 20


@pytest.mark.parametrize("path", ALL_JSONL, ids=lambda p: p.name)
def test_fixture_parses_with_invariants(path: Path):
    data = path.read_bytes()
    s = parse_file(path, is_subagent=_is_subagent(path))

    assert s == parse_bytes(data, is_subagent=_is_subagent(path))
    assert s.lines == data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert s.bad_lines == 0  # PROVENANCE: every fixture line is valid JSON
    assert [t.number for t in s.turns] == list(range(1, len(s.turns) + 1))
    if s.started is not None:
        assert s.started.tzinfo is not None and s.started <= s.ended

    original_bad = {line for line in data.split(b"\n") if line and not _valid(line)}
    previous_end = 0
    for turn in s.turns:
        assert previous_end <= turn.start_offset < turn.end_offset <= len(data)
        assert turn.start_offset == 0 or data[turn.start_offset - 1 : turn.start_offset] == b"\n"
        prompt_line = orjson.loads(data[turn.start_offset : data.index(b"\n", turn.start_offset)])
        assert prompt_line["type"] == "user"
        for line in _complete_lines(data[: turn.end_offset]):
            assert _valid(line) or line in original_bad
        assert turn.prompt and turn.prompt == turn.prompt.strip()
        for call in turn.tool_calls:
            assert len(call.output) <= DEFAULT_TOOL_OUTPUT_CAP
            assert call.output_size >= len(call.output)
            assert len(call.input_text) <= DEFAULT_TOOL_OUTPUT_CAP
        previous_end = turn.end_offset
    # Turns tile the file from the first prompt on: each ends where the next one starts.
    for a, b in zip(s.turns, s.turns[1:], strict=False):
        assert a.end_offset == b.start_offset


@pytest.mark.parametrize("path", ALL_JSONL, ids=lambda p: p.name)
def test_turn_prefix_restores_the_first_turns(path: Path):
    """Restoring "the first N turns" is the byte prefix up to turns[N-1].end_offset."""
    data = path.read_bytes()
    full = parse_bytes(data, is_subagent=_is_subagent(path))
    for n, turn in enumerate(full.turns, start=1):
        prefix = parse_bytes(data[: turn.end_offset], is_subagent=_is_subagent(path))
        assert prefix.bad_lines == 0
        assert [t.prompt for t in prefix.turns] == [t.prompt for t in full.turns[:n]]
        assert prefix.turns[-1].answer == turn.answer


# --- hand-checked figures (computed with jq, see the final report) ----------------------------


def test_short_fixture_hand_checked():
    s = parse_file(SHORT)
    assert len(s.turns) == 1
    turn = s.turns[0]
    assert turn.prompt == "mix phx.server doesnt seem to start"
    assert s.title == "mix phx.server doesnt seem to start"
    assert s.tools == ["Bash", "Glob"]
    assert s.session_id == "55604662-cf2a-4331-851a-ec234028f8ca"
    assert s.project == "/home/marco/projects/spotter"
    assert s.git_branch == "master"
    assert s.versions == ["2.1.38"]
    assert s.models == ["claude-opus-4-6"]
    # The prompt is line 5; lines 1-4 (snapshot, 2 hook progress) come before it.
    assert turn.start_offset == 1339
    assert turn.end_offset == SHORT.stat().st_size
    assert turn.answer == (
        "Let me check the project structure and try running the server to see the error."
    )
    assert turn.thinking.startswith("The user is having trouble starting their Phoenix server.")
    bash, glob = turn.tool_calls
    assert (bash.name, bash.key_argument, bash.is_error) == (
        "Bash",
        "mix phx.server 2>&1 | head -80",
        True,
    )
    assert orjson.loads(bash.input_text) == {
        "command": "mix phx.server 2>&1 | head -80",
        "timeout": 30000,
    }
    assert bash.output.startswith("The user doesn't want to proceed with this tool use.")
    assert bash.output_size == 225
    assert (glob.name, glob.key_argument, glob.is_error) == ("Glob", "mix.exs", True)
    # "[Request interrupted by user for tool use]" and /model are not prompts.
    assert turn.timestamp == datetime(2026, 2, 10, 21, 11, 56, 846000, tzinfo=UTC)
    assert turn.end_timestamp == datetime(2026, 2, 10, 21, 16, 12, 381000, tzinfo=UTC)
    assert s.started == datetime(2026, 2, 10, 21, 11, 52, 438000, tzinfo=UTC)
    assert turn.context_tokens == s.context_tokens == 3 + 13835 + 11515
    assert s.context_estimated is False


def test_fasthooks_main_hand_checked():
    s = parse_file(FASTHOOKS_MAIN)
    assert [t.prompt for t in s.turns] == [
        "can you run a command ls -la",
        "ok can you create a hello_world.py file and add a minimal code in it?",
        "can you read it back with Read tool?",
        "can you run `cat nonexistent.txt`",
        "do something requiring multiple tools in one turn,",
    ]
    assert s.title == "can you run a command ls -la"
    assert s.tools == ["Bash", "Write", "Read"]
    assert s.files == [
        "/workspace/hello_world.py",
        "/workspace/number_generator.py",
        "/workspace/data.txt",
    ]
    assert s.project == "/workspace"
    assert s.git_branch is None  # gitBranch is "" on every line
    assert [len(t.tool_calls) for t in s.turns] == [1, 1, 1, 1, 6]
    cat = s.turns[3].tool_calls[0]
    assert (cat.key_argument, cat.is_error) == ("cat nonexistent.txt", True)
    assert cat.output == "Exit code 1\ncat: nonexistent.txt: No such file or directory"
    # /compact at the end of turn 5; its summary, caveat and command lines are not prompts.
    assert [(c.turn, c.trigger, c.pre_tokens) for c in s.compactions] == [(5, "manual", 21558)]
    assert [t.context_tokens for t in s.turns] == [18465, 18847, 18954, 19270, 21331]
    assert s.context_tokens == s.peak_context_tokens == 21331


def test_big_fixture_context_and_compaction():
    # Independent jq pass: 217 distinct (message.id, requestId) main-chain assistant messages;
    # the last one has 102168 context tokens, the largest 141787 (just before /compact).
    s = parse_file(BIG)
    assert s.context_tokens == 102168
    assert s.peak_context_tokens == 141787
    assert s.context_estimated is False
    assert [(c.turn, c.trigger, c.pre_tokens) for c in s.compactions] == [(1, "manual", 142431)]
    assert [t.prompt[:40] for t in s.turns] == [
        "Work on bead spotter-4te. Run bd show sp",
        "continue implementation",
    ]
    assert [t.context_tokens for t in s.turns] == [141787, 102168]
    assert s.lines == 2385
    assert s.unknown_lines == 0


# --- degenerate files ---------------------------------------------------------------------------


def test_summary_only_file():
    s = parse_file(SUMMARY_ONLY)
    assert (s.turns, s.lines, s.bad_lines) == ([], 1, 0)
    assert s.title == "TUI Cache Handling: Empty State Fix"
    assert s.session_id is None
    assert s.context_tokens is None


def test_snapshot_only_file():
    s = parse_file(SNAPSHOT_ONLY)
    assert (s.turns, s.lines, s.bad_lines, s.unknown_lines) == ([], 4, 0, 0)
    assert s.title is None
    assert s.session_id is None


def test_empty_file():
    assert EMPTY.stat().st_size == 0
    s = parse_file(EMPTY, session_id="2c5941bd-b9de-41d6-9414-221d175776f7")
    assert (s.turns, s.lines, s.bad_lines) == ([], 0, 0)
    assert s.session_id == "2c5941bd-b9de-41d6-9414-221d175776f7"
    assert s.title is None and s.started is None
    assert s.context_tokens is None and s.context_estimated is False


def test_ccusage_usage_only_lines():
    # Lines without a type: unknown, but sessionId and timestamps are still harvested.
    s = parse_file(CCUSAGE_CHAT)
    assert (s.turns, s.lines, s.bad_lines, s.unknown_lines) == ([], 3, 0, 3)
    assert s.session_id == "session-alpha"
    assert s.started == datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
    assert s.ended == datetime(2026, 1, 10, 9, 15, tzinfo=UTC)
    assert s.title is None
    assert s.models == []


# --- damaged input ------------------------------------------------------------------------------

SHORT_BYTES = SHORT.read_bytes()
SHORT_LINES = SHORT_BYTES.split(b"\n")[:-1]
ASSISTANT_LINE = orjson.loads(SHORT_LINES[4])
USER_LINE = orjson.loads(SHORT_LINES[3])


def _with(line: object) -> bytes:
    return orjson.dumps(line) if not isinstance(line, bytes) else line


def _user_with(content: object) -> bytes:
    obj = dict(USER_LINE)
    obj["message"] = {"role": "user", "content": content}
    return orjson.dumps(obj)


def _assistant_with_usage(usage: object) -> bytes:
    obj = dict(ASSISTANT_LINE)
    obj["message"] = dict(obj["message"], usage=usage, id="msg_damaged")
    return orjson.dumps(obj)


def _insert(extra: bytes, at: int = 8) -> bytes:
    """The short fixture with one extra line inserted after line ``at`` (inside turn 1)."""
    lines = SHORT_LINES[:at] + [extra] + SHORT_LINES[at:]
    return b"\n".join(lines) + b"\n"


DAMAGE = {
    "truncated-last-line": (SHORT_BYTES + SHORT_LINES[4][: len(SHORT_LINES[4]) // 2], 1, 0),
    "non-json-line": (_insert(b"this is not json {"), 1, 0),
    # (a JSON line with invalid UTF-8 is parsed: tests/test_damaged_lines.py)
    "invalid-utf8-not-json": (_insert(b'{"type":"user","message":{"content":"caf\xe9 \xff'), 1, 0),
    "json-array-line": (_insert(b'[{"type":"user"}]'), 1, 0),
    "json-scalar-line": (_insert(b"42"), 1, 0),
    "json-null-line": (_insert(b"null"), 1, 0),
    "unknown-future-type": (
        _insert(b'{"type":"hologram","sessionId":"x","timestamp":"2030-01-01T00:00:00Z"}'),
        0,
        1,
    ),
    "no-type-field": (_insert(b'{"foo":{"bar":[1,2,3]}}'), 0, 1),
    "type-is-a-list": (_insert(b'{"type":["user"],"message":{"content":"x"}}'), 0, 1),
    "user-content-is-number": (_insert(_user_with(12345)), 0, 0),
    "user-content-blocks-garbage": (_insert(_user_with([1, None, {"type": 3}, {"text": 5}])), 0, 0),
    "message-is-string": (_insert(_with(dict(USER_LINE, message="hello"))), 0, 0),
    "assistant-usage-strings": (
        _insert(
            _assistant_with_usage(
                {"input_tokens": "7", "cache_read_input_tokens": "x", "output_tokens": "1"}
            )
        ),
        0,
        0,
    ),
    "assistant-usage-is-list": (_insert(_assistant_with_usage([1, 2])), 0, 0),
    "assistant-content-garbage": (
        _insert(_with(dict(ASSISTANT_LINE, message={"content": {"type": "text"}, "model": 4}))),
        0,
        0,
    ),
    "tool-use-garbage": (
        _insert(
            _with(
                dict(
                    ASSISTANT_LINE,
                    message={"content": [{"type": "tool_use", "id": [1], "name": {}, "input": 3}]},
                )
            )
        ),
        0,
        0,
    ),
    "tool-result-id-unhashable": (
        _insert(_user_with([{"type": "tool_result", "tool_use_id": {"a": 1}, "content": 5}])),
        0,
        0,
    ),
    "garbage-timestamp-and-ids": (
        _insert(b'{"type":"system","timestamp":"yesterday","sessionId":7,"cwd":[],"version":1}'),
        0,
        0,
    ),
    "timestamp-overflows-utc": (
        _insert(b'{"type":"system","timestamp":"0001-01-01T00:00:00+01:00"}'),
        0,
        0,
    ),
    "deeply-nested": (_insert(b"[" * 10_000 + b"]" * 10_000), 1, 0),
    "deeply-nested-object": (_insert(b'{"a":' * 5_000 + b"1" + b"}" * 5_000), 1, 0),
    "blank-lines": (_insert(b"\n\n   \r"), 0, 0),
}


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_damage_is_counted_not_raised(case: str):
    data, bad, unknown = DAMAGE[case]
    s = parse_bytes(data)
    assert (s.bad_lines, s.unknown_lines) == (bad, unknown)
    # The real content around the damage is still there.
    assert [t.prompt for t in s.turns] == ["mix phx.server doesnt seem to start"]
    assert s.tools[:2] == ["Bash", "Glob"]
    assert s.session_id == "55604662-cf2a-4331-851a-ec234028f8ca"
    assert s.context_tokens == 25353 and s.context_estimated is False
    turn = s.turns[0]
    assert turn.end_offset <= len(data)
    for line in _complete_lines(data[: turn.end_offset]):
        assert _valid(line) or not line.strip() or bad
    if case == "truncated-last-line":
        # The cut line is not part of the turn: a restored prefix ends at the last good line.
        assert turn.end_offset == len(SHORT_BYTES)
    if case == "unknown-future-type":
        assert s.ended == datetime(2030, 1, 1, tzinfo=UTC)


def test_complete_last_line_without_newline_is_kept_out_of_the_turn():
    data = SHORT_BYTES[:-1]
    s = parse_bytes(data)
    assert s.bad_lines == 0
    last_line_start = data.rindex(b"\n") + 1
    assert s.turns[0].end_offset == last_line_start
    # Without the size, parse_lines cannot know and assumes the line was complete.
    assert parse_lines(iter_lines(io.BytesIO(data))).turns[0].end_offset == len(SHORT_BYTES)


def test_oversized_line_is_skipped_and_next_line_parses():
    big = b'{"type":"user","message":{"content":"' + b"x" * 5000 + b'"}}'
    data = SHORT_LINES[0] + b"\n" + big + b"\n" + b"\n".join(SHORT_LINES[1:]) + b"\n"
    lines = list(iter_lines(io.BytesIO(data), max_line_bytes=2000))
    assert lines[1] == (len(SHORT_LINES[0]) + 1, None)
    assert lines[2] == (len(SHORT_LINES[0]) + 1 + len(big) + 1, SHORT_LINES[1])
    s = parse_bytes(data, max_line_bytes=2000)
    assert s.bad_lines == 1
    assert [t.prompt for t in s.turns] == ["mix phx.server doesnt seem to start"]


class _Trickle(io.RawIOBase):
    """A stream returning at most ``step`` bytes per read, to cross block boundaries often."""

    def __init__(self, data: bytes, step: int):
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._pos : self._pos + min(self._step, max(size, 0) or self._step)]
        self._pos += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_iter_lines_offsets_across_reads(step: int):
    data = b"a\n\nbcd\n" + b"y" * 50 + b"\n" + b"z" * 30 + b"\nlast"
    got = list(iter_lines(_Trickle(data, step), max_line_bytes=40))
    assert got == [
        (0, b"a"),
        (2, b""),
        (3, b"bcd"),
        (7, None),
        (58, b"z" * 30),
        (89, b"last"),
    ]


def test_iter_lines_oversized_last_line_and_exact_limit():
    assert list(iter_lines(io.BytesIO(b"1234\n12345"), max_line_bytes=4)) == [
        (0, b"1234"),
        (5, None),
    ]
    assert list(iter_lines(io.BytesIO(b""))) == []
    assert list(iter_lines(io.BytesIO(b"\n"))) == [(0, b"")]


def test_iter_lines_matches_split_on_big_fixture():
    data = BIG.read_bytes()
    expected, offset = [], 0
    for line in data.split(b"\n")[:-1]:
        expected.append((offset, line))
        offset += len(line) + 1
    with BIG.open("rb") as f:
        assert list(iter_lines(f)) == expected


# --- synthetic transcripts ------------------------------------------------------------------------

SID = "11111111-2222-3333-4444-555555555555"


def _line(kind: str, **fields) -> bytes:
    obj = {"type": kind, "sessionId": SID, "isSidechain": False, "cwd": "/p", "version": "2.1.0"}
    obj.update(fields)
    return orjson.dumps(obj)


def _prompt(text: object, **fields) -> bytes:
    return _line("user", message={"role": "user", "content": text}, **fields)


def _reply(
    blocks: list,
    *,
    mid: str = "msg_1",
    rid: str = "req_1",
    ctx: int | None = 100,
    model: str = "claude-test",
    **fields,
) -> bytes:
    message = {"id": mid, "role": "assistant", "model": model, "content": blocks}
    if ctx is not None:
        message["usage"] = {
            "input_tokens": 1,
            "cache_creation_input_tokens": ctx - 11,
            "cache_read_input_tokens": 10,
            "output_tokens": 5,
        }
    return _line("assistant", message=message, requestId=rid, **fields)


def _text(text: str) -> list:
    return [{"type": "text", "text": text}]


def _jsonl(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def test_streamed_usage_counted_once_and_sidechain_ignored():
    data = _jsonl(
        _prompt("first"),
        _reply(_text("a"), mid="A", rid="r1", ctx=100),
        _reply([{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}], mid="A", rid="r1"),
        _prompt([{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]),
        _reply(_text("b"), mid="B", rid="r2", ctx=300),
        _reply(_text("side"), mid="S", rid="r9", ctx=999_999, isSidechain=True),
        _reply(_text("api error"), mid="E", rid="r8", ctx=0, model="<synthetic>"),
        # A replayed copy of message A (same id and request): not a new, later context.
        _reply(_text("a"), mid="A", rid="r1", ctx=100),
        _prompt("second"),
        _reply(_text("c"), mid="C", rid="r3", ctx=200),
    )
    s = parse_bytes(data)
    assert [t.prompt for t in s.turns] == ["first", "second"]
    assert [t.context_tokens for t in s.turns] == [300, 200]
    assert s.context_tokens == 200
    assert s.peak_context_tokens == 300
    # Sidechain text is not part of the turn; the synthetic error text is (the user saw it).
    assert s.turns[0].answer == "a\n\nb\n\napi error\n\na"
    assert s.models == ["claude-test"]


def test_subagent_file_lines_are_its_main_chain():
    data = _jsonl(
        _prompt("explore the repo", isSidechain=True, agentId="a123"),
        _reply(_text("found it"), ctx=500, isSidechain=True, agentId="a123"),
    )
    assert parse_bytes(data).turns == []
    s = parse_bytes(data, is_subagent=True)
    assert s.is_subagent and s.agent_id == "a123"
    assert [t.answer for t in s.turns] == ["found it"]
    assert s.context_tokens == 500


def test_japanese_prompt_kept_intact():
    prompt = "外部キー制約のエラーを直して"
    first = _prompt(prompt, timestamp="2026-03-01T09:00:00.000Z")
    data = _jsonl(first, _reply(_text("直しました。")), _prompt("ありがとう"))
    s = parse_bytes(data)
    assert s.turns[0].prompt == prompt
    assert s.title == prompt
    assert s.turns[0].answer == "直しました。"
    # Offsets are in bytes, not characters.
    assert s.turns[1].start_offset == data.index(b"\n", len(first) + 1) + 1
    assert s.turns[0].timestamp == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_title_precedence():
    prompt = _prompt("fix   the\nflaky test " + "x" * 100)
    summary1 = orjson.dumps({"type": "summary", "summary": "Old title", "leafUuid": "u"})
    summary2 = orjson.dumps({"type": "summary", "summary": "Newer summary", "leafUuid": "v"})
    ai = _line("ai-title", aiTitle="AI title")
    custom1 = _line("custom-title", customTitle="Renamed once")
    custom2 = _line("custom-title", customTitle="Renamed twice")

    s = parse_bytes(_jsonl(summary1, custom1, prompt, ai, custom2, summary2))
    assert s.title == "Renamed twice" and s.custom_title == "Renamed twice"
    s = parse_bytes(_jsonl(summary1, prompt, ai, summary2))
    assert s.title == "AI title" and s.custom_title is None
    s = parse_bytes(_jsonl(summary1, prompt, summary2))
    assert s.title == "Newer summary"
    s = parse_bytes(_jsonl(prompt))  # whole (whitespace collapsed): only a terminal column cuts
    assert s.title == "fix the flaky test " + "x" * 100


NOT_PROMPTS = {
    "command-name": "<command-name>/model</command-name>\n<command-message>model</command-message>",
    "command-message": "<command-message>init is analyzing…</command-message>",
    "local-command-stdout": "<local-command-stdout>Set model</local-command-stdout>",
    "local-command-stderr": "<local-command-stderr>boom</local-command-stderr>",
    "local-command-caveat": "<local-command-caveat>Caveat: …</local-command-caveat>",
    "task-notification": "<task-notification><task-id>b1</task-id></task-notification>",
    "bash-input": "<bash-input>ls</bash-input>",
    "bash-stdout": "<bash-stdout>a.txt</bash-stdout><bash-stderr></bash-stderr>",
    "interrupted": [{"type": "text", "text": "[Request interrupted by user for tool use]"}],
    "empty": "   ",
    "tool-result": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}],
}


@pytest.mark.parametrize("content", list(NOT_PROMPTS.values()), ids=list(NOT_PROMPTS))
def test_not_a_prompt(content):
    s = parse_bytes(_jsonl(_prompt("real"), _prompt(content), _reply(_text("answer"))))
    assert [t.prompt for t in s.turns] == ["real"]
    assert s.turns[0].answer == "answer"


def test_meta_and_compact_summary_are_not_prompts_and_compaction_turn():
    boundary = _line(
        "system",
        subtype="compact_boundary",
        compactMetadata={"trigger": "auto", "preTokens": 150000},
    )
    data = _jsonl(
        boundary,
        _prompt("Caveat: generated by local commands", isMeta=True),
        _prompt("real one"),
        _prompt("This session is being continued…", isCompactSummary=True),
        _line("system", subtype="compact_boundary", compactMetadata={"trigger": 5}),
    )
    s = parse_bytes(data)
    assert [t.prompt for t in s.turns] == ["real one"]
    assert [(c.turn, c.trigger, c.pre_tokens) for c in s.compactions] == [
        (0, "auto", 150000),
        (1, "", None),
    ]


def test_prompt_with_images_and_ide_context():
    content = [
        {"type": "text", "text": "<ide_opened_file>The user opened x.py</ide_opened_file>"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
        {"type": "text", "text": "make the margin smaller"},
    ]
    only_image = [{"type": "image", "source": {}}]
    s = parse_bytes(_jsonl(_prompt(content), _prompt(only_image)))
    assert [t.prompt for t in s.turns] == ["[image]\n\nmake the margin smaller", "[image]"]


def test_tool_calls_matched_capped_and_files():
    long_output = "line\n" * 100
    data = _jsonl(
        _prompt("go"),
        _reply(
            [
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "Read",
                    "input": {"file_path": "/src/a.py", "limit": 10},
                },
            ],
            mid="A",
        ),
        _reply(
            [
                {
                    "type": "tool_use",
                    "id": "t2",
                    "name": "Grep",
                    "input": {"pattern": "TODO", "path": "/src"},
                }
            ],
            mid="A",
        ),
        _reply(
            [
                {
                    "type": "tool_use",
                    "id": "t3",
                    "name": "Edit",
                    "input": {"file_path": "/src/a.py", "old_string": "x" * 500},
                }
            ],
            mid="A",
        ),
        _prompt(
            [
                {"type": "tool_result", "tool_use_id": "t2", "content": "no matches"},
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": long_output}, {"type": "image"}],
                },
            ]
        ),
        _prompt(
            [{"type": "tool_result", "tool_use_id": "t3", "content": "denied", "is_error": True}]
        ),
    )
    s = parse_bytes(data, tool_output_cap=50)
    read, grep, edit = s.turns[0].tool_calls
    assert (read.name, read.key_argument) == ("Read", "/src/a.py")
    assert read.input_text == '{"file_path":"/src/a.py","limit":10}'
    assert read.output == (long_output + "\n[image]")[:50]
    assert read.output_size == len(long_output) + len("\n[image]")
    assert (grep.key_argument, grep.output, grep.is_error) == ("TODO", "no matches", False)
    assert (edit.output, edit.is_error) == ("denied", True)
    assert len(edit.input_text) == 50
    assert s.tools == ["Read", "Grep", "Edit"]
    assert s.files == ["/src/a.py"]  # Grep's path is a directory searched, not a file touched


def test_key_argument_shortened_to_200():
    command = "echo " + "word " * 100
    data = _jsonl(
        _prompt("go"),
        _reply([{"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": command}}]),
    )
    call = parse_bytes(data).turns[0].tool_calls[0]
    assert len(call.key_argument) == 200 and call.key_argument.endswith("…")


def test_context_estimated_without_usage():
    data = _jsonl(
        _prompt("12345678"),  # 8 chars
        _reply(_text("abcd"), ctx=None),  # 4
        _prompt("xyz"),  # 3
        _reply([{"type": "thinking", "thinking": "t"}], ctx=None),  # 1
    )
    s = parse_bytes(data)
    assert s.context_estimated is True
    assert [t.context_tokens for t in s.turns] == [3, 4]  # ceil(12/4), ceil(16/4)
    assert s.context_tokens == s.peak_context_tokens == 4
    assert s.turns[1].thinking == "t"


def test_metadata_harvest():
    data = _jsonl(
        _line("progress", gitBranch="", timestamp="2026-01-01T10:00:05Z"),
        _prompt("a", gitBranch="main", timestamp="2026-01-01T10:00:00Z", version="2.1.1"),
        _reply(_text("b"), timestamp="2026-01-01T10:00:09Z", version="2.1.2", model="m2"),
        _line("queue-operation", timestamp="garbage"),
        _reply(_text("c"), mid="Z", model="<synthetic>", version="2.1.1"),
    )
    s = parse_bytes(data, session_id="given")
    assert s.session_id == "given"
    assert s.git_branch == "main"
    assert s.versions == ["2.1.0", "2.1.1", "2.1.2"]
    assert s.models == ["m2"]
    assert s.turns[0].models == ["m2"]
    assert s.started == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert s.ended == datetime(2026, 1, 1, 10, 0, 9, tzinfo=UTC)
    assert s.turns[0].end_timestamp == s.ended
    assert s.project == "/p"


def test_lines_before_first_prompt_are_not_a_turn():
    data = _jsonl(_reply(_text("warm-up"), ctx=50), _prompt("now"), _reply(_text("ok"), mid="B"))
    s = parse_bytes(data)
    assert [(t.prompt, t.answer) for t in s.turns] == [("now", "ok")]
    assert s.turns[0].start_offset == data.index(b"\n") + 1


def test_estimate_tokens_and_shorten():
    assert [estimate_tokens(n) for n in (0, 1, 4, 5, -3)] == [0, 1, 1, 2, 0]
    assert shorten("  a \n\t b  ") == "a b"
    assert shorten("abcdef", width=4) == "abc…"
    assert shorten("x" * 80) == "x" * 80
