"""Search filters (profile, project, model, dates…) as a Whoosh filter query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from whoosh import query as Q

from .documents import naive_utc


@dataclass
class SearchFilters:
    profile: str | None = None
    project: str | None = None  # substring of the project path (case-insensitive)
    branch: str | None = None
    model: str | None = None  # substring, e.g. "opus" matches "claude-opus-4-1"
    tool: str | None = None
    since: datetime | None = None  # tz-aware UTC (naive is taken as UTC)
    until: datetime | None = None
    session_ids: list[str] | None = None


def filter_query(reader, f: SearchFilters | None):
    """A filter query, None for no filter, or False when nothing can match."""
    if f is None:
        return None
    parts = []
    if f.profile:
        parts.append(Q.Term("profile", f.profile))
    if f.branch:
        parts.append(Q.Term("branch", f.branch))
    if f.tool:
        parts.append(Q.Term("tools", f.tool.lower()))
    # Substring filters: expand against the (small) lexicon, never scan hits.
    for fieldname, needle in (("project", f.project), ("models", f.model)):
        if not needle:
            continue
        needle = needle.lower()
        terms = [
            t.decode("utf-8")
            for t in reader.lexicon(fieldname)
            if needle in t.decode("utf-8").lower()
        ]
        if not terms:
            return False
        parts.append(Q.Or([Q.Term(fieldname, t) for t in terms]))
    if f.since or f.until:
        parts.append(
            Q.DateRange("timestamp", naive_utc(f.since), naive_utc(f.until), constantscore=True)
        )
    if f.session_ids is not None:
        if not f.session_ids:
            return False
        parts.append(Q.Or([Q.Term("session_id", s) for s in f.session_ids]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.And(parts)

