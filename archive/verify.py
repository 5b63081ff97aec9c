"""Re-derive every hash and check every reference: is the archive sound?

Each object is read, decompressed and re-hashed once; each version's SHA-256 is recomputed from
its chunks. Versions that extend the previous one (appends) continue from a copy of the
previous hash state, so a file with many daily versions costs about one read of its bytes.
Unreferenced objects are reported but are not damage: a killed ingest leaves them.
The snapshot manifests (what ``archive repair`` rebuilds the catalog from) are checked too: each
must hash to its name and parse, and every object it names must exist. Versions no manifest
records (an archive from before manifests, until its next ingest writes a baseline) are
counted: the catalog could not be rebuilt with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from . import manifest
from .catalog import FileRow
from .repo import Repository
from .store import CorruptObject


@dataclass
class Damage:
    what: str  # "object" | "version" | "manifest"
    name: str  # object sha, or profile/relpath@vN
    problem: str

    def to_dict(self) -> dict:
        return {"what": self.what, "name": self.name, "problem": self.problem}


@dataclass
class VerifyResult:
    objects_checked: int = 0
    versions_checked: int = 0
    unreferenced_objects: int = 0
    manifests_checked: int = 0
    unmanifested_versions: int = 0
    damage: list[Damage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damage

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "objects_checked": self.objects_checked,
            "versions_checked": self.versions_checked,
            "unreferenced_objects": self.unreferenced_objects,
            "manifests_checked": self.manifests_checked,
            "unmanifested_versions": self.unmanifested_versions,
            "damage": [d.to_dict() for d in self.damage],
        }


def verify(repo: Repository, progress: Callable[[int], None] | None = None) -> VerifyResult:
    result = VerifyResult()
    catalog, store = repo.catalog, repo.store
    chunks = catalog.all_chunks()
    bad_objects: dict[str, str] = {}
    for sha, (size, _stored) in chunks.items():
        result.objects_checked += 1
        try:
            data = store.get(sha)
        except CorruptObject as exc:
            bad_objects[sha] = str(exc)
            result.damage.append(Damage("object", sha, str(exc)))
            continue
        if len(data) != size:
            bad_objects[sha] = "size differs from the catalog"
            result.damage.append(Damage("object", sha, bad_objects[sha]))
        if progress:
            progress(result.objects_checked)
    on_disk = set(store.iter_names())
    result.unreferenced_objects = len(on_disk - chunks.keys())

    recorded = _check_manifests(repo, on_disk, result)

    files = {f.id: f for f in catalog.all_files()}
    previous_file = None
    prev_chunks: list[str] = []
    prev_hash = None
    for version in catalog.all_versions():
        result.versions_checked += 1
        file: FileRow = files[version.file_id]
        name = f"{file.profile}/{file.relpath}@v{version.seq}"
        if (file.profile, file.relpath, version.sha256) not in recorded:
            result.unmanifested_versions += 1
        refs = catalog.chunks_of(version.id)
        shas = [r.sha256 for r in refs]
        missing = [r.sha256 for r in refs if r.size < 0]
        if missing:
            result.damage.append(
                Damage("version", name, f"refers to unknown chunk {missing[0][:12]}")
            )
            previous_file, prev_hash = None, None
            continue
        broken = [s for s in shas if s in bad_objects]
        if broken:
            result.damage.append(
                Damage("version", name, f"needs damaged object {broken[0][:12]}")
            )
            previous_file, prev_hash = None, None
            continue
        start = 0
        if (
            previous_file == version.file_id
            and prev_hash is not None
            and shas[: len(prev_chunks)] == prev_chunks
        ):
            h = prev_hash.copy()
            start = len(prev_chunks)
        else:
            h = hashlib.sha256()
        size = 0 if start == 0 else None
        for sha in shas[start:]:
            data = store.get(sha)
            h.update(data)
            if size is not None:
                size += len(data)
        if h.hexdigest() != version.sha256:
            result.damage.append(Damage("version", name, "content does not match its hash"))
            previous_file, prev_hash = None, None
            continue
        if size is not None and size != version.size:
            result.damage.append(Damage("version", name, "size differs from the catalog"))
        previous_file, prev_chunks, prev_hash = version.file_id, shas, h
    return result


def _check_manifests(repo: Repository, on_disk: set[str], result: VerifyResult) -> set[tuple]:
    """Check every manifest; returns the (profile, relpath, sha256) of the versions they record."""
    recorded: set[tuple] = set()
    for m in manifest.read_manifests(repo.archive_dir):
        result.manifests_checked += 1
        if m.doc is None:
            result.damage.append(Damage("manifest", m.name, m.problem or "damaged"))
            continue
        missing = None
        for rec in m.doc.get("versions", []):
            recorded.add((rec["profile"], rec["relpath"], rec["sha256"]))
            if missing is None:
                missing = next((s for s, _ in rec["chunks"] if s not in on_disk), None)
        if missing is not None:
            result.damage.append(Damage("manifest", m.name, f"names missing object {missing[:12]}"))
    return recorded
