"""The one-writer lock.

``flock`` on ``<archive>/lock``: the kernel releases it when the holder dies, so a killed ingest
never leaves a stale lock behind. Readers take no lock (SQLite WAL and write-once objects keep
what they see consistent).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import ArchiveLocked

LOCK_FILE = "lock"


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
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise ArchiveLocked(
                        f"another archive process is writing ({holder})",
                        hint="try again later, or pass --wait SECONDS",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.purpose} pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "unknown process"
