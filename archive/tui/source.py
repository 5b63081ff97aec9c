"""What the picker shows, asked of the archive: result rows and the sessions they preview.

Everything returned is display-safe: credentials masked (``redact``) and control characters
from transcripts replaced, so no transcript can move the cursor, retitle the terminal or hide
text. Each call opens its own read-only repository: calls come from worker threads, and a
SQLite connection belongs to the thread that opened it.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..filters import SearchFilters
from ..query import search
from ..redact import redact, redact_data
from ..repo import Repository
from ..views import list_sessions, load_session, session_dict

LIMIT = 30  # rows in the list: each costs a snippet, cut while the person types
# C0 and C1 controls (newline and tab aside), DEL, and the bidi overrides that reorder text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    """``text`` safe to put on a terminal: controls become U+FFFD, tabs four spaces."""
    if not text:
        return ""
    return _CONTROL.sub("\ufffd", text).replace("\t", "    ")


def _clean_data(value):
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_data(v) for k, v in value.items()}
    return value


@dataclass
class Row:
    """One session in the results list, with the turn that matched (None: its last turn)."""

    session_id: str
    profile: str  # where the best match (or the newest copy) was found
    profiles: list[str]
    title: str
    project: str | None
    ended: str | None
    context_tokens: int | None
    context_estimated: bool
    gone: bool  # deleted at the source
    turn: int | None
    snippet: str
    highlights: list[tuple[int, int]]


class Source:
    def __init__(self, archive_dir: Path, filters: SearchFilters | None = None, limit: int = LIMIT):
        self.archive_dir = archive_dir
        self.filters = filters or SearchFilters()
        self.limit = limit
        self._sessions: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, query: str) -> list[Row]:
        """Ranked sessions for ``query`` (``archive search --sessions``), or the most recently
        active sessions when it is blank. A malformed query raises UsageError."""
        with Repository(self.archive_dir, readonly=True) as repo:
            if not query.strip():
                return [self._listed(r) for r in list_sessions(repo, self.filters, self.limit)]
            hits = search(repo, query, self.filters, limit=self.limit, group_sessions=True)
            hits = [h for h in hits if h["session_id"] and not h["prompt_only"]]
            facts = _facts(repo, [h["session_id"] for h in hits])
        rows = []
        for h in hits:
            meta = facts.get(h["session_id"], {})
            rows.append(Row(
                session_id=h["session_id"],
                profile=h["profile"],
                profiles=h["profiles"],
                title=clean(meta.get("title") or h["title"] or ""),
                project=clean(h["project"]) or None,
                ended=meta.get("ended") or h["timestamp"],
                context_tokens=meta.get("context_tokens"),
                context_estimated=bool(meta.get("context_estimated")),
                gone=h["gone_from_source"],
                turn=None if h["agent_id"] else h["turn"],
                snippet=clean(h["snippet"]),
                highlights=[tuple(x) for x in h["highlights"]],
            ))
        return rows

    def _listed(self, r: dict) -> Row:
        return Row(
            session_id=r["session_id"],
            profile=r["profile"],
            profiles=r["profiles"],
            title=clean(redact(r["name"] or r["title"] or "")),
            project=clean(r["project"]) or None,
            ended=r["ended"] or r["started"],
            context_tokens=r["context_tokens"],
            context_estimated=r["context_estimated"],
            gone=r["gone_from_source"],
            turn=None,
            snippet="",
            highlights=[],
        )

    def session(self, session_id: str, profile: str) -> dict:
        """The copy of ``profile`` as ``show --json`` gives it, masked and cleaned (a few are
        kept: moving up and down the list shows the same sessions again)."""
        key = (session_id, profile)
        with self._lock:
            if key in self._sessions:
                self._sessions.move_to_end(key)
                return self._sessions[key]
        with Repository(self.archive_dir, readonly=True) as repo:
            loaded = load_session(repo, session_id, from_profile=profile)
        data = _clean_data(redact_data(session_dict(loaded)))
        with self._lock:
            self._sessions[key] = data
            while len(self._sessions) > 8:
                self._sessions.popitem(last=False)
        return data

    def loaded(self, session_id: str, profile: str):
        with Repository(self.archive_dir, readonly=True) as repo:
            return load_session(repo, session_id, from_profile=profile)


def _facts(repo: Repository, session_ids: list[str]) -> dict[str, dict]:
    """Title (the custom name first), last activity and context of each session's newest copy."""
    if not session_ids:
        return {}
    marks = ",".join("?" for _ in session_ids)
    out: dict[str, dict] = {}
    for r in repo.catalog.session_rows(f"AND m.session_id IN ({marks})", tuple(session_ids)):
        have = out.get(r["session_id"])
        if have is None or (r["ended"] or "") > (have["ended"] or ""):
            out[r["session_id"]] = {
                "title": redact(r["custom_title"] or r["title"] or "") or None,
                "ended": r["ended"] or r["started"],
                "context_tokens": r["context_tokens"],
                "context_estimated": bool(r["context_estimated"]),
            }
    return out
