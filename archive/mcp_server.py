"""``archive mcp``: the archive as a Model Context Protocol server over stdio.

A front end beside the CLI, over the same library calls (``search``, ``sessions``, ``show``,
``context``, ``export --budget``), for an agent in the middle of a session. Invariants:

- Read-only: the archive is opened read-only and no lock is taken; the catalog connection
  and the index searcher stay open between calls and see each ingest after its commit.
- Every string a tool returns took the program's one outward step (:mod:`outward`): credentials
  masked (there is no argument that asks for them raw), and no character a terminal would act
  on left raw: results are JSON whose strings escape every control, C1 and bidi override (the
  data stays exact for the client), error lines show them as text (``^[``).
- Every result fits a token budget (characters / 4, as ``export --budget`` counts) and says
  how to get the rest (the next page, the next turn range).
- Bad arguments come back as tool errors carrying the CLI's one-line message and hint; a bug
  is one line too (the traceback goes to stderr with ``ARCHIVE_DEBUG=1``). stdout carries
  only the protocol.

The MCP SDK (and pydantic under it) is imported only when the server is built, so the config printer
works without it and no other command pays for it.
"""

# No ``from __future__ import annotations``: the SDK reads the tool functions' signatures,
# whose annotations name types local to build_server(), so they must be evaluated there.
import asyncio
import logging
import os
import re
import shutil
import sys
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The library calls this front end uses, in one place.
from .config import load_settings, resolve_archive_dir
from .context import DEFAULT_THRESHOLD, context_report, handoff_markdown
from .dates import iso_utc, parse_when
from .errors import AmbiguousSession, ArchiveError, UsageError
from .filters import SearchFilters
from .outward import json_bytes, outward, outward_data
from .query import search
from .repo import Repository
from .sources import AGENTS, check_agent
from .text import plural
from .transcript import estimate_tokens
from .views import list_sessions, load_session, session_dict

SERVER_NAME = "archive"
DEFAULT_BUDGET = 4_000  # tokens a result may take, unless the call asks for another figure
MIN_BUDGET, MAX_BUDGET = 200, 50_000
MAX_ROWS = 100  # hits or sessions a call may ask for at once
MCP_EXTRA_HINT = "install it with: pip install 'session-archive[mcp]'"

log = logging.getLogger("archive.mcp")


# -- shaping results ---------------------------------------------------------------------------


def _dumps(data) -> str:
    """JSON text with nothing a terminal acts on left raw (the strings escape it), unmasked:
    callers pass data that went through :func:`_masked`."""
    return json_bytes(data, redact=False, indent=False).decode()


def _tokens(text: str) -> int:
    return estimate_tokens(len(text))


def _masked(data):
    """Every string value masked (idempotent: text already masked by the library stays)."""
    return outward_data(data)


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: max(limit, 0)].rstrip() + " […]"


def _check_budget(budget: int) -> int:
    if not MIN_BUDGET <= budget <= MAX_BUDGET:
        raise UsageError(
            f"budget_tokens must be between {MIN_BUDGET} and {MAX_BUDGET}, not {budget}",
            hint=f"the default is {DEFAULT_BUDGET}",
        )
    return budget


def _check_rows(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_ROWS:
        raise UsageError(f"limit must be between 1 and {MAX_ROWS}, not {limit}")
    if offset < 0:
        raise UsageError(f"offset must be 0 or more, not {offset}")


def _page(head: dict, key: str, rows: list[dict], budget: int, *, offset: int, more: bool,
          next_call: str) -> str:
    """``head`` plus as many of ``rows`` (already masked) as fit ``budget``, and how to go on.

    ``more`` says whether rows exist past the ones given."""
    shown: list[dict] = []
    size = len(_dumps(head | {key: [], "next": {"offset": offset}, "note": next_call})) + 80
    for row in rows:
        row_size = len(_dumps(row)) + 1
        if shown and estimate_tokens(size + row_size) > budget:
            break
        if not shown and estimate_tokens(size + row_size) > budget:
            row = _shrink_row(row, budget * 4 - size)
            row_size = len(_dumps(row)) + 1
        shown.append(row)
        size += row_size
    out = head | {key: shown}
    if len(shown) < len(rows) or more:
        nxt = offset + len(shown)
        out["next"] = {"offset": nxt}
        out["note"] = next_call.format(offset=nxt)
    return _dumps(out)


def _shrink_row(row: dict, room: int) -> dict:
    """A row whose long strings are cut to share ``room`` characters (a huge title, snippet)."""
    longest = sorted((k for k, v in row.items() if isinstance(v, str)), key=lambda k: -len(row[k]))
    out = dict(row)
    for k in longest:
        over = len(_dumps(out)) - room
        if over <= 0:
            break
        out[k] = _cut(out[k], max(len(out[k]) - over - 8, 20))
    return out


# -- the tools, as plain functions over an open archive -----------------------------------------


class ArchiveTools:
    """What each tool does, without the protocol: testable in-process, run on one thread.

    The repository is opened on the first call and kept; an archive that does not exist yet is
    looked for again at the next call, so a server started before the first ingest works once
    it has happened."""

    def __init__(self, archive_dir: Path):
        self.archive_dir = archive_dir
        self._repo: Repository | None = None
        self._sessions: OrderedDict[int, object] = OrderedDict()  # version id -> LoadedSession

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = Repository(self.archive_dir, readonly=True)
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _threshold(self, given: int | None) -> int:
        if given is not None:
            if given < 1:
                raise UsageError(f"threshold must be 1 or more, not {given}")
            return given
        if not self.archive_dir.is_dir():
            return DEFAULT_THRESHOLD
        return load_settings(self.archive_dir).context_threshold

    def _load(self, session: str, from_profile: str | None, version: int | str | None):
        """A parsed session; the last few are kept (versions are write-once), so paging
        through a long session parses it once. ``version``: a number, a set-aside copy's
        label (a1, …) or None for the newest, as the CLI takes it."""
        copy = self.repo.pick_copy(session, from_profile)
        v = self.repo.pick_version(copy.file, version)
        cached = self._sessions.get(v.id)
        if cached is not None:
            self._sessions.move_to_end(v.id)
            cached.others = copy.others
            return cached
        loaded = load_session(self.repo, copy.file.session_id, from_profile=copy.address,
                              version=self.repo.version_ref(copy.file, v))
        loaded.others = copy.others
        self._sessions[v.id] = loaded
        while len(self._sessions) > 4:
            self._sessions.popitem(last=False)
        return loaded

    # -- search ------------------------------------------------------------------------------

    def search(self, query: str, *, agent=None, profile=None, project=None, branch=None, model=None,
               tool=None, since=None, until=None, session=None, group_sessions=False,
               limit=10, offset=0, budget_tokens=DEFAULT_BUDGET) -> str:
        budget = _check_budget(budget_tokens)
        _check_rows(limit, offset)
        filters = _filters(profile, project, branch, model, tool, since, until, agent)
        if session:
            filters.session_ids = [self.repo.session_copies(session)[0].session_id]
        hits = search(self.repo, query, filters, limit=offset + limit + 1,
                      group_sessions=group_sessions, redact=True)
        more = len(hits) > offset + limit
        rows = [_masked(_hit_row(h)) for h in hits[offset : offset + limit]]
        head = {"offset": offset}
        if not rows:
            head["note"] = (
                "no match" if offset == 0 else f"no hits past the first {offset}"
            ) + "; try fewer words, OR between alternatives, or drop a filter"
        return _page(head, "hits", rows, budget, offset=offset, more=more,
                     next_call="more hits: call search again with offset={offset}")

    # -- sessions ----------------------------------------------------------------------------

    def list_sessions(self, *, agent=None, profile=None, project=None, branch=None, model=None,
                      tool=None, since=None, until=None, name=None, bloated=False, threshold=None,
                      sort="recent", limit=20, offset=0, budget_tokens=DEFAULT_BUDGET) -> str:
        budget = _check_budget(budget_tokens)
        _check_rows(limit, offset)
        if sort not in ("recent", "context"):
            raise UsageError(f"sort must be 'recent' or 'context', not {sort!r}")
        filters = _filters(profile, project, branch, model, tool, since, until, agent)
        filters.name = name
        if bloated:
            filters.min_context = self._threshold(threshold)
        found = list_sessions(self.repo, filters, offset + limit + 1, sort=sort)
        more = len(found) > offset + limit
        rows = [_masked(_session_row(r)) for r in found[offset : offset + limit]]
        head = {"sort": sort, "offset": offset}
        if bloated:
            head["bloated_past_tokens"] = filters.min_context
        if not rows:
            head["note"] = "no archived session matches"
        return _page(head, "sessions", rows, budget, offset=offset, more=more,
                     next_call="more sessions: call list_sessions again with offset={offset}")

    # -- reading a session ------------------------------------------------------------------

    def read_session(self, session: str, *, turn=None, start=None, end=None, handoff=False,
                     tool_output=False, from_profile=None, version=None,
                     budget_tokens=DEFAULT_BUDGET) -> str:
        budget = _check_budget(budget_tokens)
        if handoff and (turn is not None or start is not None or end is not None):
            raise UsageError("a hand-off covers the whole session",
                             hint="drop turn/start/end, or drop handoff")
        loaded = self._load(session, from_profile, version)
        head = _masked(_session_head(loaded) | _versions_head(self.repo, loaded.file))
        if handoff:
            return _handoff(loaded, head, budget)
        n = len(loaded.session.turns)
        first, last = _turn_range(head["session_id"], n, turn, start, end)
        return _turns_page(loaded, head, first, last, budget, tool_output)

    # -- context -----------------------------------------------------------------------------

    def session_context(self, session: str, *, threshold=None, from_profile=None, version=None,
                        budget_tokens=DEFAULT_BUDGET) -> str:
        budget = _check_budget(budget_tokens)
        loaded = self._load(session, from_profile, version)
        report = context_report(loaded, self._threshold(threshold))
        turns = report.pop("turns")
        report["turn_count"] = len(turns)
        report["profiles"] = [loaded.file.profile, *loaded.others]
        report = _masked(report)
        room = budget * 4 - len(_dumps(report)) - 120
        points = [[t["turn"], t["context_tokens"]] for t in turns]
        step = 1
        while points[::step] and len(_dumps(points[::step])) > room and step < len(points):
            step *= 2
        report["growth"] = points[::step] if len(_dumps(points[::step])) <= room else []
        report["growth_note"] = (
            "[turn, context tokens] for every turn" if step == 1
            else f"[turn, context tokens] every {step} turns (a larger budget_tokens shows more)"
        )
        return _dumps(report)


def _filters(profile, project, branch, model, tool, since, until, agent=None) -> SearchFilters:
    return SearchFilters(
        agent=check_agent(agent or None),
        profile=profile or None,
        project=project or None,
        branch=branch or None,
        model=model or None,
        tool=tool or None,
        since=parse_when(since) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
    )


def _hit_row(h: dict) -> dict:
    row = {
        "session_id": h["session_id"],
        "turn": h["turn"],
        "date": h["timestamp"],
        "profile": h["profile"],
        "project": h["project"],
        "title": h["title"],
        "snippet": h["snippet"],
    }
    if len(h["profiles"]) > 1:
        row["profiles"] = h["profiles"]
    for flag in ("gone_from_source", "prompt_only", "diverged"):
        if h.get(flag):
            row[flag] = True
    if h.get("agent_id"):
        row["agent_id"] = h["agent_id"]
    return row


def _session_row(r: dict) -> dict:
    row = {
        "session_id": r["session_id"],
        "name": r["name"],
        "title": r["title"],
        "profiles": r["profiles"],
        "project": r["project"],
        "branch": r["branch"],
        "started": r["started"],
        "ended": r["ended"],
        "turns": r["turns"],
        "context_tokens": r["context_tokens"],
        "peak_context_tokens": r["peak_context_tokens"],
        "compactions": r["compactions"],
    }
    if r["context_estimated"]:
        row["context_estimated"] = True
    for flag in ("gone_from_source", "diverged"):
        if r.get(flag):
            row[flag] = True
    return {k: v for k, v in row.items() if v is not None}


def _session_head(loaded) -> dict:
    data = session_dict(loaded, [])
    head = {
        "session_id": data["session_id"] or loaded.file.session_id,
        "profile": data["profile"],
        "project": data["project"],
        "branch": data["branch"],
        "title": data["custom_title"] or data["title"],
        "started": data["started"],
        "ended": data["ended"],
        "turn_count": data["turn_count"],
        "version": data["version"],
        "set_aside_at": data["set_aside_at"],
    }
    if loaded.others:
        head["other_profiles"] = loaded.others
    if data["gone_from_source"]:
        head["gone_from_source"] = True
    return {k: v for k, v in head.items() if v is not None}


def _versions_head(repo, file) -> dict:
    """What ``version`` can read of a copy: how many numbered versions it has, and the copies
    Claude Code set aside (by label, with when), as `archive versions` lists them."""
    versions = repo.session_versions(file)
    head: dict = {"version_count": sum(not a.set_aside for a in versions)}
    asides = [{"version": a.label, "set_aside_at": a.set_aside_at}
              for a in versions if a.set_aside]
    if asides:
        head["set_aside_copies"] = asides
    return {k: v for k, v in head.items() if v}


def _turn_range(session_id: str, n: int, turn, start, end) -> tuple[int, int]:
    """1-based inclusive bounds; a negative start counts from the end (-3: the last three)."""
    if turn is not None and (start is not None or end is not None):
        raise UsageError("give turn, or start/end, not both")
    if turn is not None:
        start = end = turn
    if n == 0:
        if start is None and end is None:
            return 1, 0
        raise UsageError(f"session {session_id} has no turns")
    first = 1 if start is None else (n + start + 1 if start < 0 else start)
    last = n if end is None else end
    for value in (first, last):
        if not 1 <= value <= n:  # the words of `archive show --turn`
            raise UsageError(f"session {session_id} has no turn {value}",
                             hint=f"it has {plural(n, 'turn')}")
    if first > last:
        raise UsageError(f"start {first} is after end {last}")
    return first, last


def _turn_data(t, tool_output: bool) -> dict:
    calls = []
    for c in t.tool_calls:
        call = f"{c.name} {c.key_argument}".strip() + (" (error)" if c.is_error else "")
        if tool_output:
            calls.append({"call": call, "output": c.output})
        else:
            calls.append(call)
    data = {"turn": t.number, "time": iso_utc(t.timestamp), "prompt": t.prompt,
            "answer": t.answer, "tools": calls}
    return {k: v for k, v in data.items() if v not in (None, [], "")} | {"turn": t.number}


def _fit_turn(data: dict, room: int) -> dict:
    """One turn cut to ``room`` characters of JSON. Prompt, answer and tool outputs share one
    length limit; when even short texts leave no room for every tool call, only the first
    tool calls are listed, with a count of the rest."""
    if len(_dumps(data)) <= room:
        return data
    out = dict(data, cut=True)
    calls = out.get("tools", [])

    def at(limit: int, keep: int) -> dict:
        d = dict(out)
        for key in ("prompt", "answer"):
            if d.get(key):
                d[key] = _cut(d[key], limit)
        if calls:
            kept = [
                dict(c, call=_cut(c["call"], max(limit, 40)), output=_cut(c["output"], limit))
                if isinstance(c, dict) else _cut(c, max(limit, 40))
                for c in calls[:keep]
            ]
            if keep < len(calls):
                kept.append(f"… {len(calls) - keep} more tool calls")
            d["tools"] = kept
        return d

    def fits(limit: int, keep: int) -> bool:
        return len(_dumps(at(limit, keep))) <= room

    def largest(lo: int, hi: int, ok) -> int:  # the largest value in [lo, hi] with ok(value)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
        return lo

    floor = min(200, room // 8)  # texts keep at least this much before tool calls give way
    keep = len(calls)
    if not fits(floor, keep):
        keep = largest(0, len(calls), lambda k: fits(floor, k))
    longest = max([len(out.get("prompt") or ""), len(out.get("answer") or ""),
                   *(len(c["output"]) for c in calls if isinstance(c, dict))])
    limit = largest(0, longest, lambda n: fits(n, keep))
    fitted = at(limit, keep)
    if len(_dumps(fitted)) > room:  # even empty texts are too long: say only what was done
        fitted = {"turn": out["turn"], "cut": True, "prompt": _cut(out.get("prompt"), 40),
                  "tools": [f"{len(calls)} tool calls"]}
    return fitted


def _turns_page(loaded, head: dict, first: int, last: int, budget: int, tool_output: bool) -> str:
    """Whole turns from ``first`` while they fit; a turn that does not fit whole is cut when
    it comes first or when at least half the budget is left for it, and the page ends there."""
    turns = loaded.session.turns
    shown: list[dict] = []
    size = len(_dumps(head | {"turns": [], "next": {"start": last, "end": last},
                              "note": "x" * 200}))
    room = budget * 4
    for t in turns[first - 1 : last]:
        data = _masked(_turn_data(t, tool_output))
        whole = len(_dumps(data)) + 1
        if size + whole > room:
            left = room - size - 1
            if shown and left < room // 2:
                break
            data = _fit_turn(data, left)
        shown.append(data)
        size += len(_dumps(data)) + 1
        if data.get("cut"):
            break
    out = head | {"turns": shown}
    upto = shown[-1]["turn"] if shown else first - 1
    notes = []
    if shown and shown[-1].get("cut"):
        notes.append(f"turn {upto} was cut to fit {budget} tokens; read it alone (turn={upto}) "
                     "with a larger budget_tokens to see more of it")
    if upto < last:
        out["next"] = {"start": upto + 1, "end": last}
        notes.append(f"turns {upto + 1}–{last} not shown: call read_session with "
                     f"start={upto + 1}")
    if notes:
        out["note"] = "; ".join(notes)
    text = _dumps(out)
    if _tokens(text) > budget and len(shown) > 1:  # the estimate above was short: one less
        return _turns_page(loaded, head, first, shown[-2]["turn"], budget, tool_output)
    return text


def _handoff(loaded, head: dict, budget: int) -> str:
    overhead = len(_dumps(head | {"handoff": "", "notes": []})) + 200
    inner = max(budget - estimate_tokens(overhead), 100)
    text, notes = handoff_markdown(loaded, inner, masked=Counter())
    out = head | {"handoff": text, "notes": notes}
    # JSON escapes (newlines, quotes) grow the text; and a first and last prompt larger than
    # the budget do not shrink: cut the document itself then.
    while _tokens(_dumps(_masked(out))) > budget and out["handoff"]:
        over = len(_dumps(out)) - budget * 4
        keep = max(len(out["handoff"]) - over - 64, 0)
        out["handoff"] = _cut(out["handoff"], keep) if keep else ""
        if "cut to fit" not in " ".join(out["notes"]):
            out["notes"] = [*out["notes"], f"cut to fit {budget} tokens"]
    return _dumps(_masked(out))


# -- errors ------------------------------------------------------------------------------------


def error_line(exc: BaseException) -> str:
    """The CLI's one-line message for ``exc`` (and, when ambiguous, the candidates), masked."""
    if isinstance(exc, ArchiveError):
        line = f"error: {exc}" + (f" ({exc.hint})" if exc.hint else "")
        if isinstance(exc, AmbiguousSession):
            for c in exc.candidates:
                line += (f"\n  {c['session_id']}  {c['profile']}  {c['project'] or '-'}  "
                         f"{(c['date'] or '')[:10]}  {c['title'] or ''}")
        return outward(line, terminal=True)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb else "?"
    # The message of a bug may quote transcript text: name only the exception and its place.
    return (f"error: internal error: {type(exc).__name__} at {where} "
            "(set ARCHIVE_DEBUG=1 for the traceback on the server's stderr and report it)")


# pydantic quotes a rejected argument cut in its middle ("sk-ant-api03-aB3…Qx7 AA"): a cut
# secret no longer has its shape, so the quote goes whole.
_QUOTED_INPUT = re.compile(r"input_value=.*?(?=, input_type=)", re.S)


def _sdk_error(value):
    """An error the SDK wrote (a text, or the result holding it), as it may leave: the caller's
    rejected value not quoted, masked, its control characters shown."""
    if isinstance(value, str):
        return outward(_QUOTED_INPUT.sub("input_value=(not shown)", value), terminal=True)
    if isinstance(value, dict):
        return {k: _sdk_error(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sdk_error(v) for v in value]
    return value


# -- the protocol ------------------------------------------------------------------------------

INSTRUCTIONS = """\
The user's archive of past Claude Code sessions, from every profile (~/.claude and each CCS \
instance), and of Codex CLI (agent="codex" keeps only those), including sessions Claude Code \
has already deleted. Use it when the user refers to \
earlier work ("how did we fix…", "what did we decide about…", "in the other account"). Start \
with search; read a hit with read_session(session, start=turn); list_sessions browses by \
project, date or size. Results are JSON, bounded by budget_tokens (default 4000), with \
"next" telling how to get more. Credentials are always masked as [REDACTED:<kind>]."""

SEARCH_DOC = """\
Full-text search over every archived turn of every profile, best match first.

Query syntax (Whoosh): words (all must match), "exact phrases", OR, NOT, parentheses, and \
field:term with fields prompt, answer, thinking, tool_input, tool_output, title, profile, \
project, branch, models, tools, files. Words split at punctuation (jwt finds jwt.decode()). \
A match in a prompt or title ranks above one in an answer, above tool I/O; newer wins ties.

Returns JSON {"hits": [{session_id, turn, date, profile, project, title, snippet, …}], \
"next": {"offset": N}} — a snippet of ~200 characters per hit. To read the conversation \
around a hit call read_session(session=session_id, start=turn). "gone_from_source": Claude \
Code deleted it, the archive kept it; "prompt_only": only the prompt survived. \
group_sessions=true gives one hit per session (its best turn). agent="claude" or "codex" \
keeps one agent's sessions (Claude Code's, Codex CLI's)."""

SESSIONS_DOC = """\
List archived sessions (all profiles), most recently active first, or largest context first \
with sort="context". bloated=true keeps sessions whose context is past threshold tokens \
(default 100,000). Returns JSON {"sessions": [{session_id, name, title, profiles, project, \
branch, started, ended, turns, context_tokens, peak_context_tokens, compactions, …}], \
"next": {"offset": N}}. Use it to browse by project, date or agent (claude, codex); use \
search to find a topic."""

READ_DOC = """\
Read one archived session (session id, unique id prefix, or its /rename name): one turn \
(turn=N), a range (start=A, end=B; start=-3 reads the last three turns), or, with \
handoff=true, a hand-off summary of the whole session (every prompt, each turn's last answer, \
files touched; middle turns shortened to fit). Each turn has prompt, answer and one line per \
tool call; tool_output=true adds the tools' output. Whole turns are returned while they fit \
budget_tokens; "next": {"start": N} says where to continue. A very long single turn is cut \
(marked "cut"). The head gives version_count and, when Claude Code set old copies of the \
transcript aside, set_aside_copies (a1, a2…: pass one as version to read it). Use after search \
to see what was said and done."""

CONTEXT_DOC = """\
How large a session's context is: context_tokens now, peak, compactions (turn, trigger, \
tokens before), the first turn past threshold, the suggested fork turn (the last turn under \
it) with ready commands (a fork with archive restore, where the session's agent can fork; \
fork_unavailable says why not; a hand-off with archive export --budget), and the growth \
turn by turn ([turn, tokens], sampled to fit budget_tokens)."""


def build_server(archive_dir: Path):
    """The MCP server object with the four tools, over one :class:`ArchiveTools`."""
    from typing import Annotated, Literal

    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import Field

    from . import __version__

    tools = ArchiveTools(archive_dir)
    # One thread runs every library call: calls are serialised (SQLite connections and the
    # Whoosh searcher are not shared across threads) and the event loop stays free.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-mcp")
    debug = bool(os.environ.get("ARCHIVE_DEBUG"))
    async def mask_errors(ctx, call_next):
        """The SDK's own error texts (a bad argument type, an unknown tool) may quote what the
        caller sent: they take the outward step too, like everything else the server returns."""
        result = await call_next(ctx)
        if isinstance(result, CallToolResult) and result.is_error:
            result = result.model_copy(update={"content": [
                c.model_copy(update={"text": _sdk_error(c.text)}) if c.type == "text" else c
                for c in result.content
            ]})
        elif isinstance(result, dict) and result.get("isError"):
            result = _sdk_error(result)
        return result

    server = MCPServer(
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="DEBUG" if debug else "WARNING",
        middleware=[mask_errors],
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    async def run(tool_name: str, fn, *args, **kwargs):
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(worker, lambda: fn(*args, **kwargs))
        except Exception as exc:
            if debug:
                log.exception("tool %s failed", tool_name)
            line = error_line(exc)
            log.warning("%s: %s", tool_name, line.splitlines()[0])
            # Returned, not raised: a raised ToolError reaches the model behind the SDK's own
            # prefix, and the message is meant to read exactly as the CLI's.
            return CallToolResult(content=[TextContent(type="text", text=line)], is_error=True)
        log.info("%s: %d characters in %.1f ms", tool_name, len(text),
                 (time.perf_counter() - started) * 1000)
        return text

    Budget = Annotated[int, Field(description=(
        f"Most tokens the result may take (characters / 4), {MIN_BUDGET}–{MAX_BUDGET}."))]
    Profile = Annotated[str | None, Field(description="Only this profile (e.g. default, work).")]
    Agent = Annotated[str | None, Field(description=(
        f"Only sessions of this agent: {' or '.join(AGENTS)} (Claude Code, Codex CLI)."))]
    Project = Annotated[str | None, Field(description="Project path contains this (any case).")]
    Branch = Annotated[str | None, Field(description="Only this git branch.")]
    Model = Annotated[str | None, Field(description="Model name contains this, e.g. opus.")]
    Tool = Annotated[str | None, Field(description="A tool the session used, e.g. Bash.")]
    Since = Annotated[str | None, Field(
        description="From this date: 2026-11-01, yesterday, '3 days ago', 2w, ISO-8601.")]
    Until = Annotated[str | None, Field(
        description="Up to this date (a bare date includes that day).")]
    Offset = Annotated[int, Field(description="Skip this many rows (the 'next' of a result).")]
    SessionRef = Annotated[str, Field(
        description="Session id, a unique prefix of it, or its /rename name.")]
    FromProfile = Annotated[str | None, Field(
        description="Read the copy of this profile when several profiles hold the session.")]
    Version = Annotated[int | str | None, Field(
        description="Version of the transcript (1 = oldest), or a copy Claude Code set aside "
        "by its label (a1, a2…, read_session's set_aside_copies) [default: newest].")]
    Threshold = Annotated[int | None, Field(
        description="Context size in tokens that counts as bloated [default: 100000].")]

    @server.tool(name="search", description=SEARCH_DOC, annotations=read_only,
                 structured_output=False)
    async def search_tool(
        query: Annotated[str, Field(description="What to look for, in the syntax above.")],
        agent: Agent = None,
        profile: Profile = None,
        project: Project = None,
        branch: Branch = None,
        model: Model = None,
        tool: Tool = None,
        since: Since = None,
        until: Until = None,
        session: Annotated[str | None, Field(
            description="Only this session (id, unique prefix, or name).")] = None,
        group_sessions: Annotated[bool, Field(
            description="One hit per session (its best turn).")] = False,
        limit: Annotated[int, Field(description=f"Hits to return, 1–{MAX_ROWS}.")] = 10,
        offset: Offset = 0,
        budget_tokens: Budget = DEFAULT_BUDGET,
    ) -> str:
        return await run("search", tools.search, query, agent=agent, profile=profile,
                         project=project, branch=branch, model=model, tool=tool, since=since,
                         until=until, session=session, group_sessions=group_sessions, limit=limit,
                         offset=offset, budget_tokens=budget_tokens)

    @server.tool(name="list_sessions", description=SESSIONS_DOC, annotations=read_only,
                 structured_output=False)
    async def sessions_tool(
        agent: Agent = None,
        profile: Profile = None,
        project: Project = None,
        branch: Branch = None,
        model: Model = None,
        tool: Tool = None,
        since: Since = None,
        until: Until = None,
        name: Annotated[str | None, Field(
            description="Custom name (/rename) contains this.")] = None,
        bloated: Annotated[bool, Field(
            description="Only sessions whose context is past threshold.")] = False,
        threshold: Threshold = None,
        sort: Annotated[Literal["recent", "context"], Field(
            description="recent: last active first; context: largest context first.")] = "recent",
        limit: Annotated[int, Field(description=f"Sessions to return, 1–{MAX_ROWS}.")] = 20,
        offset: Offset = 0,
        budget_tokens: Budget = DEFAULT_BUDGET,
    ) -> str:
        return await run("list_sessions", tools.list_sessions, agent=agent, profile=profile,
                         project=project, branch=branch, model=model, tool=tool, since=since,
                         until=until, name=name, bloated=bloated, threshold=threshold, sort=sort,
                         limit=limit, offset=offset, budget_tokens=budget_tokens)

    @server.tool(name="read_session", description=READ_DOC, annotations=read_only,
                 structured_output=False)
    async def read_tool(
        session: SessionRef,
        turn: Annotated[int | None, Field(description="Only this turn (1-based).")] = None,
        start: Annotated[int | None, Field(
            description="First turn to read (1-based; negative counts from the end).")] = None,
        end: Annotated[int | None, Field(description="Last turn to read (inclusive).")] = None,
        handoff: Annotated[bool, Field(
            description="A hand-off summary of the whole session instead of turns.")] = False,
        tool_output: Annotated[bool, Field(
            description="Include each tool call's output (masked, capped).")] = False,
        from_profile: FromProfile = None,
        version: Version = None,
        budget_tokens: Budget = DEFAULT_BUDGET,
    ) -> str:
        return await run("read_session", tools.read_session, session, turn=turn, start=start,
                         end=end, handoff=handoff, tool_output=tool_output,
                         from_profile=from_profile, version=version, budget_tokens=budget_tokens)

    @server.tool(name="session_context", description=CONTEXT_DOC, annotations=read_only,
                 structured_output=False)
    async def context_tool(
        session: SessionRef,
        threshold: Threshold = None,
        from_profile: FromProfile = None,
        version: Version = None,
        budget_tokens: Budget = DEFAULT_BUDGET,
    ) -> str:
        return await run("session_context", tools.session_context, session, threshold=threshold,
                         from_profile=from_profile, version=version, budget_tokens=budget_tokens)

    return server, tools, worker


def serve(archive_dir: Path | None) -> None:
    """Run the server on stdin/stdout until the client closes them."""
    adir = resolve_archive_dir(archive_dir)
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ArchiveError("the MCP server needs the mcp package", hint=MCP_EXTRA_HINT) from None
    server, tools, worker = build_server(adir)
    log.info("serving %s over stdio", adir)
    try:
        server.run("stdio")
    finally:
        worker.submit(tools.close).result()  # SQLite: closed on the thread that opened it
        worker.shutdown()


def client_config(archive_dir: Path | None = None) -> dict:
    """The ``mcpServers`` block of a ``.mcp.json`` (or ``--mcp-config`` file) that starts this
    installation's server: the ``archive`` script being run, by absolute path (or this Python
    with ``-m archive``), so the client need not have the right PATH."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "__main__.py":  # python -m archive
        command, args = sys.executable, ["-m", "archive", "mcp"]
    elif argv0.name == "archive" and argv0.is_file():
        command, args = str(argv0.resolve()), ["mcp"]
    else:
        command, args = shutil.which("archive") or "archive", ["mcp"]
    if archive_dir is not None:
        args += ["--archive-dir", str(Path(archive_dir).expanduser().resolve())]
    return {"mcpServers": {SERVER_NAME: {"type": "stdio", "command": command, "args": args}}}


__all__ = ["ArchiveTools", "build_server", "client_config", "error_line", "serve"]
