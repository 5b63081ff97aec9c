"""Keep the derived views in step with the archive: the Whoosh index and ``session_meta``.

The archive is the truth. For every transcript (main or sub-agent), ``session_meta.version_id``
says which version the derived views describe; the work to do is every transcript whose newest
version is another. The index is committed first and ``session_meta`` after it, so a crash in
between only makes the next run index those transcripts again (replacing is idempotent).
A version that appended to the described one re-indexes from its last described turn on: the
earlier turns did not change.

Damage stays local: a transcript whose version cannot be read (a damaged or missing object, a
wrong chunk list) is skipped and named, everything else is indexed and committed. The skip is
remembered (``index_skipped``) so later ingests do not stumble on it again; ``reindex`` retries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from . import sources
from .catalog import FileRow, VersionRow
from .config import load_settings
from .dates import iso_utc
from .errors import Damaged
from .faults import crash_point
from .forks import MARK, turn_marks
from .history import PROMPT_ONLY, parse_history
from .repo import Repository
from .transcript import (
    TITLE_LIMIT,
    Session,
    Turn,
    iter_lines,
    shorten,
)

# ("index", bytes of transcripts done, bytes to do) after each transcript, then ("commit", 0,
# None) while the index is written: the shape of ingest's progress, whose last phases these are.
ProgressFn = Callable[[str, int, int | None], None]
INDEX_POOL_MB = 64
# A second indexing process pays off only on a big batch (a first ingest, a reindex): forking
# and per-worker segments cost about a second, and workers use ~15% more CPU in all.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
# A transcript is parsed whole before it is indexed (~0.15 byte of memory per byte of JSONL),
# and the workers fork from that process: past this size, two processes would push a first
# ingest past 300 MB of memory (measured: a 1 GiB transcript, 407 MiB with two, 256 with one).
PARALLEL_MAX_TRANSCRIPT = 256 * 1024 * 1024

@dataclass
class IndexStats:
    transcripts: int = 0
    documents: int = 0
    turns: int = 0
    bad_lines: int = 0
    bytes_parsed: int = 0
    procs: int = 1
    rebuilt: bool = False  # the index had another schema version and was rebuilt
    skipped: list[dict] = field(default_factory=list)  # {profile, path, version, problem}

    def to_dict(self) -> dict:
        return {
            "transcripts": self.transcripts,
            "documents": self.documents,
            "turns": self.turns,
            "bad_lines": self.bad_lines,
            "processes": self.procs,
            "rebuilt": self.rebuilt,
            "skipped": self.skipped,
        }


def doc_key(file: FileRow) -> str:
    """The index's name for one archived copy of a transcript."""
    return f"{file.profile}/{file.relpath}"


def parse_version(
    repo: Repository, file: FileRow, version: VersionRow, *, tool_output_cap: int
) -> Session:
    """One archived version as a Session, read by the source the file belongs to."""
    with repo.open_version(version) as stream:
        return sources.for_relpath(file.relpath).parse(
            stream,
            kind=file.kind,
            session_id=file.session_id,
            tool_output_cap=tool_output_cap,
            file_size=version.size,
        )


def index_procs(todo_bytes: int, configured: int | None = None, largest: int = 0) -> int:
    """How many processes index ``todo_bytes`` of transcripts, the ``largest`` of them that
    many bytes: ``configured`` when set (``[index] procs`` in config.toml), else 2 for a big
    batch of transcripts that are not huge, when a core is idle.

    Whoosh's multi-process writer analyses and writes postings in two workers while this
    process parses (~5% of the work): near 2x on an idle 2-core machine, but no faster than
    one process when other work already keeps a core busy.
    """
    if configured in (1, 2):
        return configured
    cpus = os.cpu_count() or 1
    if cpus < 2 or todo_bytes < PARALLEL_MIN_BYTES or largest > PARALLEL_MAX_TRANSCRIPT:
        return 1
    busy = _busy_cores()
    return 2 if busy is not None and busy <= cpus - 1.5 else 1


def _busy_cores(sample_s: float = 0.2) -> float | None:
    """Cores kept busy by other processes, sampled now (this process sleeps meanwhile).

    /proc/stat on Linux: the load average would count this very ingest, which has been busy
    storing files for a while, and lags by a minute. Elsewhere the 1-minute load average."""
    def times():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)

    try:
        total1, idle1 = times()
        time.sleep(sample_s)
        total2, idle2 = times()
    except (OSError, ValueError, IndexError):
        try:
            return max(0.0, os.getloadavg()[0] - 1)  # minus this process
        except OSError:
            return None
    if total2 <= total1:
        return None
    return (1 - (idle2 - idle1) / (total2 - total1)) * (os.cpu_count() or 1)


def update_index(
    repo: Repository,
    snapshot_id: int,
    *,
    rebuild: bool = False,
    tool_output_cap: int | None = None,
    procs: int | None = None,
    progress: ProgressFn | None = None,
) -> IndexStats:
    """Index every transcript whose newest version is not indexed yet (all with ``rebuild``).

    A rebuild (``reindex``, an index of another schema version, no usable index) is written
    beside the live index and made live by one rename when complete: searches answer from
    the old index meanwhile, and a kill leaves it serving. ``session_meta`` is replaced after
    the switch, so it never describes more than the live index holds.

    ``tool_output_cap`` and ``procs`` default to the archive's config.toml ([index]), then to
    8 KiB per tool call and ``index_procs``'s choice. The caller holds the archive lock."""
    stats = IndexStats()
    index_dir = repo.index_dir
    # index.new / index.old (search.folder's names): left by a killed rebuild.
    leftover = any(os.path.lexists(f"{index_dir}.{tag}") for tag in ("new", "old"))
    fresh = rebuild or not (index_dir / "meta.json").exists()
    todo = None if fresh or leftover else repo.catalog.files_to_index()
    if todo == []:
        return stats  # nothing new: a no-op ingest does not even import Whoosh
    from . import search as index  # whoosh: imported only by commands that index

    if leftover:
        index.clean_leftovers(index_dir)
        fresh = fresh or not (index_dir / "meta.json").exists()
        todo = None if fresh else repo.catalog.files_to_index()
        if todo == []:
            return stats
    if not fresh and index.schema_outdated(index_dir):
        fresh = stats.rebuilt = True  # built by an older version: derived data, rebuild it
    if not fresh and index.indexed_snapshot(index_dir) is None:
        # No usable index (an ingest killed while creating it, or an older version's kill
        # that left a Whoosh TOC without meta.json, which every later ingest would refuse as
        # "schema version unknown"): build one from everything.
        fresh = True
    if fresh:
        return _rebuild(repo, snapshot_id, stats, tool_output_cap, procs, progress)
    try:
        with _writer(repo, todo, stats, procs, index_dir) as writer:
            meta_rows = _index_todo(repo, writer, todo, stats, tool_output_cap, progress)
            if progress:
                progress("commit", 0, None)
            writer.commit(snapshot_id)
    except index.WRITE_DAMAGE_ERRORS as exc:
        raise index.damaged(exc) from None  # the archive is fine; `archive reindex` heals it
    crash_point("after-index-before-meta")
    _record(repo, meta_rows, stats)
    return stats


def _record(repo: Repository, meta_rows: list[dict], stats: IndexStats, *,
            replace: bool = False) -> None:
    """``session_meta`` rows and skips for what the live index now holds (``replace``: all
    that it holds, after a rebuild)."""
    with repo.catalog.transaction():
        if replace:
            repo.catalog.clear_session_meta()
            repo.catalog.clear_index_skipped()
        repo.catalog.put_session_meta(meta_rows)
        repo.catalog.set_index_skipped(
            [r["file_id"] for r in meta_rows],
            [(s["file_id"], s["version_id"], s["problem"]) for s in stats.skipped],
        )
    for s in stats.skipped:
        del s["file_id"], s["version_id"]  # catalog ids: not for the user


def _rebuild(repo, snapshot_id, stats, tool_output_cap, procs, progress) -> IndexStats:
    """Every transcript from its first turn into ``index.new/``, then make it live, then let
    ``session_meta`` describe it. A kill before the switch leaves the old index and the
    old ``session_meta`` (which describes it); a kill between the switch and ``session_meta``
    leaves rows older than the index, which only makes the next ingest index those
    transcripts again (replacing is idempotent)."""
    from . import search as index

    todo = [(f, v, None, 0) for f, v, _d, _t in repo.catalog.files_to_index(every=True)]
    new_dir = index.start_beside(repo.index_dir)
    with _writer(repo, todo, stats, procs, new_dir) as writer:
        meta_rows = _index_todo(repo, writer, todo, stats, tool_output_cap, progress)
        if progress:
            progress("commit", 0, None)
        writer.commit(snapshot_id)
    crash_point("rebuilt-before-switch")
    index.make_live(repo.index_dir, new_dir, durable=repo.store.durable)
    crash_point("after-index-before-meta")
    _record(repo, meta_rows, stats, replace=True)
    return stats


def _writer(repo: Repository, todo, stats: IndexStats, procs: int | None, index_dir):
    """The IndexWriter for ``todo``: ``procs`` processes (config.toml's, else chosen by the
    batch's size), 64 MB of Whoosh pool in all."""
    from . import search as index

    if procs is None:
        settings = load_settings(repo.archive_dir)
        new_bytes = sum(_new_bytes(repo, version, described) for _f, version, described, _t in todo)
        largest = max((v.size for _f, v, _d, _t in todo), default=0)
        procs = index_procs(new_bytes, settings.index_procs, largest)
    stats.procs = procs
    # 64 MB of Whoosh pool in all keeps a first ingest's peak RSS under 300 MB (256 MB: ~400
    # MB); two workers get half each (a pool past its limit spills sorted runs to disk).
    return index.IndexWriter(index_dir, limitmb=INDEX_POOL_MB // procs, procs=procs)


def _index_todo(repo, writer, todo, stats: IndexStats, tool_output_cap, progress) -> list[dict]:
    """Write the documents of every transcript in ``todo``; their ``session_meta`` rows."""
    from . import search as index

    if tool_output_cap is None:
        tool_output_cap = load_settings(repo.archive_dir).tool_output_cap
    meta_rows = []
    archived: set[str] | None = None
    total = sum(version.size for _f, version, _d, _t in todo)
    done = 0
    for file, version, described, described_turns in todo:
        if progress:
            progress("index", done, total)
        done += version.size
        if file.kind == "history":
            if archived is None:
                archived = repo.catalog.archived_session_ids()
            try:
                stats.documents += _index_history(repo, writer, file, version, archived)
            except Damaged as exc:
                _skip(stats, file, version, exc)
                continue
            meta_rows.append(_meta_row(file, version, Session()))
            continue
        try:
            session = parse_version(repo, file, version, tool_output_cap=tool_output_cap)
        except Damaged as exc:
            _skip(stats, file, version, exc)
            continue
        from_turn = 1
        if described is not None and version.appended_to == described:
            from_turn = max(1, described_turns)
        doc = index.IndexedSession(
            key=doc_key(file),
            profile=file.profile,
            session=session,
            parent_session_id=file.session_id if file.kind == "subagent" else None,
            agent=sources.for_relpath(file.relpath).agent,
        )
        stats.documents += writer.replace_session(doc, from_turn=from_turn)
        stats.transcripts += 1
        stats.turns += len(session.turns)
        stats.bad_lines += session.bad_lines
        stats.bytes_parsed += version.size
        meta_rows.append(_meta_row(file, version, session))
    if progress:
        progress("index", total, total)
    return meta_rows


def _skip(stats: IndexStats, file: FileRow, version: VersionRow, exc: Damaged) -> None:
    """A transcript that cannot be read costs only itself: named, left out, remembered."""
    stats.skipped.append(
        {
            "profile": file.profile,
            "path": file.relpath,
            "version": version.seq,
            "problem": str(exc),
            "file_id": file.id,
            "version_id": version.id,
        }
    )


def _new_bytes(repo: Repository, version: VersionRow, described: int | None) -> int:
    """Bytes whose turns this run indexes: the appended tail of a session that only grew (its
    earlier turns keep their documents), the whole version otherwise."""
    if described is not None and version.appended_to == described:
        return max(0, version.size - repo.catalog.version(described).size)
    return version.size


def history_sessions(repo: Repository, version: VersionRow) -> dict[str, Session]:
    """The prompts of ``history.jsonl`` grouped into one prompt-only Session per session id."""
    sessions: dict[str, Session] = {}
    with repo.open_version(version) as stream:
        for entry in parse_history(line for _offset, line in iter_lines(stream)):
            text = entry.display
            if text is None or not text.strip():
                continue
            when = entry.when
            s = sessions.setdefault(entry.session_id, Session(session_id=entry.session_id))
            if s.project is None and entry.project is not None:
                s.project = entry.project
            s.turns.append(Turn(number=len(s.turns) + 1, prompt=text, timestamp=when,
                                end_timestamp=when))
            s.started = s.started or when
            s.ended = when or s.ended
    for s in sessions.values():
        s.title = "(prompt only) " + shorten(s.turns[0].prompt, TITLE_LIMIT)
    return sessions


def _index_history(repo, writer, file: FileRow, version: VersionRow, archived: set[str]) -> int:
    """Prompts of sessions whose transcript nobody kept become searchable, marked prompt only;
    a session that is archived after all loses its prompt-only documents."""
    from . import search as index

    documents = 0
    for sid, session in history_sessions(repo, version).items():
        key = f"{file.profile}/{file.relpath}{PROMPT_ONLY}{sid}"
        if sid in archived:
            writer.delete_key(key)
            continue
        documents += writer.replace_session(
            index.IndexedSession(key=key, profile=file.profile, session=session)
        )
    return documents


def _meta_row(file: FileRow, version: VersionRow, s: Session) -> dict:
    marks = turn_marks(s) if file.kind == "session" else None
    return {
        "file_id": file.id,
        "version_id": version.id,
        "agent": sources.for_relpath(file.relpath).agent,
        "session_id": s.session_id,
        "parent_session_id": file.session_id if file.kind == "subagent" else None,
        "agent_id": s.agent_id,
        "is_subagent": int(file.kind == "subagent"),
        "project": s.project,
        "branch": s.git_branch,
        "models": orjson.dumps(s.models).decode(),
        "tools": orjson.dumps(s.tools).decode(),
        "started": iso_utc(s.started),
        "ended": iso_utc(s.ended),
        "turns": len(s.turns),
        "title": s.title,
        # The session's name, as `show NAME` and `--name` find it: /rename's custom-title, else
        # the agent-name line (also written by /rename, or alone by a named agent session).
        "custom_title": s.custom_title or s.agent_name,
        "context_tokens": s.context_tokens,
        "peak_context_tokens": s.peak_context_tokens,
        "compactions": len(s.compactions),
        "context_estimated": int(s.context_estimated),
        "bad_lines": s.bad_lines,
        "turn_marks": marks,
        "fork_key": marks[:MARK] if marks else None,
    }
