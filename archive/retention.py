"""What Claude Code is about to delete (at-risk) and what it already deleted unarchived (lost).

Codex CLI keeps its rollouts until the user deletes them (it has no retention setting), so
a Codex home is never at risk.

Claude Code deletes session files older than ``cleanupPeriodDays`` (default 30, minimum 1) at
its next start, by file age (mtime). Which value applies: the root's ``settings.json`` (user
scope) and, if present, its ``settings.local.json``; when both are valid the smaller wins,
because a too-early warning costs one ingest while a too-late one costs the session. An invalid
or missing value means 30. A ``projects/`` folder shared by several roots (CCS shared context)
is swept by each of them, so the smallest of their periods applies to it.

``history.jsonl`` keeps every prompt after the transcripts are gone, so it names the sessions
that were deleted before the archive caught them.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .catalog import Catalog
from .history import read_history
from .roots import Root, SourceFile, iter_root_files

DEFAULT_CLEANUP_DAYS = 30
SETTINGS_FILES = ("settings.json", "settings.local.json")
# Kinds the startup sweep removes with their session (memory/ and history.jsonl stay).
SWEPT_KINDS = ("session", "subagent", "tool-result", "sidecar")
DAY = 86400.0
PROMPT_WIDTH = 80


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- cleanupPeriodDays -------------------------------------------------------------------------


def _setting(path: Path) -> float | None:
    """A valid ``cleanupPeriodDays`` from one settings file, else None."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    value = data.get("cleanupPeriodDays") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        return None  # 0 is rejected by Claude Code; NaN fails the comparison
    return value


def cleanup_period(root_path: Path) -> tuple[float, str]:
    """(days, where it comes from: a settings file name or "default")."""
    found = [(v, name) for name in SETTINGS_FILES if (v := _setting(root_path / name)) is not None]
    return min(found) if found else (DEFAULT_CLEANUP_DAYS, "default")


def cleanup_periods(roots: list[Root]) -> dict[str, tuple[float, str]]:
    """The period that applies to the files ingest captures under each Claude Code profile.
    Codex homes have none: Codex CLI deletes no rollout (no setting, no sweep)."""
    periods = {
        r.profile: cleanup_period(r.path) for r in roots if r.exists and r.agent == "claude"
    }
    for r in roots:
        if r.exists and r.projects_shared_with in periods and r.profile in periods:
            owner = r.projects_shared_with
            if periods[r.profile][0] < periods[owner][0]:
                periods[owner] = (periods[r.profile][0], f"{r.profile}/{periods[r.profile][1]}")
    return periods


# -- at risk -----------------------------------------------------------------------------------


@dataclass
class AtRisk:
    profile: str
    session_id: str | None  # None for a legacy flat agent-*.jsonl
    kind: str  # session, subagent, tool-result, sidecar
    relpath: str  # as in the catalog
    path: str  # absolute, at the source
    mtime: str  # UTC ISO
    days_left: float  # 0 = deleted at Claude Code's next start
    cleanup_days: float
    archived: bool

    def to_dict(self) -> dict:
        return {
            "profile": self.profile,
            "session_id": self.session_id,
            "path": self.path,
            "mtime": self.mtime,
            "days_left": self.days_left,
            "archived": self.archived,
            "kind": self.kind,
        }


def _candidates(
    roots: list[Root], days: float, now: float | None
) -> Iterator[tuple[Root, SourceFile, float, float]]:
    """(root, file, days left, period) of every swept file whose deletion is under ``days`` away."""
    now = time.time() if now is None else now
    periods = cleanup_periods(roots)
    for root in roots:
        if not root.exists or root.agent != "claude":  # only Claude Code sweeps old sessions
            continue
        period = periods[root.profile][0]
        for sf in iter_root_files(root):
            if sf.kind not in SWEPT_KINDS:
                continue
            left = period - (now - sf.mtime_ns / 1e9) / DAY
            if left < days:
                yield root, sf, left, period


def _row(root: Root, sf: SourceFile, left: float, period: float, archived: bool) -> AtRisk:
    return AtRisk(
        profile=root.profile,
        session_id=sf.session_id,
        kind=sf.kind,
        relpath=sf.relpath,
        path=str(sf.abspath),
        mtime=_iso(sf.mtime_ns / 1e9),
        days_left=round(max(left, 0.0), 1),
        cleanup_days=period,
        archived=archived,
    )


def _sort(rows: list[AtRisk]) -> list[AtRisk]:
    return sorted(rows, key=lambda r: (r.days_left, r.profile, r.relpath))


class _Known:
    """Catalog rows by profile, loaded once per profile."""

    def __init__(self, catalog: Catalog | None):
        self.catalog = catalog
        self.rows: dict[str, dict] = {}

    def get(self, profile: str, relpath: str):
        if self.catalog is None:
            return None
        if profile not in self.rows:
            self.rows[profile] = self.catalog.files_of_profile(profile)
        return self.rows[profile].get(relpath)


def _same_stat(row, sf: SourceFile) -> bool:
    return (row.stat_size, row.stat_mtime_ns, row.stat_inode) == (sf.size, sf.mtime_ns, sf.inode)


def _sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1024 * 1024):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def at_risk(
    roots: list[Root], repo=None, days: float = 7, now: float | None = None
) -> list[AtRisk]:
    """Session files Claude Code will delete within ``days`` days, soonest first, each with
    whether the archive holds its current bytes (stat as last ingested, else same SHA-256).
    ``repo`` may be None (no archive yet: nothing is archived); ``now`` is epoch seconds."""
    known = _Known(repo.catalog if repo is not None else None)
    rows = []
    for root, sf, left, period in _candidates(roots, days, now):
        rows.append(_row(root, sf, left, period, _holds(known, root.profile, sf)))
    return _sort(rows)


def _holds(known: _Known, profile: str, sf: SourceFile) -> bool:
    row = known.get(profile, sf.relpath)
    if row is None:
        return False
    latest = known.catalog.latest_version(row.id)
    if latest is None or latest.size != sf.size:
        return False
    if _same_stat(row, sf):
        return True
    return _sha256(sf.abspath) == latest.sha256


def unarchived_at_risk(
    roots: list[Root], catalog: Catalog | None, days: float = 7, now: float | None = None
) -> list[AtRisk]:
    """The at-risk files whose stat differs from what the catalog last recorded: cheap (no
    hashing, no version lookups), for ingest to warn about before it captures them."""
    known = _Known(catalog)
    rows = []
    for root, sf, left, period in _candidates(roots, days, now):
        row = known.get(root.profile, sf.relpath)
        if row is None or not _same_stat(row, sf):
            rows.append(_row(root, sf, left, period, False))
    return _sort(rows)


# -- lost ----------------------------------------------------------------------------------------


@dataclass
class LostSession:
    session_id: str
    profile: str
    project: str | None
    first_prompt: str
    started: str | None  # UTC ISO of the first prompt
    prompts: int

    def to_dict(self) -> dict:
        return asdict(self)  # every field, in order


def one_line(text: str, width: int = PROMPT_WIDTH) -> str:
    """A prompt as one short line: whitespace runs become one space, control characters go."""
    flat = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
    if len(flat) <= width:
        return flat
    from .redact import safe_cut  # never leave half a secret, which no rule would then mask

    return flat[: safe_cut(flat, width - 1)] + "…"


def source_session_ids(roots: list[Root]) -> set[str]:
    """Ids of the main transcripts present now: ``projects/*/<id>.jsonl`` in any root."""
    ids: set[str] = set()
    for root in roots:
        if not root.exists:
            continue
        try:
            projects = list(os.scandir(root.path / "projects"))
        except OSError:
            continue
        for project in projects:
            try:
                for entry in os.scandir(project.path):
                    name = entry.name
                    if name.endswith(".jsonl") and not name.startswith("agent-"):
                        ids.add(name[: -len(".jsonl")])
            except OSError:
                continue
    return ids


def lost_sessions(roots: list[Root], catalog: Catalog | None) -> list[LostSession]:
    """Sessions named in a root's history.jsonl that are neither at the source nor archived,
    newest first. Entries without a ``sessionId`` (older Claude Code) cannot be matched."""
    seen: dict[str, dict] = {}
    for root in roots:
        if not root.exists:
            continue
        for entry in read_history(root.path / "history.jsonl"):
            acc = seen.get(entry.session_id)
            if acc is None:
                acc = seen[entry.session_id] = {"prompts": 0, "entry": entry,
                                                "profile": root.profile}
            acc["prompts"] += 1
            first = acc["entry"]
            if entry.ms is not None and (first.ms is None or entry.ms < first.ms):
                acc.update(entry=entry, profile=root.profile)
    if not seen:
        return []
    present = source_session_ids(roots)
    if catalog is not None:
        present |= catalog.archived_session_ids()
    out = []
    for sid, acc in seen.items():
        if sid in present:
            continue
        entry = acc["entry"]
        when = entry.when
        out.append(
            LostSession(
                session_id=sid,
                profile=acc["profile"],
                project=entry.project,
                first_prompt=one_line(entry.display) if entry.display is not None else "",
                started=_iso(when.timestamp()) if when is not None else None,
                prompts=acc["prompts"],
            )
        )
    out.sort(key=lambda s: s.started or "", reverse=True)
    return out
