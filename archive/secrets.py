"""Which archived sessions hold credential-shaped strings, by kind, without ever keeping one.

The raw bytes of the newest version of each transcript are scanned, not the parsed session: the
parser caps tool output at 8 KiB a call and secrets often sit in tool output (``cat .env``). The
bytes are read a line at a time (a line longer than 4 MiB in overlapping windows), so memory stays
bounded whatever the file size. Sub-agent transcripts and saved tool output (``tool-results/``)
count for their parent session.

Findings are ``(kind, offset of the line)`` only, as :func:`redact.find_secrets` returns spans and
never text: nothing here can hand a secret to a printer.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from . import sources
from .catalog import FileRow, VersionRow
from .errors import UsageError
from .redact import KINDS, find_secrets
from .repo import Repository

# File kinds whose text belongs to a session (memory/ and history.jsonl are not a session's).
SCANNED_KINDS = ("session", "subagent", "tool-result")
_BLOCK = 1024 * 1024
# A line longer than _WINDOW is scanned in windows that overlap by _OVERLAP; half of it is far
# longer than any secret a rule matches (a PEM block is a few KiB), so one across a cut is seen
# whole.
_WINDOW = 4 * 1024 * 1024
_OVERLAP = 64 * 1024
_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass
class SecretReport:
    """One archived copy of a session (one profile) and what it holds, by kind."""

    session_id: str
    profile: str
    project: str | None
    kinds: Counter = field(default_factory=Counter)
    turns: list[int] = field(default_factory=list)  # turns of the main transcript with findings
    ended: str | None = None  # for ordering: most recently active first

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def to_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "profile": self.profile,
            "project": self.project,
            "kinds": dict(sorted(self.kinds.items(), key=lambda kv: _ORDER.get(kv[0], 99))),
            "total": self.total,
            "turns": self.turns,
        }


def iter_findings(stream: BinaryIO) -> Iterator[tuple[str, int]]:
    """``(kind, byte offset of its line)`` for every credential-shaped string in ``stream``.

    Bytes are decoded as UTF-8 with ``surrogateescape``: invalid bytes match nothing, as with
    ``replace``, but every character maps back to its bytes, so window cuts are exact."""
    base = 0  # absolute offset of block[0]
    line_start = 0
    buf = b""  # bytes of the current line not scanned yet; buf[0] is at buf_start
    buf_start = 0
    counted_to = 0  # in this line, findings starting before this offset were already yielded
    while block := stream.read(_BLOCK):
        pos = 0
        while True:
            nl = block.find(b"\n", pos)
            if nl < 0:
                buf += block[pos:]
                if len(buf) > _WINDOW:
                    # The next window starts _OVERLAP before this one's end; this one answers
                    # for findings starting before the middle of the overlap, so every finding
                    # is judged with context on both sides (a cut is not a word boundary).
                    keep = len(buf) - _OVERLAP
                    limit = keep + _OVERLAP // 2
                    for kind, start, end in _scan(buf, buf_start, limit):
                        if start >= counted_to:
                            yield kind, line_start
                            counted_to = end
                    counted_to = max(counted_to, buf_start + limit)
                    buf, buf_start = buf[keep:], buf_start + keep
                break
            buf += block[pos:nl]
            if buf_start == line_start:  # the whole line at once: the common case
                for finding in find_secrets(buf.decode("utf-8", "surrogateescape")):
                    yield finding.kind, line_start
            else:
                for kind, start, _end in _scan(buf, buf_start, len(buf)):
                    if start >= counted_to:
                        yield kind, line_start
            pos = nl + 1
            line_start = buf_start = counted_to = base + pos
            buf = b""
        base += len(block)
    if buf:
        for kind, start, _end in _scan(buf, buf_start, len(buf)):
            if start >= counted_to:
                yield kind, line_start


def _scan(data: bytes, offset: int, limit: int) -> Iterator[tuple[str, int, int]]:
    """``(kind, start, end)`` as absolute byte offsets (``data[0]`` is at ``offset``) of the
    findings in ``data`` that start before ``data[limit]``."""
    text = data.decode("utf-8", "surrogateescape")
    at_char = at_byte = 0
    for finding in find_secrets(text):
        at_byte += len(text[at_char : finding.start].encode("utf-8", "surrogateescape"))
        at_char = finding.start
        if at_byte >= limit:
            return
        end = at_byte + len(text[finding.start : finding.end].encode("utf-8", "surrogateescape"))
        yield finding.kind, offset + at_byte, offset + end


def scan(repo: Repository, profile: str | None = None) -> list[SecretReport]:
    """Every archived session copy (of ``profile``, or all) holding credential-shaped strings,
    most recently active first."""
    files = [f for f in repo.catalog.all_files() if f.kind in SCANNED_KINDS]
    if profile is not None and not any(f.profile == profile for f in files):
        known = sorted({f.profile for f in files})
        raise UsageError(
            f"the archive holds no session of profile {profile!r}",
            hint=f"profiles in the archive: {', '.join(known) or 'none'}",
        )
    files = [f for f in files if profile is None or f.profile == profile]
    # Main transcripts first, so a report exists (with project and turns) before its sidecars.
    files.sort(key=lambda f: (f.kind != "session", f.id))
    reports: dict[tuple[str, str], SecretReport] = {}
    cache: dict[str, list[tuple[str, int]]] = {}  # by content hash: identical copies read once
    for file in files:
        version = repo.catalog.latest_version(file.id)
        if version is None:
            continue
        findings = cache.get(version.sha256)
        if findings is None:
            with repo.open_version(version) as stream:
                findings = cache[version.sha256] = list(iter_findings(stream))
        if not findings:
            continue
        meta = repo.catalog.session_meta(file.id) or {}
        sid = file.session_id or meta.get("session_id") or file.relpath.rsplit("/", 1)[-1]
        report = reports.get((file.profile, sid))
        if report is None:
            report = reports[(file.profile, sid)] = _new_report(repo, file, sid, meta)
        report.kinds.update(kind for kind, _ in findings)
        if file.kind == "session":
            report.turns = _turns_of(repo, file, version, [offset for _, offset in findings])
    return sorted(
        reports.values(),
        key=lambda r: (r.ended or "", r.profile, r.session_id),
        reverse=True,
    )


def _new_report(repo: Repository, file: FileRow, sid: str, meta: dict) -> SecretReport:
    """A report for session ``sid`` of ``file.profile``, described by its main transcript's
    ``session_meta`` when the archive has one (else by the file that holds the finding)."""
    if file.kind != "session":
        main = next(
            (f for f in repo.catalog.session_files(sid)
             if f.profile == file.profile and f.session_id == sid),
            None,
        )
        if main is not None:
            meta = repo.catalog.session_meta(main.id) or meta
    return SecretReport(
        session_id=sid,
        profile=file.profile,
        project=meta.get("project"),
        ended=meta.get("ended") or meta.get("started"),
    )


def _turns_of(
    repo: Repository, file: FileRow, version: VersionRow, offsets: list[int]
) -> list[int]:
    """The turns whose lines hold these offsets (a second read, done only for transcripts with
    findings; a line before the first prompt belongs to no turn)."""
    with repo.open_version(version) as stream:
        session = sources.for_relpath(file.relpath).parse(
            stream, kind=file.kind, session_id=file.session_id, tool_output_cap=0,
            file_size=version.size,
        )
    starts = [t.start_offset for t in session.turns]
    return sorted({n for n in (bisect.bisect_right(starts, o) for o in offsets) if n})


__all__ = ["SCANNED_KINDS", "SecretReport", "iter_findings", "scan"]
