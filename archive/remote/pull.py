"""``archive pull``: add other machines' sessions from a remote to this archive.

For each other machine's manifest not applied here yet (oldest first): fetch the objects it
names that this archive lacks (each opened, decompressed and checked against its SHA-256 before
it is stored), then record it like an ingest does: a local manifest first (with an ``origin``
naming the remote manifest, so push never sends it back and ``repair`` rebuilds it), then the
catalog rows, in one transaction. Files appear under profile ``<machine label>:<profile>``.

Anything that fails its check (a manifest that does not open, an object altered, truncated or
missing) is refused and named: nothing of that manifest is recorded; the others are. A pull
killed at any point leaves objects nothing refers to yet, or a manifest whose snapshot never
finished; the next pull applies those remote manifests again, and a version whose content the
file already holds is not added twice.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import zstandard

from .. import manifest as local_manifest
from ..catalog import Catalog
from ..config import ensure_private_dir, private_umask
from ..errors import environment_errors
from ..faults import crash_point
from ..lock import ArchiveLock
from ..repo import Repository
from ..store import sha256_hex
from . import layout
from .config import clean_label
from .errors import RemoteDamaged
from .session import OpenRemote, open_remote

WORKERS = 8


@dataclass
class PullResult:
    remote: str
    machines: dict[str, str] = field(default_factory=dict)  # id -> label
    manifests_applied: int = 0
    versions_added: int = 0
    objects_fetched: int = 0
    bytes_fetched: int = 0
    snapshot: int | None = None
    seconds: float = 0.0
    refused: list[dict] = field(default_factory=list)  # {machine, key, problem}
    indexed: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.refused

    def to_dict(self) -> dict:
        return dict(self.__dict__) | {"ok": self.ok}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _applied(archive_dir: Path, catalog: Catalog) -> tuple[set[str], dict[str, str]]:
    """Remote manifests recorded here by a finished pull, and each machine's label as first
    recorded (a machine renamed later keeps its sessions under one profile)."""
    finished = {s["id"] for s in catalog.snapshots() if s["status"] == "complete"}
    applied, labels = set(), {}
    for m in local_manifest.read_manifests(archive_dir):
        origin = (m.doc or {}).get("origin")
        if not origin:
            continue
        labels.setdefault(origin["machine"], origin["label"])
        snaps = [s["id"] for s in m.doc.get("snapshots", [])]
        if snaps and snaps[0] in finished:
            applied.add(origin["manifest"])
    return applied, labels


def _fetch_object(r: OpenRemote, sha: str) -> tuple[bytes, int]:
    key = layout.object_key(r.keys, sha)
    sealed = r.bucket.get(key)
    if sealed is None:
        raise RemoteDamaged(f"object {key} (chunk {sha[:12]}) is missing from the bucket")
    blob = r.keys.open(sealed, key)
    try:
        data = zstandard.ZstdDecompressor().decompress(blob)
    except zstandard.ZstdError:
        raise RemoteDamaged(f"object {key} does not decompress") from None
    if sha256_hex(data) != sha:
        raise RemoteDamaged(f"object {key} does not match its chunk's hash")
    return data, len(sealed)


@environment_errors
def pull(
    archive_dir: Path, name: str | None = None, *, again: bool = False, index: bool = True,
    durable: bool = True, workers: int = WORKERS,
) -> PullResult:
    started = time.monotonic()
    r = open_remote(archive_dir, name, workers=workers)
    result = PullResult(r.remote.name)
    if not layout.check_key(r.bucket, r.keys, r.remote.name):
        result.seconds = time.monotonic() - started
        return result  # nothing was ever pushed there
    ensure_private_dir(archive_dir)
    with private_umask(), ArchiveLock(archive_dir, purpose="pull"):
        repo = Repository(archive_dir, readonly=False, durable=durable)
        try:
            _pull_locked(archive_dir, r, repo, result, again, workers)
            if index and result.versions_added:
                from ..indexer import update_index

                result.indexed = update_index(repo, result.snapshot).to_dict()
        finally:
            repo.close()
    result.seconds = time.monotonic() - started
    return result


def _pull_locked(archive_dir, r, repo, result, again, workers) -> None:
    catalog, store = repo.catalog, repo.store
    store.clean_tmp()
    local_manifest.clean_tmp(archive_dir)
    local_manifest.ensure_baseline(archive_dir, catalog, durable=store.durable)
    applied, labels = _applied(archive_dir, catalog)
    if again:
        applied = set()
    incoming = []  # (machine, key, header, doc)
    for machine in sorted(r.bucket.folders(layout.MACHINES)):
        if machine == r.machine:
            continue
        for key in r.bucket.keys(layout.manifests_under(machine)):
            if key in applied:
                continue
            sealed = r.bucket.get(key)
            try:
                if sealed is None:
                    raise RemoteDamaged(f"{key} vanished while listing")
                header, doc = layout.open_manifest(r.keys, key, machine, sealed)
            except RemoteDamaged as exc:
                result.refused.append({"machine": machine, "key": key, "problem": str(exc)})
                continue
            labels.setdefault(machine, clean_label(header.get("label"), machine[:8]))
            incoming.append((machine, key, header, doc))
    for machine in {m for m, *_ in incoming}:
        result.machines[machine] = labels[machine]
    if not incoming:
        return
    incoming.sort(key=lambda t: (t[0], t[2]["name"]))
    roots = [{"profile": f"{labels[m]}:*", "path": f"{r.remote.url}#{m}"}
             for m in sorted(result.machines)]
    snapshot = catalog.begin_snapshot(_now(), socket.gethostname(), orjson.dumps(roots).decode())
    result.snapshot = snapshot
    writer = local_manifest.ManifestWriter(
        archive_dir, catalog.snapshot(snapshot), durable=store.durable
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for machine, key, _header, doc in incoming:
            label = labels[machine]
            need = [sha for sha in layout.chunk_shas(doc) if not store.has(sha)]
            try:
                step = workers * 2  # bounded memory: at most this many chunks in flight
                for i in range(0, len(need), step):
                    part = need[i:i + step]
                    for sha, (data, size) in zip(
                        part, pool.map(lambda s: _fetch_object(r, s), part), strict=True
                    ):
                        store.put(data, sha)
                        result.objects_fetched += 1
                        result.bytes_fetched += size
            except RemoteDamaged as exc:
                result.refused.append({"machine": machine, "key": key, "problem": str(exc)})
                continue
            store.sync()
            _record(catalog, store, writer, snapshot, label, machine, key, doc, result)
    finish = dict(finished_at=_now(), status="complete", versions_added=result.versions_added)
    writer.write(finish=finish)
    with catalog.transaction():
        catalog.update_snapshot(snapshot, **finish)


def _record(catalog, store, writer, snapshot, label, machine, key, doc, result) -> None:
    """One remote manifest as a local one (durable first), then its catalog rows."""
    versions, gone, back = [], [], []
    for rec in doc.get("versions", []):
        versions.append(rec | {"snapshot": snapshot, "profile": f"{label}:{rec['profile']}"})
    for _snap, profile, relpath in doc.get("gone", []):
        gone.append([snapshot, f"{label}:{profile}", relpath])
    for profile, relpath in doc.get("back", []) + doc.get("captured", []):
        back.append([f"{label}:{profile}", relpath])
    origin = {"machine": machine, "label": label, "manifest": key}
    writer.write(versions=versions, gone=gone, back=back, origin=origin)
    crash_point("pull-after-manifest-before-commit")
    with catalog.transaction():
        known: dict[str, dict[str, int]] = {}  # profile -> relpath -> file id

        def file_id(profile: str, relpath: str, rec: dict | None) -> int | None:
            if profile not in known:
                known[profile] = {p: f.id for p, f in catalog.files_of_profile(profile).items()}
            ids = known[profile]
            if relpath not in ids and rec is not None:
                ids[relpath] = catalog.add_file(
                    profile, relpath, rec["kind"], rec["session_id"], snapshot
                )
            return ids.get(relpath)

        for rec in versions:
            fid = file_id(rec["profile"], rec["relpath"], rec)
            held = catalog.versions(fid)
            if any(v.sha256 == rec["sha256"] for v in held):
                continue  # applied before (a pull killed before its snapshot finished)
            for sha, size in rec["chunks"]:
                if not catalog.has_chunk(sha):
                    catalog.add_chunk(sha, size, store.path_for(sha).stat().st_size)
            latest = held[-1] if held else None
            base = rec.get("appended_to")
            appended = latest.id if base and latest and latest.sha256 == base else None
            catalog.add_version(
                fid, rec["sha256"], rec["size"], snapshot, rec["captured_at"], rec["mtime_ns"],
                [sha for sha, _ in rec["chunks"]], appended,
            )
            result.versions_added += 1
        catalog.mark_back([f for f in (file_id(p, rp, None) for p, rp in back) if f])
        for _snap, profile, relpath in gone:
            fid = file_id(profile, relpath, None)
            if fid:
                catalog.mark_gone([fid], snapshot)
    result.manifests_applied += 1
