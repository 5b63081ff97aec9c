"""What narrows a listing or a search: agent, profile, project, model, tool, dates, sessions…

One dataclass for ``archive sessions`` (answered from the catalog) and ``archive search``
(answered by the index, which reads the same attributes). It lives outside the index package so
that listing sessions never imports Whoosh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class SearchFilters:
    profile: str | None = None
    agent: str | None = None  # the source: "claude", "codex" (archive.sources)
    project: str | None = None  # substring of the project path (case-insensitive)
    branch: str | None = None
    model: str | None = None  # substring, e.g. "opus" matches "claude-opus-4-1"
    tool: str | None = None
    since: datetime | None = None  # tz-aware UTC (naive is taken as UTC)
    until: datetime | None = None
    session_ids: list[str] | None = None  # search: only these sessions
    name: str | None = None  # sessions: substring of the custom name (/rename)
    min_context: int | None = None  # sessions: only those whose context exceeds this (bloated)
