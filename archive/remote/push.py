"""``archive push``: send this machine's snapshots to a remote.

Order, per manifest (oldest first): every object it names that the bucket lacks, then the
sealed manifest. Objects already in the bucket (from any machine) are not sent again. Nothing
is rewritten (If-None-Match) or deleted, so a killed push leaves at worst objects no manifest
names yet, which the next push finds present and does not send again; two machines pushing at
once write under different manifest prefixes and, for a shared object, the first write wins.

``heal`` is the one exception to "never rewritten": it re-reads every object this machine's
manifests name and overwrites those whose bytes fail authentication (altered or truncated in the
bucket) with this machine's sound copy. Names are content addresses, so the only thing such an
overwrite can replace is damage.

Pulled snapshots (manifests with an ``origin``) are other machines' history: never pushed back.
No lock is taken: objects and manifests are immutable and a manifest appears whole (rename),
so an ingest running meanwhile only adds manifests a later push sends.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from .. import manifest as local_manifest
from ..faults import crash_point
from ..store import sha256_hex
from . import layout
from .errors import RemoteDamaged
from .session import open_remote

WORKERS = 8


@dataclass
class PushResult:
    remote: str
    machine: str
    label: str
    manifests_sent: int = 0
    manifests_present: int = 0
    objects_sent: int = 0
    objects_present: int = 0
    objects_healed: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _sealed_object(keys, store_root: Path, sha: str, key: str) -> bytes:
    """The local object's stored frame, checked against its name, sealed for ``key``. Damaged
    local bytes are never sent."""
    path = store_root / sha[:2] / sha[2:]
    try:
        blob = path.read_bytes()
    except OSError:
        raise RemoteDamaged(f"local object {sha[:12]} is missing or unreadable") from None
    try:
        ok = sha256_hex(zstandard.ZstdDecompressor().decompress(blob)) == sha
    except zstandard.ZstdError:
        ok = False
    if not ok:
        raise RemoteDamaged(f"local object {sha[:12]} is damaged; `archive verify` names it")
    return keys.seal(blob, key)


def push(
    archive_dir: Path, name: str | None = None, *, heal: bool = False, workers: int = WORKERS
) -> PushResult:
    started = time.monotonic()
    r = open_remote(archive_dir, name, workers=workers)
    result = PushResult(r.remote.name, r.machine, r.label)
    local = [m for m in local_manifest.read_manifests(archive_dir)]
    if not local:
        result.seconds = time.monotonic() - started
        return result
    layout.check_key(r.bucket, r.keys, r.remote.name, create=True)
    there = set(r.bucket.keys(layout.manifests_under(r.machine)))
    todo = []
    for m in local:
        if m.doc is None:
            result.problems.append(f"local manifest {m.name}: {m.problem}")
            break  # later ones may build on it: stop here, `archive repair`/`verify` explain
        if m.doc.get("origin"):
            continue  # pulled from another machine
        key = layout.manifest_key(r.keys, r.machine, m.name)
        if key in there:
            result.manifests_present += 1
        else:
            todo.append((m, key))
    if not todo and not heal:
        result.seconds = time.monotonic() - started
        return result
    objects = set(r.bucket.keys(layout.OBJECTS))
    store_root = archive_dir / "objects"
    folder = local_manifest.manifest_dir(archive_dir)

    def send(sha: str) -> int:
        key = layout.object_key(r.keys, sha)
        sealed = _sealed_object(r.keys, store_root, sha, key)
        return len(sealed) if r.bucket.put_new(key, sealed) else 0

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for m, key in todo:
            missing = []
            for sha in layout.chunk_shas(m.doc):
                okey = layout.object_key(r.keys, sha)
                if okey in objects:
                    result.objects_present += 1
                else:
                    missing.append(sha)
            try:
                for sha, sent in zip(missing, pool.map(send, missing), strict=True):
                    objects.add(layout.object_key(r.keys, sha))
                    if sent:
                        result.objects_sent += 1
                        result.bytes_sent += sent
                    else:
                        result.objects_present += 1  # another machine sent it meanwhile
            except RemoteDamaged as exc:
                result.problems.append(f"manifest {m.name} not pushed: {exc}")
                break
            crash_point("push-after-objects-before-manifest")
            blob = (folder / m.name).read_bytes()
            sealed = layout.seal_manifest(r.keys, key, m.name, r.machine, r.label, blob)
            r.bucket.put_new(key, sealed)
            result.manifests_sent += 1
            result.bytes_sent += len(sealed)
            crash_point("push-after-manifest")
        if heal and not result.problems:
            ours = {sha for m in local if m.doc and not m.doc.get("origin")
                    for sha in layout.chunk_shas(m.doc)}
            there = [sha for sha in ours if layout.object_key(r.keys, sha) in objects]

            def heal_one(sha: str) -> bool:
                from .pull import _fetch_object

                try:
                    _fetch_object(r, sha)
                    return False
                except RemoteDamaged:
                    key = layout.object_key(r.keys, sha)
                    r.bucket.replace(key, _sealed_object(r.keys, store_root, sha, key))
                    return True

            result.objects_healed = sum(pool.map(heal_one, there))
    result.seconds = time.monotonic() - started
    return result
