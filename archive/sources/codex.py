"""Codex CLI as a source: rollout files in a Codex home.

A Codex home is ``$CODEX_HOME`` (default ``~/.codex``); CCS keeps one per Codex account under
``~/.ccs/codex-instances/<name>``. Each session is one append-only JSONL *rollout*,
``sessions/YYYY/MM/DD/rollout-<local time>-<session id>.jsonl``; ``codex`` moves the ones a
person archives to ``archived_sessions/``. Every line is ``{"timestamp", "type", "payload"}``:
``session_meta`` (id, cwd, cli_version, git), ``turn_context`` (model, cwd), ``response_item``
(what the model saw and said: messages, reasoning, tool calls and outputs) and ``event_msg``
(what the client showed: token counts, task boundaries). The parser reads ``response_item``
for the conversation and ``token_count`` for the context size; like the Claude Code parser it
never raises on content, skips what it does not know and counts bad lines.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import orjson

from .base import Source

if TYPE_CHECKING:
    from ..roots import Root, StatTuple, WalkReport
    from ..transcript import Session

TOPS = ("sessions", "archived_sessions")
ROLLOUT = re.compile(
    r"^rollout-(\d{4})-(\d{2})-(\d{2})T\d{2}-\d{2}-\d{2}-"
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.jsonl$"
)
# Text the client puts in a user message that the person did not type: environment, AGENTS.md,
# skills, permissions… Such messages are context, not prompts.
_INJECTED = re.compile(r"^\s*(?:<([a-z_]+)>.*</\1>|# AGENTS\.md instructions\b.*)\s*$", re.S)


class CodexSource(Source):
    agent = "codex"
    label = "Codex CLI"
    tops = TOPS
    no_fork = ("a Codex CLI session is restored as archived: restore has no --turns or "
               "--new-id for it")

    def discover(self, environ: Mapping[str, str], home: Path) -> list[Root]:
        from ..roots import PROFILE_NAME, Root

        found = []
        default = Path(environ.get("CODEX_HOME") or home / ".codex").expanduser()
        if default.is_dir():  # unlike ~/.claude, not listed where Codex was never used
            found.append(Root("codex", default, "default", agent="codex",
                              env="CODEX_HOME" if environ.get("CODEX_HOME") else None))
        ccs_home = Path(environ["CCS_HOME"]).expanduser() if environ.get("CCS_HOME") else home
        instances = ccs_home / ".ccs" / "codex-instances"
        if instances.is_dir():
            for entry in sorted(instances.iterdir()):
                name = f"codex-{entry.name}"
                if entry.name.startswith(".") or not entry.is_dir() or not PROFILE_NAME.match(name):
                    continue
                found.append(Root(name, entry, "ccs", agent="codex"))
        return found

    def iter_stats(self, root: Root, report: WalkReport) -> Iterator[StatTuple]:
        """Regular files under ``sessions/`` and ``archived_sessions/``; symlinks are listed
        in ``report`` and never followed (a rollout is never a link)."""
        for top in TOPS:
            stack = [(os.path.join(root.path, top), top)]
            while stack:
                folder, rel = stack.pop()
                try:
                    entries = sorted(os.scandir(folder), key=lambda e: e.name)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    report.unreadable.append((rel, f"cannot read this folder: {exc.strerror}"))
                    continue
                for entry in entries:
                    entry_rel = f"{rel}/{entry.name}"
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        why = f"cannot be looked at: {exc.strerror}"
                        report.unreadable.append((entry_rel, why))
                        continue
                    if stat.S_ISLNK(st.st_mode):
                        report.skipped.append((entry_rel, "a symlink; not followed"))
                    elif stat.S_ISDIR(st.st_mode):
                        stack.append((entry.path, entry_rel))
                    elif stat.S_ISREG(st.st_mode):
                        yield entry_rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino

    def classify(self, relpath: str) -> tuple[str, str | None]:
        parts = relpath.split("/")
        match = ROLLOUT.match(parts[-1])
        live = parts[0] == "sessions" and len(parts) == 5  # sessions/YYYY/MM/DD/rollout-…
        archived = parts[0] == "archived_sessions" and len(parts) == 2
        if match and (live or archived):
            return "session", match.group(4).lower()
        return "other", None

    def parse(
        self,
        stream: BinaryIO,
        *,
        kind: str,
        session_id: str | None,
        tool_output_cap: int,
        file_size: int | None,
    ) -> Session:
        from ..transcript import iter_lines

        parser = _Parser(session_id, tool_output_cap)
        for offset, raw in iter_lines(stream):
            parser.feed(offset, raw)
        return parser.finish(file_size)

    def restore_relpath(self, relpath: str, session_id: str) -> str:
        """Under ``sessions/`` by the date in the name, where ``codex resume`` looks (an
        archived rollout comes back as a live one)."""
        name = relpath.rsplit("/", 1)[-1]
        match = ROLLOUT.match(name)
        if match is None:
            raise ValueError(f"not a Codex rollout: {relpath}")
        if match.group(4).lower() != session_id.lower():
            name = name[: match.start(4)] + session_id + ".jsonl"
        return f"sessions/{match.group(1)}/{match.group(2)}/{match.group(3)}/{name}"

    def resume_argv(self, root: Root, session_id: str) -> tuple[list[str], dict[str, str]]:
        """``codex resume ID``, with ``CODEX_HOME`` unless the root is the one Codex uses
        by default here."""
        default = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
        if os.path.realpath(root.path) == os.path.realpath(default.expanduser()):
            return ["codex", "resume", session_id], {}
        return ["codex", "resume", session_id], {"CODEX_HOME": str(root.path)}

    def resume_command(self, root: Root, project: str | None, session_id: str) -> str:
        q = shlex.quote
        argv, env = self.resume_argv(root, session_id)
        cmd = " ".join([*(f"{k}={q(v)}" for k, v in env.items()), *map(q, argv)])
        if project is None:
            return cmd
        cd = f"cd -- {q(project)}" if project.startswith("-") else f"cd {q(project)}"
        return f"{cd} && {cmd}"


def _texts(content: object, kinds: tuple[str, ...]) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        b["text"] for b in content
        if isinstance(b, dict) and b.get("type") in kinds and isinstance(b.get("text"), str)
    ]


def _output_text(output: object) -> str:
    """A tool output: a string, ``{"content": …}`` or a list of content items."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        return _output_text(output.get("content") or output.get("output") or "")
    if isinstance(output, list):
        return "\n".join(_texts(output, ("input_text", "output_text", "text")))
    return ""


class _Parser:
    """Feeds rollout lines into a Session; turn boundaries are the person's messages."""

    def __init__(self, session_id: str | None, tool_output_cap: int):
        from ..transcript import Session

        self.s = Session(session_id=session_id)
        self.cap = tool_output_cap
        self.turn = None
        self.calls: dict[str, object] = {}
        self.seen_tools: set[str] = set()
        self.model: str | None = None

    def feed(self, offset: int, raw: bytes | None) -> None:
        s = self.s
        s.lines += 1
        if raw is None:
            s.bad_lines += 1
            return
        if not raw.strip():
            return
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            s.bad_lines += 1
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("payload"), dict):
            s.bad_lines += 1
            return
        from ..transcript import _parse_timestamp

        when = _parse_timestamp(obj.get("timestamp"))
        if when is not None:
            s.started = s.started or when
            s.ended = when
        payload, kind = obj["payload"], obj.get("type")
        if kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            self._context(payload)
        elif kind == "response_item":
            self._item(payload, offset, raw, when)
        elif kind == "event_msg":
            self._event(payload)
        elif kind in ("world_state", "token_usage_record"):
            pass  # client state and per-request usage: token_count carries what is shown
        elif kind == "compacted":
            from ..transcript import Compaction

            s.compactions.append(Compaction(self.turn.number if self.turn else 0, "", None))
        else:
            s.unknown_lines += 1
        if self.turn is not None:
            self.turn.end_offset = offset + len(raw) + 1
            if when is not None:
                self.turn.end_timestamp = when

    def _meta(self, p: dict) -> None:
        s = self.s
        if s.session_id is None and isinstance(p.get("id"), str):
            s.session_id = p["id"]
        if s.project is None and isinstance(p.get("cwd"), str):
            s.project = p["cwd"]
        version = p.get("cli_version")
        if isinstance(version, str) and version not in s.versions:
            s.versions.append(version)
        git = p.get("git")
        if isinstance(git, dict) and isinstance(git.get("branch"), str):
            s.git_branch = s.git_branch or git["branch"]

    def _context(self, p: dict) -> None:
        if isinstance(p.get("model"), str) and p["model"]:
            self.model = p["model"]
            if self.model not in self.s.models:
                self.s.models.append(self.model)
            if self.turn is not None and self.model not in self.turn.models:
                self.turn.models.append(self.model)
        if self.s.project is None and isinstance(p.get("cwd"), str):
            self.s.project = p["cwd"]

    def _item(self, p: dict, offset: int, raw: bytes, when) -> None:
        from ..transcript import ToolCall, Turn

        kind, s = p.get("type"), self.s
        if kind == "message":
            role = p.get("role")
            if role == "user":
                text = "\n\n".join(_texts(p.get("content"), ("input_text", "text")))
                if not text.strip() or _INJECTED.match(text):
                    return
                self.turn = Turn(number=len(s.turns) + 1, prompt=text, timestamp=when,
                                 end_timestamp=when, start_offset=offset)
                if self.model:
                    self.turn.models.append(self.model)
                s.turns.append(self.turn)
                if s.title is None:
                    from ..transcript import shorten

                    s.title = shorten(text)
            elif role == "assistant" and self.turn is not None:
                text = "\n\n".join(_texts(p.get("content"), ("output_text", "text")))
                if text:
                    t = self.turn
                    t.answer = f"{t.answer}\n\n{text}" if t.answer else text
                    t.last_answer = text
                    t.steps.append(text)
        elif self.turn is None:
            return
        elif kind == "reasoning":
            parts = _texts(p.get("summary"), ("summary_text",))
            parts += _texts(p.get("content"), ("reasoning_text", "text"))
            if parts:
                t = self.turn
                t.thinking = "\n\n".join([t.thinking, *parts] if t.thinking else parts)
        elif kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
            name = p.get("name") or ("shell" if kind == "local_shell_call" else "web_search")
            args = p.get("arguments", p.get("input", p.get("action", "")))
            text = args if isinstance(args, str) else orjson.dumps(args).decode()
            call = ToolCall(id=str(p.get("call_id") or p.get("id") or ""), name=str(name),
                            input_text=text[: self.cap], key_argument=_key_argument(args))
            self.turn.tool_calls.append(call)
            self.turn.steps.append(len(self.turn.tool_calls) - 1)
            self.calls[call.id] = call
            if call.name not in self.seen_tools:
                self.seen_tools.add(call.name)
                s.tools.append(call.name)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call = self.calls.get(str(p.get("call_id") or ""))
            if call is not None:
                out = _output_text(p.get("output"))
                call.output, call.output_size = out[: self.cap], len(out)

    def _event(self, p: dict) -> None:
        if p.get("type") != "token_count" or not isinstance(p.get("info"), dict):
            return
        last = p["info"].get("last_token_usage")
        if not isinstance(last, dict) or not isinstance(last.get("input_tokens"), int):
            return
        tokens = last["input_tokens"]  # includes the cached part: the whole context sent
        s = self.s
        s.context_tokens = tokens
        s.peak_context_tokens = max(s.peak_context_tokens or 0, tokens)
        if self.turn is not None:
            self.turn.context_tokens = tokens

    def finish(self, file_size: int | None) -> Session:
        s = self.s
        if s.turns and file_size is not None and s.turns[-1].end_offset > file_size:
            s.turns[-1].end_offset = file_size  # a last line without its newline
        return s


def _key_argument(args: object) -> str:
    if isinstance(args, str):
        try:
            args = orjson.loads(args)
        except orjson.JSONDecodeError:
            return args[:200]
    if isinstance(args, dict):
        for key in ("cmd", "command", "path", "file_path", "query", "url"):
            value = args.get(key)
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            if isinstance(value, str) and value:
                return value[:200]
    return ""
