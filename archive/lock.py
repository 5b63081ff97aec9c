"""The one-writer lock.

``flock`` on ``<archive>/lock``: the kernel releases it when the holder dies, so a killed ingest
never leaves a stale lock behind. Readers take no lock (SQLite WAL and write-once objects keep
what they see consistent).

The holder writes ``<purpose> pid <pid>`` into the file once it holds the lock, and empties it
before letting go, so a refused process can say who is writing. That record is written after
the flock is taken, and a killed holder leaves its stale record behind: a refused process reads
it until it names a live process (briefly: the new holder writes it at once), and takes the lock
after all if the holder let go meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

from .errors import ArchiveLocked

LOCK_FILE = "lock"
# How long a refused process keeps reading an empty, partial or stale holder record (trying the
# lock again meanwhile) before it calls the holder an unknown process.
HOLDER_PATIENCE = 0.5
_HOLDER = re.compile(r"([A-Za-z0-9_.-]+) pid ([0-9]+)\n")


class ArchiveLock:
    def __init__(self, archive_dir: Path, *, wait: float = 0.0, purpose: str = "ingest"):
        self.path = archive_dir / LOCK_FILE
        self.wait = wait
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now < deadline:
                    time.sleep(0.1)
                    continue
                holder = _read_holder(fd)
                if holder is None and now < deadline + HOLDER_PATIENCE:
                    time.sleep(0.01)
                    continue
                os.close(fd)
                raise ArchiveLocked(
                    f"another archive process is writing ({holder or 'unknown process'})",
                    hint="try again later, or pass --wait SECONDS",
                ) from None
        # One write over whatever a killed holder left, then cut any longer leftover: the file
        # never reads empty while held (readers stop at the record's newline).
        record = f"{self.purpose} pid {os.getpid()}\n".encode()
        os.pwrite(fd, record, 0)
        os.ftruncate(fd, len(record))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # no record of a holder that is gone
            except OSError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str | None:
    """``<purpose> pid <pid>`` of the holder, or None while the record is missing, partial or
    left by a process that no longer exists."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace")
    except OSError:
        return None
    match = _HOLDER.match(text)
    if match is None or not _alive(int(match[2])):
        return None
    return f"{match[1]} pid {match[2]}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except (OverflowError, OSError):
        return False
    return True
