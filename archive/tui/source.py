"""What the picker shows, asked of the archive: result rows and the sessions they preview.

Everything returned took the program's one outward step (:mod:`outward`): credentials masked
and control characters from transcripts shown as text (``^[``, ``<U+202E>``), so no transcript
can move the cursor, retitle the terminal or hide text, in the list or the preview. Each call
opens its own read-only repository: calls come from worker threads, and a SQLite connection
belongs to the thread that opened it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..filters import SearchFilters
from ..outward import outward, outward_data, visible, visible_spans
from ..query import search
from ..repo import Repository
from ..views import list_sessions, load_session, session_dict

LIMIT = 30  # rows in the list: each costs a snippet, cut while the person types


def clean(text: str | None) -> str:
    """``text`` as one line of the picker (a title, a path, a message): masked, its control
    characters shown, line breaks and tabs as spaces."""
    if not text:
        return ""
    return visible(outward(text), lines=False)


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
    agent: str = "claude"  # the source that wrote it (archive.sources): what it can fork


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
            # The search masked the snippet before it placed the matches; shown, they move.
            snippet, highlights = visible_spans(h["snippet"] or "", h["highlights"] or [],
                                                lines=False)
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
                snippet=snippet,
                highlights=highlights,
                agent=h.get("agent") or "claude",
            ))
        return rows

    def _listed(self, r: dict) -> Row:
        return Row(
            session_id=r["session_id"],
            profile=r["profile"],
            profiles=r["profiles"],
            title=clean(r["name"] or r["title"] or ""),
            project=clean(r["project"]) or None,
            ended=r["ended"] or r["started"],
            context_tokens=r["context_tokens"],
            context_estimated=r["context_estimated"],
            gone=r["gone_from_source"],
            turn=None,
            snippet="",
            highlights=[],
            agent=r.get("agent") or "claude",
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
        data = outward_data(session_dict(loaded), terminal=True)
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
                "title": r["custom_title"] or r["title"] or None,
                "ended": r["ended"] or r["started"],
                "context_tokens": r["context_tokens"],
                "context_estimated": bool(r["context_estimated"]),
            }
    return out
