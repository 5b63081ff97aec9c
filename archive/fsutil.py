"""Writing files that hold transcripts: privately, atomically, and never through something else.

Invariants every writer of the archive, an export or a restore relies on:

- Private. Files are created 0600 and folders 0700 whatever the umask; missing parent folders
  are created 0700 too (a ``umask 000`` must not leave ``~/.local`` world-writable).
- Atomic and durable. A file is written to a temp file in its final folder, fsync'ed, renamed
  over its name, and the folder is fsync'ed: a crash leaves the old file or the new one, never
  half of one, and a failed write leaves no temp file behind.
- Only a regular file is ever replaced. A symlink (the link itself), a FIFO, a device, a socket
  or a folder at the target is refused (:class:`NotRegularFile`, exit 2): ``--force`` means
  "replace my old file", never "turn /dev/null into a file" or "write into a pipe".
- Without replacement, the final step is a hard link, which fails if the name appeared since it
  was checked (no window between a check and the write).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ArchiveError, TargetExists, UsageError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# errnos of file systems without hard links: fall back to check-then-rename there.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS)


class NotRegularFile(UsageError):
    """The target of a write is there but is not a regular file (exit 2): never replaced."""


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created inside are private to the user (0600/0700), whoever creates
    them (our code, SQLite's -wal/-shm, Whoosh's segments)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def private_mkdir(path: Path) -> list[Path]:
    """Create ``path`` and every missing parent 0700 (XDG's mode for the data folder); existing
    folders are left as they are. Returns the folders created, outermost first."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made by someone else in the meantime: theirs, not ours to chmod
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
        created.append(folder)
    return created


def tighten_tree(top: Path) -> int:
    """Folders 0700 and files 0600 under ``top`` (symlinks neither followed nor changed), for an
    archive found readable by others. Returns how many modes were changed."""
    changed = 0
    for folder, dirs, files in os.walk(top):
        for name, mode in [(d, 0o700) for d in dirs] + [(f, 0o600) for f in files]:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
                continue
            os.chmod(path, mode)
            changed += 1
    return changed


def describe(mode: int) -> str:
    """What a file of this ``st_mode`` is, for messages: "a FIFO", "a symlink", …"""
    for test, name in (
        (stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symlink"),
        (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_replaceable(name: str | os.PathLike, *, dir_fd: int | None = None,
                      shown: str | os.PathLike | None = None) -> bool:
    """Whether ``name`` exists; raises :class:`NotRegularFile` when it is there but is anything
    other than a regular file (looked at itself, a symlink is not followed)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise ArchiveError(f"cannot look at {shown or name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(
            f"{shown or name} is {describe(st.st_mode)}, not a regular file; nothing was written",
            hint="only a regular file is ever replaced; move it away or choose another path",
        )
    return True


def fsync_dir(folder: str | os.PathLike | int) -> None:
    """Make the renames in ``folder`` (a path or an open fd) durable."""
    if isinstance(folder, int):
        os.fsync(folder)
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_temp(
    folder: str | os.PathLike | None, name: str, *, dir_fd: int | None = None,
    suffix: str = ".tmp",
) -> tuple[int, str]:
    """Create a new private temp file for ``name`` (``.<name>.<random><suffix>`` in ``folder``,
    or in the folder ``dir_fd`` when given); returns (fd, its path or name). Never follows or
    reuses an existing name."""
    tmp = f".{name}.{os.urandom(6).hex()}{suffix}"  # not secrets: ~2 ms of start-up
    path = tmp if dir_fd is not None else os.path.join(folder or ".", tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
    fd = os.open(path, flags, 0o600, dir_fd=dir_fd)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits off; never added any
    except BaseException:
        os.close(fd)
        os.unlink(path, dir_fd=dir_fd)
        raise
    return fd, path


def write_all(fd: int, data: bytes | Iterable[bytes]) -> int:
    """Write every byte of ``data`` (one buffer or an iterable of them) to ``fd``."""
    total = 0
    for block in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
        view = memoryview(block)
        while view:
            view = view[os.write(fd, view):]
        total += len(block)
    return total


def place(tmp: str, name: str, *, replace: bool, dir_fd: int | None = None,
          shown: str | os.PathLike | None = None) -> None:
    """Move the finished temp file ``tmp`` to ``name`` (both in one folder, or relative to
    ``dir_fd``). With ``replace``, only a regular file (or nothing) may be at ``name``; without,
    anything at ``name`` raises :class:`TargetExists` and is left untouched."""
    shown = shown or name
    if replace:
        check_replaceable(name, dir_fd=dir_fd, shown=shown)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    try:
        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise TargetExists(f"{shown} already exists", hint="--force replaces it") from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        try:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            return
        raise TargetExists(f"{shown} already exists", hint="--force replaces it") from None
    os.unlink(tmp, dir_fd=dir_fd)


def atomic_write(path: str | os.PathLike, data: bytes | Iterable[bytes], *,
                 replace: bool = True, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` as a new 0600 file: temp file in the same folder, fsync,
    rename (or hard link when not ``replace``), fsync of the folder. The folder must exist.
    Whatever fails, no temp file is left and what was at ``path`` is unchanged."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise UsageError(f"{path} is not a file name", hint="give a file name")
    check_replaceable(path)  # before writing a byte: refuse a FIFO or device at once
    fd, tmp = create_temp(path.parent, path.name)
    try:
        try:
            write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        place(tmp, str(path), replace=replace, shown=path)
        if durable:
            fsync_dir(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path


__all__ = [
    "NotRegularFile",
    "atomic_write",
    "check_replaceable",
    "create_temp",
    "describe",
    "fsync_dir",
    "place",
    "private_mkdir",
    "private_umask",
    "tighten_tree",
    "write_all",
]
