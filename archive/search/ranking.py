"""Searching: parse, filter, score (the fast scorer, else Whoosh), rank, group, cut snippets.

Best matches first (BM25F with field boosts); equal scores: newer first. Hits are grouped per
session or deduplicated in our own code (Whoosh's ``collapse`` is wrong across segments).
"""

from __future__ import annotations

import contextlib
import heapq
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ._whoosh.blocks import preload_lengths
from ._whoosh.scorer import FastScorer, weighting
from .documents import texts_of
from .filters import SearchFilters, filter_query
from .folder import DAMAGE_ERRORS, check_version, damaged, open_index, toc_names
from .query_text import parse_query, scored_fields
from .snippets import Highlighter

SameFn = Callable[[list[dict]], list[Hashable]]
TitlesFn = Callable[[list[str]], dict[str, str | None]]


@dataclass
class Hit:
    key: str
    session_id: str
    turn: int | None  # None: the session document matched (title, or words across prompts)
    profile: str
    project: str | None
    timestamp: datetime | None
    score: float
    title: str | None
    snippet: str  # plain text, one line, ~200 chars around the match
    highlights: list[tuple[int, int]]  # character spans in snippet of matched terms
    is_subagent: bool
    agent_id: str | None
    gone_from_source: bool
    agent: str = "claude"  # the source of the session (archive.sources)


@dataclass
class _Raw:
    docnum: int
    score: float
    stored: dict

    @property
    def ts(self) -> float:
        ts = self.stored.get("timestamp")
        return ts.timestamp() if isinstance(ts, datetime) else float("-inf")

    def rank_key(self):
        # Recency breaks ties; rounding absorbs float noise between equal BM25 scores.
        return (-round(self.score, 6), -self.ts)


def search(
    index_dir: Path,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    group_sessions: bool = False,
    redact: bool = False,
    same: SameFn | None = None,
    titles: TitlesFn | None = None,
) -> list[Hit]:
    """Best matches first (BM25F, field boosts; equal scores: newer first). With ``redact``,
    snippets are cut from text whose secrets are already masked. ``same`` maps the stored
    fields of ranked documents to keys; of documents with equal keys only the best is kept
    (the caller's notion of one hit, e.g. identical copies of a session in two profiles),
    before any snippet is cut. ``titles`` gives the session titles of document keys it knows
    (the catalog has them): the others are read from their session documents."""
    for attempt in range(3):
        try:
            return _search(
                Path(index_dir), query, filters, limit, group_sessions, redact, same, titles
            )
        except FileNotFoundError as e:
            # A commit deleted the segment files of the TOC we had just read (or a reindex
            # made another index live): read again. Still missing: the index lost a file.
            _SEARCHERS.pop(Path(index_dir), None)
            if attempt == 2:
                raise damaged(e) from None
            time.sleep(0.05)
        except DAMAGE_ERRORS as e:
            # A truncated or garbled segment (read when opened, or lazily by this search).
            _SEARCHERS.pop(Path(index_dir), None)
            raise damaged(e) from None
    return []


_SEARCHERS: dict[Path, tuple[tuple, object]] = {}  # index folder -> (its TOC names, searcher)


def _searcher(index_dir: Path):
    """A searcher of the newest committed index, kept open while no commit happened: a process
    that searches again (the library, a long-running caller) skips reopening every segment
    and reloading field lengths (~10 ms at 1 GB). One listing of the folder tells a commit."""
    tocs = toc_names(index_dir)
    cached = _SEARCHERS.get(index_dir)
    if cached is not None and cached[0] == tocs and tocs:
        check_version(index_dir)
        return cached[1]
    if cached is not None:
        _SEARCHERS.pop(index_dir)
        with contextlib.suppress(Exception):
            cached[1].close()
    s = open_index(index_dir).searcher(weighting=weighting())
    _SEARCHERS[index_dir] = (tocs, s)
    return s


def _search(index_dir, query, filters, limit, group_sessions, redact, same, titles):
    s = _searcher(Path(index_dir))
    q = parse_query(query, s.schema)
    if limit <= 0:
        return []
    fq = filter_query(s.reader(), filters)
    if fq is False:
        return []
    # Overfetch: grouping and dropping duplicate session documents thin the list out, and
    # ties at the cut are re-ordered by recency.
    fetch = limit * 4 + 20 if group_sessions else limit + limit // 2 + 10
    fast = FastScorer(s)
    allowed = None if fq is None else fast.docset(fq)
    scores = fast.scores(q, allowed)
    if scores is not None:
        fast.drop_deleted(scores)
    else:
        preload_lengths(s, scored_fields(q))  # Whoosh scores every match: load once
    while True:
        if scores is not None:
            top = _top(scores, fetch)
            raw = [_Raw(d, sc, s.stored_fields(d)) for d, sc in top]
            exhausted = len(scores) <= len(top)
        else:
            # filter= (a docnum set) rather than a Require/And query: Whoosh's Require
            # matcher asserts and a constant-score And drops hits when pruning blocks.
            results = s.search(q, limit=fetch, filter=allowed)
            raw = [_Raw(h.docnum, h.score, h.fields()) for h in results]
            exhausted = len(raw) < fetch
        raw.sort(key=_Raw.rank_key)
        chosen = _group(raw) if group_sessions else _dedupe(raw)
        if same is not None:
            chosen = _keep_first(chosen, same([r.stored for r in chosen]))
        if len(chosen) >= limit or exhausted or fetch >= 20000:
            break
        fetch *= 4
    chosen = chosen[:limit]
    if not chosen:
        return []
    keys = {r.stored["key"] for r in chosen}
    known = {k: {"title": t} for k, t in (titles(sorted(keys)) if titles else {}).items()}
    sessions = {**_session_docs(fast, keys - known.keys()), **known}
    hl = Highlighter(q, redact=redact)
    src = s.reader().column_reader("src")
    return [
        _to_hit(r, sessions.get(r.stored["key"]), hl, texts_of(src, r.docnum)) for r in chosen
    ]


def _by_score(item):
    return item[1]


def _top(scores: dict[int, float], n: int) -> list[tuple[int, float]]:
    """The n best, plus any document tied with the last one (up to 1000 more), so that
    recency can order ties that straddle the cut."""
    top = heapq.nlargest(n, scores.items(), key=_by_score)
    if len(top) < n or len(scores) == n:
        return top
    last = round(top[-1][1], 6)
    low, high = last - 1e-6, last + 1e-6  # cheap bounds first: most scores are far off
    seen = {d for d, _ in top}
    ties = [
        (d, v) for d, v in scores.items()
        if low <= v <= high and round(v, 6) == last and d not in seen
    ]
    return top + ties[:1000]


def _dedupe(raw: list[_Raw]) -> list[_Raw]:
    """Drop a session-document hit when a turn of the same file also matched."""
    turn_keys = {r.stored["key"] for r in raw if r.stored.get("kind") == "turn"}
    return [r for r in raw if r.stored.get("kind") == "turn" or r.stored["key"] not in turn_keys]


def _keep_first(ranked: list[_Raw], keys: list) -> list[_Raw]:
    seen: set = set()
    kept = []
    for r, key in zip(ranked, keys, strict=True):
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept


def _group(raw: list[_Raw]) -> list[_Raw]:
    """One result per session_id: its best turn with that turn's score; the session document
    only when no turn matched (so grouped and flat scores agree). A session is its main
    transcript: when a turn of it matched, that turn stands for the session, ranked by the
    best score of all its members (sub-agent matches roll up into it)."""
    groups: dict[str, list[_Raw]] = {}
    for r in raw:
        groups.setdefault(r.stored.get("session_id") or r.stored["key"], []).append(r)
    chosen = []
    for members in groups.values():
        turns = [r for r in members if r.stored.get("kind") == "turn"]
        best = (turns or members)[0]  # members are in rank order
        main = [r for r in turns if not r.stored.get("agent_id")]
        if main and main[0] is not best:
            best = _Raw(main[0].docnum, best.score, main[0].stored)
        chosen.append(best)
    chosen.sort(key=_Raw.rank_key)
    return chosen


def _session_docs(fast: FastScorer, keys: set[str]) -> dict[str, dict]:
    """The live session document of each key (title and gone_from_source live there)."""
    found: dict[int, float] = {}
    for key in keys:
        found.update(fast.term_docs("session_key", key))
    fast.drop_deleted(found)
    out = {}
    for docnum in found:
        stored = fast.s.stored_fields(docnum)
        out[stored["key"]] = stored
    return out


def _to_hit(r: _Raw, session: dict | None, hl: Highlighter, texts: dict) -> Hit:
    st = r.stored
    session = session or (st if st.get("kind") == "session" else {})
    ts = st.get("timestamp")
    if st.get("kind") == "session":
        order = ("title", "prompt")
    else:
        order = ("prompt", "answer", "thinking", "tool_input", "tool_output")
    snippet, spans = hl.snippet([(name, texts.get(name) or "") for name in order])
    return Hit(
        key=st["key"],
        session_id=st.get("session_id") or st["key"],
        turn=st.get("turn"),
        profile=st.get("profile", ""),
        project=st.get("project"),
        timestamp=ts.replace(tzinfo=UTC) if isinstance(ts, datetime) else None,
        score=float(r.score),
        title=session.get("title"),
        snippet=snippet,
        highlights=spans,
        is_subagent=bool(st.get("is_subagent")),
        agent_id=st.get("agent_id"),
        gone_from_source=bool(session.get("gone_from_source")),
        agent=st.get("agent") or "claude",
    )

