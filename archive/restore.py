"""Restore an archived session into a config root, where ``claude --resume <id>`` finds it.

Invariants:
- Never overwrite without archiving first. A target file that exists is refused (TargetExists,
  exit 3) unless ``force``; then, under the archive lock, the target root is ingested and each
  existing file's bytes are checked to be the newest archived version of it before anything is
  replaced. Without ``force`` the final rename is a hard link, which fails if a file appeared.
  Only a regular file is ever replaced: a FIFO, device, folder or symlink at a target is refused
  (exit 2), ``force`` or not (fsutil's rule).
- Atomic writes. Each file is written to a temp file in its final folder, fsync'ed, then renamed
  (sidecars first, the transcript last). A failure removes the temp files, the files this run
  created and the folders it made: no partial file is left.
- Never outside the target root. Every path written is checked by ``paths.safe_join`` and opened
  part by part with ``paths.open_safe_dir`` (no ``..``/NUL/absolute parts, no symlink leading out;
  only ``projects`` may be a CCS link into ``~/.ccs``).
- Bytes unchanged except the asked rewrites: the top-level ``cwd`` (``project``) and
  ``sessionId`` (``new_id``) string values are replaced in place in lines that are JSON objects;
  ``turns`` cuts at a line boundary. Everything else, thinking blocks included, is copied as is.

Sidecars (``<project>/<session id>/…``): the newest version of each when the newest transcript
version is restored; for a past version, each sidecar's version current at that version's
snapshot (sidecars that did not exist yet are left out). Their ``.jsonl`` files get the same
cwd/sessionId rewrites; other sidecar files are copied as is. ``turns`` cuts only the transcript
(a later turn's sub-agent file is inert). Legacy flat ``agent-*.jsonl`` files are not tied to a
session by path and are not restored.

A cwd rewrite moves a cwd below the old project to the same place below the new one (worktrees
under ``.claude/worktrees/…`` stay worktrees); any other cwd becomes the new project path.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from . import sources
from .addresses import profile_of
from .catalog import FileRow, VersionRow
from .dates import parse_when
from .errors import ArchiveError, TargetExists, UsageError
from .fsutil import check_replaceable, create_temp, fsync_dir, place, private_umask, write_all
from .lock import ArchiveLock
from .paths import (
    PROJECT_DIR_NAME_ENV,
    UnsafePath,
    check_part,
    check_project_path,
    check_session_id,
    open_safe_dir,
    project_dir_override,
    project_folder,
    project_folder_candidates,
    safe_join,
)
from .repo import Repository
from .roots import Root, check_profile_name, find_root
from .text import copies_note, plural
from .transcript import iter_lines, parse_lines

_READ = 1024 * 1024


@dataclass
class _Displaced:
    """A file of the same session elsewhere in the target root, removed after it is archived."""

    relpath: str
    path: Path


@dataclass
class RestoreFile:
    kind: str  # session, subagent, tool-result, sidecar
    relpath: str  # in the target root
    path: Path
    source: str  # profile/relpath in the archive
    version: int
    exists: bool
    size: int = 0  # bytes written (or that would be)
    rewritten: dict[str, int] = field(default_factory=dict)  # field -> lines changed
    _version: VersionRow | None = None
    _limit: int | None = None  # --turns: bytes of the prefix kept
    _rewrite: bool = False

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "source": self.source,
            "version": self.version,
            "size": self.size,
            "exists": self.exists,
            "rewritten_lines": self.rewritten,
        }


@dataclass
class RestoreResult:
    session_id: str
    original_session_id: str
    profile: str
    root: Path
    path: Path
    project: str | None  # the directory to resume in; None when no cwd is known
    project_folder: str
    project_from: str  # "cwd" | "--project" | "folder"
    source_profile: str
    others: list[str]
    version: int | str  # its number, or a set-aside copy's label (a1, …)
    newest_version: int | str  # the newest (a label when only set-aside copies were archived)
    captured_at: str
    turns: int | None
    rewrites: dict[str, str]  # field -> new value (cwd: new project path)
    files: list[RestoreFile]
    resume_command: str
    dry_run: bool
    source_cwd: str | None = None  # the transcript's own project path, if it has one
    set_aside_at: str | None = None  # when Claude Code set the version aside (a set-aside copy)
    archived_snapshot: int | None = None  # the ingest that archived replaced files (--force)
    notes: list[str] = field(default_factory=list)
    # The same session id in another project folder of the target root (transcript and its
    # folder's files): moved here with --force (archived first), since Claude Code may fail to
    # resume an id it finds twice.
    displaced: list[_Displaced] = field(default_factory=list)

    def again_with_project(self, prog: str = "archive") -> str:
        """The restore command that puts this session under another project directory instead
        (PATH to fill in): with --force once the target profile holds the session (written
        now, or there before), since restore never overwrites without it."""
        import shlex

        args = [prog, "restore", shlex.quote(self.original_session_id), "--to", self.profile]
        if self.others:
            args += ["--from", shlex.quote(self.source_profile)]
        if self.version != self.newest_version:
            args += ["--version", str(self.version)]
        if self.turns:
            args += ["--turns", str(self.turns)]
        args += ["--project", "PATH"]
        if self.session_id != self.original_session_id:
            args.append("--new-id")  # a fork under a fresh id again: nothing to replace
        elif not self.dry_run or any(f.exists for f in self.files):
            args.append("--force")
        return " ".join(args)

    def to_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "profile": self.profile,
            "path": str(self.path),
            "files": [f.to_dict() for f in self.files],
            "resume_command": self.resume_command,
            "source_profile": self.source_profile,
            "version": self.version,
            "set_aside_at": self.set_aside_at,
            "dry_run": self.dry_run,
            "notes": list(self.notes),
            "moved_from": sorted({str(d.path) for d in self.displaced
                                  if d.relpath.endswith(".jsonl") and d.relpath.count("/") == 2}),
        }


def restore(
    archive_dir: Path,
    roots: list[Root],
    ref: str,
    *,
    to: str,
    from_profile: str | None = None,
    project: str | None = None,
    version: int | str | None = None,
    at: str | None = None,
    turns: int | None = None,
    new_id: bool = False,
    dry_run: bool = False,
    force: bool = False,
    wait: float = 0.0,
    durable: bool = True,
) -> RestoreResult:
    """Plan the restore of session ``ref`` into profile ``to``, then (unless ``dry_run``) do it."""
    check_profile_name(to)
    if from_profile is not None:  # an address: PROFILE or PROFILE:PROJECT
        check_profile_name(profile_of(from_profile))
    ref = check_session_id(ref.strip())
    if version is not None and at is not None:
        raise UsageError("give --version or --at, not both")
    if turns is not None and turns < 1:
        raise UsageError("--turns must be at least 1")
    new_project = check_project_path(project) if project is not None else None
    target = find_root(roots, to)
    if target.origin == "cowork":
        raise UsageError(
            f"profile {target.profile} is a Claude Desktop Cowork account: archived, not a "
            "place to restore into (Claude Desktop manages its tasks itself)",
            hint="restore into a Claude Code profile: archive roots lists them",
        )
    if not target.exists:
        raise UsageError(
            f"profile {target.profile!r} has no config folder at {target.path}",
            hint="start Claude Code with that config once, or create the folder",
        )
    with Repository(archive_dir, readonly=True) as repo:
        result = _plan(repo, target, ref, from_profile, new_project, version, at, turns, new_id)
        result.dry_run = dry_run
        existing = [f for f in result.files if f.exists]
        for f in existing:  # a FIFO, device, folder or symlink is never replaced, --force or not
            check_replaceable(f.path)
        if existing and not force:
            raise TargetExists(
                f"{existing[0].path} already exists",
                hint="--force archives it first, then replaces it",
            )
        if result.displaced and not force:
            raise TargetExists(
                f"profile {target.profile} already has session {result.session_id} in "
                f"{result.displaced[0].path.parent}",
                hint="--force moves it to the restored place (the copy there is archived "
                "first); --new-id restores a fork with a new id beside it",
            )
        if dry_run:
            for f in result.files:
                _consume(repo, f, result, lambda data: None)
            return result
        link_ok = _link_ok(target)
        if force:
            with ArchiveLock(archive_dir, wait=wait, purpose="restore"):
                archived: set[Path] = set()
                if result.displaced or any(os.path.lexists(f.path) for f in result.files):
                    result.archived_snapshot, archived = _archive_existing(
                        archive_dir, roots, target, [*result.files, *result.displaced],
                        durable,
                    )
                _write_all(repo, result, link_ok, archived)
                _remove_displaced(result)
        else:
            _write_all(repo, result, link_ok, set())
    return result


# -- planning ---------------------------------------------------------------------------------


def _plan(repo, target, ref, from_profile, new_project, version, at, turns, new_id):
    copy = repo.pick_copy(ref, from_profile)
    file = copy.file
    sid = check_session_id(file.session_id or "")
    versions = _candidate_versions(repo, file)
    chosen = _choose_version(repo, file, versions, version, at)
    named = repo.version_of(file, chosen)  # its number, or its set-aside copy's label
    source = sources.for_relpath(file.relpath)
    if source is not sources.CLAUDE or target.agent != source.agent:
        return _plan_other(repo, target, copy, source, versions, chosen,
                           new_project=new_project, turns=turns, new_id=new_id)
    source_dir = file.relpath.rsplit("/", 1)[0]  # projects/<folder>
    source_folder = check_part(source_dir.split("/")[-1], "source project folder")
    notes = []
    if copy.others and not from_profile:
        notes.append(copies_note(copy.others, f"restored the copy of {copy.address}"))

    limit = None
    if turns is not None:
        session = _parse(repo, chosen)
        if len(session.turns) < turns:
            what = f"set-aside copy {named.label}" if named.set_aside \
                else f"version {named.label}"
            raise UsageError(
                f"{what} of session {sid} has {plural(len(session.turns), 'turn')}, not {turns}"
            )
        limit = session.turns[turns - 1].end_offset
        source_cwd = session.project
    else:
        source_cwd = _first_cwd(repo, chosen)

    if new_project is not None:
        project, project_from = new_project, "--project"
    elif source_cwd:
        project, project_from = source_cwd, "cwd"
    else:
        project, project_from = None, "folder"
        notes.append(
            f"no cwd in the transcript: using the source's project folder {source_folder}; "
            "resume from the directory it names"
        )
    projects = target.path / "projects"
    override = project_dir_override(os.environ, _runs_with_config_dir(target))
    if override is not None:
        folder = override
        notes.append(
            f"{PROJECT_DIR_NAME_ENV}={override}: restored into projects/{override}, where "
            "Claude Code looks when it is set together with CLAUDE_CONFIG_DIR"
        )
    elif project is not None:
        long_name = len(project_folder_candidates(project)) > 1
        folder = project_folder(project, _listdir(projects) if long_name else ())
    else:
        folder = source_folder

    out_id = sid
    if new_id:
        out_id = str(uuid.uuid4())
    elif turns is not None and _has_session(projects, sid):
        out_id = str(uuid.uuid4())
        notes.append(f"--turns implies --new-id: profile {target.profile} already has {sid}")
    displaced: list[_Displaced] = []
    if out_id == sid:
        for name in sorted(_listdir(projects)):
            if name != folder and os.path.lexists(projects / name / f"{sid}.jsonl"):
                displaced += _session_files(target.path, f"projects/{name}", sid)
        if displaced:
            where = sorted({d.relpath.split("/")[1] for d in displaced})
            notes.append(
                f"session {sid} is also in projects/{', projects/'.join(where)} of profile "
                f"{target.profile}: with --force it is moved to projects/{folder} (archived "
                "first, then removed there), so the root holds the id once"
            )
    rewrites: dict[str, str] = {}
    if new_project is not None:
        rewrites["cwd"] = new_project
    if out_id != sid:
        rewrites["sessionId"] = out_id

    link_ok = _link_ok(target)
    main_rel = f"projects/{folder}/{out_id}.jsonl"
    files = [
        _planned(target, link_ok, "session", main_rel, file, chosen, limit=limit, rewrite=True)
    ]
    past = chosen.id != versions[-1].id
    for side in repo.catalog.sidecar_files(file.profile, source_dir, sid):
        rest = side.relpath[len(f"{source_dir}/{sid}/") :]
        side_version = _sidecar_version(repo, side, chosen.snapshot_id if past else None)
        if side_version is None:
            continue
        rel = f"projects/{folder}/{out_id}/{rest}"
        files.append(
            _planned(target, link_ok, side.kind, rel, side, side_version,
                     rewrite=rest.endswith(".jsonl"))
        )
    # file-history/<session>/: what /rewind puts back; copied as is under the restored id.
    # It sits beside projects/ in the config folder the transcript came from (a Cowork task's
    # is local_<task>/.claude/), and goes to the target root's own file-history/.
    history = f"{_config_prefix(file.relpath)}file-history"
    for side in repo.catalog.sidecar_files(file.profile, history, sid):
        if side.kind != "file-history":
            continue
        side_version = _sidecar_version(repo, side, chosen.snapshot_id if past else None)
        if side_version is None:
            continue
        rest = side.relpath[len(f"{history}/{sid}/") :]
        files.append(_planned(target, link_ok, side.kind, f"file-history/{out_id}/{rest}",
                              side, side_version))

    return RestoreResult(
        session_id=out_id,
        original_session_id=sid,
        profile=target.profile,
        root=target.path,
        path=files[0].path,
        project=project,
        project_folder=folder,
        project_from=project_from,
        source_profile=file.profile,
        others=copy.others,
        version=named.label,
        newest_version=repo.version_ref(file, versions[-1]),
        captured_at=chosen.captured_at,
        turns=turns,
        rewrites=rewrites,
        files=files,
        resume_command=resume_command(target, project, out_id, override),
        dry_run=False,
        source_cwd=source_cwd,
        set_aside_at=named.set_aside_at,
        notes=notes,
        displaced=displaced,
    )


def _config_prefix(relpath: str) -> str:
    """The config folder of an archived transcript, relative to its root, with a trailing
    slash: ``""`` for a Claude Code root, ``local_<task>/.claude/`` in a Cowork account."""
    parts = relpath.split("/")
    if len(parts) > 2 and parts[0].startswith("local_") and parts[1] == ".claude":
        return f"{parts[0]}/.claude/"
    return ""


def _plan_other(repo, target, copy, source, versions, chosen, *, new_project, turns, new_id):
    """The restore of another source's session (a Codex rollout): the bytes as archived, at
    the place the source names, resumed with the source's command."""
    file = copy.file
    sid = check_session_id(file.session_id or "")
    if target.agent != source.agent:
        agent = sources.for_root(target)
        raise UsageError(
            f"session {sid} is a {source.label} session; profile {target.profile} is a "
            f"{agent.label} root",
            hint=f"restore it into a profile of agent {source.agent} (see `archive roots`)",
        )
    for given, option in ((new_project, "--project"), (turns, "--turns"), (new_id, "--new-id")):
        if given:
            raise UsageError(
                f"{option} is not supported for {source.label} sessions",
                hint="restore the session as archived",
            )
    rel = source.restore_relpath(file.relpath, sid)
    main = _planned(target, {}, "session", rel, file, chosen)
    with repo.open_version(chosen) as stream:
        session = source.parse(stream, kind=file.kind, session_id=sid, tool_output_cap=0,
                               file_size=chosen.size)
    notes = []
    if copy.others:
        notes.append(copies_note(copy.others, f"restored the copy of {copy.address}"))
    return RestoreResult(
        session_id=sid,
        original_session_id=sid,
        profile=target.profile,
        root=target.path,
        path=main.path,
        project=session.project,
        project_folder=rel.rsplit("/", 1)[0],
        project_from="cwd" if session.project else "folder",
        source_profile=file.profile,
        others=copy.others,
        version=repo.version_ref(file, chosen),
        newest_version=repo.version_ref(file, versions[-1]),
        captured_at=chosen.captured_at,
        turns=None,
        rewrites={},
        files=[main],
        resume_command=source.resume_command(target, session.project, sid),
        dry_run=False,
        source_cwd=session.project,
        set_aside_at=repo.version_of(file, chosen).set_aside_at,
        notes=notes,
    )


def _candidate_versions(repo, file: FileRow) -> list[VersionRow]:
    """The versions ``--at`` chooses from and the newest is one of: the transcript's own, or
    of a session archived only as set-aside copies, those."""
    every = repo.session_versions(file)
    versions = [a.version for a in every if not a.set_aside] or [a.version for a in every]
    if not versions:
        raise ArchiveError(f"{file.profile}/{file.relpath} has no stored version")
    return versions


def _choose_version(repo, file: FileRow, versions, seq, at) -> VersionRow:
    if at is None:
        return repo.pick_version(file, seq)
    when = parse_when(at, end_of_day=True)
    before = [v for v in versions if _captured(v) <= when]
    if not before:
        raise UsageError(
            f"session {file.session_id} has no version captured at or before {at}",
            hint=f"the first was captured at {versions[0].captured_at}",
        )
    return before[-1]


def _captured(v: VersionRow) -> datetime:
    return datetime.fromisoformat(v.captured_at.replace("Z", "+00:00"))


def _sidecar_version(repo, side: FileRow, snapshot: int | None) -> VersionRow | None:
    versions = repo.catalog.versions(side.id)
    if snapshot is not None:
        versions = [v for v in versions if v.snapshot_id <= snapshot]
    return versions[-1] if versions else None


def _planned(target, link_ok, kind, rel, src: FileRow, v: VersionRow, *, limit=None,
             rewrite=False) -> RestoreFile:
    path = safe_join(target.path, rel, link_ok=link_ok)
    return RestoreFile(
        kind=kind, relpath=rel, path=path, source=f"{src.profile}/{src.relpath}",
        version=v.seq, exists=os.path.lexists(path), _version=v, _limit=limit,
        _rewrite=rewrite,
    )


def _parse(repo, version: VersionRow):
    with repo.open_version(version) as stream:
        return parse_lines(iter_lines(stream), file_size=version.size)


def _first_cwd(repo, version: VersionRow) -> str | None:
    """The ``cwd`` of the first line that has one, without parsing the rest."""
    with repo.open_version(version) as stream:
        for _, raw in iter_lines(stream):
            if not raw or b'"cwd"' not in raw:
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("cwd"), str) and obj["cwd"]:
                return obj["cwd"]
    return None


def _session_files(root: Path, project_dir: str, sid: str) -> list[_Displaced]:
    """A session's transcript in ``root/project_dir`` and the regular files of its folder
    (symlinks are not followed: they are left where they are)."""
    main = f"{project_dir}/{sid}.jsonl"
    found = [_Displaced(main, root / main)]
    for dirpath, dirnames, filenames in os.walk(root / project_dir / sid):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found.append(_Displaced(str(path.relative_to(root)), path))
    return found


def _remove_displaced(result: RestoreResult) -> None:
    """Remove the other copy of the session (already archived byte for byte), then the folders
    it leaves empty."""
    folders: set[Path] = set()
    for d in result.displaced:
        try:
            os.unlink(d.path)
        except FileNotFoundError:
            pass
        folders.update(p for p in d.path.parents if p.is_relative_to(result.root / "projects"))
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder == result.root / "projects" or len(folder.relative_to(result.root).parts) < 3:
            continue  # never the projects/ folder nor a project folder itself
        try:
            os.rmdir(folder)
        except OSError:
            pass


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _has_session(projects: Path, sid: str) -> bool:
    return any(os.path.lexists(projects / name / f"{sid}.jsonl") for name in _listdir(projects))


def _link_ok(target: Root) -> dict[str, list[Path]]:
    """CCS may link an instance's ``projects`` into ``~/.ccs/shared/…``: allowed there (and
    inside the root) only."""
    ccs_home = os.environ.get("CCS_HOME")
    ccs = (Path(ccs_home).expanduser() if ccs_home else Path.home()) / ".ccs"
    return {"projects": [ccs], "file-history": [ccs]}


def _runs_with_config_dir(target: Root) -> bool:
    """Whether Claude Code reaches ``target`` through CLAUDE_CONFIG_DIR (every root but
    ``~/.claude`` used without it)."""
    return target.origin != "default" or bool(os.environ.get("CLAUDE_CONFIG_DIR"))


def resume_command(target: Root, project: str | None, session_id: str,
                   dir_name: str | None = None) -> str:
    """The shell line that resumes the session from the right directory and config dir."""
    q = shlex.quote
    if target.origin == "ccs":
        cmd = f"ccs {q(target.profile)} --resume {q(session_id)}"
    elif dir_name is None and target.origin == "default" and os.path.realpath(
        target.path
    ) == os.path.realpath(Path.home() / ".claude"):
        cmd = f"claude --resume {q(session_id)}"
    else:
        cmd = f"CLAUDE_CONFIG_DIR={q(str(target.path))} claude --resume {q(session_id)}"
    if dir_name is not None:
        cmd = f"{PROJECT_DIR_NAME_ENV}={q(dir_name)} {cmd}"
    if project is None:
        return cmd
    cd = f"cd -- {q(project)}" if project.startswith("-") else f"cd {q(project)}"
    return f"{cd} && {cmd}"


# -- bytes ------------------------------------------------------------------------------------

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_WS = re.compile(rb"[ \t\r\n]*")
_SCALAR = re.compile(rb"[^,}\]\s]+")
_BRACKET = re.compile(rb'["{}\[\]]')


def _skip_container(line: bytes, pos: int) -> int:
    depth = 0
    while True:
        m = _BRACKET.search(line, pos)
        if m is None:
            raise ValueError("unterminated")
        c = line[m.start()]
        if c == 0x22:  # '"'
            s = _STRING.match(line, m.start())
            if s is None:
                raise ValueError("bad string")
            pos = s.end()
            continue
        depth += 1 if c in (0x7B, 0x5B) else -1
        pos = m.start() + 1
        if depth == 0:
            return pos


def top_level_string_spans(line: bytes, keys: frozenset[str]) -> list[tuple[str, int, int]]:
    """(key, start, end) of each top-level string value whose key is in ``keys``; raises
    ValueError when ``line`` is not one JSON object. Byte offsets include the quotes."""
    pos = _WS.match(line, 0).end()
    if line[pos : pos + 1] != b"{":
        raise ValueError("not an object")
    pos = _WS.match(line, pos + 1).end()
    spans: list[tuple[str, int, int]] = []
    if line[pos : pos + 1] == b"}":
        return spans
    while True:
        m = _STRING.match(line, pos)
        if m is None:
            raise ValueError("bad key")
        raw_key = m.group()
        pos = _WS.match(line, m.end()).end()
        if line[pos : pos + 1] != b":":
            raise ValueError("no colon")
        start = _WS.match(line, pos + 1).end()
        c = line[start : start + 1]
        if c == b'"':
            v = _STRING.match(line, start)
            if v is None:
                raise ValueError("bad string")
            end = v.end()
            key = orjson.loads(raw_key) if b"\\" in raw_key else raw_key[1:-1].decode()
            if key in keys:
                spans.append((key, start, end))
        elif c in (b"{", b"["):
            end = _skip_container(line, start)
        else:
            v = _SCALAR.match(line, start)
            if v is None:
                raise ValueError("bad value")
            end = v.end()
        pos = _WS.match(line, end).end()
        c = line[pos : pos + 1]
        if c == b",":
            pos = _WS.match(line, pos + 1).end()
        elif c == b"}":
            return spans
        else:
            raise ValueError("bad separator")


def rewrite_line(line: bytes, rewrites: dict[str, Callable[[str], str]]) -> tuple[bytes, list[str]]:
    """``line`` with the top-level string values of the keys in ``rewrites`` replaced by
    ``rewrites[key](old)``; every other byte unchanged. Lines that are not a JSON object come
    back as they are. Returns the line and the keys changed."""
    body = line.rstrip(b"\r\n")
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return line, []
    if not isinstance(obj, dict) or not any(isinstance(obj.get(k), str) for k in rewrites):
        return line, []
    try:
        spans = top_level_string_spans(body, frozenset(rewrites))
    except ValueError:
        return line, []
    out = []
    done = []
    pos = 0
    for key, start, end in spans:
        old = orjson.loads(body[start:end])
        new = rewrites[key](old)
        if new == old:
            continue
        out.append(line[pos:start])
        out.append(orjson.dumps(new))
        pos = end
        done.append(key)
    out.append(line[pos:])
    return b"".join(out), done


def _relocate(old_project: str | None, new_project: str) -> Callable[[str], str]:
    """A cwd in the old project (or below it) moves to the same place under the new one;
    any other cwd becomes the new project."""
    base = old_project.rstrip("/") if old_project else None

    def move(cwd: str) -> str:
        if base and cwd.startswith(base + "/"):
            return new_project.rstrip("/") + cwd[len(base) :]
        return new_project

    return move


def _source_bytes(repo, version: VersionRow, limit: int | None) -> Iterator[bytes]:
    """The version's bytes (or its first ``limit``). The repository checks the whole version's
    hash and size as it streams, so a prefix is read to the end too: damage past the cut is
    still damage (the files are renamed into place only after every read succeeded)."""
    left = limit
    for data in repo.iter_version_bytes(version):
        if left is not None:
            if left <= 0:
                continue
            data = data[:left]
            left -= len(data)
        yield data


def _consume(repo, f: RestoreFile, result: RestoreResult, sink: Callable[[bytes], None]) -> None:
    """Feed ``f``'s final bytes to ``sink``, counting size and rewritten lines."""
    rewrites: dict[str, Callable[[str], str]] = {}
    if f._rewrite:
        if "cwd" in result.rewrites:
            rewrites["cwd"] = _relocate(result.source_cwd, result.rewrites["cwd"])
        if "sessionId" in result.rewrites:
            new = result.rewrites["sessionId"]
            rewrites["sessionId"] = lambda _old: new
    f.size = 0
    f.rewritten = {}
    source = _source_bytes(repo, f._version, f._limit)
    if not rewrites:
        for data in source:
            f.size += len(data)
            sink(data)
        return
    needles = [f'"{k}"'.encode() for k in rewrites]
    carry = b""
    for data in source:
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n") + 1
        carry = buf[cut:]
        if cut:
            _emit_lines(buf[:cut], needles, rewrites, f, sink)
    if carry:
        _emit_lines(carry, needles, rewrites, f, sink)


def _emit_lines(block, needles, rewrites, f: RestoreFile, sink) -> None:
    start = 0
    out = []
    while start < len(block):
        nl = block.find(b"\n", start)
        end = len(block) if nl < 0 else nl + 1
        line = block[start:end]
        if any(n in line for n in needles):
            line, keys = rewrite_line(line, rewrites)
            for k in keys:
                f.rewritten[k] = f.rewritten.get(k, 0) + 1
        out.append(line)
        start = end
    data = b"".join(out)
    f.size += len(data)
    sink(data)


# -- writing ----------------------------------------------------------------------------------


def _archive_existing(archive_dir, roots, target: Root, files, durable) -> tuple[int, set[Path]]:
    """Ingest the target root (the caller holds the lock), then make sure every file about to
    be replaced is in the archive byte for byte; refuse to go on otherwise."""
    from .ingest import ingest

    owner = target.projects_shared_with or target.profile
    chosen = [r for r in roots if r.profile in (owner, target.profile)]
    outcome = ingest(archive_dir, chosen, durable=durable, index=False, locked=True)
    archived: set[Path] = set()
    with Repository(archive_dir, readonly=True) as repo:
        known = repo.catalog.files_of_profile(owner)
        for f in files:
            if not os.path.lexists(f.path):
                continue
            row = known.get(f.relpath)
            latest = repo.catalog.latest_version(row.id) if row else None
            if latest is None or latest.sha256 != _hash_file(f.path):
                raise ArchiveError(
                    f"could not archive the existing {f.path}; nothing was replaced",
                    hint="it may be changing right now: try again",
                )
            archived.add(f.path)
    return outcome.snapshot, archived


def _hash_file(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_READ):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _write_all(repo, result: RestoreResult, link_ok, archived: set[Path]) -> None:
    """Write every file to a temp file first, then rename them all; undo on any failure.
    Only the files in ``archived`` (checked to be in the archive) may be replaced."""
    dirs: dict[str, int] = {}
    created_dirs: list[Path] = []
    temps: list[tuple[int, str, str, RestoreFile]] = []  # (dir fd, temp name, name, file)
    new_files: list[tuple[int, str]] = []  # files this run created, removed on failure
    replaced = 0
    current = result.files[0]
    try:
        with private_umask():
            for f in result.files:
                current = f
                rel_dir, name = f.relpath.rsplit("/", 1)
                if rel_dir not in dirs:
                    fd, made = open_safe_dir(result.root, rel_dir, link_ok=link_ok)
                    dirs[rel_dir] = fd
                    created_dirs.extend(made)
                _write_temp(repo, f, result, dirs[rel_dir], name, temps)
            # Sidecars first, the transcript last: the session appears only when complete.
            for dir_fd, tmp, name, f in [*temps[1:], temps[0]]:
                current = f
                if f.path in archived:
                    place(tmp, name, replace=True, dir_fd=dir_fd, shown=f.path)
                    replaced += 1
                else:
                    _place_new(dir_fd, tmp, name, f.path, bool(archived))
                    new_files.append((dir_fd, name))
                temps = [t for t in temps if t[1] != tmp]
            for fd in set(dirs.values()):
                fsync_dir(fd)
    except BaseException as exc:
        for dir_fd, tmp, _, _ in temps:
            _unlink(tmp, dir_fd)
        for dir_fd, name in new_files:
            _unlink(name, dir_fd)
        for folder in reversed(created_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        if isinstance(exc, OSError):
            done = (
                f"{replaced} file(s) were already replaced (their old bytes are archived)"
                if replaced
                else "nothing was restored"
            )
            raise ArchiveError(
                f"could not write {current.path}: {exc.strerror or exc}; {done}"
            ) from None
        raise
    finally:
        for fd in set(dirs.values()):
            os.close(fd)


def _write_temp(repo, f: RestoreFile, result: RestoreResult, dir_fd: int, name: str,
                temps: list) -> None:
    fd, tmp = create_temp(None, name, dir_fd=dir_fd, suffix=".restoring")
    temps.append((dir_fd, tmp, name, f))  # from now on a failure removes it
    try:
        _consume(repo, f, result, lambda data: write_all(fd, data))
        os.utime(fd)  # mtime = now, so cleanupPeriodDays does not sweep it at next start
        os.fsync(fd)
    finally:
        os.close(fd)


def _place_new(dir_fd: int, tmp: str, name: str, path: Path, force: bool) -> None:
    """Rename ``tmp`` to ``name`` only if ``name`` does not exist (fsutil.place: a hard link,
    which fails if it does)."""
    try:
        place(tmp, name, replace=False, dir_fd=dir_fd, shown=path)
    except TargetExists:
        if force:  # appeared after the archiving ingest: it is not archived, keep it
            raise ArchiveError(f"{path} appeared while restoring; nothing replaced it") from None
        raise TargetExists(
            f"{path} already exists", hint="--force archives it first, then replaces it"
        ) from None


def _unlink(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


__all__ = [
    "RestoreFile",
    "RestoreResult",
    "UnsafePath",
    "resume_command",
    "restore",
    "rewrite_line",
    "top_level_string_spans",
]
