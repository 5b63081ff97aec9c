"""Where the archive lives and what its settings file says.

The archive folder is private to the user (0700, files 0600) because transcripts hold secrets.
Its layout, described in the README, is::

    <archive dir>/
      catalog.sqlite   snapshots, files, versions, chunk lists (the truth, with objects/)
      objects/         content-addressed chunks, zstd-compressed, named by SHA-256 of the raw bytes
      index/           the Whoosh index, derived from the two above and rebuildable
      config.toml      optional: [roots] name = "path" for cron use
      lock             held (flock) by the one process that writes
      machine-id       this archive's random id: its prefix in a shared bucket (remote/)
      remotes.json     remotes added with `archive remote add`; remotes/<name>.key their keys
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .fsutil import private_mkdir, tighten_tree
from .fsutil import private_umask as private_umask  # re-exported for callers that predate fsutil

ARCHIVE_DIR_ENV = "SESSION_ARCHIVE_DIR"
CONFIG_FILE = "config.toml"
MACHINE_ID_FILE = "machine-id"


def default_archive_dir() -> Path:
    """``$SESSION_ARCHIVE_DIR``, else ``${XDG_DATA_HOME:-~/.local/share}/session-archive``."""
    env = os.environ.get(ARCHIVE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "session-archive"


def resolve_archive_dir(path: str | os.PathLike | None) -> Path:
    return Path(path).expanduser() if path else default_archive_dir()


def ensure_private_dir(path: Path) -> bool:
    """Create ``path`` and its missing parents (0700) when missing. Returns True when an
    existing folder was readable by others, so the caller can warn; then the folder and
    everything in it are tightened (0700/0600), not only the folder."""
    private_mkdir(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o700:
        os.chmod(path, 0o700)
    machine_id(path)
    if mode & 0o077:
        tighten_tree(path)
        return True
    return False


def machine_id(archive_dir: Path) -> str:
    """The archive's machine id, made with the archive: random, so cloned VMs and containers
    sharing a host name still push under different prefixes. Written once (O_EXCL), never
    changed (linked into place, so never seen half-written)."""
    path = archive_dir / MACHINE_ID_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    import secrets

    new = secrets.token_hex(16)
    tmp = archive_dir / f".{MACHINE_ID_FILE}.{new}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(new + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # whole or absent; a concurrent first run's id wins
    except FileExistsError:
        new = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return new


@dataclass
class Settings:
    """Settings from ``config.toml``; every field has a default so the file is optional."""

    roots: dict[str, str] = field(default_factory=dict)
    tool_output_cap: int = 8192
    index_procs: int | None = None  # [index] procs: 1 or 2 processes; None decides per ingest
    context_threshold: int = 100_000  # tokens: a session past this is "bloated"


def load_settings(archive_dir: Path) -> Settings:
    path = archive_dir / CONFIG_FILE
    if not path.exists():
        return Settings()
    import tomllib  # only when there is a file to read: ~5 ms of every command otherwise

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    roots = data.get("roots", {})
    if not isinstance(roots, dict) or not all(isinstance(v, str) for v in roots.values()):
        raise UsageError(f"{path}: [roots] must map profile names to path strings")
    settings = Settings(roots=dict(roots))
    index = data.get("index", {})
    if isinstance(index, dict) and isinstance(index.get("tool_output_cap"), int):
        settings.tool_output_cap = index["tool_output_cap"]
    if isinstance(index, dict) and index.get("procs") in (1, 2):
        settings.index_procs = index["procs"]
    context = data.get("context", {})
    if isinstance(context, dict) and isinstance(context.get("threshold"), int):
        settings.context_threshold = context["threshold"]
    return settings
