"""The one reader of Claude Code's ``history.jsonl``: one entry per prompt typed.

history.jsonl outlives the transcripts Claude Code deletes, so both the index (prompt-only
documents) and ``archive lost`` read it: from the archived version and from the source file.
Lines that are not JSON objects, and entries without a session id (older Claude Code), are
skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

PROMPT_ONLY = "#prompt-only/"  # in a document key: prompts from history.jsonl, no transcript


@dataclass(frozen=True)
class HistoryEntry:
    session_id: str
    display: str | None  # the prompt as typed
    project: str | None
    ms: float | None  # epoch milliseconds

    @property
    def when(self) -> datetime | None:
        """The timestamp as UTC, None when absent or out of range."""
        if self.ms is None:
            return None
        try:
            return datetime.fromtimestamp(self.ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None


def parse_history(lines: Iterable[bytes]) -> Iterator[HistoryEntry]:
    """Entries of history.jsonl lines, in order."""
    for line in lines:
        if not line:
            continue
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(entry, dict):
            continue
        sid = entry.get("sessionId")
        if not isinstance(sid, str) or not sid:
            continue
        display, project, ms = entry.get("display"), entry.get("project"), entry.get("timestamp")
        yield HistoryEntry(
            session_id=sid,
            display=display if isinstance(display, str) else None,
            project=project if isinstance(project, str) else None,
            ms=ms if isinstance(ms, int | float) and not isinstance(ms, bool) else None,
        )


def read_history(path: Path) -> Iterator[HistoryEntry]:
    """Entries of a history.jsonl file, streaming; nothing when it cannot be opened."""
    try:
        fh = open(path, "rb")
    except OSError:
        return
    with fh:
        yield from parse_history(fh)
