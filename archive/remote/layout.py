"""Where things live in the bucket, and how a manifest travels.

::

    <prefix>keycheck                             sealed known text: tells a wrong key apart
    <prefix>objects/<hh>/<hmac of sha256>        sealed zstd frame of one chunk (the local object)
    <prefix>machines/<machine id>/manifests/<hmac of name>
                                                 sealed: a header line + the local manifest file

Every key is written once (If-None-Match) and never rewritten or deleted. A manifest is written
only after every object it names is in the bucket: it is the commit point, as in the archive.
The header carries the manifest's local name (its replay order and its SHA-256), the machine id
and the machine's label, so a manifest copied under another machine's prefix, or one whose bytes
do not hash to the name inside it, is refused.
"""

from __future__ import annotations

import hashlib

import orjson

from .. import manifest as local_manifest
from .crypto import KEYCHECK, Keys
from .errors import RemoteDamaged

MACHINES = "machines/"
OBJECTS = "objects/"
ENVELOPE_FORMAT = 1


def object_key(keys: Keys, sha: str) -> str:
    name = keys.name("object", sha)
    return f"{OBJECTS}{name[:2]}/{name}"


def manifests_under(machine: str) -> str:
    return f"{MACHINES}{machine}/manifests/"


def manifest_key(keys: Keys, machine: str, name: str) -> str:
    return manifests_under(machine) + keys.name("manifest", name)


def seal_manifest(keys: Keys, key: str, name: str, machine: str, label: str, blob: bytes) -> bytes:
    header = {"format": ENVELOPE_FORMAT, "name": name, "machine": machine, "label": label}
    return keys.seal(orjson.dumps(header) + b"\n" + blob, key)


def open_manifest(keys: Keys, key: str, machine: str, sealed: bytes) -> tuple[dict, dict]:
    """(header, manifest document) of a sealed manifest; RemoteDamaged when it does not
    authenticate, sits under another machine, or its content does not match its name."""
    import zstandard

    plain = keys.open(sealed, key)
    head, _, blob = plain.partition(b"\n")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError:
        raise RemoteDamaged(f"{key}: no manifest header") from None
    if header.get("format") != ENVELOPE_FORMAT or header.get("machine") != machine:
        raise RemoteDamaged(f"{key}: a manifest of another machine or format")
    m = local_manifest.NAME.match(header.get("name") or "")
    if not m or hashlib.sha256(blob).hexdigest() != m.group(3):
        raise RemoteDamaged(f"{key}: manifest content does not match its name")
    try:
        doc = orjson.loads(zstandard.ZstdDecompressor().decompress(blob))
    except (zstandard.ZstdError, orjson.JSONDecodeError):
        raise RemoteDamaged(f"{key}: manifest does not decompress or parse") from None
    if not isinstance(doc, dict) or doc.get("format") != local_manifest.FORMAT:
        raise RemoteDamaged(f"{key}: manifest of an unknown format")
    return header, doc


def chunk_shas(doc: dict) -> list[str]:
    """Every chunk a manifest names, first mention first."""
    seen: dict[str, None] = {}
    for rec in doc.get("versions", []):
        for sha, _size in rec["chunks"]:
            seen.setdefault(sha, None)
    return list(seen)


def check_key(bucket, keys: Keys, remote_name: str, *, create: bool = False) -> bool:
    """Refuse a wrong key (WrongKey). With ``create``, an empty bucket gets the key-check
    object of this key. Returns False for a bucket nothing was ever pushed to (no key check,
    and not ``create``), True otherwise."""
    blob = bucket.get(KEYCHECK)
    if blob is None:
        if not create:
            return False
        bucket.put_new(KEYCHECK, keys.keycheck_blob(KEYCHECK))
        blob = bucket.get(KEYCHECK)  # a concurrent first machine may have won
    keys.check(blob or b"", KEYCHECK, remote_name)
    return True
