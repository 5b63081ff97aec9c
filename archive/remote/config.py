"""Remotes this archive knows: ``remotes.json`` (names, URLs, endpoints, the machine's label)
and one key file per remote under ``remotes/`` (0600), both in the archive folder.

A remote's URL is ``s3://BUCKET[/PREFIX]``; the endpoint (any S3-compatible store) is kept with
it, credentials are not: they come from the usual AWS chain (environment, ``~/.aws``).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from ..config import ensure_private_dir, machine_id
from ..errors import UsageError

REMOTES_FILE = "remotes.json"
KEYS_DIR = "remotes"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")


@dataclass
class Remote:
    name: str
    url: str
    endpoint: str | None = None
    machine_name: str | None = None  # this machine's label in the bucket (default: host name)

    @property
    def bucket(self) -> str:
        return parse_url(self.url)[0]

    @property
    def prefix(self) -> str:
        """Key prefix inside the bucket: "" or "some/path/"."""
        return parse_url(self.url)[1]

    @property
    def label(self) -> str:
        host = socket.gethostname().split(".")[0]
        return self.machine_name or clean_label(host, "machine")

    def to_dict(self) -> dict:
        return asdict(self) | {"label": self.label}


def parse_url(url: str) -> tuple[str, str]:
    m = _URL.match(url)
    if not m:
        raise UsageError(
            f"not a bucket URL: {url!r}", hint="write s3://BUCKET or s3://BUCKET/PREFIX"
        )
    prefix = (m.group(2) or "").strip("/")
    return m.group(1), (prefix + "/" if prefix else "")


def clean_label(label: str | None, fallback: str) -> str:
    """A machine label safe in a profile name and on a terminal: ``[A-Za-z0-9._-]``, else
    ``fallback`` (a label from a bucket is another machine's word, not trusted text)."""
    return label if label and _NAME.match(label) else fallback


def check_name(name: str, what: str = "remote name") -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"not a {what}: {name!r}", hint="letters, digits, '.', '_', '-' (up to 64)"
        )
    return name


def _path(archive_dir: Path) -> Path:
    return archive_dir / REMOTES_FILE


def load_remotes(archive_dir: Path) -> dict[str, Remote]:
    path = _path(archive_dir)
    if not path.exists():
        return {}
    try:
        raw = orjson.loads(path.read_bytes())
        return {n: Remote(name=n, **r) for n, r in raw.get("remotes", {}).items()}
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        raise UsageError(f"{path} is not a remotes file", hint="fix or remove it") from None


def _save(archive_dir: Path, remotes: dict[str, Remote]) -> None:
    doc = {"remotes": {n: {k: v for k, v in asdict(r).items() if k != "name"}
                       for n, r in sorted(remotes.items())}}
    path = _path(archive_dir)
    tmp = path.with_name(f".{REMOTES_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def get_remote(archive_dir: Path, name: str | None) -> Remote:
    """The remote called ``name``; without a name, the only one there is."""
    remotes = load_remotes(archive_dir)
    if name is None:
        if len(remotes) == 1:
            return next(iter(remotes.values()))
        raise UsageError(
            "no remote added yet" if not remotes else "several remotes: name one",
            hint="`archive remote add NAME s3://BUCKET`" if not remotes else
            f"one of: {', '.join(sorted(remotes))}",
        )
    if name not in remotes:
        raise UsageError(f"no remote called {name!r}", hint="`archive remote list` shows them")
    return remotes[name]


def key_path(archive_dir: Path, name: str) -> Path:
    return archive_dir / KEYS_DIR / f"{name}.key"


def read_key(archive_dir: Path, name: str) -> str:
    try:
        return key_path(archive_dir, name).read_text().strip()
    except FileNotFoundError:
        raise UsageError(
            f"the key of remote {name!r} is missing ({key_path(archive_dir, name)})",
            hint="`archive remote remove` it, then add it again with --key",
        ) from None


def add_remote(archive_dir: Path, remote: Remote, key: str) -> None:
    """Record ``remote`` and its key (0600). The key is written first: a remote listed without
    its key cannot happen."""
    ensure_private_dir(archive_dir)
    remotes = load_remotes(archive_dir)
    if remote.name in remotes:
        raise UsageError(
            f"a remote called {remote.name!r} exists", hint="`archive remote remove` it first"
        )
    folder = archive_dir / KEYS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = key_path(archive_dir, remote.name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    remotes[remote.name] = remote
    _save(archive_dir, remotes)


def remove_remote(archive_dir: Path, name: str) -> Remote:
    """Forget a remote here (the bucket is not touched). The key file goes too: print it first
    with `archive remote key` if no other machine holds it."""
    remotes = load_remotes(archive_dir)
    remote = get_remote(archive_dir, name)
    del remotes[name]
    _save(archive_dir, remotes)
    key_path(archive_dir, name).unlink(missing_ok=True)
    return remote


def this_machine(archive_dir: Path) -> str:
    return machine_id(archive_dir)
