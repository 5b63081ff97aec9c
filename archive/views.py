"""What the read commands show of the archive: the sessions listing, one session loaded for
display, how two copies of a session differ, and the archive's counts.

The listing and the counts are answered from the catalog's derived ``session_meta`` table (no
transcript is re-read, no Whoosh import); a loaded session is parsed from the chosen version in
the archive. Every front-end (CLI, exports, context) takes these shapes as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from .addresses import Place, addresses
from .catalog import FileRow, VersionRow
from .dates import iso_utc
from .filters import SearchFilters
from .repo import Repository

if TYPE_CHECKING:  # parsing (indexer, transcript) is imported by the views that parse: not by
    # `sessions` or `search`, whose start-up is most of their time
    from .transcript import Session, Turn


def list_sessions(
    repo: Repository, filters: SearchFilters, limit: int | None = None, *, sort: str = "recent"
) -> list[dict]:
    """Main sessions as ``sessions --json`` rows: newest first, or largest context first."""
    return sessions_page(repo, filters, limit, sort=sort)[0]


def sessions_page(
    repo: Repository, filters: SearchFilters, limit: int | None = None, *, sort: str = "recent"
) -> tuple[list[dict], int]:
    """The first ``limit`` rows of :func:`list_sessions`, and how many sessions match in all
    (so a listing can say what it left out)."""
    # One row per session: the newest copy stands for all, which are listed in "profiles".
    unique, total = repo.catalog.session_page(filters, limit, by_context=sort == "context")
    from .forks import fork_links

    copies = copy_info(repo, [r["session_id"] for r in unique], page_rows=unique)
    forks = fork_links(repo.catalog, unique)
    no_fork = {"forked_from": None, "forked_turns": None}
    return [session_row(r) | copies[r["session_id"]] | forks.get(r["session_id"], no_fork)
            for r in unique], total


NAMED_PAGE_MAX = 1000  # copy_info names a page's sessions in SQL up to this many
# Main sessions whose id more than one transcript holds (copies), for copy_info.
_HELD_TWICE = (
    "AND m.session_id IN (SELECT k.session_id FROM session_meta k JOIN files g ON g.id = k.file_id "
    "WHERE g.kind = 'session' GROUP BY k.session_id HAVING COUNT(*) > 1)"
)


def copy_info(
    repo: Repository, session_ids: list[str], page_rows: list[dict] | None = None
) -> dict[str, dict]:
    """For each session: every profile holding a copy, each copy's address (``--from``), and
    whether the copies diverged.

    ``page_rows`` (the listing's rows, one copy of each session) saves reading the catalog
    again for every session held once, nearly all of them: only the others' copies are read."""
    info: dict[str, dict] = {}
    rows_by_id: dict[str, list[dict]] = {}
    for sid in session_ids:
        rows_by_id.setdefault(sid, [])
    if session_ids:
        marks = ",".join("?" for _ in rows_by_id)
        where, params = f"AND m.session_id IN ({marks})", tuple(rows_by_id)
        if page_rows is not None:
            where += f" {_HELD_TWICE}"
            if len(rows_by_id) > NAMED_PAGE_MAX:  # every session held twice costs less than
                where, params = _HELD_TWICE, ()  # naming a long page's (the rest is dropped)
        for r in repo.catalog.session_rows(where, params):
            if r["session_id"] in rows_by_id:
                rows_by_id[r["session_id"]].append(r)
        for r in page_rows or ():
            sid = r["session_id"]
            if sid is not None and rows_by_id.get(sid) == []:
                rows_by_id[sid].append(r)  # held once: this row is its only copy
    for sid, rows in rows_by_id.items():
        if len(rows) == 1:  # held once (nearly every session): its profile is its address
            r = rows[0]
            info[sid] = {"profiles": [r["profile"]], "addresses": [r["profile"]],
                         "diverged": False, "copies": [_copy(r, r["profile"])]}
            continue
        rows.sort(key=lambda r: (r["profile"], r["project"] or "", r["relpath"]))
        named = addresses([Place(r["profile"], r["project"], r["relpath"]) for r in rows])
        diverged = False
        if len({r["sha256"] for r in rows}) > 1:
            versions = [repo.catalog.version(r["version_id"]) for r in rows]
            diverged = repo.copies_diverged(versions)
        info[sid] = {
            "profiles": [r["profile"] for r in rows],
            # Where each copy is, as --from takes it: two copies in one profile differ here.
            "addresses": named,
            "diverged": diverged,
            "copies": [_copy(r, address) for r, address in zip(rows, named, strict=True)],
        }
    return info


def _copy(r: dict, address: str) -> dict:
    return {
        "profile": r["profile"],
        "address": address,
        "project": r["project"],
        "ended": r["ended"],
        "turns": r["turns"],
        "sha256": r["sha256"],
        "gone_from_source": r["gone_snapshot"] is not None,
    }


def version_row(a, profile: str) -> dict:
    """A version of a session (``Repository.session_versions``) as `archive versions --json`
    lists it; the web's versions page shows the same."""
    return {"version": a.label, "set_aside": a.set_aside, "sha256": a.version.sha256,
            "size": a.version.size, "snapshot": a.version.snapshot_id,
            "captured_at": a.version.captured_at, "set_aside_at": a.set_aside_at,
            "profile": profile, "path": a.file.relpath}


def session_row(r: dict) -> dict:
    return {
        "session_id": r["session_id"],
        "agent": r.get("agent") or "claude",
        "profile": r["profile"],
        "project": r["project"],
        "started": r["started"],
        "ended": r["ended"],
        "turns": r["turns"],
        "title": r["title"],
        "name": r["custom_title"],
        "gone_from_source": r["gone_snapshot"] is not None,
        "branch": r["branch"],
        "models": orjson.loads(r["models"]),
        "path": r["relpath"],
        "context_tokens": r["context_tokens"],
        "peak_context_tokens": r["peak_context_tokens"],
        "compactions": r["compactions"],
        "context_estimated": bool(r["context_estimated"]),
    }


@dataclass
class LoadedSession:
    file: FileRow
    version: VersionRow
    session: Session
    others: list[str]  # the addresses of the other copies (archive.addresses)
    parts: dict[str, int] = field(default_factory=dict)  # what else the session has, see below
    address: str = ""  # this copy's address: its profile, or PROFILE:PROJECT
    # The version as `archive versions` names it (3, or a set-aside copy's label a1) and, for
    # a set-aside copy, when Claude Code set it aside; None: ``version.seq`` names it.
    label: int | str | None = None
    set_aside_at: str | None = None


# The parts of a session besides its transcript, by where Claude Code keeps them.
_PART_FOLDERS = ("subagents", "tool-results", "uploads", "tasks")


def session_parts(repo: Repository, file: FileRow) -> dict[str, int]:
    """Files archived with a session, by kind: sub-agent transcripts, tool results, uploads,
    tasks, other files in its folder, file-history snapshots (/rewind), set-aside copies."""
    parts: dict[str, int] = {}
    sid = file.session_id or ""
    folder = file.relpath.rsplit("/", 1)[0] + f"/{sid}/"
    for f in repo.catalog.files_of_session(file.profile, sid):
        if f.id == file.id:
            continue
        if f.kind in ("file-history", "set-aside"):
            key = f.kind
        elif f.relpath.startswith(folder):
            top = f.relpath[len(folder):].split("/", 1)[0]
            if top == "subagents":  # transcripts, and their .meta.json, journal, workflows/
                key = "subagents" if f.kind == "subagent" else "subagent-meta"
            else:
                key = top if top in _PART_FOLDERS else "other"
        else:
            continue  # the same id in another project folder: a copy, not a part
        parts[key] = parts.get(key, 0) + 1
    return parts


def load_session(
    repo: Repository,
    ref: str,
    *,
    from_profile: str | None = None,
    version: int | str | None = None,
    tool_output_cap: int | None = None,
) -> LoadedSession:
    """A session parsed from one version: its number, a set-aside copy's label (``a1``), or
    None for the newest (see :meth:`Repository.pick_version`); tool output cut at
    ``tool_output_cap`` (default: the transcript's own cap)."""
    from .indexer import parse_version
    from .transcript import DEFAULT_TOOL_OUTPUT_CAP

    copy = repo.pick_copy(ref, from_profile)
    v = repo.pick_version(copy.file, version)
    cap = DEFAULT_TOOL_OUTPUT_CAP if tool_output_cap is None else tool_output_cap
    session = parse_version(repo, copy.file, v, tool_output_cap=cap)
    named = repo.version_of(copy.file, v)
    return LoadedSession(copy.file, v, session, copy.others, session_parts(repo, copy.file),
                         copy.address, named.label, named.set_aside_at)


def turn_dict(turn: Turn, *, with_tool_output: bool = False) -> dict:
    """A turn as `show --json` prints it; ``steps`` gives the order of answer text blocks
    ({"text": ...}) and tool calls ({"tool_call": index into tool_calls})."""
    return {
        "turn": turn.number,
        "timestamp": iso_utc(turn.timestamp),
        "prompt": turn.prompt,
        "answer": turn.answer,
        "thinking": turn.thinking,
        "models": turn.models,
        "context_tokens": turn.context_tokens,
        "tool_calls": [
            {
                "name": c.name,
                "key_argument": c.key_argument,
                "output_size": c.output_size,
                "is_error": c.is_error,
                **({"input": c.input_text, "output": c.output} if with_tool_output else {}),
            }
            for c in turn.tool_calls
        ],
        "steps": [
            {"text": step} if isinstance(step, str) else {"tool_call": step}
            for step in turn.steps
        ],
    }


def session_dict(
    loaded: LoadedSession, turns: list[Turn] | None = None, *, with_tool_output: bool = False
) -> dict:
    s = loaded.session
    return {
        "session_id": s.session_id,
        "profile": loaded.file.profile,
        "path": loaded.file.relpath,
        "version": loaded.version.seq if loaded.label is None else loaded.label,
        "set_aside_at": loaded.set_aside_at,
        "gone_from_source": loaded.file.gone_snapshot is not None,
        "project": s.project,
        "branch": s.git_branch,
        "title": s.title,
        "custom_title": s.custom_title,
        "claude_code_versions": s.versions,
        "models": s.models,
        "started": iso_utc(s.started),
        "ended": iso_utc(s.ended),
        "tools": s.tools,
        "files": s.files,
        "context_tokens": s.context_tokens,
        "peak_context_tokens": s.peak_context_tokens,
        "context_estimated": s.context_estimated,
        "compactions": [
            {"turn": c.turn, "trigger": c.trigger, "pre_tokens": c.pre_tokens}
            for c in s.compactions
        ],
        "bad_lines": s.bad_lines,
        "parts": loaded.parts,
        "turn_count": len(s.turns),
        "turns": [turn_dict(t, with_tool_output=with_tool_output)
                  for t in (s.turns if turns is None else turns)],
    }


def _turn_signature(turn: Turn) -> tuple:
    """What makes two copies of a turn the same conversation (not the same bytes: a restored
    copy may carry another cwd)."""
    return (
        turn.prompt,
        turn.answer,
        turn.thinking,
        tuple((c.name, c.input_text) for c in turn.tool_calls),
    )


def diff_copies(repo: Repository, ref: str, profiles: list[str] | None = None) -> dict:
    """From which turn two copies of one session differ. ``profiles``: two addresses
    (``PROFILE`` or ``PROFILE:PROJECT``, archive.addresses)."""
    from .errors import UsageError
    from .indexer import parse_version
    from .transcript import DEFAULT_TOOL_OUTPUT_CAP

    files = repo.session_copies(ref)
    named = dict(zip((f.id for f in files), addresses(repo.places(files)), strict=True))
    if profiles:
        if len(profiles) != 2:
            raise UsageError("give exactly two copies to compare: --from A --from B")
        files = [repo.copy_at(files, p) for p in profiles]
        if files[0].id == files[1].id:
            raise UsageError(f"{profiles[0]!r} and {profiles[1]!r} name the same copy",
                             hint="copies are at: " + ", ".join(sorted(named.values())))
    elif len(files) != 2:
        have = ", ".join(sorted(named.values()))
        raise UsageError(
            f"session {files[0].session_id} has "
            + (f"{len(files)} copies" if len(files) > 1 else "one copy") + f" ({have})",
            hint="pick two with --from A --from B" if len(files) > 2 else "nothing to compare",
        )
    loaded = []
    for f in files:
        v = repo.pick_version(f)
        loaded.append((f, v, parse_version(repo, f, v, tool_output_cap=DEFAULT_TOOL_OUTPUT_CAP)))
    (fa, va, a), (fb, vb, b) = loaded
    first = None
    for i in range(max(len(a.turns), len(b.turns))):
        if i >= len(a.turns) or i >= len(b.turns):
            first = i + 1
            break
        if _turn_signature(a.turns[i]) != _turn_signature(b.turns[i]):
            first = i + 1
            break
    return {
        "session_id": fa.session_id,
        "identical": va.sha256 == vb.sha256,
        "diverged": repo.copies_diverged([va, vb]),
        "first_differing_turn": first,
        "copies": [
            {
                "profile": f.profile,
                "address": named[f.id],
                "turns": len(s.turns),
                "last_change": iso_utc(s.ended),
                "sha256": v.sha256,
                "size": v.size,
                "at_first_difference": _side(s, first),
            }
            for f, v, s in loaded
        ],
    }


def _side(session: Session, number: int | None) -> dict | None:
    """One copy's side of the turn where the copies part: its prompt and answer, or None
    when this copy has no such turn (it stopped earlier)."""
    if number is None or number > len(session.turns):
        return None
    turn = session.turns[number - 1]
    return {"turn": number, "timestamp": iso_utc(turn.timestamp), "prompt": turn.prompt,
            "answer": turn.answer,
            "tool_calls": [f"{c.name} {c.key_argument}" for c in turn.tool_calls]}


def _dir_size(path) -> int:
    total = 0
    if path.is_dir():
        for p in path.rglob("*"):
            if p.is_file():
                total += p.stat().st_size
    return total


def stats(repo: Repository, bloated_threshold: int = 100_000) -> dict:
    """Counts by profile and project, and what the archive and its index weigh on disk."""
    by_profile = repo.catalog.session_counts("profile", bloated_threshold)
    overall = repo.catalog.session_counts("all", bloated_threshold)
    total = overall[0] if overall else {"sessions": 0, "turns": 0, "context_tokens": 0,
                                        "gone": 0, "bloated": 0}
    totals = repo.catalog.totals()
    catalog_bytes = sum(
        p.stat().st_size for p in repo.archive_dir.glob("catalog.sqlite*") if p.is_file()
    )
    return {
        "sessions": total["sessions"],  # copies in several profiles count once
        "turns": total["turns"],
        "context_tokens": total["context_tokens"],
        "gone_from_source": total["gone"],
        "bloated": total["bloated"],
        "bloated_threshold": bloated_threshold,
        "files": totals["files"],
        "versions": totals["versions"],
        "archive_bytes": totals["bytes_stored"] + catalog_bytes,
        "index_bytes": _dir_size(repo.index_dir),
        "by_profile": by_profile,
        "by_project": repo.catalog.session_counts("project", bloated_threshold),
    }


def prompt_only_session(repo: Repository, ref: str) -> dict | None:
    """What history.jsonl kept of a session whose transcript was never archived (a "prompt
    only" search hit): its prompts, dates and project, from every profile's history. None when
    no history names a session starting with ``ref``."""
    from .indexer import history_sessions

    found: dict[str, dict] = {}
    for file in repo.catalog.files_of_kind("history"):
        version = repo.catalog.latest_version(file.id)
        if version is None:
            continue
        for sid, s in history_sessions(repo, version).items():
            if not sid.startswith(ref):
                continue
            row = found.setdefault(sid, {
                "session_id": sid, "prompt_only": True, "profiles": [], "project": s.project,
                "started": iso_utc(s.started) if s.started else None,
                "ended": iso_utc(s.ended) if s.ended else None,
                "prompts": [{"turn": t.number, "timestamp": iso_utc(t.timestamp)
                             if t.timestamp else None, "prompt": t.prompt} for t in s.turns],
            })
            row["profiles"].append(file.profile)
    if len(found) > 1:
        from .errors import UsageError

        raise UsageError(f"{ref!r} names {len(found)} prompt-only sessions",
                         hint="give more of the id: " + ", ".join(sorted(found)))
    return next(iter(found.values()), None)
