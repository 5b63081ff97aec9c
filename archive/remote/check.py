"""``archive verify --remote``: re-derive what a bucket holds against its manifests.

Every manifest of every machine is opened (authenticated, hash-checked against the name inside
it); every object they name must be listed; then every object (or a random ``sample`` of them)
is fetched, opened, decompressed and re-hashed. Damage is named by machine, manifest and the
session file that needs it. Nothing is written to the bucket or the archive.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import layout
from .config import clean_label
from .errors import RemoteDamaged
from .pull import _fetch_object
from .session import open_remote


@dataclass
class RemoteCheck:
    remote: str
    machines: dict[str, str] = field(default_factory=dict)  # id -> label
    manifests: int = 0
    objects_named: int = 0
    objects_checked: int = 0
    unreferenced: int = 0  # objects no manifest names yet (an interrupted push): harmless
    problems: list[dict] = field(default_factory=list)  # {what, key, problem, needed_by}
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return dict(self.__dict__) | {"ok": self.ok}


def verify_remote(archive_dir: Path, name: str | None, *, sample: int | None = None,
                  seed: int | None = None) -> RemoteCheck:
    started = time.monotonic()
    r = open_remote(archive_dir, name)
    result = RemoteCheck(r.remote.name)
    if not layout.check_key(r.bucket, r.keys, r.remote.name):
        return result
    needed_by: dict[str, str] = {}  # chunk sha -> "label:profile/relpath" of a file needing it
    for machine in sorted(r.bucket.folders(layout.MACHINES)):
        for key in sorted(r.bucket.keys(layout.manifests_under(machine))):
            result.manifests += 1
            sealed = r.bucket.get(key)
            try:
                if sealed is None:
                    raise RemoteDamaged(f"{key} vanished while listing")
                header, doc = layout.open_manifest(r.keys, key, machine, sealed)
            except RemoteDamaged as exc:
                result.problems.append({"what": "manifest", "key": key, "problem": str(exc)})
                continue
            label = result.machines.setdefault(
                machine, clean_label(header.get("label"), machine[:8])
            )
            for rec in doc.get("versions", []):
                for sha, _size in rec["chunks"]:
                    needed_by.setdefault(sha, f"{label}:{rec['profile']}/{rec['relpath']}")
    result.objects_named = len(needed_by)
    listed = set(r.bucket.keys(layout.OBJECTS))
    present = []
    for sha, who in needed_by.items():
        key = layout.object_key(r.keys, sha)
        if key in listed:
            present.append(sha)
        else:
            result.problems.append({"what": "object", "key": key, "problem": "missing",
                                    "needed_by": who})
    result.unreferenced = len(listed - {layout.object_key(r.keys, s) for s in needed_by})
    if sample is not None and sample < len(present):
        present = random.Random(seed).sample(present, sample)

    def check(sha: str) -> str | None:
        try:
            _fetch_object(r, sha)
        except RemoteDamaged as exc:
            return str(exc)
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        for sha, problem in zip(present, pool.map(check, present), strict=True):
            result.objects_checked += 1
            if problem:
                result.problems.append({"what": "object", "key": layout.object_key(r.keys, sha),
                                        "problem": problem, "needed_by": needed_by[sha]})
    result.seconds = time.monotonic() - started
    return result
