"""The full-text index: writing session documents and querying them (Whoosh).

This is the only module that talks to Whoosh, so the engine can be swapped without touching the
rest of the project. One Whoosh document per turn and one per session (``kind``), in an index
folder that also holds ``meta.json`` (schema version, last indexed snapshot).

Concurrency model: the caller holds the archive-wide lock while writing, so there is at most
one ``IndexWriter``. Searches take no lock: Whoosh readers open the last committed table of
contents, so they never wait for an ingest and never see a half-written index.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import heapq
import io
import itertools
import json
import marshal
import math
import os
import pickle
import re
import shutil
import signal
import struct
import threading
import time
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

import index_schema  # first: it imports Whoosh without its heavy extras (see there)

# isort: split
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.filedb.filestore import FileStorage
from whoosh.matching.wrappers import FilterMatcher
from whoosh.qparser import FieldAliasPlugin, MultifieldParser
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.filelock import try_for
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from archive.errors import ArchiveError, IndexOutOfDate, UsageError

if TYPE_CHECKING:  # the parser module is not needed to search
    from archive import transcript

INDEX_NAME = "MAIN"
META_FILE = "meta.json"
_LOCK_NAME = "WRITELOCK"
_REINDEX_HINT = "run `archive reindex`, or the next ingest that archives anything rebuilds it"

# Query aliases people type naturally; the schema names are plural.
_ALIASES = {"tools": ["tool"], "models": ["model"], "files": ["file"]}
_SNIPPET_WIDTH = 200
# Seconds to wait for Whoosh's write lock before treating it as stale (see _take_lock).
_LOCK_WAIT = 3.0
# Commit (without advancing indexed_snapshot) after this much text per worker process.
_FLUSH_TEXT_MB = 32
# Searches pay per segment (term lookups, open files): from this many on, commits merge.
_MAX_SEGMENTS = 8
# This many segments of about one size (the largest at most _PEERS times the smallest) are
# merged together.
_MERGE_FACTOR = 4
_PEERS = 3
# Segments bigger than this on disk (a first ingest writes ~25 MB ones) are not merged by tier:
# merging them costs more than indexing them did.
_MERGE_MAX_BYTES = 16 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Public data


SameFn = Callable[[list[dict]], list[Hashable]]
TitlesFn = Callable[[list[str]], dict[str, str | None]]


@dataclass
class IndexedSession:
    key: str  # unique per archived source file copy, e.g. "default/projects/-x/abc.jsonl"
    profile: str
    session: transcript.Session  # parsed
    parent_session_id: str | None = None  # for sub-agents
    gone_from_source: bool = False


@dataclass
class SearchFilters:
    profile: str | None = None
    project: str | None = None  # substring of the project path (case-insensitive)
    branch: str | None = None
    model: str | None = None  # substring, e.g. "opus" matches "claude-opus-4-1"
    tool: str | None = None
    since: datetime | None = None  # tz-aware UTC (naive is taken as UTC)
    until: datetime | None = None
    session_ids: list[str] | None = None


@dataclass
class Hit:
    key: str
    session_id: str
    turn: int | None  # None: the session document matched (title, or words across prompts)
    profile: str
    project: str | None
    timestamp: datetime | None
    score: float
    title: str | None
    snippet: str  # plain text, one line, ~200 chars around the match
    highlights: list[tuple[int, int]]  # character spans in snippet of matched terms
    is_subagent: bool
    agent_id: str | None
    gone_from_source: bool


# --------------------------------------------------------------------------------------------
# Folder, meta.json, permissions


def _storage(index_dir: Path) -> FileStorage:
    # mmap makes opening large segments slow (see whoosh-notes): every cold search pays it.
    return FileStorage(str(index_dir), supports_mmap=False)


def _read_meta(index_dir: Path) -> dict | None:
    try:
        with open(Path(index_dir) / META_FILE, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _write_meta(index_dir: Path, meta: dict) -> None:
    """Atomic (temp + fsync + rename), 0600: a crash leaves the old or the new file."""
    index_dir = Path(index_dir)
    tmp = index_dir / f".{META_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(meta, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, index_dir / META_FILE)
    with contextlib.suppress(OSError):
        dfd = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _make_dir(index_dir: Path) -> None:
    index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(index_dir, 0o700)


def _secure_tree(index_dir: Path) -> None:
    """Files 0600, folders 0700: the index holds transcript text, credentials included."""
    for root, dirs, files in os.walk(index_dir):
        for name, mode in [(d, 0o700) for d in dirs] + [(f, 0o600) for f in files]:
            path = os.path.join(root, name)
            with contextlib.suppress(FileNotFoundError):
                if os.lstat(path).st_mode & 0o777 != mode:
                    os.chmod(path, mode)
    os.chmod(index_dir, 0o700)


@contextlib.contextmanager
def _private_umask():
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _create_empty(index_dir: Path) -> None:
    """meta.json first, then the table of contents: a crash in between leaves no index (the
    next ingest creates it), never a TOC without a schema version, which searches would
    report as an index to rebuild."""
    with _private_umask():
        _make_dir(index_dir)
        _write_meta(
            index_dir, {"schema_version": index_schema.SCHEMA_VERSION, "indexed_snapshot": None}
        )
        _storage(index_dir).create_index(index_schema.build_schema(), indexname=INDEX_NAME)
        _secure_tree(index_dir)


def _check_version(index_dir: Path) -> None:
    meta = _read_meta(index_dir)
    found = (meta or {}).get("schema_version")
    if found != index_schema.SCHEMA_VERSION:
        raise IndexOutOfDate(
            f"index was built with schema version {found if found is not None else 'unknown'}, "
            f"this version of archive uses {index_schema.SCHEMA_VERSION}",
            hint=_REINDEX_HINT,
        )


_TOC_NAME = re.compile(rf"^_{INDEX_NAME}_\d+\.toc$")


def schema_outdated(index_dir: Path) -> bool:
    """An index is there but was built with another schema version (an upgrade): rebuild it."""
    meta = _read_meta(Path(index_dir))
    return meta is not None and meta.get("schema_version") != index_schema.SCHEMA_VERSION


def _exists(index_dir: Path) -> bool:
    """A committed table of contents is there (a directory listing: no need to unpickle it)."""
    try:
        return any(_TOC_NAME.match(name) for name in os.listdir(index_dir))
    except (FileNotFoundError, NotADirectoryError):
        return False


def open_index(index_dir: Path):
    """Open the committed index for reading; checks the schema version first."""
    index_dir = Path(index_dir)
    if not _exists(index_dir):
        raise ArchiveError("no index yet: run `archive ingest`")
    _check_version(index_dir)
    try:
        return _storage(index_dir).open_index(INDEX_NAME)
    except whoosh_index.EmptyIndexError:
        raise ArchiveError("no index yet: run `archive ingest`") from None
    except (AttributeError, ImportError, ModuleNotFoundError) as e:
        # The pickled schema names classes that no longer exist: an index from another version.
        raise IndexOutOfDate(
            f"index cannot be read by this version ({e})", hint=_REINDEX_HINT
        ) from None


def indexed_snapshot(index_dir: Path) -> int | None:
    """The last snapshot whose changes are committed to the index (None: none yet)."""
    meta = _read_meta(Path(index_dir))
    value = (meta or {}).get("indexed_snapshot")
    return value if isinstance(value, int) else None


def clear_index(index_dir: Path) -> None:
    """Remove everything in the index folder and create an empty index (for reindex).

    The caller holds the archive lock. Searches running meanwhile keep their open files
    (POSIX) or fail once; new searches see an empty index until reindex commits.
    """
    index_dir = Path(index_dir)
    if index_dir.is_dir():
        for entry in os.scandir(index_dir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
    _create_empty(index_dir)


def doc_count(index_dir: Path) -> int:
    """Live documents (turns + sessions), deletions excluded."""
    return open_index(index_dir).doc_count()


# --------------------------------------------------------------------------------------------
# Building documents


def _naive_utc(dt: datetime | None) -> datetime | None:
    """Whoosh's DATETIME cannot compare aware datetimes: store naive UTC."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _pack_texts(texts: dict) -> bytes:
    """The ``src`` column value: the document's non-empty texts as JSON."""
    return orjson.dumps({k: v for k, v in texts.items() if v})


def _texts(src_column, docnum: int) -> dict:
    """The document's texts from the ``src`` column ({} when it has none)."""
    raw = src_column[docnum]
    return orjson.loads(raw) if raw else {}


def _common_fields(doc: IndexedSession) -> dict:
    s = doc.session
    fields = {
        "key": doc.key,
        "session_id": s.session_id or doc.key,
        "profile": doc.profile,
        "is_subagent": bool(s.is_subagent),
    }
    for name, value in (
        ("parent_session_id", doc.parent_session_id),
        ("agent_id", s.agent_id),
        ("project", s.project),
        ("branch", s.git_branch),
    ):
        if value:
            fields[name] = value
    return fields


def _put(fields: dict, name: str, value: str | None) -> None:
    if value:
        fields[name] = value


# Claude Code's Read (and Edit) results number every line as "     42→code". The numbers are a
# distinct term per line (noise in results, ~1/4 of tool-output postings), so they are dropped.
_LINE_NUMBERS = re.compile(r"(?m)^ *\d+\u2192")


def _tool_output(text: str) -> str:
    return _LINE_NUMBERS.sub("", text) if "\u2192" in text else text


def _turn_doc(doc: IndexedSession, turn: transcript.Turn, session_files: set[str]) -> dict:
    fields = _common_fields(doc)
    fields["kind"] = "turn"
    fields["turn"] = turn.number
    ts = _naive_utc(turn.timestamp or turn.end_timestamp)
    if ts is not None:
        fields["timestamp"] = ts
    calls = turn.tool_calls
    texts = {
        "prompt": turn.prompt or "",
        "answer": turn.answer or "",
        "thinking": turn.thinking or "",
        "tool_input": "\n".join(c.input_text for c in calls if c.input_text),
        "tool_output": "\n".join(_tool_output(c.output) for c in calls if c.output),
    }
    for name, value in texts.items():
        _put(fields, name, value)
    _put(fields, "tools", ",".join(dict.fromkeys(c.name for c in calls if c.name)))
    _put(fields, "models", ",".join(turn.models or doc.session.models))
    # Files of this turn: the tool arguments the parser also listed as session files.
    files = [c.key_argument for c in calls if c.key_argument in session_files]
    _put(fields, "files", "\n".join(dict.fromkeys(files)))
    fields["src"] = _pack_texts(texts)
    return fields


def _session_doc(doc: IndexedSession) -> dict:
    s = doc.session
    fields = _common_fields(doc)
    fields["kind"] = "session"
    fields["gone_from_source"] = bool(doc.gone_from_source)
    last = s.turns[-1] if s.turns else None
    ts = _naive_utc(
        s.ended or (last and (last.end_timestamp or last.timestamp)) or s.started
    )
    if ts is not None:
        fields["timestamp"] = ts
    texts = {
        "title": s.title or "",
        "prompt": "\n\n".join(t.prompt for t in s.turns if t.prompt),
        "tools": ",".join(s.tools),
        "models": ",".join(s.models),
        "files": "\n".join(s.files),
    }
    for name, value in texts.items():
        _put(fields, name, value)
    fields["session_key"] = doc.key
    fields["src"] = _pack_texts(texts)
    return fields


def _rebuild_session_doc(stored: dict, texts: dict, gone: bool) -> dict:
    """A session document from its own stored fields and texts (to flip gone_from_source)."""
    fields = {k: v for k, v in stored.items() if k not in ("title", "turn")}
    fields["gone_from_source"] = gone
    fields["session_key"] = stored["key"]
    for name in ("title", "prompt", "tools", "models", "files"):
        _put(fields, name, texts.get(name))
    fields["src"] = _pack_texts(texts)
    return fields


# --------------------------------------------------------------------------------------------
# Writing


class _CachedLengths:
    """Per-document field lengths read once per (field, doc) instead of once per posting.

    Whoosh's segment flush asks the on-disk length column for every posting (to keep block
    statistics); that was ~20% of indexing time.
    """

    def __init__(self, pdr):
        self._pdr = pdr
        self._cols: dict[str, list] = {}
        self._n = pdr.doc_count_all()

    def doc_field_length(self, docnum, fieldname, default=0):
        col = self._cols.get(fieldname)
        if col is None:
            col = self._cols[fieldname] = [None] * (self._n + 1)
        value = col[docnum]
        if value is None:
            value = col[docnum] = self._pdr.doc_field_length(docnum, fieldname, default)
        return value


_RUN_BATCH = 4096  # postings per marshal call in a spilled run
# Whoosh's estimate of a pooled posting's memory (tuple, strings, numbers), plus the lengths of
# its field name, term (twice) and value.
_POSTING_BYTES = 150


def _write_batch(f, batch: list) -> None:
    """One length-prefixed marshal record: read back with one read and one loads (marshal.load
    on a file makes a read call per object, most of the cost of reading a run)."""
    data = marshal.dumps(batch, 2)
    f.write(len(data).to_bytes(8, "little"))
    f.write(data)


class _FastPool(PostingPool):
    """Whoosh's posting pool, fed a whole field at a time instead of one posting per call,
    spilling runs to disk in batches.

    Past its memory limit the pool sorts its postings and writes them to a temporary run;
    commit merges the runs. Whoosh marshals one posting per call each way, which was ~40% of
    a first ingest's CPU; batches of a few thousand postings per call do the same in C."""

    def _write_run(self, f, items):
        if isinstance(items, list):
            for i in range(0, len(items), _RUN_BATCH):
                _write_batch(f, items[i : i + _RUN_BATCH])
        else:  # a merge of runs (Whoosh's reduce_to): batch as it streams
            batch = []
            for item in items:
                batch.append(item)
                if len(batch) >= _RUN_BATCH:
                    _write_batch(f, batch)
                    batch = []
            if batch:
                _write_batch(f, batch)
        f.close()

    def _batches(self, path):
        """A spilled run's postings, batch by batch (sorted lists); the file goes afterwards."""
        f = self._open_run(path)
        try:
            while len(head := f.read(8)) == 8:
                yield marshal.loads(f.read(int.from_bytes(head, "little")))
        finally:
            f.close()
            self._remove_run(path)

    def _read_run(self, path):  # Whoosh's interface (reduce_to), unused by items() below
        for batch in self._batches(path):
            yield from batch

    def items(self, maxfiles=128):
        """All postings in order. Runs are merged a batch at a time: the postings of every run
        up to the smallest last posting of the current batches are cut out (bisect) and sorted
        together (Timsort merges sorted runs in C), with no Python step per posting."""
        if not self.runs or len(self.runs) + 1 > maxfiles:
            return super().items(maxfiles)
        self.save()
        runs, self.runs = self.runs, []
        return itertools.chain.from_iterable(self._merged(runs))

    def _merged(self, paths):
        heads = []  # [current batch, the run's batch iterator]
        for path in paths:
            batches = self._batches(path)
            first = next(batches, None)
            if first:
                heads.append([first, batches])
        while heads:
            cutoff = min(batch[-1] for batch, _ in heads)
            out = []
            for head in heads:
                batch = head[0]
                cut = bisect.bisect_right(batch, cutoff)
                out += batch[:cut]
                head[0] = batch[cut:]
            for head in heads:
                while not head[0]:
                    head[0] = next(head[1], None)
                    if head[0] is None:
                        break
            heads = [h for h in heads if h[0]]
            out.sort()
            yield out

    def add_postings(self, postings: list) -> None:
        """Pool ready-made postings of one field (a merge's)."""
        if not postings:
            return
        fieldname = postings[0][0]
        base = _POSTING_BYTES + len(fieldname)
        size = 0
        for _f, tbytes, _d, _w, vbytes in postings:
            size += base + 2 * len(tbytes) + (len(vbytes) if vbytes else 0)
        self.current.extend(postings)
        self._grew(fieldname, size)

    def add_field(self, fieldname: str, items, docnum: int, boost: float) -> int:
        """Pool the field's postings; returns the field length (sum of term frequencies)."""
        current = self.current
        base = _POSTING_BYTES + len(fieldname)
        size = length = 0
        for tbytes, freq, weight, vbytes in items:
            current.append((fieldname, tbytes, docnum, weight * boost, vbytes))
            size += base + 2 * len(tbytes) + (len(vbytes) if vbytes else 0)
            length += freq
        self._grew(fieldname, size)
        return length

    def _grew(self, fieldname: str, size: int) -> None:
        self.fieldnames.add(fieldname)
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()


class _FastSegmentWriter(SegmentWriter):
    """SegmentWriter with cached field lengths at flush, cheaper posting compression, and
    postings pooled a field at a time."""

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", _codec())
        super().__init__(ix, **kwargs)
        _store_offsets(self)
        self.pool = _FastPool(self._tempstorage, self.newsegment,
                              limitmb=kwargs.get("limitmb", 128))
        # The lean add_document below leaves out what this schema never uses.
        self._lean = not any(
            f.vector or f.separate_spelling() for _name, f in self.schema.items()
        )

    def add_document(self, **fields):
        """Whoosh's add_document (same postings, lengths, stored values and columns) without
        per-posting calls; falls back to it for features the lean path does not cover."""
        if not self._lean or any(name.startswith("_") for name in fields):
            return super().add_document(**fields)
        self._check_state()
        perdoc, schema, docnum, pool = self.perdocwriter, self.schema, self.docnum, self.pool
        docboost = self._doc_boost(fields)
        names = sorted(fields)
        self._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, name, docboost)
                    length = pool.add_field(name, field.index(value), docnum, boost)
                    if not field.scorable:
                        length = 0
                perdoc.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """Whoosh's (for merges), reading each term's blocks whole (see ``_w3_blocks``) instead
        of one posting at a time through a matcher and a term lookup each: merges spent most
        of their time there. Deleted documents have no entry in ``docmap`` and are dropped."""
        terms = getattr(reader, "_terms", None)
        postfile = getattr(terms, "_postfile", None)
        if postfile is None or not hasattr(terms, "items"):
            return super().add_postings_to_pool(reader, startdoc, docmap)
        schema, pool = self.schema, self.pool
        for (fieldname, btext), info in terms.items():
            if fieldname not in schema:
                continue
            blocks = _term_blocks(postfile, info, schema[fieldname].format, None, "both")
            if blocks is None:
                raise ArchiveError("index segment unreadable", hint=_REINDEX_HINT)
            postings = []
            for ids, weights, vals in blocks:
                for d, w, v in zip(ids, weights, vals, strict=True):
                    if docmap is not None:
                        d = docmap.get(d)
                        if d is None:
                            continue
                    else:
                        d += startdoc
                    postings.append((fieldname, btext, d, w, v))
            pool.add_postings(postings)

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            lengths = _CachedLengths(pdr) if pdr is not None else None
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if pdr is not None:
                pdr.close()


def _store_offsets(writer) -> None:
    """Write the stored-fields offsets table for every segment, not only those over 32768
    documents: without it each search rebuilds it in a Python loop (~6 ms per 10k documents)
    before reading the first hit. Readers detect the table themselves (same codec)."""
    with contextlib.suppress(Exception):
        column = writer.perdocwriter._colwriters["_stored"]
        while hasattr(column, "_child"):  # PickleColumn wraps the variable-bytes writer
            column = column._child
        if hasattr(column, "cutoff"):
            column.cutoff = 0


def _merge_policy(writer, segments):
    """From ``_MAX_SEGMENTS`` segments on, merge the ``_MERGE_FACTOR`` smallest segments of
    about one size (sizes on disk) into one, about ``_MERGE_FACTOR`` times bigger: a
    log-structured merge.

    Each daily ingest adds a small segment; a document is then merged about once per size
    step, a handful of times in the index's life, and the number of segments grows like the
    log of the index. (Merging "the segments under 1/4 of the largest" never merged daily segments
    as big as the first one: one more segment a day, forever.) Segments over
    ``_MERGE_MAX_BYTES`` are left alone unless the index reaches twice ``_MAX_SEGMENTS``;
    then the ``_MERGE_FACTOR`` smallest are merged whatever their tier. Merging also drops
    deleted documents.
    """
    from whoosh.reading import SegmentReader

    if len(segments) < _MAX_SEGMENTS:
        return segments
    size = {id(seg): _segment_bytes(writer.storage, seg) for seg in segments}
    by_size = sorted(segments, key=lambda seg: size[id(seg)])
    small = [seg for seg in by_size if size[id(seg)] <= _MERGE_MAX_BYTES]
    merge = None
    for i in range(len(small) - _MERGE_FACTOR + 1):  # the smallest run of peers
        run = small[i : i + _MERGE_FACTOR]
        if size[id(run[-1])] <= _PEERS * max(size[id(run[0])], 1):
            merge = run
            break
    if merge is None and len(segments) >= 2 * _MAX_SEGMENTS:
        merge = by_size[:_MERGE_FACTOR]
    if not merge:
        return segments
    for seg in merge:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    merged = {id(seg) for seg in merge}
    return [seg for seg in segments if id(seg) not in merged]


def _segment_bytes(storage, seg) -> int:
    """A segment's size on disk (its compound file), or an estimate from its document count."""
    try:
        return storage.file_length(f"{seg.segment_id()}.seg")
    except (OSError, AttributeError):
        return seg.doc_count_all() * 4096


def _codec():
    # zlib level 1 for posting blocks (Whoosh default 3): each block records its own level, so
    # any Whoosh reader decodes it; saves ~5% of indexing time for a slightly larger index.
    return W3Codec(compression=1)


def _die_with_parent(parent_pid: int) -> None:
    """Make a Whoosh worker process exit when the ingest that forked it dies.

    After kill -9 of the parent, MpWriter's workers block forever on their job queue and keep
    the inherited Whoosh lock. PR_SET_PDEATHSIG (Linux) kills them at once; the polling thread
    covers other POSIX systems and the race where the parent died before prctl ran.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _can_fork() -> bool:
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=True)
    return (method or multiprocessing.get_all_start_methods()[0]) == "fork"


@functools.cache
def _mp_writer_class():
    """Whoosh's multi-process writer, guarded; defined on first use because importing
    multiprocessing would cost every search ~10 ms."""
    import queue

    from whoosh import multiproc

    class GuardedTask(multiproc.SubWriterTask):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._parent_pid = os.getpid()

        def run(self):
            _die_with_parent(self._parent_pid)
            # This runs in the forked worker only: have Whoosh's task build our faster writer.
            multiproc.SegmentWriter = _FastSegmentWriter
            super().run()

    class GuardedMpWriter(multiproc.MpWriter):
        """Workers die with the parent, cancel() really stops them (Whoosh's only flips a flag
        in the parent's copy of the task), and a dead worker raises instead of hanging."""

        def __init__(self, ix, **kwargs):
            super().__init__(ix, **kwargs)
            _store_offsets(self)
            jobs = self.jobqueue
            put = jobs.put

            def guarded_put(item, block=True, timeout=None):
                while True:  # the queue is bounded: a dead worker would block us forever
                    try:
                        return put(item, timeout=1.0)
                    except queue.Full:
                        self._check_workers()

            jobs.put = guarded_put

        def _check_workers(self):
            failed = [t.exitcode for t in self.tasks if t.exitcode not in (0, None)]
            if failed:
                raise ArchiveError(
                    f"an index worker process failed (exit code {failed[0]})",
                    hint=_REINDEX_HINT,
                )

        def _new_task(self):
            task = GuardedTask(
                self.storage,
                self.indexname,
                self.jobqueue,
                self.resultqueue,
                self.subargs,
                self.multisegment,
            )
            task.daemon = True  # also reaped when the parent exits without commit/cancel
            self.tasks.append(task)
            task.start()
            return task

        def cancel(self):
            for task in self.tasks:
                with contextlib.suppress(Exception):
                    task.kill()
                    task.join(5)
            self.tasks = []
            for q in (self.jobqueue, self.resultqueue):
                with contextlib.suppress(Exception):
                    q.cancel_join_thread()  # else exit waits to feed a queue nobody reads
            SegmentWriter.cancel(self)

        def _commit(self, mergetype, optimize, merge):
            self._check_workers()
            super()._commit(mergetype, optimize, merge)
            # A worker that died after its last job leaves its documents out of the commit.
            self._check_workers()

    return GuardedMpWriter


def _take_lock(ix, wait: float):
    """Acquire Whoosh's write lock, breaking it when it outlived its owner.

    Whoosh's FileStorage lock is an flock on ``MAIN_WRITELOCK``: the file stays after a crash
    but the kernel drops the lock with the process, so a dead writer alone never blocks us. It
    can stay held by orphaned MpWriter workers (they inherit the descriptor). The caller holds
    the archive-wide lock, so no live writer can own it: after ``wait`` seconds (time for guarded
    workers to notice their parent is gone) unlink the file and lock a fresh one.
    """
    lock = ix.lock(_LOCK_NAME)
    if try_for(lock.acquire, timeout=wait, delay=0.1):
        return lock
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(ix.storage.folder, f"{INDEX_NAME}_{_LOCK_NAME}"))
    lock = ix.lock(_LOCK_NAME)
    if not lock.acquire():
        raise ArchiveError("the search index is locked by another process")
    return lock


def _clean_dead_writer(ix) -> None:
    """Remove what a killed writer left: its temp folder, uncommitted segment files, TOC temps.

    Called with the write lock held. Only names that no committed TOC lists are removed, as
    Whoosh itself does at each commit.
    """
    folder = ix.storage.folder
    toc = ix._read_toc()
    live = {s.segment_id() for s in toc.segments}
    seg_re = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.")
    toc_re = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc(\..*)?$")
    for entry in os.scandir(folder):
        name = entry.name
        if name == f"{INDEX_NAME}.tmp" or name.endswith(".doclist"):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                _unlink(entry.path)
            continue
        m = toc_re.match(name)
        if m:
            if m.group(2) or int(m.group(1)) < toc.generation:
                _unlink(entry.path)
            continue
        m = seg_re.match(name)
        if m and m.group(1) not in live and not name.endswith(_LOCK_NAME):
            _unlink(entry.path)
    for name in os.listdir(folder):
        if name.startswith(f".{META_FILE}.") and name.endswith(".tmp"):
            _unlink(os.path.join(folder, name))


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class IndexWriter:
    """Adds, replaces and deletes session documents; a context manager.

    The Whoosh writer is opened lazily and reopened after each commit, so one IndexWriter can
    commit once per snapshot. Every ~32 MB of text (per worker) it commits on its own, without
    advancing ``indexed_snapshot``: searches may see part of a snapshot early, and a crash is
    repaired by replaying it (replace_session is idempotent). Leaving the ``with`` block without
    ``commit()`` cancels what was not committed yet. While it is open the process umask is
    0o077 (Whoosh creates its own files).

    ``procs=2`` uses Whoosh's multi-process writer (fork only; one segment per worker and
    commit). It helps only when a core is idle: measured 1.6× on a quiet 2-core machine (200
    MiB of transcripts: 14.5 against 9.1 MB/s), no faster when other work competes for the
    cores (the indexer decides, see ``indexer.index_procs``).
    """

    def __init__(self, index_dir: Path, *, limitmb: int = 256, procs: int = 1):
        self.index_dir = Path(index_dir)
        self.limitmb = limitmb
        self.procs = max(1, int(procs))
        if self.procs > 1 and not _can_fork():
            self.procs = 1  # the worker guard relies on fork; spawn would also re-import us
        self._w = None
        self._touched: set[str] = set()
        self._pending = 0  # characters of text added since the last commit
        self._old_umask = os.umask(0o077)
        self._closed = False
        try:
            if not _exists(self.index_dir):
                _create_empty(self.index_dir)
            _check_version(self.index_dir)
            self._ix = _storage(self.index_dir).open_index(INDEX_NAME)
        except BaseException:
            self.close()
            raise

    # -- context manager
    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Cancel anything uncommitted and restore the umask."""
        if self._closed:
            return
        self._closed = True
        try:
            self.cancel()
        finally:
            os.umask(self._old_umask)

    # -- internals
    def _writer(self):
        if self._closed:
            raise ArchiveError("index writer is closed")
        if self._w is None:
            lock = _take_lock(self._ix, wait=_LOCK_WAIT)
            try:
                _clean_dead_writer(self._ix)
                if self.procs > 1:
                    w = _mp_writer_class()(
                        self._ix,
                        procs=self.procs,
                        multisegment=True,
                        _lk=False,
                        limitmb=self.limitmb,
                        subargs={"limitmb": self.limitmb, "codec": _codec()},
                        codec=_codec(),
                    )
                else:
                    w = _FastSegmentWriter(self._ix, _lk=False, limitmb=self.limitmb)
            except BaseException:
                lock.release()
                raise
            w.writelock = lock  # released by Whoosh at commit/cancel
            self._w = w
        return self._w

    def _flush(self) -> None:
        """Commit without advancing indexed_snapshot.

        Whoosh cannot delete documents added by the same, uncommitted writer, so a key replaced
        twice needs a commit in between. Safe after a crash: replaying the snapshot replaces the
        key's documents again.
        """
        if self._w is not None:
            w, self._w = self._w, None
            w.commit(mergetype=_merge_policy)
        self._touched.clear()
        self._pending = 0

    # -- API
    def replace_session(self, doc: IndexedSession, from_turn: int = 1) -> int:
        """Index ``doc``: drop its turns >= from_turn and its session document, add them anew.

        With from_turn=k for a session that only grew, turns 1..k-1 keep their documents.
        Returns the number of documents added (turns + 1 session document).
        """
        if doc.key in self._touched:
            self._flush()
        w = self._writer()
        s = doc.session
        from_turn = max(1, int(from_turn))
        if from_turn <= 1:
            w.delete_by_term("key", doc.key)
        else:
            # Walking the key's few documents is ~70x faster than delete_by_query with a
            # numeric range on a many-segment index (measured: 0.9 ms against 70 ms).
            searcher = w.searcher()
            for docnum in list(searcher.document_numbers(key=doc.key)):
                stored = searcher.stored_fields(docnum)
                if stored.get("kind") == "session" or (stored.get("turn") or 0) >= from_turn:
                    w.delete_document(docnum)
        files = set(s.files)
        added = 0
        for turn in s.turns:
            if turn.number >= from_turn:
                fields = _turn_doc(doc, turn, files)
                self._pending += len(fields["src"])
                w.add_document(**fields)
                added += 1
        w.add_document(**_session_doc(doc))
        self._touched.add(doc.key)
        if self._pending > _FLUSH_TEXT_MB * 1_000_000 * self.procs:
            # Whoosh sorts all pending postings at commit, which gets slower than linear: one
            # commit of 167 MB of text indexed at 0.7 MB/s, commits every ~32 MB at 1.5 MB/s.
            self._flush()
        return added + 1

    def delete_key(self, key: str) -> None:
        """Remove every document of one archived file."""
        if key in self._touched:  # added by this writer: only a commit makes it deletable
            self._flush()
        self._writer().delete_by_term("key", key)

    def set_gone(self, key: str, gone: bool) -> bool:
        """Flip gone_from_source on the key's session document (rebuilt from stored fields).

        Turn documents do not carry the flag: a hit's gone_from_source is read from the session
        document. Returns False when the key has no session document.
        """
        if key in self._touched:
            self._flush()
        w = self._writer()
        q = Q.Term("session_key", key)
        s = w.searcher()
        docnums = list(s.docs_for_query(q))
        if not docnums:
            return False
        stored = s.stored_fields(docnums[-1])
        if bool(stored.get("gone_from_source")) == bool(gone):
            return True
        texts = _texts(s.reader().column_reader("src"), docnums[-1])
        w.delete_by_query(q)
        w.add_document(**_rebuild_session_doc(stored, texts, bool(gone)))
        self._touched.add(key)
        return True

    def commit(self, indexed_snapshot: int) -> None:
        """Make all changes visible to searches, then record the snapshot they cover.

        A crash between the two leaves meta.json one snapshot behind: the caller re-indexes
        snapshots > indexed_snapshot, which is idempotent.
        """
        self._flush()
        _write_meta(
            self.index_dir,
            {"schema_version": index_schema.SCHEMA_VERSION, "indexed_snapshot": indexed_snapshot},
        )
        _secure_tree(self.index_dir)

    def cancel(self) -> None:
        """Drop everything since the last commit."""
        w, self._w = self._w, None
        self._touched.clear()
        if w is not None and not w.is_closed:
            w.cancel()


# --------------------------------------------------------------------------------------------
# Query parsing


_FIELD_RE = re.compile(r"(?<![\w.:/\\-])([A-Za-z_]\w*):(?=(.?))")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _outside_quotes(query: str) -> list[str]:
    return query.split('"')[0::2]


def _precheck(query: str, schema) -> None:
    """Reject what Whoosh's lenient parser would silently reinterpret."""
    if not query.strip():
        raise UsageError("empty query")
    if query.count('"') % 2:
        raise UsageError('unbalanced quote (") in query')
    outside = '""'.join(_outside_quotes(query))  # quoted text emptied, quotes kept
    depth = 0
    for ch in outside:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            break
    if depth:
        raise UsageError("unbalanced parenthesis in query")
    known = set(schema.names()) | {a for names in _ALIASES.values() for a in names}
    for m in _FIELD_RE.finditer(outside):
        name, after = m.group(1), m.group(2)
        if after in ("/", "\\", ":"):  # URLs, Windows paths, C++ scopes: text, not a field
            continue
        if name not in known:
            raise UsageError(
                f"unknown field {name!r} in query (put text containing ':' in quotes)"
            )
        if after in ("", " ", "\t", ")"):
            raise UsageError(f"nothing after {name + ':'!r} in query")
    words = outside.split()
    if words and (words[0] in _OPERATORS - {"NOT"} or words[-1] in _OPERATORS):
        op = words[0] if words[0] in _OPERATORS else words[-1]
        raise UsageError(f"{op} needs words on both sides")
    for a, b in zip(words, words[1:], strict=False):
        if a in _OPERATORS and b in _OPERATORS - {"NOT"}:
            raise UsageError(f"{a} {b}: two operators in a row")


def _walk(q, negated: bool = False):
    yield q, negated
    for child in q.children():
        yield from _walk(child, negated or isinstance(q, Q.Not))


def _adapt(schema):
    def fix(q):
        """Phrases on fields without positions become AND (Whoosh would raise). A lone CJK
        character is indexed only when it stands alone; inside a run it starts bigrams: match
        both."""
        if isinstance(q, Q.Phrase) and q.fieldname in schema:
            fmt = schema[q.fieldname].format
            if fmt is not None and not fmt.supports("positions"):
                terms = [Q.Term(q.fieldname, w, boost=q.boost) for w in q.words]
                return terms[0] if len(terms) == 1 else Q.And(terms)
            return q
        return _widen_single_cjk(q)

    return fix


def _widen_single_cjk(q):
    if (
        isinstance(q, Q.Term)
        and isinstance(q.text, str)
        and len(q.text) == 1
        and index_schema.is_cjk(q.text)
    ):
        return Q.Or([q, Q.Prefix(q.fieldname, q.text, boost=q.boost)])
    return q


def parse_query(query: str, schema):
    """Parse with the project's rules; UsageError for anything malformed or empty."""
    _precheck(query, schema)
    parser = MultifieldParser(
        list(index_schema.TEXT_FIELDS), schema, fieldboosts=index_schema.FIELD_BOOSTS
    )
    parser.add_plugin(FieldAliasPlugin(_ALIASES))
    try:
        q = parser.parse(query)
    except Exception as e:  # Whoosh's parser errors carry no useful type
        raise UsageError(f"cannot parse query: {e}") from None
    for node, _ in _walk(q):
        error = getattr(node, "error", None)
        if error:
            raise UsageError(f"bad value in query: {error}")
    if q is Q.NullQuery or isinstance(q, type(Q.NullQuery)):
        raise UsageError(
            "query has no searchable words (common English words and single letters are not "
            "indexed)"
        )
    return q.accept(_adapt(schema))


# --------------------------------------------------------------------------------------------
# Search


def _filter_query(reader, f: SearchFilters | None):
    """A filter query, None for no filter, or False when nothing can match."""
    if f is None:
        return None
    parts = []
    if f.profile:
        parts.append(Q.Term("profile", f.profile))
    if f.branch:
        parts.append(Q.Term("branch", f.branch))
    if f.tool:
        parts.append(Q.Term("tools", f.tool.lower()))
    # Substring filters: expand against the (small) lexicon, never scan hits.
    for fieldname, needle in (("project", f.project), ("models", f.model)):
        if not needle:
            continue
        needle = needle.lower()
        terms = [
            t.decode("utf-8")
            for t in reader.lexicon(fieldname)
            if needle in t.decode("utf-8").lower()
        ]
        if not terms:
            return False
        parts.append(Q.Or([Q.Term(fieldname, t) for t in terms]))
    if f.since or f.until:
        parts.append(
            Q.DateRange("timestamp", _naive_utc(f.since), _naive_utc(f.until), constantscore=True)
        )
    if f.session_ids is not None:
        if not f.session_ids:
            return False
        parts.append(Q.Or([Q.Term("session_id", s) for s in f.session_ids]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.And(parts)


class _MemLengths:
    """A segment's field-length column held in memory.

    Without mmap every length lookup is a seek+read, and BM25 asks for one per scored
    document and field: preloading the column (1 byte per document) made scoring ~2× faster.
    """

    def __init__(self, reader):
        self._count = reader._count
        self._default = reader._default
        width = reader._fixedlen
        size = self._count * width
        self._data = reader._dbfile.get(reader._basepos, size) if size else b""

    def __getitem__(self, docnum):
        return self._data[docnum] if docnum < self._count else self._default


def _preload_lengths(searcher, fieldnames) -> None:
    for leaf, _ in searcher.reader().leaf_readers():
        _preload_leaf(leaf, fieldnames)


def _preload_leaf(leaf, fieldnames) -> None:
    """Best effort: relies on Whoosh 2.7 internals (pinned); any surprise leaves Whoosh's
    own reader in place, which is slower but correct."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        perdoc = getattr(leaf, "_perdoc", None)
        readers = getattr(perdoc, "_readers", None)
        if readers is None:
            return
        for name in fieldnames:
            lenfield = _lenfield(name)
            current = perdoc._cached_reader(lenfield, LENGTHS_COLUMN)
            if current is not None and not isinstance(current, _MemLengths):
                if getattr(current, "_fixedlen", None) == 1:
                    readers[lenfield] = _MemLengths(current)
    except Exception:  # noqa: BLE001 - an optimisation must never break a search
        return


def _weighting():
    return BM25F(B=0.75, K1=1.2)


@dataclass
class _Raw:
    docnum: int
    score: float
    stored: dict

    @property
    def ts(self) -> float:
        ts = self.stored.get("timestamp")
        return ts.timestamp() if isinstance(ts, datetime) else float("-inf")

    def rank_key(self):
        # Recency breaks ties; rounding absorbs float noise between equal BM25 scores.
        return (-round(self.score, 6), -self.ts)


def search(
    index_dir: Path,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    group_sessions: bool = False,
    redact: bool = False,
    same: SameFn | None = None,
    titles: TitlesFn | None = None,
) -> list[Hit]:
    """Best matches first (BM25F, field boosts; equal scores: newer first). With ``redact``,
    snippets are cut from text whose secrets are already masked. ``same`` maps the stored
    fields of ranked documents to keys; of documents with equal keys only the best is kept
    (the caller's notion of one hit, e.g. identical copies of a session in two profiles),
    before any snippet is cut. ``titles`` gives the session titles of document keys it knows
    (the catalog has them): the others are read from their session documents."""
    for attempt in range(3):
        try:
            return _search(
                Path(index_dir), query, filters, limit, group_sessions, redact, same, titles
            )
        except FileNotFoundError:
            # A commit deleted the segment files of the TOC we had just read: read again.
            _SEARCHERS.pop(Path(index_dir), None)
            if attempt == 2:
                raise
            time.sleep(0.05)
    return []


_SEARCHERS: dict[Path, tuple[tuple, object]] = {}  # index folder -> (its TOC names, searcher)


def _toc_names(index_dir: Path) -> tuple:
    """The committed TOC files, named and stat'ed: a rebuilt index reuses generation names."""
    try:
        with os.scandir(index_dir) as entries:
            return tuple(sorted(
                (e.name, e.inode(), e.stat().st_mtime_ns, e.stat().st_size)
                for e in entries if _TOC_NAME.match(e.name)
            ))
    except OSError:
        return ()


def _searcher(index_dir: Path):
    """A searcher of the newest committed index, kept open while no commit happened: a process
    that searches again (the library, a long-running caller) skips reopening every segment
    and reloading field lengths (~10 ms at 1 GB). One listing of the folder tells a commit."""
    tocs = _toc_names(index_dir)
    cached = _SEARCHERS.get(index_dir)
    if cached is not None and cached[0] == tocs and tocs:
        _check_version(index_dir)
        return cached[1]
    if cached is not None:
        _SEARCHERS.pop(index_dir)
        with contextlib.suppress(Exception):
            cached[1].close()
    s = open_index(index_dir).searcher(weighting=_weighting())
    _SEARCHERS[index_dir] = (tocs, s)
    return s


def _search(index_dir, query, filters, limit, group_sessions, redact, same, titles):
    s = _searcher(Path(index_dir))
    q = parse_query(query, s.schema)
    if limit <= 0:
        return []
    fq = _filter_query(s.reader(), filters)
    if fq is False:
        return []
    # Overfetch: grouping and dropping duplicate session documents thin the list out, and
    # ties at the cut are re-ordered by recency.
    fetch = limit * 4 + 20 if group_sessions else limit + limit // 2 + 10
    fast = _FastScorer(s)
    allowed = None if fq is None else fast.docset(fq)
    scores = fast.scores(q, allowed)
    if scores is not None:
        fast.drop_deleted(scores)
    else:
        _preload_lengths(s, _scored_fields(q))  # Whoosh scores every match: load once
    while True:
        if scores is not None:
            top = _top(scores, fetch)
            raw = [_Raw(d, sc, s.stored_fields(d)) for d, sc in top]
            exhausted = len(scores) <= len(top)
        else:
            # filter= (a docnum set) rather than a Require/And query: Whoosh's Require
            # matcher asserts and a constant-score And drops hits when pruning blocks.
            results = s.search(q, limit=fetch, filter=allowed)
            raw = [_Raw(h.docnum, h.score, h.fields()) for h in results]
            exhausted = len(raw) < fetch
        raw.sort(key=_Raw.rank_key)
        chosen = _group(raw) if group_sessions else _dedupe(raw)
        if same is not None:
            chosen = _keep_first(chosen, same([r.stored for r in chosen]))
        if len(chosen) >= limit or exhausted or fetch >= 20000:
            break
        fetch *= 4
    chosen = chosen[:limit]
    if not chosen:
        return []
    keys = {r.stored["key"] for r in chosen}
    known = {k: {"title": t} for k, t in (titles(sorted(keys)) if titles else {}).items()}
    sessions = {**_session_docs(fast, keys - known.keys()), **known}
    hl = _Highlighter(q, redact=redact)
    src = s.reader().column_reader("src")
    return [
        _to_hit(r, sessions.get(r.stored["key"]), hl, _texts(src, r.docnum)) for r in chosen
    ]


def _by_score(item):
    return item[1]


def _top(scores: dict[int, float], n: int) -> list[tuple[int, float]]:
    """The n best, plus any document tied with the last one (up to 1000 more), so that
    recency can order ties that straddle the cut."""
    top = heapq.nlargest(n, scores.items(), key=_by_score)
    if len(top) < n or len(scores) == n:
        return top
    last = round(top[-1][1], 6)
    low, high = last - 1e-6, last + 1e-6  # cheap bounds first: most scores are far off
    seen = {d for d, _ in top}
    ties = [
        (d, v) for d, v in scores.items()
        if low <= v <= high and round(v, 6) == last and d not in seen
    ]
    return top + ties[:1000]


_BYTE_TO_LENGTH = [byte_to_length(i) for i in range(256)]


class _FastScorer:
    """BM25F over raw posting blocks for queries made only of terms, phrases, AND and OR.

    Whoosh walks a tree of matcher objects per matching document (~60 µs each in Python): a
    two-word query matches ~6 fields × 2 words, and common words match most documents. This
    reads each posting list block by block and accumulates scores in a dict, ~5× faster, with
    the same formula as ``BM25F`` (tests compare both). ``scores()`` returns None for anything
    else (prefixes, ranges, NOT…), which then goes through Whoosh's own search.
    """

    def __init__(self, searcher):
        self.s = searcher
        self.weighting = searcher.weighting
        self.leaves = searcher.reader().leaf_readers()
        self._terms: dict[tuple[str, str], tuple[int, list]] = {}

    # -- shapes
    def supported(self, q) -> bool:
        if isinstance(q, Q.Term):
            return isinstance(q.text, str) and q.fieldname in self.s.schema
        if isinstance(q, Q.Phrase):
            field = self.s.schema[q.fieldname] if q.fieldname in self.s.schema else None
            return (
                field is not None and bool(field.format) and field.format.supports("positions")
                and len(q.words) > 1 and all(isinstance(w, str) for w in q.words)
            )
        if isinstance(q, (Q.Or, Q.And)) and q.subqueries:
            return all(self.supported(c) for c in q.subqueries)
        return False

    def scores(self, q, allowed: set[int] | None = None) -> dict[int, float] | None:
        if not self.supported(q):
            return None
        return self._scores(q, None if allowed is None else _Allowed(allowed))

    def docset(self, q) -> set[int]:
        """Documents matching ``q`` (unscored, deleted ones included), e.g. a filter."""
        if self.supported(q):
            return set(self._scores(q, None, scored=False))
        if isinstance(q, Q.And) and q.subqueries:
            sets = sorted((self.docset(c) for c in q.subqueries), key=len)
            return sets[0].intersection(*sets[1:])
        return set(self.s.docs_for_query(q))

    def drop_deleted(self, scores: dict[int, float]) -> None:
        if not scores:
            return
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                for d in getattr(leaf, "deleted_docs_set", None) or _deleted(leaf):
                    scores.pop(d + offset, None)

    # -- evaluation
    def _scores(self, q, allowed, scored=True) -> dict[int, float]:
        if isinstance(q, Q.Term):
            out = self._term(q.fieldname, q.text, q.boost, allowed, scored)
        elif isinstance(q, Q.Phrase):
            # Whoosh scores a phrase as the AND of its words (SpanNear2 over an intersection),
            # kept where the words stand in order, each within ``slop`` of the previous one.
            terms = Q.And([Q.Term(q.fieldname, w) for w in q.words])
            out = self._scores(terms, allowed, scored)
            if out:
                out = self._in_sequence(q, out)
        elif isinstance(q, Q.Or):
            parts = sorted((self._scores(c, allowed, scored) for c in q.subqueries),
                           key=len, reverse=True)
            out = parts[0] if parts else {}
            for part in parts[1:]:
                get = out.get
                for d, v in part.items():
                    out[d] = get(d, 0.0) + v
        else:  # And: rarest part first, the others only looked up where it matched
            parts = sorted(q.subqueries, key=self._estimate)
            out = self._scores(parts[0], allowed, scored)
            for c in parts[1:]:
                if not out:
                    break
                part = self._scores(c, _Allowed(out), scored)
                out = {d: v + part[d] for d, v in out.items() if d in part}
        if scored and q.boost != 1.0 and not isinstance(q, Q.Term):  # _term applied it
            boost = q.boost
            out = {d: v * boost for d, v in out.items()}
        return out

    def _in_sequence(self, q, candidates: dict[int, float]) -> dict[int, float]:
        """The candidates whose field holds the phrase's words in order, each 1..slop
        positions after the previous one (Whoosh's ordered SpanNear2 with mindist 1)."""
        fmt = self.s.schema[q.fieldname].format
        allowed = _Allowed(candidates)
        values = [self._values(q.fieldname, w, allowed) for w in q.words]
        slop = max(1, q.slop)
        out = {}
        for d, score in candidates.items():
            ends = set(fmt.decode_positions(values[0][d]))
            for vals in values[1:]:
                ends = {p for p in fmt.decode_positions(vals[d])
                        if any(p - k in ends for k in range(1, slop + 1))}
                if not ends:
                    break
            if ends:
                out[d] = score
        return out

    def _values(self, fieldname: str, text: str, allowed: _Allowed) -> dict[int, bytes]:
        """The posting values (encoded positions) of a term in the allowed documents."""
        out: dict[int, bytes] = {}
        keep = allowed.docs
        for n, leaf, offset, info in self._lookup(fieldname, text)[1]:
            local = allowed.local(n, offset, leaf.doc_count_all())
            if not local:
                continue
            for ids, values in _posting_blocks(leaf, fieldname, text, info, local, values=True):
                for d, v in zip(ids, values, strict=True):
                    if d + offset in keep:
                        out[d + offset] = v
        return out

    def _estimate(self, q) -> int:
        """Match count upper bound, to evaluate the rarest part of an AND first."""
        if isinstance(q, Q.Term):
            return self._lookup(q.fieldname, q.text)[0]
        if isinstance(q, Q.Phrase):
            return min((self._lookup(q.fieldname, w)[0] for w in q.words), default=0)
        if isinstance(q, Q.Or):
            return sum(self._estimate(c) for c in q.subqueries)
        if isinstance(q, Q.And):
            return min((self._estimate(c) for c in q.subqueries), default=0)
        return 0

    def _lookup(self, fieldname: str, text: str) -> tuple[int, list]:
        """(document frequency, [(segment number, reader, docnum offset, TermInfo)]) for a term:
        one term-table lookup per segment, shared by ordering and scoring."""
        key = (fieldname, text)
        hit = self._terms.get(key)
        if hit is None:
            df, found = 0, []
            for n, (leaf, offset) in enumerate(self.leaves):
                try:
                    info = leaf.term_info(fieldname, text)
                except TermNotFound:
                    continue
                df += info.doc_frequency()
                found.append((n, leaf, offset, info))
            hit = self._terms[key] = (df, found)
        return hit

    def _term(self, fieldname, text, boost, allowed, scored) -> dict[int, float]:
        s = self.s
        field = s.schema[fieldname]
        out: dict[int, float] = {}
        bm25 = scored and field.scorable
        df, found = self._lookup(fieldname, text)
        if not found:
            return out
        if bm25:
            # Whoosh's BM25F with its idf (log(N / (df + 1)) + 1), from the lookups made here.
            w = self.weighting
            B = w._field_B.get(fieldname, w.B)
            K1 = w.K1
            idf = math.log(s.doc_count_all() / (df + 1)) + 1
            num = boost * idf * (K1 + 1)
            c1 = K1 * (1 - B)
            c2 = K1 * B / (s.avg_field_length(fieldname) or 1)
        table = _BYTE_TO_LENGTH
        for n, leaf, offset, info in found:
            lengths = _lengths_bytes(leaf, fieldname) if bm25 else None
            local = None if allowed is None else allowed.local(n, offset, leaf.doc_count_all())
            for ids, weights in _posting_blocks(leaf, fieldname, text, info, local):
                if not scored:
                    out.update(dict.fromkeys([d + offset for d in ids], 0.0))
                    continue
                if not bm25:
                    for d, wt in zip(ids, weights, strict=False):
                        out[d + offset] = wt * boost
                elif lengths is not None:
                    for d, wt in zip(ids, weights, strict=False):
                        out[d + offset] = num * wt / (wt + c1 + c2 * table[lengths[d]])
                else:
                    dfl = leaf.doc_field_length
                    for d, wt in zip(ids, weights, strict=False):
                        out[d + offset] = num * wt / (wt + c1 + c2 * dfl(d, fieldname, 1))
        if allowed is not None and out:
            keep = allowed.docs
            out = {d: v for d, v in out.items() if d in keep}
        return out


def _deleted(leaf) -> set[int]:
    return {d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d)}


class _Allowed:
    """A set of global docnums, with per-segment sorted local lists made on demand."""

    def __init__(self, docs):
        self.docs = docs if isinstance(docs, (set, frozenset, dict)) else set(docs)
        self._local: dict[int, list[int]] = {}

    def local(self, n: int, offset: int, count: int) -> list[int]:
        if n not in self._local:
            self._local[n] = sorted(d - offset for d in self.docs if offset <= d < offset + count)
        return self._local[n]


def _matcher(leaf, fieldname: str, text: str, info):
    """The raw posting list (deleted documents included) from an already looked-up TermInfo;
    through the public API (a second lookup) if Whoosh's internals differ."""
    terms = getattr(leaf, "_terms", None)
    try:
        tbytes = leaf.schema[fieldname].to_bytes(text)
        return terms._codec.postings_reader(
            terms._postfile, info, leaf.schema[fieldname].format, term=(fieldname, tbytes)
        )
    except AttributeError:
        m = leaf.postings(fieldname, text)
        return m.child if isinstance(m, FilterMatcher) else m


def _lengths_bytes(leaf, fieldname) -> bytes | None:
    """The segment's field lengths in memory (loaded on first use), or None."""
    perdoc = getattr(leaf, "_perdoc", None)
    readers = getattr(perdoc, "_readers", None)
    if readers is None:
        return None
    reader = readers.get(f"_{fieldname}_len")
    if not isinstance(reader, _MemLengths):
        _preload_leaf(leaf, (fieldname,))
        reader = readers.get(f"_{fieldname}_len")
    return reader._data if isinstance(reader, _MemLengths) else None


def _posting_blocks(leaf, fieldname: str, text: str, info, local: list[int] | None, *,
                    values: bool = False):
    """A term's postings in one segment, deleted documents included: (ids, weights) per
    block, or (ids, values) with ``values``. With ``local`` (sorted docnums), blocks holding
    none of them are skipped from their header, without decompressing them."""
    postfile = getattr(getattr(leaf, "_terms", None), "_postfile", None)
    fmt = leaf.schema[fieldname].format
    blocks = _term_blocks(postfile, info, fmt, local, "only" if values else False)
    if blocks is not None:
        yield from blocks
        return
    m = _matcher(leaf, fieldname, text, info)  # another codec or format
    ids, second = [], []
    while m.is_active():
        ids.append(m.id())
        second.append(m.value() if values else m.weight())
        m.next()
    yield ids, second


def _term_blocks(postfile, info, fmt, local: list[int] | None, values):
    """A term's posting blocks as ``_w3_blocks`` yields them, inlined postings (kept in the
    term table) included; None when the term is not stored in Whoosh 3's block format."""
    if postfile is None or not isinstance(info, W3TermInfo):
        return None
    if info.is_inlined():
        ids, weights, vals = info.inlined_postings()
        if not values:
            return [(ids, weights)]
        return [(ids, vals) if values == "only" else (ids, weights, vals)]
    start = info.extent()[0]
    if postfile.get(start, 4) != WHOOSH3_HEADER_MAGIC:
        return None
    return _w3_blocks(postfile, start + 4, fmt.fixed_value_size(), local, values)


_INT = struct.Struct("!i")


def _w3_blocks(pf, position: int, fixedsize, local: list[int] | None, values):
    """The blocks of Whoosh 3's on-disk format, each read with one call: (ids, weights), or
    (ids, values) with ``values="only"``, or (ids, weights, values) with ``values="both"``.

    A block is a signed length (negative for the last), a pickled header (count, last id, max
    weight, compression, min and max length), then the pickled ids, weights and values. Whoosh
    unpickles the header straight from the file, a dozen small reads through its compound
    file layer per block (most of a query's I/O time); reading the block's bytes at once and
    unpickling from memory gives the same result."""
    low = -1
    while True:
        length = _INT.unpack(pf.get(position, 4))[0]
        last, length = length < 0, abs(length)
        block = pf.get(position + 4, length)
        buf = io.BytesIO(block)
        count, high, _maxweight, compression, _mn, _mx = pickle.load(buf)
        skip = False
        if local is not None:
            i = bisect.bisect_right(local, low)
            if i >= len(local):
                return
            skip = local[i] > high
        if not skip:
            raw = block[buf.tell() :]
            ids, weights, vals = pickle.loads(zlib.decompress(raw) if compression else raw)
            ids = tuple(itertools.accumulate(ids))
            if values:
                if fixedsize == 0:
                    vals = (None,) * count
                elif fixedsize is not None and fixedsize > 0:
                    vals = tuple(vals[i : i + fixedsize] for i in range(0, len(vals), fixedsize))
            if values != "only":
                if weights is None:
                    weights = (1.0,) * count
                elif isinstance(weights, float):
                    weights = (weights,) * count
            if not values:
                yield ids, weights
            elif values == "only":
                yield ids, vals
            else:
                yield ids, weights, vals
        if last:
            return
        low = high
        position += 4 + length


def _scored_fields(q) -> set[str]:
    return {f for node, _ in _walk(q) if (f := getattr(node, "fieldname", None))}


def _dedupe(raw: list[_Raw]) -> list[_Raw]:
    """Drop a session-document hit when a turn of the same file also matched."""
    turn_keys = {r.stored["key"] for r in raw if r.stored.get("kind") == "turn"}
    return [r for r in raw if r.stored.get("kind") == "turn" or r.stored["key"] not in turn_keys]


def _keep_first(ranked: list[_Raw], keys: list) -> list[_Raw]:
    seen: set = set()
    kept = []
    for r, key in zip(ranked, keys, strict=True):
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept


def _group(raw: list[_Raw]) -> list[_Raw]:
    """One result per session_id: its best turn with that turn's score; the session document
    only when no turn matched (so grouped and flat scores agree)."""
    groups: dict[str, list[_Raw]] = {}
    for r in raw:
        groups.setdefault(r.stored.get("session_id") or r.stored["key"], []).append(r)
    chosen = []
    for members in groups.values():
        turns = [r for r in members if r.stored.get("kind") == "turn"]
        chosen.append((turns or members)[0])  # members are in rank order
    chosen.sort(key=_Raw.rank_key)
    return chosen


def _session_docs(fast: _FastScorer, keys: set[str]) -> dict[str, dict]:
    """The live session document of each key (title and gone_from_source live there)."""
    found: dict[int, float] = {}
    for key in keys:
        found.update(fast._term("session_key", key, 1.0, None, False))
    fast.drop_deleted(found)
    out = {}
    for docnum in found:
        stored = fast.s.stored_fields(docnum)
        out[stored["key"]] = stored
    return out


def _to_hit(r: _Raw, session: dict | None, hl: _Highlighter, texts: dict) -> Hit:
    st = r.stored
    session = session or (st if st.get("kind") == "session" else {})
    ts = st.get("timestamp")
    if st.get("kind") == "session":
        order = ("title", "prompt")
    else:
        order = ("prompt", "answer", "thinking", "tool_input", "tool_output")
    snippet, spans = hl.snippet([(name, texts.get(name) or "") for name in order])
    return Hit(
        key=st["key"],
        session_id=st.get("session_id") or st["key"],
        turn=st.get("turn"),
        profile=st.get("profile", ""),
        project=st.get("project"),
        timestamp=ts.replace(tzinfo=UTC) if isinstance(ts, datetime) else None,
        score=float(r.score),
        title=session.get("title"),
        snippet=snippet,
        highlights=spans,
        is_subagent=bool(st.get("is_subagent")),
        agent_id=st.get("agent_id"),
        gone_from_source=bool(session.get("gone_from_source")),
    )


# --------------------------------------------------------------------------------------------
# Snippets


class _Highlighter:
    """Finds the query's words in stored text without re-analysing whole documents.

    A regex finds candidate words fast (stems are word prefixes, except a final y→i); each
    candidate is then run through the index analyzer and kept only if it yields a query term,
    so highlights agree with what the index matched. CJK terms are matched literally.
    """

    def __init__(self, q, *, redact: bool = False):
        self.redact = redact
        self.terms: dict[str, set[str]] = {}
        self.prefixes: dict[str, set[str]] = {}
        self.literals: dict[str, set[str]] = {}
        for node, negated in _walk(q):
            field = getattr(node, "fieldname", None)
            if negated or field not in index_schema.TEXT_FIELDS:
                continue
            if isinstance(node, Q.Phrase):
                words = [w for w in node.words if isinstance(w, str)]
                if words and all(index_schema.is_cjk(w) for w in words):
                    lit = words[0] + "".join(w[1:] for w in words[1:])
                    self.literals.setdefault(field, set()).add(lit)
                else:
                    self.terms.setdefault(field, set()).update(words)
            elif isinstance(node, Q.Prefix):
                self.prefixes.setdefault(field, set()).add(node.text)
            elif isinstance(node, Q.Term) and isinstance(node.text, str):
                if index_schema.is_cjk(node.text):
                    self.literals.setdefault(field, set()).add(node.text)
                else:
                    self.terms.setdefault(field, set()).add(node.text)
        self._analyzer = index_schema.text_analyzer()
        self._cache: dict[str, list[str]] = {}
        self._regex: dict[str, re.Pattern | None] = {}

    def _pattern(self, field: str):
        if field not in self._regex:
            stems = self.terms.get(field, set()) | self.prefixes.get(field, set())
            alts = sorted({s[:-1] if s.endswith("i") and len(s) > 2 else s for s in stems},
                          key=len, reverse=True)
            lits = sorted(self.literals.get(field, set()), key=len, reverse=True)
            parts = []
            if alts:
                alt = "|".join(map(re.escape, alts))
                parts.append(rf"(?<![^\W_])(?:{alt})[^\W_]*")
            if lits:
                parts.append("|".join(map(re.escape, lits)))
            self._regex[field] = re.compile("|".join(parts), re.I) if parts else None
        return self._regex[field]

    def _tokens(self, word: str) -> list[str]:
        toks = self._cache.get(word)
        if toks is None:
            toks = [t.text for t in self._analyzer(word)]
            if len(self._cache) < 10000:
                self._cache[word] = toks
        return toks

    def _matches(self, field: str, text: str) -> list[tuple[int, int]]:
        pattern = self._pattern(field)
        if pattern is None:
            return []
        terms = self.terms.get(field, set())
        prefixes = tuple(self.prefixes.get(field, ()))
        lits = self.literals.get(field, set())
        spans = []
        for m in pattern.finditer(text):
            word = m.group(0)
            if word in lits or word.lower() in lits:
                spans.append(m.span())
            else:
                toks = self._tokens(word)
                if any(t in terms or (prefixes and t.startswith(prefixes)) for t in toks):
                    spans.append(m.span())
            if len(spans) >= 200:
                break
        return spans

    def snippet(self, texts: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int]]]:
        """A window of the first text (in the given field order) that matches, else of the
        first non-empty one. Secrets are masked in the whole text before the window is cut:
        masking the window afterwards could leave a secret's cut-off edge readable."""
        if self.redact:
            from .redact import redact_spans
        for field, text in texts:
            if not text or self._pattern(field) is None:
                continue
            masks: list[tuple[int, int]] = []
            if self.redact:
                text, masks = redact_spans(text)
            spans = self._matches(field, text)
            if masks:  # a query word inside a mask ("token" in [REDACTED:...]) is not a hit
                spans = [sp for sp in spans if not any(sp[0] < e and sp[1] > s for s, e in masks)]
            if spans:
                return _window(text, spans)
        for _, text in texts:
            if text and text.strip():
                return _window(redact_spans(text)[0] if self.redact else text, [])
        return "", []


def _window(text: str, spans: list[tuple[int, int]], width: int = _SNIPPET_WIDTH):
    """~width characters around the densest group of matches, on one line, with spans."""
    start = 0
    if spans:
        starts = [sp[0] for sp in spans[:50]]
        reach = width * 2 // 3
        best, best_i = -1, 0
        for i, s0 in enumerate(starts):
            n = bisect.bisect_left(starts, s0 + reach, i) - i
            if n > best:
                best, best_i = n, i
        first = starts[best_i]
        start = max(0, first - width // 4)
        if start:  # begin at a word boundary
            sp = text.rfind(" ", max(0, start - 20), first)
            start = sp + 1 if sp >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.find(" ", end, end + 20)
        end = sp if sp >= 0 else end
    raw = text[start:end]
    # Collapse whitespace runs to one space; track how far each run shifts what follows.
    pieces, shifts, removed, last = [], [], 0, 0
    for m in _SPACES.finditer(raw):
        pieces.append(raw[last : m.start()])
        pieces.append(" ")
        removed += (m.end() - m.start()) - 1
        shifts.append((m.end(), removed))
        last = m.end()
    pieces.append(raw[last:])
    body = "".join(pieces)
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    prefix = "…" if start > 0 else ""
    ends = [e for e, _ in shifts]

    def new_pos(i: int) -> int:  # position in the snippet of raw[i]
        k = bisect.bisect_right(ends, i)
        return i - (shifts[k - 1][1] if k else 0) - lead + len(prefix)

    highlights = []
    for s0, e0 in spans:
        if s0 >= start and e0 <= end:
            hs, he = new_pos(s0 - start), new_pos(e0 - 1 - start) + 1
            if he > hs:
                highlights.append((hs, he))
    snippet = prefix + body + ("…" if end < len(text) else "")
    return snippet, highlights


_SPACES = re.compile(r"\s+")
