"""Config roots (profiles) and the files ingest captures from them.

A *root* is a Claude Code config folder; its *profile* is the name the user knows it by:
``default`` (``$CLAUDE_CONFIG_DIR`` or ``~/.claude``), one per CCS instance
(``~/.ccs/instances/<name>``), and extra roots from ``config.toml`` or ``--root NAME=PATH``.
Two names for one real folder are one root (CCS links folders), and a ``projects/`` folder shared
by several roots (CCS ``context_mode: shared``) is captured once, under the first profile.
Discovery never fails on a missing root: it is reported with ``exists=False``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from .errors import UsageError

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Copies Claude Code sets aside beside a transcript, named after its session (seen in the 2.1.328
# client): ``<id>.orphaned-<ms>-<hex>.jsonl`` when it moves an abandoned transcript out of the
# way, ``<id>.jsonl.superseded-<ms>`` (or ``<id>.superseded-<ms>.jsonl``) when a move (/cd)
# finds the destination taken. Old versions of that session, not sessions of their own.
SET_ASIDE = re.compile(
    r"^(?P<id>[A-Za-z0-9][A-Za-z0-9_-]{0,127})"
    r"(?:\.orphaned-\d+-[A-Za-z0-9]+\.jsonl|\.jsonl\.superseded-\d+|\.superseded-\d+\.jsonl)$"
)

_SET_ASIDE_MS = re.compile(r"\.(?:orphaned|superseded)-(\d{1,16})")


def set_aside_time(name: str) -> str | None:
    """When Claude Code set a copy aside, from the milliseconds in its name (ISO-8601 UTC)."""
    from datetime import UTC, datetime

    match = _SET_ASIDE_MS.search(name)
    if match is None:
        return None
    try:
        when = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Root:
    profile: str
    path: Path
    origin: str  # "default" | "ccs" | "cowork" | "config" | "option"
    exists: bool = False
    aliases: list[str] = field(default_factory=list)  # other names of the same real folder
    projects_shared_with: str | None = None  # profile whose projects/ is the same real folder
    agent: str = "claude"  # the source whose root this is (archive.sources): claude, codex
    env: str | None = None  # the variable that named a default root (CLAUDE_CONFIG_DIR, …)

    @property
    def found_by(self) -> str:
        """How the root was found, as ``archive roots`` says it: ``default`` (the agent's own
        folder, ~/.claude or ~/.codex), the variable that named it (``CLAUDE_CONFIG_DIR``,
        ``CODEX_HOME``), ``ccs`` (a CCS instance), ``cowork`` (a Claude Desktop account),
        ``config`` ([roots] in config.toml) or ``--root``."""
        if self.origin == "default" and self.env:
            return self.env
        return "--root" if self.origin == "option" else self.origin

    def to_dict(self) -> dict:
        return {
            "profile": self.profile,
            "agent": self.agent,
            "path": str(self.path),
            "origin": self.found_by,
            "exists": self.exists,
            "aliases": self.aliases,
            "projects_shared_with": self.projects_shared_with,
        }


@dataclass
class SourceFile:
    """A file found in a root, with the stat taken before it is read."""

    relpath: str  # POSIX path relative to the root, as seen (symlinks not resolved)
    abspath: Path
    size: int
    mtime_ns: int
    inode: int
    kind: str
    session_id: str | None


def name_problem(value: str, pattern: re.Pattern, max_len: int) -> str | None:
    """What is wrong with ``value`` as a name that becomes a path part (a profile, a session
    id), said precisely ("contains '..'"), or None when ``pattern`` accepts it."""
    if not value:
        return "is empty"
    if "\x00" in value:
        return "contains a NUL byte"
    if "/" in value:
        return "contains '/'"
    if ".." in value:
        return "contains '..'"
    if not (value[0].isascii() and value[0].isalnum()):
        return "must start with a letter or digit"
    if len(value) > max_len:
        return f"is {len(value)} characters long (at most {max_len})"
    if not pattern.fullmatch(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "._-"))})
        return "contains " + ", ".join(repr(c) for c in bad)
    return None


def check_profile_name(name: str) -> str:
    problem = name_problem(name, PROFILE_NAME, 64)
    if problem:
        raise UsageError(
            f"invalid profile name {name!r}: it {problem}",
            hint="use letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def parse_root_option(value: str) -> tuple[str, str]:
    """``NAME=PATH`` from ``--root``."""
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise UsageError(f"--root expects NAME=PATH, got {value!r}")
    return check_profile_name(name.strip()), path.strip()


def discover_roots(
    extra: list[tuple[str, str]] | None = None,
    configured: dict[str, str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    home: Path | None = None,
) -> list[Root]:
    """Every root ingest reads, in a stable order: default, CCS instances, config, options.

    A later definition of the same profile name replaces an earlier one (``--root default=…``
    points the default profile elsewhere)."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    candidates: dict[str, Root] = {}

    default = env.get("CLAUDE_CONFIG_DIR") or str(home / ".claude")
    candidates["default"] = Root("default", Path(default).expanduser(), "default",
                                 env="CLAUDE_CONFIG_DIR" if env.get("CLAUDE_CONFIG_DIR") else None)

    ccs_home = Path(env["CCS_HOME"]).expanduser() if env.get("CCS_HOME") else home
    instances = ccs_home / ".ccs" / "instances"
    if instances.is_dir():
        for entry in sorted(instances.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if not PROFILE_NAME.match(entry.name):
                continue  # CCS sanitises names; anything else is not an instance
            candidates[entry.name] = Root(entry.name, entry, "ccs")

    for root in cowork_roots(env, home):
        candidates[root.profile] = root

    from .sources import other_roots  # Codex homes, …: each source finds its own

    for other in other_roots(env, home):
        candidates.setdefault(other.profile, other)
    for name, path in (configured or {}).items():
        check_profile_name(name)
        candidates[name] = _named_root(name, path, "config")
    for name, path in extra or []:
        candidates[name] = _named_root(name, path, "option")

    # One root per real folder. Its name is the one whose path is the folder itself rather
    # than a symlink to it (a CCS alias), else the first defined; the others become aliases.
    groups: dict[str, list[Root]] = {}
    for root in candidates.values():
        root.exists = root.path.is_dir()
        groups.setdefault(os.path.realpath(root.path), []).append(root)
    roots: list[Root] = []
    for group in groups.values():
        primary = next((r for r in group if not r.path.is_symlink()), group[0])
        primary.aliases = [r.profile for r in group if r is not primary]
        roots.append(primary)
    projects_by_real: dict[str, str] = {}
    for root in roots:
        projects = root.path / "projects"
        if root.exists and projects.is_dir():
            real_projects = os.path.realpath(projects)
            if real_projects in projects_by_real:
                root.projects_shared_with = projects_by_real[real_projects]
            else:
                projects_by_real[real_projects] = root.profile
    return roots


def _named_root(name: str, path: str, origin: str) -> Root:
    """A root the user names: a Codex home (``sessions/`` and no ``projects/``) is one of kind
    ``codex``, anything else a Claude Code config folder."""
    root = Root(name, Path(path).expanduser(), origin)
    if (root.path / "sessions").is_dir() and not (root.path / "projects").is_dir():
        root.agent = "codex"
    return root


COWORK_DIR = "local-agent-mode-sessions"


def claude_app_dirs(environ: dict[str, str], home: Path) -> list[Path]:
    """Where Claude Desktop keeps its application data, on every system it ships for: Linux
    (``$XDG_CONFIG_HOME/Claude``, ``~/.config/Claude``), macOS (``~/Library/Application
    Support/Claude``), Windows (``%APPDATA%/Claude``). Only those that exist count."""
    places = []
    if environ.get("XDG_CONFIG_HOME"):
        places.append(Path(environ["XDG_CONFIG_HOME"]) / "Claude")
    places += [home / ".config" / "Claude", home / "Library" / "Application Support" / "Claude"]
    if environ.get("APPDATA"):
        places.append(Path(environ["APPDATA"]) / "Claude")
    seen, out = set(), []
    for place in places:
        real = os.path.realpath(place)
        if real not in seen and place.is_dir():
            seen.add(real)
            out.append(place)
    return out


def cowork_roots(environ: dict[str, str], home: Path) -> list[Root]:
    """Claude Desktop's Cowork (local agent mode) accounts: one profile per
    ``local-agent-mode-sessions/<org>/<account>/``, named ``cowork-<org>-<account>`` (first 8
    characters of each). Each task there runs Claude Code with its own config folder
    ``local_<task>/.claude/``, whose ``projects/`` the walk reads (reported by several readers
    of the format; see README)."""
    roots = []
    for app in claude_app_dirs(environ, home):
        base = app / COWORK_DIR
        try:
            orgs = sorted(e for e in os.scandir(base) if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
        for org in orgs:
            try:
                accounts = sorted(e.name for e in os.scandir(org.path)
                                  if e.is_dir(follow_symlinks=False))
            except OSError:
                continue
            for account in accounts:
                name = f"cowork-{org.name[:8]}-{account[:8]}"
                if PROFILE_NAME.match(name):
                    roots.append(Root(name, Path(org.path) / account, "cowork"))
    return roots


def find_root(roots: list[Root], profile: str) -> Root:
    for root in roots:
        if root.profile == profile or profile in root.aliases:
            return root
    known = ", ".join(r.profile for r in roots) or "none"
    raise UsageError(f"unknown profile {profile!r}", hint=f"known profiles: {known}")


def classify(relpath: str) -> tuple[str, str | None]:
    """What a file in a root is, from its path alone: (kind, session id or None).

    Kinds: ``session`` (a main transcript), ``set-aside`` (a copy of one Claude Code moved out
    of the way), ``subagent``, ``tool-result``, ``sidecar`` (other files in a session's folder),
    ``file-history`` (``file-history/<session>/``: what ``/rewind`` restores), ``memory``,
    ``history``, ``other``."""
    parts = relpath.split("/")
    if len(parts) > 2 and parts[0].startswith("local_") and parts[1] == ".claude":
        parts = parts[2:]  # a Cowork task's own config folder (cowork roots)
    if parts == ["history.jsonl"]:
        return "history", None
    if len(parts) >= 3 and parts[0] == "file-history" and SESSION_ID.match(parts[1]):
        return "file-history", parts[1]
    if len(parts) < 3 or parts[0] != "projects":
        return "other", None
    rest = parts[2:]
    name = rest[0]
    if len(rest) == 1:
        if (aside := SET_ASIDE.match(name)) is not None:
            return "set-aside", aside["id"]
        if name.endswith(".jsonl"):
            if name.startswith("agent-"):
                return "subagent", None
            return "session", name[: -len(".jsonl")]
        return "other", None
    if name == "memory":
        return "memory", None
    if SESSION_ID.match(name):
        # Sub-agent transcripts (also under workflows/), not the journal.jsonl beside them.
        if rest[1] == "subagents" and rest[-1].startswith("agent-") \
                and rest[-1].endswith(".jsonl"):
            return "subagent", name
        if rest[1] == "tool-results":
            return "tool-result", name
        return "sidecar", name
    return "other", None


# What the walk yields per regular file: (relpath, path, size, mtime_ns, inode). Plain tuples and
# str paths: a no-op ingest stats tens of thousands of files and reads none of them, so building
# a Path and classifying each one would cost more than the walk itself.
StatTuple = tuple[str, str, int, int, int]


@dataclass
class WalkReport:
    """What a walk of a root did not look at, and why. A place not looked at is reported and
    its archived files are never taken for deleted at the source."""

    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason): errors
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relpath, why): symlinks

    def covers(self, relpath: str) -> bool:
        """Whether ``relpath`` is, or lies under, a place the walk did not look into."""
        for place, _ in (*self.unreadable, *self.skipped):
            if relpath == place or relpath.startswith(place + "/"):
                return True
        return False


def iter_root_files(root: Root, report: WalkReport | None = None) -> Iterator[SourceFile]:
    """Regular files under ``projects/`` and ``file-history/``, and ``history.jsonl``, stat
    taken before reading.

    Symlinks are not followed to files (a link named ``x.jsonl`` may lead anywhere, e.g. to
    ``/proc/self/environ``), and to folders only inside the root, its real ``projects/`` folder
    or, for a CCS instance, the CCS home (CCS links ``projects`` and legacy ``memory/`` there).
    Each real folder is visited once, so a symlink loop cannot trap the walk. Folders that
    cannot be read and symlinks not followed are listed in ``report``; files that vanish are
    skipped; the reader reports files it cannot read."""
    for stat_tuple in iter_root_stats(root, report):
        yield source_file(*stat_tuple)


def source_file(relpath: str, path: str, size: int, mtime_ns: int, inode: int) -> SourceFile:
    """The :class:`SourceFile` of one :func:`iter_root_stats` tuple."""
    if relpath.startswith(("projects/", "history.jsonl")):
        kind, session_id = classify(relpath)
    else:  # another source's file (a Codex rollout, …)
        from .sources import for_relpath

        kind, session_id = for_relpath(relpath).classify(relpath)
    return SourceFile(relpath, Path(path), size, mtime_ns, inode, kind, session_id)


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _why_not_followed(path: str, bases: list[str]) -> tuple[str | None, os.stat_result | None]:
    """(why the symlink at ``path`` is not followed, None) or (None, the folder's stat)."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"a symlink that leads nowhere ({exc.strerror}); not followed", None
    if not stat.S_ISDIR(st.st_mode):
        return "a symlink to a file; symlinks to files are not followed", None
    if not any(_inside(real, base) for base in bases):
        return f"a symlink to {real}, outside the root; not followed", None
    return None, st


def iter_root_stats(root: Root, report: WalkReport | None = None) -> Iterator[StatTuple]:
    """:func:`iter_root_files` as bare stat tuples, in the same order, for callers that skip
    most files unread (ingest compares the stat with the catalog's first)."""
    if not root.exists:
        return
    report = report if report is not None else WalkReport()
    if root.agent != "claude":
        from .sources import for_root

        yield from for_root(root).iter_stats(root, report)
        return
    if root.origin == "cowork":
        yield from _walk_cowork(root, report)
        return
    history = os.path.join(root.path, "history.jsonl")
    try:
        st = os.lstat(history)
    except FileNotFoundError:
        pass
    except OSError as exc:
        report.unreadable.append(("history.jsonl", f"cannot be looked at: {exc.strerror}"))
    else:
        if stat.S_ISREG(st.st_mode):
            yield "history.jsonl", history, st.st_size, st.st_mtime_ns, st.st_ino
        elif stat.S_ISLNK(st.st_mode):
            why = "a symlink; symlinks to files are not followed"
            report.skipped.append(("history.jsonl", why))
    bases = [os.path.realpath(root.path)]
    if root.origin == "ccs":
        bases.append(os.path.realpath(root.path.parent.parent))  # ~/.ccs
    if not root.projects_shared_with:
        yield from _walk(root, "projects", bases, report)
    # file-history/<session>/: the file snapshots /rewind restores, swept with the session.
    yield from _walk(root, "file-history", bases, report)


def _walk_cowork(root: Root, report: WalkReport) -> Iterator[StatTuple]:
    """A Cowork account: each task's ``local_<task>.json`` (the app's record: title, folders)
    and its config folder's ``projects/`` and ``file-history/``."""
    try:
        entries = sorted(os.scandir(root.path), key=attrgetter("name"))
    except OSError as exc:
        report.unreadable.append((".", f"cannot read this folder: {exc.strerror}"))
        return
    bases = [os.path.realpath(root.path)]
    for entry in entries:
        if not entry.name.startswith("local_"):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".json"):
                st = entry.stat(follow_symlinks=False)
                yield entry.name, entry.path, st.st_size, st.st_mtime_ns, st.st_ino
            elif entry.is_dir(follow_symlinks=False):
                for top in ("projects", "file-history"):
                    yield from _walk(root, f"{entry.name}/.claude/{top}", bases, report)
        except OSError as exc:
            report.unreadable.append((entry.name, f"cannot be looked at: {exc.strerror}"))


def _walk(root: Root, top: str, bases: list[str], report: WalkReport) -> Iterator[StatTuple]:
    """Regular files under ``root/top``, depth first, each real folder once."""
    start = os.path.join(root.path, top)
    try:
        st = os.stat(start)  # CCS links a shared projects/ folder here: followed
    except FileNotFoundError:
        return
    except OSError as exc:
        report.unreadable.append((top, f"cannot read this folder: {exc.strerror}"))
        return
    if not stat.S_ISDIR(st.st_mode):
        return
    bases = [*bases, os.path.realpath(start)]
    visited = {(st.st_dev, st.st_ino)}
    stack = [(start, top)]
    is_dir, is_reg, by_name = stat.S_ISDIR, stat.S_ISREG, attrgetter("name")
    while stack:
        folder, rel = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=by_name)
        except FileNotFoundError:
            continue  # removed while we walked
        except OSError as exc:
            report.unreadable.append((rel, f"cannot read this folder: {exc.strerror}"))
            continue
        for entry in entries:
            entry_rel = f"{rel}/{entry.name}"
            try:
                if entry.is_symlink():
                    why, est = _why_not_followed(entry.path, bases)
                    if why is not None:
                        report.skipped.append((entry_rel, why))
                        continue
                else:
                    est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except PermissionError as exc:  # the folder lets us list names, not look at them
                report.unreadable.append((rel, f"cannot read this folder: {exc.strerror}"))
                break
            except OSError as exc:
                report.unreadable.append((entry_rel, f"cannot be looked at: {exc.strerror}"))
                continue
            mode = est.st_mode
            if is_reg(mode):
                yield entry_rel, entry.path, est.st_size, est.st_mtime_ns, est.st_ino
            elif is_dir(mode):
                ident = (est.st_dev, est.st_ino)
                if ident not in visited:
                    visited.add(ident)
                    stack.append((entry.path, entry_rel))


def count_session_files(root: Root) -> int:
    """Main transcripts (``projects/<project>/<session>.jsonl``), as shown by ``archive roots``."""
    if root.agent != "claude":
        return sum(source_file(*st).kind == "session" for st in iter_root_stats(root))
    if not root.exists or root.projects_shared_with:
        return 0
    if root.origin == "cowork":
        return sum(count_session_files(Root(root.profile, task / ".claude", "cowork-task", True))
                   for task in root.path.glob("local_*/"))
    count = 0
    projects = root.path / "projects"
    try:
        project_dirs = list(os.scandir(projects))
    except OSError:
        return 0
    for project in project_dirs:
        try:
            for entry in os.scandir(project.path):
                if entry.name.endswith(".jsonl") and not entry.name.startswith("agent-"):
                    count += 1
        except OSError:
            continue
    return count
