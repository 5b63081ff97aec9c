"""An open remote: its settings, its keys, its bucket, and this machine's id and label."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Remote, get_remote, read_key, this_machine
from .crypto import Keys


@dataclass
class OpenRemote:
    remote: Remote
    keys: Keys
    bucket: object  # bucket.Bucket
    machine: str
    label: str


def open_remote(archive_dir: Path, name: str | None, *, workers: int = 8) -> OpenRemote:
    from ..catalog import check_archive_dir
    from .bucket import Bucket

    check_archive_dir(archive_dir)
    remote = get_remote(archive_dir, name)
    keys = Keys(read_key(archive_dir, remote.name))
    return OpenRemote(
        remote, keys, Bucket(remote, workers=workers), this_machine(archive_dir), remote.label
    )
