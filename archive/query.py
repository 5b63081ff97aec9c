"""Search hits: the index's ranked results with what only the catalog knows added.

The index answers the query; the catalog says which profiles hold identical copies (one hit
lists them all), the title of each transcript and whether it is gone from the source. Whoosh is
imported only here, inside ``search``.
"""

from __future__ import annotations

from .dates import iso_utc
from .filters import SearchFilters
from .history import PROMPT_ONLY
from .repo import Repository
from .views import copy_info


def search(
    repo: Repository,
    query: str,
    filters: SearchFilters,
    *,
    limit: int = 20,
    group_sessions: bool = False,
    redact: bool = True,
) -> list[dict]:
    """Ranked hits as ``search --json`` rows (best first); secrets masked unless ``redact``
    is False."""
    from . import search as index

    copies: dict[str, dict] = {}

    def copies_of(session_ids) -> None:
        missing = sorted({sid for sid in session_ids if sid} - copies.keys())
        copies.update(copy_info(repo, missing))

    def info_of(session_id: str | None, profile: str) -> tuple[dict, bool]:
        info = copies.get(session_id) or {"profiles": [profile], "diverged": False}
        return info, len({c["sha256"] for c in info.get("copies", [])}) <= 1

    def same(stored: list[dict]) -> list[tuple]:
        """Identical copies are one session in several places: one hit lists them all."""
        copies_of(s.get("session_id") for s in stored)
        keys = []
        for s in stored:
            _info, same_bytes = info_of(s.get("session_id"), s.get("profile", ""))
            keys.append(
                (s.get("session_id"), s.get("turn"), s.get("agent_id")) if same_bytes
                else (s["key"], s.get("turn"))
            )
        return keys

    facts: dict[str, tuple[str | None, bool]] = {}  # document key -> (title, gone)

    def titles(keys: list[str]) -> dict[str, str | None]:
        facts.update(repo.catalog.facts_by_key(keys))
        return {k: facts[k][0] for k in keys if k in facts and facts[k][0] is not None}

    hits = index.search(
        repo.index_dir,
        query,
        filters,
        limit=limit,
        group_sessions=group_sessions,
        redact=redact,
        same=same,
        titles=titles,
    )
    rows: list[dict] = []
    for h in hits:
        info, same_bytes = info_of(h.session_id, h.profile)
        snippet, highlights = h.snippet, [tuple(x) for x in h.highlights]
        title = h.title
        if redact:
            from .redact import redact as mask_text

            title = mask_text(title) if title else title
        row = {
            "session_id": h.session_id,
            "turn": h.turn,
            "agent": h.agent,
            "profile": h.profile,
            "profiles": info["profiles"] if same_bytes else [h.profile],
            # Where each copy is, as `--from` takes it (PROFILE, or PROFILE:PROJECT when one
            # profile holds two copies).
            "addresses": (info.get("addresses", info["profiles"]) if same_bytes
                          else [_own_address(info, h.profile, h.project)]),
            "diverged": info["diverged"],
            "project": h.project,
            "timestamp": iso_utc(h.timestamp),
            "score": round(h.score, 4),
            "snippet": snippet,
            "highlights": highlights,
            "title": title,
            "agent_id": h.agent_id,
            "gone_from_source": facts[h.key][1] if h.key in facts else h.gone_from_source,
            "prompt_only": PROMPT_ONLY in h.key,
        }
        rows.append(row)
    return rows


def _own_address(info: dict, profile: str, project: str | None) -> str:
    """The address of the copy a hit came from: its profile, or PROFILE:PROJECT when the
    profile holds two copies (matched by project)."""
    for c in info.get("copies", []):
        if c["profile"] == profile and c.get("project") == project:
            return c["address"]
    return profile
