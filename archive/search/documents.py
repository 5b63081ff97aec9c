"""Whoosh documents from parsed sessions: one per turn (``kind="turn"``) and one per session.

The document's texts are kept in the ``src`` column (JSON) so snippets and a rebuilt session
document never need the transcript again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from .analysis import elide_noise

if TYPE_CHECKING:  # the parser module is not needed to search
    from archive import transcript


@dataclass
class IndexedSession:
    key: str  # unique per archived source file copy, e.g. "default/projects/-x/abc.jsonl"
    profile: str
    session: transcript.Session  # parsed
    parent_session_id: str | None = None  # for sub-agents
    gone_from_source: bool = False
    agent: str = "claude"  # the source that wrote it (archive.sources)


def naive_utc(dt: datetime | None) -> datetime | None:
    """Whoosh's DATETIME cannot compare aware datetimes: store naive UTC."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def pack_texts(texts: dict) -> bytes:
    """The ``src`` column value: the document's non-empty texts as JSON."""
    return orjson.dumps({k: v for k, v in texts.items() if v})


def texts_of(src_column, docnum: int) -> dict:
    """The document's texts from the ``src`` column ({} when it has none)."""
    raw = src_column[docnum]
    return orjson.loads(raw) if raw else {}


def _common_fields(doc: IndexedSession) -> dict:
    s = doc.session
    fields = {
        "key": doc.key,
        "session_id": s.session_id or doc.key,
        "profile": doc.profile,
        "agent": doc.agent,
        "is_subagent": bool(s.is_subagent),
    }
    for name, value in (
        ("parent_session_id", doc.parent_session_id),
        ("agent_id", s.agent_id),
        ("project", s.project),
        ("branch", s.git_branch),
    ):
        if value:
            fields[name] = value
    return fields


def _put(fields: dict, name: str, value: str | None) -> None:
    if value:
        fields[name] = value


# Claude Code's Read (and Edit) results number every line as "     42→code". The numbers are a
# distinct term per line (noise in results, ~1/4 of tool-output postings), so they are dropped.
_LINE_NUMBERS = re.compile(r"(?m)^ *\d+\u2192")


def _tool_output(text: str) -> str:
    return _LINE_NUMBERS.sub("", text) if "\u2192" in text else text


def turn_doc(doc: IndexedSession, turn: transcript.Turn, session_files: set[str]) -> dict:
    fields = _common_fields(doc)
    fields["kind"] = "turn"
    fields["turn"] = turn.number
    ts = naive_utc(turn.timestamp or turn.end_timestamp)
    if ts is not None:
        fields["timestamp"] = ts
    calls = turn.tool_calls
    texts = {
        "prompt": turn.prompt or "",
        "answer": turn.answer or "",
        "thinking": turn.thinking or "",
        "tool_input": "\n".join(c.input_text for c in calls if c.input_text),
        "tool_output": "\n".join(_tool_output(c.output) for c in calls if c.output),
    }
    texts = {name: elide_noise(value) for name, value in texts.items()}  # data is not words
    for name, value in texts.items():
        _put(fields, name, value)
    _put(fields, "tools", ",".join(dict.fromkeys(c.name for c in calls if c.name)))
    _put(fields, "models", ",".join(turn.models or doc.session.models))
    # Files of this turn: the tool arguments the parser also listed as session files.
    files = [c.key_argument for c in calls if c.key_argument in session_files]
    _put(fields, "files", "\n".join(dict.fromkeys(files)))
    fields["src"] = pack_texts(texts)
    return fields


def session_doc(doc: IndexedSession) -> dict:
    s = doc.session
    fields = _common_fields(doc)
    fields["kind"] = "session"
    fields["gone_from_source"] = bool(doc.gone_from_source)
    last = s.turns[-1] if s.turns else None
    ts = naive_utc(
        s.ended or (last and (last.end_timestamp or last.timestamp)) or s.started
    )
    if ts is not None:
        fields["timestamp"] = ts
    texts = {
        "title": s.title or "",
        "prompt": "\n\n".join(t.prompt for t in s.turns if t.prompt),
        "tools": ",".join(s.tools),
        "models": ",".join(s.models),
        "files": "\n".join(s.files),
    }
    texts = {name: elide_noise(value) for name, value in texts.items()}
    for name, value in texts.items():
        _put(fields, name, value)
    fields["session_key"] = doc.key
    fields["src"] = pack_texts(texts)
    return fields


def rebuild_session_doc(stored: dict, texts: dict, gone: bool) -> dict:
    """A session document from its own stored fields and texts (to flip gone_from_source)."""
    fields = {k: v for k, v in stored.items() if k not in ("title", "turn")}
    fields["gone_from_source"] = gone
    fields["session_key"] = stored["key"]
    for name in ("title", "prompt", "tools", "models", "files"):
        _put(fields, name, texts.get(name))
    fields["src"] = pack_texts(texts)
    return fields

