"""The repository: the catalog and the object store opened together, and what readers ask of them.

Reading never takes the writer lock: the catalog is read in a WAL snapshot and objects are
write-once, so a reader sees a committed state even while an ingest runs.

Every read of a version goes through ``iter_version_bytes``, which checks the version's SHA-256
and size as it streams: a chunk list pointing at the wrong (valid) chunk is named as damage,
never returned as data (cat, show, export, restore, the indexer, search's loads).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .addresses import Place, addresses, pick
from .catalog import Catalog, FileRow, VersionRow
from .errors import AmbiguousSession, ArchiveError, Damaged, SessionNotFound, UsageError
from .store import ObjectStore


class Repository:
    def __init__(self, archive_dir: Path, *, readonly: bool = True, durable: bool = True):
        self.archive_dir = archive_dir
        self.catalog = Catalog(archive_dir, readonly=readonly)
        self.store = ObjectStore(archive_dir / "objects", durable=durable)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def index_dir(self) -> Path:
        return self.archive_dir / "index"

    def iter_version_bytes(
        self, version: VersionRow, *, check_first: bool = False
    ) -> Iterator[bytes]:
        """The exact bytes of a version, chunk by chunk: each chunk checked against its name,
        the whole against the version's SHA-256 and size. The last chunk is held back until
        the whole is checked, so a one-chunk version yields nothing unless it is sound;
        ``check_first`` checks a longer one completely before yielding anything (``cat``)."""
        refs = self.catalog.chunks_of(version.id)
        if check_first and len(refs) > 1:
            for _ in self._checked_chunks(version, refs):
                pass
        yield from self._checked_chunks(version, refs)

    def _checked_chunks(self, version: VersionRow, refs) -> Iterator[bytes]:
        h, size, held = hashlib.sha256(), 0, None
        for ref in refs:
            data = self.store.get(ref.sha256)
            size += len(data)
            if size > version.size:
                raise self._damaged(version, "its chunks hold more bytes than recorded")
            h.update(data)
            if held is not None:
                yield held
            held = data
        if size != version.size:
            raise self._damaged(version, "its chunks hold fewer bytes than recorded")
        if h.hexdigest() != version.sha256:
            raise self._damaged(version, "its bytes do not match its recorded SHA-256")
        if held is not None:
            yield held

    def _damaged(self, version: VersionRow, why: str) -> DamagedVersion:
        file = self.catalog.file(version.file_id)
        return DamagedVersion(
            f"version {version.seq} of {file.profile}/{file.relpath} is damaged: {why}",
            hint="`archive verify` lists all damage",
        )

    def open_version(self, version: VersionRow) -> io.BufferedReader:
        """A binary stream over a version's bytes that holds one chunk in memory at a time."""
        return io.BufferedReader(_ChunkStream(self.iter_version_bytes(version)), 1024 * 1024)

    def is_prefix(self, short: VersionRow, long: VersionRow) -> bool:
        """Whether ``short``'s bytes are the start of ``long``'s (one copy only grew)."""
        if short.size > long.size:
            return False
        h, left = hashlib.sha256(), short.size
        for data in self.iter_version_bytes(long):
            if left <= 0:
                break
            h.update(data[:left])
            left -= len(data)
        return h.hexdigest() == short.sha256

    def copies_diverged(self, versions: list[VersionRow]) -> bool:
        """Copies diverged when two of them both changed after the copy: neither is a
        byte-prefix of the other. Identical copies, or one that only lags behind, did not."""
        distinct = {v.sha256: v for v in versions}
        ordered = sorted(distinct.values(), key=lambda v: v.size)
        return any(
            not self.is_prefix(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :]
        )

    # -- sessions --------------------------------------------------------------------------

    def session_copies(self, ref: str) -> list[FileRow]:
        """Main transcripts of the one session ``ref`` names, one per profile holding a copy;
        of a session whose transcript was never archived, its set-aside copies stand in (one
        per profile, see :meth:`_set_aside_only`).

        ``ref`` is a full id, a session's custom name (``/rename``, any case) or a unique id
        prefix, tried in that order. Raises when nothing or several sessions match."""
        ref = ref.strip()
        if not ref:
            raise UsageError("empty session id")
        found = self.catalog.session_files(ref, ("session", SET_ASIDE_KIND))
        files = [f for f in found if f.kind != SET_ASIDE_KIND]
        if len(files) < len(found):
            files = sorted(files + self._set_aside_only(found),
                           key=lambda f: (f.session_id or "", f.profile))
        exact = [f for f in files if f.session_id == ref]
        if exact:
            return exact
        named = self.catalog.sessions_named(ref)
        if named:
            files = named
        ids = sorted({f.session_id for f in files})
        if not ids:
            raise SessionNotFound(
                f"no session matches {ref!r}", hint="`archive sessions` lists what is archived"
            )
        if len(ids) > 1:
            candidates = [self.describe(f) for f in files]
            what = "name" if named else "prefix"
            raise AmbiguousSession(
                f"{ref!r} is the {what} of {len(ids)} sessions",
                candidates,
                hint="pick one by its full id" if named else "give more characters of the id",
            )
        return files

    def _set_aside_only(self, found: list[FileRow]) -> list[FileRow]:
        """Of ``found`` (transcripts and set-aside copies), the sessions the archive holds only
        as set-aside copies (their transcript was never archived): one copy per profile,
        standing for all of that profile's, the file of its newest label."""
        archived = {f.session_id for f in found if f.kind != SET_ASIDE_KIND}
        out: dict[tuple[str, str], FileRow] = {}
        for f in found:
            key = (f.profile, f.session_id or "")
            if f.kind == SET_ASIDE_KIND and f.session_id not in archived and key not in out:
                asides = self.set_aside_versions(f)
                out[key] = asides[-1].file if asides else f
        return list(out.values())

    def places(self, files: list[FileRow]) -> list[Place]:
        """Where each copy lives (profile, project, relpath), for its address."""
        out = []
        for f in files:
            meta = self.catalog.session_meta(f.id) or {}
            out.append(Place(f.profile, meta.get("project"), f.relpath))
        return out

    def copy_at(self, files: list[FileRow], address: str) -> FileRow:
        """The copy ``address`` (``PROFILE`` or ``PROFILE:PROJECT``) names; exit 2 when it
        names none or several, naming the addresses to use."""
        return files[pick(self.places(files), address, files[0].session_id or "")]

    def pick_copy(self, ref: str, from_profile: str | None = None) -> SessionCopy:
        """The copy of a session to read: the one ``from_profile`` (an address: ``PROFILE`` or
        ``PROFILE:PROJECT``) names, else the one with the newest version.

        ``others`` gives the addresses not chosen, so commands can say which copy they used."""
        files = self.session_copies(ref)
        if from_profile:
            file = self.copy_at(files, from_profile)
        else:
            def newest(f: FileRow) -> tuple[str, int]:
                v = self.catalog.latest_version(f.id)
                return (v.captured_at, v.id) if v else ("", 0)

            file = max(files, key=newest)
        named = dict(zip((f.id for f in files), addresses(self.places(files)), strict=True))
        others = [named[f.id] for f in files if f.id != file.id]
        return SessionCopy(file=file, others=others, address=named[file.id])

    def pick_version(self, file: FileRow, seq: int | str | None = None) -> VersionRow:
        """A version of ``file``: its number (``3``, or ``"3"``), a set-aside copy's label
        (``"a1"``, see :meth:`set_aside_versions`), or None for the newest (of a session
        archived only as set-aside copies: its last label)."""
        if isinstance(seq, str):
            ref = seq.strip().lower()
            if ref.isdigit():
                seq = int(ref)
            elif SET_ASIDE_LABEL.fullmatch(ref):
                return self._pick_set_aside(file, ref)
            else:
                raise UsageError(
                    f"{seq!r} is not a version",
                    hint="give a version number, or a set-aside copy's label (a1, a2, …) "
                    "as `archive versions` lists them",
                )
        if file.kind == SET_ASIDE_KIND:
            asides = self.set_aside_versions(file)
            if seq is None and asides:
                return asides[-1].version
            raise UsageError(
                f"session {file.session_id} has no version {seq} in profile {file.profile}: "
                "only copies Claude Code set aside were archived",
                hint=f"its versions are {', '.join(str(a.label) for a in asides)}",
            )
        versions = self.catalog.versions(file.id)
        if not versions:
            raise ArchiveError(f"{file.profile}/{file.relpath} has no stored version")
        if seq is None:
            return versions[-1]
        for v in versions:
            if v.seq == seq:
                return v
        raise UsageError(
            f"session {file.session_id} has no version {seq} in profile {file.profile}",
            hint=f"versions are 1..{versions[-1].seq}",
        )

    def session_versions(self, file: FileRow) -> list[SessionVersion]:
        """Every version of ``file``'s session in its profile, as `archive versions` lists
        them: the transcript's own, numbered from 1, then the set-aside copies' (a1, a2…).
        A session archived only as set-aside copies has only the latter."""
        own = [] if file.kind == SET_ASIDE_KIND else [
            SessionVersion(v.seq, file, v) for v in self.catalog.versions(file.id)]
        return own + self.set_aside_versions(file)

    def set_aside_versions(self, file: FileRow) -> list[SessionVersion]:
        """The old versions of ``file``'s session that Claude Code set aside beside it
        (``<id>.orphaned-…jsonl``, ``<id>.jsonl.superseded-…``) in the same profile, labelled
        ``a1``, ``a2``… in the order they were archived, then set aside: a label never changes
        once given, as a copy found later comes after those found before."""
        from .roots import set_aside_time  # not at import: a search never needs the roots

        asides = [(f, set_aside_time(f.relpath.rsplit("/", 1)[-1]))
                  for f in self.catalog.files_of_session(file.profile, file.session_id or "")
                  if f.kind == SET_ASIDE_KIND]
        asides.sort(key=lambda a: (a[0].first_snapshot, a[1] or "", a[0].relpath))
        out: list[SessionVersion] = []
        for f, when in asides:
            for v in self.catalog.versions(f.id):
                out.append(SessionVersion(f"a{len(out) + 1}", f, v, when))
        return out

    def _pick_set_aside(self, file: FileRow, label: str) -> VersionRow:
        asides = self.set_aside_versions(file)
        for aside in asides:
            if aside.label == label:
                return aside.version
        have = ", ".join(str(a.label) for a in asides)
        raise UsageError(
            f"session {file.session_id} has no set-aside copy {label} in profile {file.profile}",
            hint=f"its set-aside copies are {have}" if have
            else "`archive versions` lists its versions",
        )

    def version_of(self, file: FileRow, version: VersionRow) -> SessionVersion:
        """``version`` of ``file``'s session as `archive versions` names it: its number, or
        its set-aside copy's label (with when it was set aside)."""
        if version.file_id == file.id and file.kind != SET_ASIDE_KIND:
            return SessionVersion(version.seq, file, version)
        for aside in self.set_aside_versions(file):
            if aside.version.id == version.id:
                return aside
        return SessionVersion(version.seq, self.catalog.file(version.file_id), version)

    def version_ref(self, file: FileRow, version: VersionRow) -> int | str:
        """How ``version`` of ``file``'s session is named: its number, or its set-aside copy's
        label when it is one."""
        return self.version_of(file, version).label

    def describe(self, file: FileRow) -> dict:
        """What a person needs to tell candidate sessions apart."""
        latest = self.catalog.latest_version(file.id)
        meta = self.catalog.session_meta(file.id) or {}
        return {
            "session_id": file.session_id,
            "profile": file.profile,
            "project": meta.get("project"),
            "date": meta.get("ended") or (latest.captured_at if latest else None),
            "title": meta.get("custom_title") or meta.get("title"),
            "path": file.relpath,
            "gone_from_source": file.gone_snapshot is not None,
        }


# The label of a set-aside copy's version in `versions`, `cat --version`, `restore --version`.
SET_ASIDE_LABEL = re.compile(r"a[1-9][0-9]{0,8}")


# The kind (archive.roots.classify) of a copy Claude Code set aside.
SET_ASIDE_KIND = "set-aside"


@dataclass
class SessionVersion:
    """A version of a session: one of its transcript's own (numbered 1, 2…), or a copy Claude
    Code set aside, an old version of the session it names (labelled a1, a2…)."""

    label: int | str  # 3, or a1
    file: FileRow  # the file holding it (a set-aside copy's own path in the root)
    version: VersionRow
    set_aside_at: str | None = None  # when Claude Code set it aside (from its name), ISO UTC

    @property
    def set_aside(self) -> bool:
        return isinstance(self.label, str)


class DamagedVersion(Damaged):
    """A version's chunks are readable but are not its bytes (wrong chunk list, lost tail)."""


@dataclass
class SessionCopy:
    file: FileRow
    others: list[str]  # the addresses of the copies not chosen
    address: str = ""  # the chosen copy's: its profile, or PROFILE:PROJECT (archive.addresses)


class _ChunkStream(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._current:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._current = memoryview(nxt)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n
