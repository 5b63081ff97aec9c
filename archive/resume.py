"""Go back into an archived session: pick it, make the archive's copy fresh, put it where the
chosen profile finds it, and say the command that resumes it there.

Invariants:
- Fresh: before a session is restored, every copy whose source file changed since it was last
  archived is captured first (a snapshot of just that transcript and its sidecars, under the
  writer lock, by the ingest machinery), so what is restored is the session as it is now. Each
  source (:mod:`archive.sources`) says where its live transcripts and their sidecars are.
- Writing is restore's alone: byte-exact, atomic, never overwriting, nothing outside the root.
  A profile that already holds the session (in the folder it will be resumed from) is not
  written to at all.
- No terminal here: the command is data (argv, the environment it adds, the directory); the
  caller prints it or replaces itself with it (:func:`launch`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from . import sources
from .addresses import profile_of
from .errors import ArchiveError, SessionNotFound, UsageError
from .paths import check_project_path, check_session_id, project_folder_candidates
from .repo import Repository
from .roots import Root, check_profile_name, find_root
from .text import copies_note
from .transcript import iter_lines

# Test seam: when set, launch() writes {"argv", "env", "cwd"} as JSON to this file and returns
# instead of replacing the process (tests cannot exec `claude`).
EXEC_LOG_ENV = "SESSION_ARCHIVE_EXEC_LOG"


@dataclass
class Launch:
    """The command that resumes a session: run ``argv`` in ``cwd`` with ``env`` added."""

    argv: list[str]
    env: dict[str, str]  # variables set on top of the current environment
    cwd: str | None

    def shell_line(self) -> str:
        q = shlex.quote
        cmd = " ".join([*(f"{k}={q(v)}" for k, v in self.env.items()), *map(q, self.argv)])
        if self.cwd is None:
            return cmd
        cd = f"cd -- {q(self.cwd)}" if self.cwd.startswith("-") else f"cd {q(self.cwd)}"
        return f"{cd} && {cmd}"

    def to_dict(self) -> dict:
        return {"argv": self.argv, "env": self.env, "cwd": self.cwd}


@dataclass
class Choice:
    """A session to resume in profile ``to`` (None: where it was found); a fork when ``turns``."""

    session_id: str
    to: str | None
    turns: int | None = None
    new_id: bool = False
    project: str | None = None


@dataclass
class ResumePlan:
    session_id: str  # the id resumed (a fork's new id)
    original_session_id: str
    profile: str
    project: str | None  # the directory to resume in
    project_exists: bool
    launch: Launch
    restored: bool  # restore wrote the session into the profile
    restored_path: Path | None
    captured: list[str]  # profile/relpath of files captured fresh before restoring
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "original_session_id": self.original_session_id,
            "profile": self.profile,
            "project": self.project,
            "project_exists": self.project_exists,
            "restored": self.restored,
            "restored_path": str(self.restored_path) if self.restored_path else None,
            "captured": self.captured,
            "command": self.launch.shell_line(),
            "launch": self.launch.to_dict(),
        }


def launch_for(root: Root, session_id: str, project: str | None) -> Launch:
    """``claude --resume`` for the default ``~/.claude``; ``ccs NAME --resume`` for a CCS
    instance; ``CLAUDE_CONFIG_DIR=ROOT claude --resume`` for any other root. Another agent's
    root (Codex) gets its source's command."""
    if root.agent != "claude":
        from .sources import for_root

        argv, env = for_root(root).resume_argv(root, session_id)
        return Launch(argv, env, project)
    if root.origin == "ccs":
        return Launch(["ccs", root.profile, "--resume", session_id], {}, project)
    plain = os.path.realpath(root.path) == os.path.realpath(Path.home() / ".claude")
    if root.origin == "default" and plain:
        return Launch(["claude", "--resume", session_id], {}, project)
    return Launch(
        ["claude", "--resume", session_id], {"CLAUDE_CONFIG_DIR": str(root.path)}, project
    )


def launch(plan: Launch, environ: dict[str, str] | None = None) -> None:
    """Replace this process with ``plan`` (returns only under the test seam)."""
    env = dict(os.environ if environ is None else environ)
    log = env.get(EXEC_LOG_ENV)
    if log:
        Path(log).write_bytes(orjson.dumps(plan.to_dict()))
        return
    if plan.cwd is not None and not os.path.isdir(plan.cwd):
        raise UsageError(
            f"project directory {plan.cwd} does not exist here",
            hint="--project PATH says where to run it",
        )
    program = shutil.which(plan.argv[0], path=env.get("PATH"))
    if program is None:
        raise ArchiveError(
            f"{plan.argv[0]} is not on PATH", hint="--print prints the command instead"
        )
    env.update(plan.env)
    if plan.cwd is not None:
        os.chdir(plan.cwd)
    os.execvpe(program, plan.argv, env)


# -- which session ----------------------------------------------------------------------------


@dataclass
class LiveSession:
    """A transcript as it is in a root now."""

    session_id: str
    profile: str
    relpath: str
    mtime_ns: int


def last_session(
    archive_dir: Path, roots: list[Root], from_profile: str | None = None
) -> str:
    """The most recently active session of any profile (or of ``from_profile``): the newest
    transcript file in the roots, or an archived session whose last turn is newer still (its
    source is gone)."""
    if from_profile is not None:
        profile = profile_of(from_profile)
        check_profile_name(profile)
        roots = [find_root(roots, profile)]
    live = _newest_live(roots)
    best_id, best_ns = (live.session_id, live.mtime_ns) if live else (None, -1)
    if (archive_dir / "catalog.sqlite").exists():
        from datetime import datetime

        from .filters import SearchFilters
        from .views import list_sessions

        profile = roots[0].profile if from_profile is not None else None
        with Repository(archive_dir, readonly=True) as repo:
            rows = list_sessions(repo, SearchFilters(profile=profile), 1)
        if rows and (rows[0]["ended"] or rows[0]["started"]):
            iso = (rows[0]["ended"] or rows[0]["started"]).replace("Z", "+00:00")
            ns = int(datetime.fromisoformat(iso).timestamp() * 1e9)
            if ns > best_ns:
                best_id, best_ns = rows[0]["session_id"], ns
    if best_id is None:
        where = f"profile {from_profile}" if from_profile else "any profile"
        raise SessionNotFound(f"no session in {where}", hint="`archive roots` lists the roots")
    return best_id


def _newest_live(roots: list[Root]) -> LiveSession | None:
    best: LiveSession | None = None
    for root in roots:
        for relpath, sid, mtime_ns in sources.for_root(root).live_transcripts(root):
            if best is None or mtime_ns > best.mtime_ns:
                best = LiveSession(sid, root.profile, relpath, mtime_ns)
    return best


def _live_copies(roots: list[Root], session_id: str) -> list[LiveSession]:
    """The session's transcript in each root now, wherever its source keeps it (a session not
    archived yet is found too)."""
    return [
        LiveSession(sid, root.profile, relpath, mtime_ns)
        for root in roots
        for relpath, sid, mtime_ns in sources.for_root(root).live_transcripts(root, session_id)
    ]


def select_session(
    archive_dir: Path,
    roots: list[Root],
    ref: str | None,
    *,
    last: bool = False,
    from_profile: str | None = None,
    picker: bool = False,
) -> str | None:
    """The session ``resume`` was given: ``--last``'s, or ``ref`` when it names one session.
    None when the picker should choose (``picker``: a terminal is there to ask on)."""
    if last:
        if ref is not None:
            raise UsageError("give a SESSION or --last, not both")
        return last_session(archive_dir, roots, from_profile)
    if ref is None or not ref.strip():
        if picker:
            return None
        raise UsageError(
            "give a SESSION (id, prefix or name) or --last",
            hint="the picker opens only on a terminal",
        )
    try:
        return _resolve(archive_dir, roots, ref, from_profile)
    except UsageError:  # not one session (unknown, ambiguous, not an id): words to search for
        if picker:
            return None
        raise


# -- freshness --------------------------------------------------------------------------------


def stale_files(archive_dir: Path, roots: list[Root], session_id: str) -> dict[str, list[str]]:
    """Per profile, the files of the session (transcript and what its source keeps with it)
    whose size, mtime or inode differ from what the archive last recorded, or that it never
    recorded."""
    known: dict[tuple[str, str], tuple] = {}
    if (archive_dir / "catalog.sqlite").exists():
        with Repository(archive_dir, readonly=True) as repo:
            for root in roots:
                for f in repo.catalog.files_of_session(root.profile, session_id):
                    known[(f.profile, f.relpath)] = (f.stat_size, f.stat_mtime_ns, f.stat_inode)
    by_profile = {r.profile: r for r in roots}
    stale: dict[str, list[str]] = {}
    for live in _live_copies(roots, session_id):
        root = by_profile[live.profile]
        source = sources.for_root(root)
        for rel in [live.relpath, *source.companions(root, live.relpath, session_id)]:
            try:
                st = os.lstat(root.path / rel)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if known.get((live.profile, rel)) != (st.st_size, st.st_mtime_ns, st.st_ino):
                stale.setdefault(live.profile, []).append(rel)
    return stale


def capture_fresh(
    archive_dir: Path, roots: list[Root], session_id: str, *, wait: float = 0.0,
    durable: bool = True,
) -> list[str]:
    """Archive the session's files that changed since the last ingest (one small snapshot per
    profile holding such files, under the writer lock). Returns ``profile/relpath`` of each
    file looked at."""
    from .ingest import ingest

    stale = stale_files(archive_dir, roots, session_id)
    done = []
    for profile, relpaths in stale.items():
        result = ingest(archive_dir, [find_root(roots, profile)], wait=wait, durable=durable,
                        only=relpaths)
        if result.errors:
            e = result.errors[0]
            raise ArchiveError(f"could not capture {e.profile}/{e.path}: {e.error}")
        done += [f"{profile}/{r}" for r in relpaths]
    return done


# -- resuming ---------------------------------------------------------------------------------


def plan_resume(
    archive_dir: Path,
    roots: list[Root],
    ref: str,
    *,
    to: str | None = None,
    from_profile: str | None = None,
    project: str | None = None,
    turns: int | None = None,
    new_id: bool = False,
    dry_run: bool = False,
    wait: float = 0.0,
    durable: bool = True,
) -> ResumePlan:
    """Make session ``ref`` resumable in profile ``to`` (default: the profile it was found in)
    and return the command that resumes it. ``turns``/``new_id`` fork it, as restore does;
    ``project`` runs it in another directory (restore rewrites its cwd to match)."""
    if to is not None:
        check_profile_name(to)
    if project is not None:
        project = check_project_path(project)
    captured: list[str] = []
    sid = _resolve(archive_dir, roots, ref, from_profile)
    if not dry_run:
        captured = capture_fresh(archive_dir, roots, sid, wait=wait, durable=durable)
    notes = [f"captured {len(captured)} changed file(s) of the session first"] if captured else []
    fork = turns is not None or new_id
    with Repository(archive_dir, readonly=True) as repo:
        copy = repo.pick_copy(sid, from_profile)
        meta = repo.catalog.session_meta(copy.file.id) or {}
        target = find_root(roots, to or copy.file.profile)
        lagging = False if fork else _lags_behind(repo, sid, target, copy.file, notes)
    held = None if fork or lagging else _held(
        target, sid, project, copy.file.relpath,
        own_copy=target.profile == copy.file.profile)
    if held is not None:
        if copy.others and from_profile is None:
            notes.append(copies_note(copy.others, f"resuming the copy of {copy.address}"))
        cwd = project or _first_cwd(held) or meta.get("project")
        return ResumePlan(
            session_id=sid, original_session_id=sid, profile=target.profile, project=cwd,
            project_exists=cwd is not None and os.path.isdir(cwd),
            launch=launch_for(target, sid, cwd), restored=False, restored_path=held,
            captured=captured, notes=notes,
        )
    from .restore import restore

    result = restore(
        archive_dir, roots, sid, to=target.profile, from_profile=copy.address,
        project=project, turns=turns, new_id=new_id, dry_run=dry_run, wait=wait,
        durable=durable, force=lagging,
    )
    notes += result.notes
    notes.append(f"{'would restore' if dry_run else 'restored'} it into profile {target.profile}: "
                 f"{result.path}")
    cwd = result.project
    return ResumePlan(
        session_id=result.session_id, original_session_id=sid, profile=target.profile,
        project=cwd, project_exists=cwd is not None and os.path.isdir(cwd),
        launch=launch_for(target, result.session_id, cwd), restored=not dry_run,
        restored_path=result.path, captured=captured, notes=notes,
    )


def _lags_behind(repo: Repository, sid: str, target: Root, newest, notes: list[str]) -> bool:
    """Whether the target's own copy is an older state of the copy to resume (its bytes a
    prefix of the newest): then it is replaced, after restore archives it. Copies that both
    grew are left alone: the target's own is resumed."""
    if newest.profile == target.profile:
        return False
    mine = [f for f in repo.session_copies(sid) if f.profile == target.profile]
    if not mine or mine[0].gone_snapshot is not None:
        return False
    old = repo.catalog.latest_version(mine[0].id)
    new = repo.catalog.latest_version(newest.id)
    if old is None or new is None or old.sha256 == new.sha256:
        return False
    if repo.is_prefix(old, new):
        notes.append(f"profile {target.profile} held an older state of the session; it is "
                     f"archived and replaced by the newer copy of {newest.profile}")
        return True
    notes.append(f"the copies of {target.profile} and {newest.profile} diverged; resuming "
                 f"the copy of {target.profile} (`archive diff {sid[:8]}` compares them)")
    return False


def _resolve(archive_dir: Path, roots: list[Root], ref: str, from_profile: str | None) -> str:
    """The full id of ``ref``: archived (id, prefix, name), or a full id only a root holds so
    far (it is captured before anything else)."""
    ref = ref.strip()
    if (archive_dir / "catalog.sqlite").exists():
        with Repository(archive_dir, readonly=True) as repo:
            try:
                return repo.session_copies(ref)[0].session_id
            except SessionNotFound:
                pass
    try:
        live = [c for c in _live_copies(roots, check_session_id(ref))
                if from_profile is None or c.profile == profile_of(from_profile)]
    except UsageError:  # not even shaped like an id
        live = []
    if not live:
        raise SessionNotFound(
            f"no session matches {ref!r}", hint="`archive sessions` lists what is archived"
        )
    return ref


def _held(target: Root, session_id: str, project: str | None,
          archived_relpath: str | None = None, *, own_copy: bool = False) -> Path | None:
    """The target's transcript of the session, in ``project``'s folder when given, else the
    chosen copy's own file (``own_copy``: the copy lives in the target, which may hold two,
    `--from work:web`); for another agent's root (Codex), the file at the place its source
    restores ``archived_relpath`` to."""
    if target.agent != "claude":
        from .sources import for_relpath, for_root

        if archived_relpath is None or for_relpath(archived_relpath) is not for_root(target):
            return None
        path = target.path / for_root(target).restore_relpath(archived_relpath, session_id)
        return path if path.is_file() else None
    name = f"{session_id}.jsonl"
    if project is not None:
        for folder in project_folder_candidates(project):
            path = target.path / "projects" / folder / name
            if path.is_file():
                return path
        return None
    if own_copy and archived_relpath:
        path = target.path / archived_relpath
        if path.is_file():
            return path
    projects = target.path / "projects"
    try:
        folders = sorted(os.scandir(projects), key=lambda e: e.name)
    except OSError:
        return None
    for folder in folders:
        path = Path(folder.path) / name
        if path.is_file():
            return path
    return None


def _first_cwd(path: Path, lines: int = 200) -> str | None:
    """The first ``cwd`` in a transcript on disk (where Claude Code ran it)."""
    try:
        with open(path, "rb") as fh:
            for i, (_offset, line) in enumerate(iter_lines(fh)):
                if i >= lines:
                    break
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict) and isinstance(obj.get("cwd"), str) and obj["cwd"]:
                    return obj["cwd"]
    except OSError:
        return None
    return None


__all__ = [
    "EXEC_LOG_ENV",
    "Choice",
    "Launch",
    "ResumePlan",
    "capture_fresh",
    "last_session",
    "launch",
    "launch_for",
    "plan_resume",
    "select_session",
    "stale_files",
]
