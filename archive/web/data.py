"""What the pages ask of the library: the same calls as search, sessions, show, context and
versions, with every transcript string through the program's one outward step (:mod:`outward`)
before it leaves this module: credentials masked, and each control character, C1 control and
bidi override shown as text (``^[``, ``<U+202E>``), as on a terminal, so no transcript can hide
or reorder what a page shows. HTML escaping stays the templates' (Jinja's autoescape).

This is the only module of ``archive.web`` that imports the library, so a move of a library
module changes the imports below and nothing else. Nothing here imports the web stack.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

# -- the library, in one place -----------------------------------------------------------------
from ..config import load_settings
from ..context import context_report
from ..dates import parse_when
from ..errors import ArchiveError, SessionNotFound, UsageError
from ..filters import SearchFilters as Filters
from ..outward import outward, outward_data, visible_spans
from ..query import search as run_search
from ..repo import Repository
from ..sources import SOURCES, check_agent
from ..views import list_sessions, load_session, session_dict, turn_dict, version_row

__all__ = ["ArchiveError", "SessionNotFound", "UsageError", "redact", "shown"]


def shown(data):
    """Transcript-derived data (a string, rows, a report) as a page may show it."""
    return outward_data(data, terminal=True)


def redact(text: str) -> str:
    """A message (an error quoting a session name or a query) as a page may show it."""
    return outward(text, terminal=True)


def _hit(h: dict) -> dict:
    """A search hit as a page shows it; its matches moved with the snippet's visible text
    (the library masked the snippet before it placed them)."""
    out = shown({k: v for k, v in h.items() if k not in ("snippet", "highlights")})
    out["snippet"], out["highlights"] = visible_spans(h["snippet"] or "", h["highlights"] or [])
    return out


@contextmanager
def open_repo(archive_dir: Path):
    """The archive opened read-only (``mode=ro``): the server never writes it."""
    with Repository(archive_dir, readonly=True) as repo:
        yield repo


def threshold(archive_dir: Path) -> int:
    return load_settings(archive_dir).context_threshold


def filters_from(form: dict[str, str]) -> Filters:
    """The CLI's filters from a form: the same names, the same date words."""
    since, until = form.get("since"), form.get("until")
    return Filters(
        agent=check_agent(form.get("agent") or None),
        profile=form.get("profile") or None,
        project=form.get("project") or None,
        branch=form.get("branch") or None,
        model=form.get("model") or None,
        tool=form.get("tool") or None,
        since=parse_when(since) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
    )


def agents() -> list[tuple[str, str]]:
    """(agent, what people call it) of every source, for the agent filter menus."""
    return [(source.agent, source.label) for source in SOURCES]


def profiles(repo: Repository) -> list[str]:
    """Every profile any snapshot read, for the filter menus."""
    import orjson

    names: set[str] = set()
    for snap in repo.catalog.snapshots():
        try:
            names.update(r["profile"] for r in orjson.loads(snap["roots"]) if r.get("profile"))
        except (ValueError, TypeError, AttributeError):
            continue
    return shown(sorted(names))


def search(repo: Repository, query: str, form: dict[str, str], *, page: int, per_page: int,
           grouped: bool) -> tuple[list[dict], bool]:
    """One page of ``archive search`` hits (masked) and whether another page may follow (a
    full page: asking for one more hit would cost one more snippet on every page)."""
    filters = filters_from(form)
    if form.get("session"):
        filters.session_ids = [repo.session_copies(form["session"])[0].session_id]
    wanted = page * per_page
    hits = run_search(repo, query, filters, limit=wanted, group_sessions=grouped, redact=True)
    has_next = len(hits) == wanted
    return [_hit(h) for h in hits[(page - 1) * per_page : page * per_page]], has_next


def sessions(repo: Repository, form: dict[str, str], *, sort: str, page: int,
             per_page: int) -> tuple[list[dict], bool]:
    """One page of ``archive sessions`` rows (titles masked) and whether more follow."""
    filters = filters_from(form)
    filters.name = form.get("name") or None
    wanted = page * per_page + 1
    rows = list_sessions(repo, filters, wanted, sort=sort)
    has_next = len(rows) == wanted
    return shown(rows[(page - 1) * per_page : page * per_page]), has_next


# -- one session ------------------------------------------------------------------------------

class _Cache:
    """The last few sessions shown, parsed and masked, by version: a long session is parsed
    once, then its turns are served in pages as the reader scrolls."""

    def __init__(self, size: int = 4):
        self.size = size
        self.items: OrderedDict[int, dict] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: int) -> dict | None:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item

    def put(self, key: int, value: dict) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_sessions = _Cache()


class MaskedTurns:
    """A session's turns as ``show --json`` gives them (with tool input and output), masked
    when first read: a page shows 40 of 2,000 turns, so only those pay for masking."""

    def __init__(self, turns: list):
        self.raw = turns
        self.done: dict[int, dict] = {}
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.raw)

    def _one(self, i: int) -> dict:
        with self.lock:
            if i not in self.done:
                self.done[i] = shown(turn_dict(self.raw[i], with_tool_output=True))
            return self.done[i]

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self._one(i) for i in range(*key.indices(len(self.raw)))]
        return self._one(range(len(self.raw))[key])

    def __iter__(self):
        return (self._one(i) for i in range(len(self.raw)))


def session(repo: Repository, ref: str, *, profile: str | None = None,
            version: int | str | None = None, threshold: int = 100_000) -> dict:
    """A session as ``show --json`` gives it, with tool input and output, masked; plus its
    context report, the other profiles holding it and its version count. ``version``: a
    number, a set-aside copy's label (``a1``) or None for the newest, as the CLI takes it."""
    copy = repo.pick_copy(ref, profile)
    v = repo.pick_version(copy.file, version)
    cached = _sessions.get(v.id)
    if cached is not None and cached["threshold"] == threshold:
        return cached
    loaded = load_session(repo, copy.file.session_id, from_profile=copy.address,
                          version=repo.version_ref(copy.file, v))
    data = shown(session_dict(loaded, []))
    data["session_id"] = data["session_id"] or copy.file.session_id
    data["turns"] = MaskedTurns(loaded.session.turns)
    data["others"] = shown(copy.others)
    every = repo.session_versions(copy.file)
    data["version_count"] = len(every)  # with the set-aside copies, as the versions page lists
    data["newest_version"] = max((a.label for a in every if not a.set_aside), default=None)
    data["context"] = shown(context_report(loaded, threshold))
    data["threshold"] = threshold
    _sessions.put(v.id, data)
    return data


def versions(repo: Repository, ref: str, profile: str | None = None) -> dict:
    """``archive versions``: every version of the chosen copy, oldest first, then the copies
    Claude Code set aside (a1, a2…, with where and when); and the two a comparison starts
    from: the newest two of the transcript's own, or the newest with the last set aside."""
    copy = repo.pick_copy(ref, profile)
    f = copy.file
    meta = repo.catalog.session_meta(f.id) or {}
    every = repo.session_versions(f)
    rows = [version_row(a, f.profile) | {"appended": a.version.appended_to is not None}
            for a in every]
    own = [a.label for a in every if not a.set_aside]
    asides = [a.label for a in every if a.set_aside]
    if len(own) > 1:
        compare = own[-2], own[-1]
    elif own:
        compare = (asides[-1] if asides else own[0]), own[0]
    else:  # only set-aside copies were archived
        compare = asides[-2:][0], asides[-1]
    return shown({
        "session_id": f.session_id, "profile": f.profile, "path": f.relpath,
        "others": copy.others, "gone_from_source": f.gone_snapshot is not None,
        "title": meta.get("custom_title") or meta.get("title") or "",
        "versions": rows, "compare": compare,
    })


def _signature(turn) -> tuple:
    """What makes two versions of a turn the same conversation."""
    return (turn.prompt, turn.answer, turn.thinking,
            tuple((c.name, c.input_text) for c in turn.tool_calls))


def diff_versions(repo: Repository, ref: str, a: int | str, b: int | str, *,
                  profile: str | None = None) -> dict:
    """What changed from version ``a`` to ``b`` of one copy: turns added, rewritten, gone."""
    old = session(repo, ref, profile=profile, version=a)
    new = session(repo, ref, profile=profile, version=b)
    rows = []
    a_turns, b_turns = old["turns"], new["turns"]
    for i in range(max(len(a_turns), len(b_turns))):
        if i >= len(a_turns):
            change = "added"
        elif i >= len(b_turns):
            change = "removed"
        elif _signature(a_turns.raw[i]) != _signature(b_turns.raw[i]):
            change = "rewritten"
        else:
            continue
        rows.append({"turn": i + 1, "change": change,
                     "before": a_turns[i] if i < len(a_turns) else None,
                     "after": b_turns[i] if i < len(b_turns) else None})
    counts = {k: sum(r["change"] == k for r in rows) for k in ("added", "rewritten", "removed")}
    return {"session_id": new["session_id"], "profile": new["profile"], "a": a, "b": b,
            "old": old, "new": new, "changes": rows, "counts": counts}


# -- activity ---------------------------------------------------------------------------------

def activity(repo: Repository, *, days: int, by: str, top: int = 8,
             now: datetime | None = None) -> dict:
    """Sessions, turns and context tokens per day, split by profile or by project.

    Figures come from the catalog's per-session rows (no transcript is read): a session counts
    on the (local) day it was last active, with all its turns and its context size."""
    now = now or datetime.now(UTC)
    start = (now.astimezone() - timedelta(days=days - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    rows = list_sessions(repo, Filters(since=start.astimezone(UTC)), None)
    key = "profile" if by == "profile" else "project"
    totals: dict[str, int] = {}
    for r in rows:
        totals[r[key] or "-"] = totals.get(r[key] or "-", 0) + 1
    groups = sorted(totals, key=lambda g: (-totals[g], g))
    top_groups = groups[:top]
    if len(groups) > top:
        top_groups.append("(other)")
    day_list = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    table = {d: {g: [0, 0, 0] for g in top_groups} for d in day_list}
    for r in rows:
        when = r["ended"] or r["started"]
        if not when:
            continue
        day = datetime.fromisoformat(when).astimezone().date().isoformat()
        if day not in table:
            continue
        group = r[key] or "-"
        cell = table[day][group if group in table[day] else "(other)"]
        cell[0] += 1
        cell[1] += r["turns"] or 0
        cell[2] += r["context_tokens"] or 0
    return {"days": day_list, "groups": [redact(g) for g in top_groups], "by": key,
            "table": [[table[d][g] for g in top_groups] for d in day_list],
            "sessions": len(rows)}
