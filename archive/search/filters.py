"""Search filters (profile, project, model, dates…) as a Whoosh filter query.

The dataclass is ``archive.filters.SearchFilters``, shared with ``archive sessions`` (which
must not import Whoosh); re-exported here for callers of the index.
"""

from __future__ import annotations

from whoosh import query as Q

from archive.filters import SearchFilters

from .documents import naive_utc


def filter_query(reader, f: SearchFilters | None):
    """A filter query, None for no filter, or False when nothing can match."""
    if f is None:
        return None
    parts = []
    if f.profile:
        parts.append(Q.Term("profile", f.profile))
    if f.agent:
        parts.append(Q.Term("agent", f.agent))
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

