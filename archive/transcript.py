"""Parse Claude Code JSONL transcripts into Session / Turn / ToolCall.

Pure and tolerant: the parser never raises on content. Claude Code's format is undocumented and
changes often, so anything unknown (line types, fields, block types) is skipped and counted, and
bad lines (not JSON, a cut last line, oversized lines) are counted in ``Session.bad_lines``
rather than failing the parse. A line that is JSON but for its bytes (a UTF-8 BOM, CRLF ends,
invalid UTF-8, a lone surrogate escape) is parsed, with U+FFFD for what cannot be decoded: one bad
byte never costs a turn, and the archive keeps the bytes as they were. It reads a stream of
lines, never a whole file, so a 1 GB transcript or a 100 MB single line does not need to fit in
memory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

import orjson

# Tool output kept per call (characters of text). Indexing stays fast because most of a
# transcript's bytes are tool output; the full bytes remain in the archive.
DEFAULT_TOOL_OUTPUT_CAP = 8192


@dataclass
class ToolCall:
    """One tool_use block and (when found) its tool_result."""

    id: str
    name: str
    input_text: str  # the tool input rendered as compact text (JSON of ``input``), capped
    key_argument: str = ""  # the argument a person recognises: file_path, command, pattern, url…
    output: str = ""  # tool_result text, capped at the parser's tool_output_cap
    output_size: int = 0  # size of the full result text in characters, before the cap
    is_error: bool = False


@dataclass
class Turn:
    """A real user prompt and everything until the next one, on the main chain."""

    number: int  # 1-based, in file order
    prompt: str
    timestamp: datetime | None = None  # of the prompt line (UTC, tz-aware)
    end_timestamp: datetime | None = None  # of the last line of the turn
    answer: str = ""  # assistant text blocks joined by blank lines
    last_answer: str = ""  # the turn's last assistant text block: where it ended up
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    # What the assistant did, in order: a text block (str) or a tool call (its index in
    # tool_calls). ``answer`` and ``tool_calls`` alone lose how they interleave.
    steps: list[str | int] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    start_offset: int = 0  # byte offset of the prompt line in the file
    end_offset: int = 0  # byte offset just past the last line belonging to this turn
    context_tokens: int | None = None  # input+cache tokens at the turn's last assistant message


@dataclass
class Compaction:
    turn: int  # the turn during or after which the compaction happened (0 = before turn 1)
    trigger: str  # "manual" | "auto" | ""
    pre_tokens: int | None


@dataclass
class Session:
    """Metadata and turns of one transcript file (main session or sub-agent)."""

    session_id: str | None = None
    agent_id: str | None = None  # set for sub-agent transcripts
    is_subagent: bool = False
    project: str | None = None  # cwd of the first line that has one
    git_branch: str | None = None
    versions: list[str] = field(default_factory=list)  # Claude Code versions, in order seen
    models: list[str] = field(default_factory=list)
    started: datetime | None = None
    ended: datetime | None = None
    # custom-title > agent-name > ai-title > summary > first prompt (shortened): what a person
    # chose first (/rename writes custom-title and agent-name; --agent-name only the latter),
    # then what Claude Code generated.
    title: str | None = None
    custom_title: str | None = None  # set by /rename (custom-title line)
    agent_name: str | None = None  # agent-name line (/rename, or a named agent session)
    tools: list[str] = field(default_factory=list)  # distinct tool names, first-use order
    files: list[str] = field(default_factory=list)  # distinct file paths touched by tools
    turns: list[Turn] = field(default_factory=list)
    compactions: list[Compaction] = field(default_factory=list)
    context_tokens: int | None = None  # at the last assistant message of the main chain
    peak_context_tokens: int | None = None
    context_estimated: bool = False  # True when no usage was found and the figure is estimated
    lines: int = 0  # lines read (including bad and skipped ones)
    bad_lines: int = 0  # not JSON, invalid UTF-8, cut, oversized, not an object
    unknown_lines: int = 0  # valid JSON objects of a type this parser does not know


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------

DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024
_BLOCK_SIZE = 1024 * 1024

KNOWN_TYPES = frozenset(
    {
        "user",
        "assistant",
        "system",
        "summary",
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "attachment",
        "permission-mode",
        "last-prompt",
        "ai-title",
        "custom-title",
        "agent-name",
        "mode",
        "tag",
        "pr-link",
        "agent-setting",
        "agent-color",
        "worktree-state",
        # Written by Claude Code 2.1.3xx: the request log (api-request, -shape, -blob: what was
        # sent, referenced by assistant lines' requestRef), the prompt queue, running cost and
        # tool bookkeeping. Metadata, never turns.
        "atis-latch",
        "api-request-shape",
        "api-request-blob",
        "api-request",
        "cost-state",
        "tools-used",
    }
)

# User lines whose text starts with one of these are not prompts a person typed:
# - slash commands and their local output (<command-name>, <command-message>, <command-args>,
#   <local-command-*>): most run in the CLI only (/model, /clear, /compact). The few that prompt
#   the model (/init, custom commands) are followed by an isMeta line holding the expanded prompt,
#   excluded too, so their work folds into the turn in progress (or is outside any turn);
# - <bash-input>/<bash-stdout>/<bash-stderr> come from "! cmd" bash mode: also run locally without
#   a model answer, so they are handled like local slash commands (the output only becomes context
#   for the next real prompt);
# - <task-notification> is injected by Claude Code when a background task or agent finishes; the
#   model reacts to it, but nobody typed it, so its answer stays in the turn in progress;
# - "[Request interrupted by user…]" is the marker Claude Code writes after Esc; splitting a turn
#   there would create a turn without a prompt.
_NOT_PROMPT_PREFIXES = (
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<task-notification>",
    "<bash-input>",
    "<bash-stdout>",
    "<bash-stderr>",
    "[Request interrupted by user",
)

# Text blocks the IDE extensions add in front of the typed prompt (opened file, selection): context,
# not what the person wrote, and they would make every title start with "<ide_opened_file>".
_IDE_PREFIX = "<ide_"

_KEY_ARGUMENTS = (
    "file_path",
    "path",
    "notebook_path",
    "command",
    "pattern",
    "url",
    "query",
    "description",
    "prompt",
)
# Tools whose ``path`` is a directory to search in, not a file they touch.
_DIRECTORY_PATH_TOOLS = frozenset({"Glob", "Grep", "LS"})

_SYNTHETIC_MODEL = "<synthetic>"


def estimate_tokens(text_chars: int) -> int:
    """Rough token count for text when the transcript has no usage figures: ceil(chars / 4)."""
    if not isinstance(text_chars, int) or text_chars <= 0:
        return 0
    return (text_chars + 3) // 4


# A title made from the first prompt is one line, cut only to bound what the catalog holds: a
# terminal column cuts it further where it must (render.py), --json and exports never do.
TITLE_LIMIT = 500


def shorten(text: str, width: int = 80) -> str:
    """One line of at most ``width`` characters, whitespace collapsed, "…" where it was cut."""
    line = " ".join(text.split()) if isinstance(text, str) else ""
    if len(line) <= width:
        return line
    if width <= 1:
        return "…"[: max(width, 0)]
    from .redact import safe_cut  # never leave half a secret, which no rule would then mask

    return line[: safe_cut(line, width - 1)].rstrip() + "…"


def iter_lines(
    stream: BinaryIO, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(offset, line)`` for each line of ``stream``, newline removed.

    Reads fixed-size blocks so memory stays bounded: a line longer than ``max_line_bytes`` is
    skipped up to its newline and yielded as ``(offset, None)`` without being assembled. A final
    line without a newline is yielded as is (it may have been cut mid-write).
    """
    parts: list[bytes] = []  # pieces of the current line carried over from earlier blocks
    parts_len = 0
    skipping = False  # inside an oversized line
    line_start = 0  # absolute offset of the current line
    base = 0  # absolute offset of block[0]
    read = stream.read
    while True:
        block = read(_BLOCK_SIZE)
        if not block:
            break
        if not isinstance(block, bytes):
            block = bytes(block)
        n = len(block)
        pos = 0
        while pos < n:
            nl = block.find(b"\n", pos)
            if nl < 0:
                if not skipping:
                    if parts_len + (n - pos) > max_line_bytes:
                        skipping = True
                        parts.clear()
                        parts_len = 0
                    else:
                        parts.append(block[pos:] if pos else block)
                        parts_len += n - pos
                break
            if skipping:
                skipping = False
                yield line_start, None
            elif parts_len + (nl - pos) > max_line_bytes:
                parts.clear()
                parts_len = 0
                yield line_start, None
            elif parts:
                parts.append(block[pos:nl])
                line = b"".join(parts)
                parts.clear()
                parts_len = 0
                yield line_start, line
            else:
                yield line_start, block[pos:nl]
            pos = nl + 1
            line_start = base + pos
        base += n
    if skipping:
        yield line_start, None
    elif parts:
        yield line_start, b"".join(parts)


def parse_lines(
    lines: Iterable[tuple[int, bytes | None]],
    *,
    session_id: str | None = None,
    is_subagent: bool = False,
    tool_output_cap: int = DEFAULT_TOOL_OUTPUT_CAP,
    file_size: int | None = None,
) -> Session:
    """Build a Session from ``(offset, line)`` pairs as produced by :func:`iter_lines`.

    ``file_size`` (optional) tells whether the last line ended with a newline; a line without one
    is not counted in ``Turn.end_offset``, so a restored prefix never ends in a half-written line.
    """
    parser = _Parser(session_id, is_subagent, tool_output_cap)
    feed = parser.feed
    for offset, raw in lines:
        feed(offset, raw)
    return parser.finish(file_size)


def parse_bytes(
    data: bytes,
    *,
    session_id: str | None = None,
    is_subagent: bool = False,
    tool_output_cap: int = DEFAULT_TOOL_OUTPUT_CAP,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Session:
    """Parse a whole transcript held in memory (tests, small files)."""
    parser = _Parser(session_id, is_subagent, tool_output_cap)
    for offset, raw in iter_lines(io.BytesIO(data), max_line_bytes):
        parser.feed(offset, raw)
    return parser.finish(len(data))


def parse_file(
    path: str | os.PathLike[str],
    *,
    session_id: str | None = None,
    is_subagent: bool = False,
    tool_output_cap: int = DEFAULT_TOOL_OUTPUT_CAP,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Session:
    """Parse a transcript file, streaming it (the file may be large or still growing)."""
    parser = _Parser(session_id, is_subagent, tool_output_cap)
    with open(path, "rb") as f:
        for offset, raw in iter_lines(f, max_line_bytes):
            parser.feed(offset, raw)
        # Bytes actually read, not the size at open time: Claude Code may still be appending.
        size = f.tell()
    return parser.finish(size)


# ---------------------------------------------------------------------------------------------
# Helpers (all tolerant of wrong types)
# ---------------------------------------------------------------------------------------------


def _parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):  # garbage, or a year-1 time with an offset
        return None


# No real counter comes near this; a bigger one (1e30, 2**64-1) is garbage, and kept it would
# overflow SQLite's 64-bit INTEGER when session_meta stores the sum of three of them.
_MAX_COUNT = 2**53


def _int(value: object) -> int:
    """A usage counter as an int; anything that is not a plausible count counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if not 0 < value <= _MAX_COUNT:  # also nan and inf
        return 0
    return int(value)


def _context_of(usage: object) -> int | None:
    """Tokens in the context window for one API call, or None when usage has no figure."""
    if not isinstance(usage, dict):
        return None
    found = False
    total = 0
    for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        v = usage.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            found = True
            total += _int(v)
    return total if found else None


def _prompt_text(content: object) -> str | None:
    """The prompt a person typed in this user message, or None when it is not a prompt."""
    if isinstance(content, str):
        text = content.strip()
        if not text or text.startswith(_NOT_PROMPT_PREFIXES):
            return None
        return text
    if not isinstance(content, list):
        return None
    parts: list[str] = []
    typed = False  # saw text that is not IDE context, or an image
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            return None
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                continue
            text = text.strip()
            if not text or text.startswith(_IDE_PREFIX):
                continue
            if not typed and text.startswith(_NOT_PROMPT_PREFIXES):
                return None
            parts.append(text)
            typed = True
        elif kind == "image":
            # An image-only message is still a prompt (a pasted screenshot), noted as [image].
            parts.append("[image]")
            typed = True
    if not typed:
        return None
    return "\n\n".join(parts)


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if isinstance(block, dict):
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif kind == "image":
                parts.append("[image]")
        elif isinstance(block, str):
            parts.append(block)
    return "\n".join(parts)


def _render_input(value: object) -> str:
    try:
        return orjson.dumps(value).decode("utf-8")
    except (TypeError, ValueError):
        return ""


def _key_argument(name: str, tool_input: object) -> str:
    if not isinstance(tool_input, dict):
        return ""
    for key in _KEY_ARGUMENTS:
        # Glob/Grep's path is only the directory searched: the pattern is what people recognise.
        if key == "path" and name in _DIRECTORY_PATH_TOOLS and tool_input.get("pattern"):
            continue
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return shorten(value, 200)
    return ""


def _add_distinct(items: list[str], seen: set[str], value: object) -> None:
    if isinstance(value, str) and value and value not in seen:
        seen.add(value)
        items.append(value)


_BOM = b"\xef\xbb\xbf"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _scrub(value: object) -> object:
    """``value`` with every lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def _loads_damaged(raw: bytes) -> object | None:
    """A line orjson refused, parsed if it is JSON but for its bytes: a UTF-8 byte order mark
    (an editor's save), invalid UTF-8, or a lone surrogate escape (``\\ud800``). Undecodable
    bytes and lone surrogates become U+FFFD in the parsed text only: the archive keeps the
    bytes as they were. None when the line is not JSON at all."""
    if raw.isascii() and b"\\u" not in raw:
        return None  # a plain ASCII line orjson refused is not JSON: no second try
    text = raw.removeprefix(_BOM).decode("utf-8", "replace")
    try:
        return orjson.loads(text)
    except (orjson.JSONDecodeError, ValueError, RecursionError):
        pass
    if b"\\ud" not in raw.lower():
        return None
    import json  # the stdlib keeps a lone surrogate escape that orjson refuses; rare lines only

    try:
        return _scrub(json.loads(text, parse_constant=_reject_constant))
    except (ValueError, RecursionError):
        return None


class _Parser:
    """Line-by-line state machine behind :func:`parse_lines` and :func:`parse_file`."""

    def __init__(
        self,
        session_id: str | None = None,
        is_subagent: bool = False,
        tool_output_cap: int = DEFAULT_TOOL_OUTPUT_CAP,
    ):
        self.s = Session(session_id=session_id, is_subagent=bool(is_subagent))
        self.cap = max(int(tool_output_cap), 0)
        self.turn: Turn | None = None
        self._versions: set[str] = set()
        self._models: set[str] = set()
        self._tools: set[str] = set()
        self._files: set[str] = set()
        self._turn_models: set[str] = set()
        self._answer: list[str] = []
        self._thinking: list[str] = []
        self._calls: dict[str, ToolCall] = {}  # tool_use id -> call, to attach results
        self._seen_messages: set[tuple[object, object]] = set()
        self._ai_title: str | None = None
        self._summary: str | None = None
        self._usage_seen = False
        self._turn_chars = 0  # text chars of the current turn, for the no-usage estimate
        self._turn_chars_list: list[int] = []
        self._last_good_end = 0  # end (past newline) of the last line that parsed
        self._prev_good_end = 0  # the same for the good line before it
        self._last_good_offset = -1

    # -- per line ---------------------------------------------------------------------------

    def feed(self, offset: int, raw: bytes | None) -> None:
        s = self.s
        s.lines += 1
        if raw is None:
            s.bad_lines += 1
            return
        if not raw or raw.isspace():
            return
        try:
            obj = orjson.loads(raw)
        except (orjson.JSONDecodeError, ValueError, RecursionError):
            obj = _loads_damaged(raw)
            if obj is None:
                s.bad_lines += 1
                return
        if type(obj) is not dict:
            s.bad_lines += 1
            return
        self._prev_good_end = self._last_good_end
        self._last_good_end = offset + len(raw) + 1
        self._last_good_offset = offset

        kind = obj.get("type")
        if not isinstance(kind, str) or kind not in KNOWN_TYPES:
            s.unknown_lines += 1
            ts = self._harvest(obj, full=False)
            if ts is not None and self.turn is not None:
                self.turn.end_timestamp = ts
            return
        ts = self._harvest(obj, full=True)
        main = s.is_subagent or obj.get("isSidechain") is not True

        if kind == "user":
            if main:
                self._user(obj, offset, ts)
        elif kind == "assistant":
            self._assistant(obj, main)
        elif kind == "system":
            if main and obj.get("subtype") == "compact_boundary":
                meta = obj.get("compactMetadata")
                if not isinstance(meta, dict):
                    meta = {}
                trigger = meta.get("trigger")
                pre = meta.get("preTokens")
                s.compactions.append(
                    Compaction(
                        turn=self.turn.number if self.turn else 0,
                        trigger=trigger if isinstance(trigger, str) else "",
                        pre_tokens=pre
                        if isinstance(pre, int) and not isinstance(pre, bool)
                        else None,
                    )
                )
        elif kind == "summary":
            value = obj.get("summary")
            if isinstance(value, str) and value.strip():
                self._summary = value.strip()
        elif kind == "custom-title":
            value = obj.get("customTitle")
            if isinstance(value, str) and value.strip():
                s.custom_title = value.strip()
        elif kind == "agent-name":
            value = obj.get("agentName")
            if isinstance(value, str) and value.strip():
                s.agent_name = value.strip()
        elif kind == "ai-title":
            value = obj.get("aiTitle")
            if isinstance(value, str) and value.strip():
                self._ai_title = value.strip()
        # progress, file-history-snapshot and the metadata types: top-level fields only.

        if ts is not None and self.turn is not None:
            self.turn.end_timestamp = ts

    def _harvest(self, obj: dict, full: bool) -> datetime | None:
        """Session-level fields present on most lines; returns the line's timestamp."""
        s = self.s
        if s.session_id is None:
            sid = obj.get("sessionId")
            if isinstance(sid, str) and sid:
                s.session_id = sid
        if s.project is None:
            cwd = obj.get("cwd")
            if isinstance(cwd, str) and cwd:
                s.project = cwd
        ts = _parse_timestamp(obj.get("timestamp"))
        if ts is not None:
            if s.started is None or ts < s.started:
                s.started = ts
            if s.ended is None or ts > s.ended:
                s.ended = ts
        if full:
            if s.agent_id is None:
                agent = obj.get("agentId")
                if isinstance(agent, str) and agent:
                    s.agent_id = agent
            if s.git_branch is None:
                branch = obj.get("gitBranch")
                if isinstance(branch, str) and branch:
                    s.git_branch = branch
            _add_distinct(s.versions, self._versions, obj.get("version"))
        return ts

    def _user(self, obj: dict, offset: int, ts: datetime | None) -> None:
        msg = obj.get("message")
        if not isinstance(msg, dict):
            return
        content = msg.get("content")
        if (
            obj.get("isMeta") is not True
            and obj.get("isCompactSummary") is not True
            and (prompt := _prompt_text(content)) is not None
        ):
            self._start_turn(prompt, offset, ts)
            return
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            use_id = block.get("tool_use_id")
            call = self._calls.get(use_id) if isinstance(use_id, str) else None
            if call is None:
                continue
            text = _result_text(block.get("content"))
            call.output = text[: self.cap]
            call.output_size = len(text)
            call.is_error = block.get("is_error") is True
            if self.turn is not None:
                self._turn_chars += len(text)

    def _assistant(self, obj: dict, main: bool) -> None:
        msg = obj.get("message")
        if not isinstance(msg, dict):
            return
        model = msg.get("model")
        real_model = isinstance(model, str) and model and model != _SYNTHETIC_MODEL
        if real_model:
            _add_distinct(self.s.models, self._models, model)
        turn = self.turn if main else None
        if turn is not None and real_model and model not in self._turn_models:
            self._turn_models.add(model)
            turn.models.append(model)

        # "<synthetic>" messages (API errors, interruptions) carry all-zero usage: not a context.
        if main and model != _SYNTHETIC_MODEL:
            context = _context_of(msg.get("usage"))
            if context is not None:
                # Streaming writes one line per content block, each repeating the usage.
                # 2.1.3xx lines carry requestRef (the api-request line) instead of requestId.
                mid, rid = msg.get("id"), obj.get("requestId") or obj.get("requestRef")
                key = (mid if isinstance(mid, str) else None, rid if isinstance(rid, str) else None)
                if key == (None, None) or key not in self._seen_messages:
                    self._seen_messages.add(key)
                    self._usage_seen = True
                    s = self.s
                    s.context_tokens = context
                    if s.peak_context_tokens is None or context > s.peak_context_tokens:
                        s.peak_context_tokens = context
                    if turn is not None:
                        turn.context_tokens = context

        content = msg.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        elif not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "tool_use":
                self._tool_use(block, turn)
            elif turn is None:
                continue
            elif kind == "text":
                text = block.get("text")
                if isinstance(text, str) and (text := text.strip()):
                    self._answer.append(text)
                    turn.steps.append(text)
                    self._turn_chars += len(text)
            elif kind == "thinking":
                text = block.get("thinking")
                if isinstance(text, str) and (text := text.strip()):
                    self._thinking.append(text)
                    self._turn_chars += len(text)

    def _tool_use(self, block: dict, turn: Turn | None) -> None:
        name = block.get("name")
        name = name if isinstance(name, str) else ""
        tool_input = block.get("input")
        _add_distinct(self.s.tools, self._tools, name)
        if isinstance(tool_input, dict):
            for key in ("file_path", "notebook_path", "path"):
                if key == "path" and name in _DIRECTORY_PATH_TOOLS:
                    continue
                _add_distinct(self.s.files, self._files, tool_input.get(key))
        if turn is None:
            return
        rendered = _render_input(tool_input) if tool_input is not None else ""
        call_id = block.get("id")
        call = ToolCall(
            id=call_id if isinstance(call_id, str) else "",
            name=name,
            input_text=rendered[: self.cap],
            key_argument=_key_argument(name, tool_input),
        )
        turn.steps.append(len(turn.tool_calls))
        turn.tool_calls.append(call)
        self._turn_chars += len(rendered)
        if call.id:
            self._calls[call.id] = call

    # -- turns ------------------------------------------------------------------------------

    def _start_turn(self, prompt: str, offset: int, ts: datetime | None) -> None:
        if self.turn is not None:
            self._close_turn(offset)
        self.turn = Turn(
            number=len(self.s.turns) + 1,
            prompt=prompt,
            timestamp=ts,
            end_timestamp=ts,
            start_offset=offset,
        )
        self.s.turns.append(self.turn)
        self._turn_chars = len(prompt)

    def _close_turn(self, end_offset: int) -> None:
        turn = self.turn
        assert turn is not None
        turn.end_offset = max(end_offset, turn.start_offset)
        turn.answer = "\n\n".join(self._answer)
        turn.last_answer = self._answer[-1] if self._answer else ""
        turn.thinking = "\n\n".join(self._thinking)
        self._answer = []
        self._thinking = []
        self._turn_models = set()
        self._turn_chars_list.append(self._turn_chars)
        self._turn_chars = 0

    def finish(self, file_size: int | None = None) -> Session:
        s = self.s
        end = self._last_good_end
        if file_size is not None and end > file_size:
            # The last good line has no newline: leave it out of the byte range of the turn.
            end = self._prev_good_end
        if self.turn is not None:
            self._close_turn(end)
            self.turn = None
        if not self._usage_seen:
            total = 0
            for turn, chars in zip(s.turns, self._turn_chars_list, strict=True):
                total += chars
                turn.context_tokens = estimate_tokens(total)
            if total:
                s.context_tokens = s.peak_context_tokens = estimate_tokens(total)
                s.context_estimated = True
        s.title = (
            s.custom_title
            or s.agent_name
            or self._ai_title
            or self._summary
            or (shorten(s.turns[0].prompt, TITLE_LIMIT) if s.turns else None)
        )
        return s
