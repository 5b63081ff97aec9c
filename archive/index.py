"""The full-text index: writing session documents and querying them (Whoosh).

This is the only module that talks to Whoosh, so the engine can be swapped without touching the
rest of the project. One Whoosh document per turn and one per session (``kind``), in an index
folder that also holds ``meta.json`` (schema version, last indexed snapshot).

Concurrency model: the caller holds the archive-wide lock while writing, so there is at most
one ``IndexWriter``. Searches take no lock: Whoosh readers open the last committed table of
contents, so they never wait for an ingest and never see a half-written index.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.qparser import FieldAliasPlugin, MultifieldParser
from whoosh.scoring import BM25F
from whoosh.util.filelock import try_for
from whoosh.writing import SegmentWriter

import index_schema
from archive import transcript
from archive.errors import ArchiveError, IndexOutOfDate, UsageError

INDEX_NAME = "MAIN"
META_FILE = "meta.json"
_LOCK_NAME = "WRITELOCK"
_REINDEX_HINT = "run `archive reindex`"

# Query aliases people type naturally; the schema names are plural.
_ALIASES = {"tools": ["tool"], "models": ["model"], "files": ["file"]}
_SNIPPET_WIDTH = 200


# --------------------------------------------------------------------------------------------
# Public data


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
    with _private_umask():
        _make_dir(index_dir)
        _storage(index_dir).create_index(index_schema.build_schema(), indexname=INDEX_NAME)
        _write_meta(
            index_dir, {"schema_version": index_schema.SCHEMA_VERSION, "indexed_snapshot": None}
        )
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


def _exists(index_dir: Path) -> bool:
    return Path(index_dir).is_dir() and whoosh_index.exists(_storage(index_dir), INDEX_NAME)


def open_index(index_dir: Path):
    """Open the committed index for reading; checks the schema version first."""
    index_dir = Path(index_dir)
    if not _exists(index_dir):
        raise ArchiveError("no index yet: run `archive ingest`")
    _check_version(index_dir)
    try:
        return _storage(index_dir).open_index(INDEX_NAME)
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


def _pack(obj) -> bytes:
    return zlib.compress(json.dumps(obj, ensure_ascii=False).encode("utf-8"), 1)


def _unpack(blob) -> dict:
    try:
        return json.loads(zlib.decompress(blob))
    except (TypeError, ValueError, zlib.error):
        return {}


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
        "tool_output": "\n".join(c.output for c in calls if c.output),
    }
    for name, value in texts.items():
        _put(fields, name, value)
    _put(fields, "tools", ",".join(dict.fromkeys(c.name for c in calls if c.name)))
    _put(fields, "models", ",".join(turn.models or doc.session.models))
    # Files of this turn: the tool arguments the parser also listed as session files.
    files = [c.key_argument for c in calls if c.key_argument in session_files]
    _put(fields, "files", "\n".join(dict.fromkeys(files)))
    fields["src"] = _pack(texts)
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
    fields["src"] = _pack(texts)
    return fields


def _rebuild_session_doc(stored: dict, gone: bool) -> dict:
    """A session document from its own stored fields (to flip gone_from_source)."""
    fields = {k: v for k, v in stored.items() if k not in ("src", "title", "turn")}
    fields["gone_from_source"] = gone
    texts = _unpack(stored.get("src"))
    for name in ("title", "prompt", "tools", "models", "files"):
        _put(fields, name, texts.get(name))
    fields["src"] = stored.get("src") or _pack(texts)
    return fields


# --------------------------------------------------------------------------------------------
# Writing


def _die_with_parent(parent_pid: int) -> None:
    """Make a Whoosh worker process exit when the ingest that forked it dies.

    After kill -9 of the parent, MpWriter's workers block forever on their job queue and keep
    the inherited Whoosh lock. PR_SET_PDEATHSIG (Linux) kills them at once; the polling thread
    covers other POSIX systems and the race where the parent died before prctl ran.
    """
    with contextlib.suppress(Exception):
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


class _GuardedTask(SubWriterTask):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parent_pid = os.getpid()

    def run(self):
        _die_with_parent(self._parent_pid)
        super().run()


class _GuardedMpWriter(MpWriter):
    """MpWriter whose workers die with the parent and are really stopped by cancel().

    (Whoosh's cancel only flips a flag in the parent's copy of the task object.)
    """

    def _new_task(self):
        task = _GuardedTask(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        task.daemon = True  # also reaped if the parent exits normally without commit/cancel
        self.tasks.append(task)
        task.start()
        return task

    def cancel(self):
        for task in self.tasks:
            with contextlib.suppress(Exception):
                task.kill()
                task.join(5)
        self.tasks = []
        SegmentWriter.cancel(self)

    def _commit(self, mergetype, optimize, merge):
        super()._commit(mergetype, optimize, merge)
        failed = [t.exitcode for t in self.tasks if t.exitcode not in (0, None)]
        if failed:  # a worker died: its documents are missing although the commit went through
            raise ArchiveError(
                f"an index worker process failed (exit code {failed[0]}); the index is incomplete",
                hint=_REINDEX_HINT,
            )


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
    commit once per snapshot. Leaving the ``with`` block without ``commit()`` cancels what was
    not committed. While it is open the process umask is 0o077 (Whoosh creates its own files).
    """

    def __init__(self, index_dir: Path, *, limitmb: int = 256, procs: int = 1):
        self.index_dir = Path(index_dir)
        self.limitmb = limitmb
        self.procs = max(1, int(procs))
        self._w = None
        self._touched: set[str] = set()
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
            lock = _take_lock(self._ix, wait=3.0)
            try:
                _clean_dead_writer(self._ix)
                if self.procs > 1:
                    w = _GuardedMpWriter(
                        self._ix,
                        procs=self.procs,
                        multisegment=True,
                        _lk=False,
                        limitmb=self.limitmb,
                        subargs={"limitmb": self.limitmb},
                    )
                else:
                    w = SegmentWriter(self._ix, _lk=False, limitmb=self.limitmb)
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
            w.commit()
        self._touched.clear()

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
            w.delete_by_query(
                Q.And([
                    Q.Term("key", doc.key),
                    Q.Or([Q.Term("kind", "session"), Q.NumericRange("turn", from_turn, None)]),
                ])
            )
        files = set(s.files)
        added = 0
        for turn in s.turns:
            if turn.number >= from_turn:
                w.add_document(**_turn_doc(doc, turn, files))
                added += 1
        w.add_document(**_session_doc(doc))
        self._touched.add(doc.key)
        return added + 1

    def delete_key(self, key: str) -> None:
        """Remove every document of one archived file."""
        if key in self._touched:
            self._flush()
        self._writer().delete_by_term("key", key)
        self._touched.add(key)

    def set_gone(self, key: str, gone: bool) -> bool:
        """Flip gone_from_source on the key's session document (rebuilt from stored fields).

        Turn documents do not carry the flag: a hit's gone_from_source is read from the session
        document. Returns False when the key has no session document.
        """
        if key in self._touched:
            self._flush()
        w = self._writer()
        q = Q.And([Q.Term("key", key), Q.Term("kind", "session")])
        s = w.searcher()
        docnums = list(s.docs_for_query(q))
        if not docnums:
            return False
        stored = s.stored_fields(docnums[-1])
        if bool(stored.get("gone_from_source")) == bool(gone):
            return True
        w.delete_by_query(q)
        w.add_document(**_rebuild_session_doc(stored, bool(gone)))
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
    outside = " ".join(_outside_quotes(query))
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


def _widen_single_cjk(q):
    """A lone CJK character is indexed only when it stands alone; inside a run it is the start
    of bigrams. Match both."""
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
    return q.accept(_widen_single_cjk)


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
) -> list[Hit]:
    """Best matches first (BM25F, field boosts; equal scores: newer first)."""
    for attempt in range(3):
        try:
            return _search(Path(index_dir), query, filters, limit, group_sessions)
        except FileNotFoundError:
            # A commit deleted the segment files of the TOC we had just read: read again.
            if attempt == 2:
                raise
            time.sleep(0.05)
    return []


def _search(index_dir, query, filters, limit, group_sessions) -> list[Hit]:
    ix = open_index(index_dir)
    q = parse_query(query, ix.schema)
    if limit <= 0:
        return []
    with ix.searcher(weighting=_weighting()) as s:
        fq = _filter_query(s.reader(), filters)
        if fq is False:
            return []
        if fq is not None:
            q = Q.Require(q, fq)
        fetch = limit * 5 + 50 if group_sessions else limit * 3 + 20
        while True:
            results = s.search(q, limit=fetch)
            raw = [_Raw(h.docnum, h.score, h.fields()) for h in results]
            raw.sort(key=_Raw.rank_key)
            chosen = _group(raw) if group_sessions else _dedupe(raw)
            exhausted = len(raw) < fetch
            if len(chosen) >= limit or exhausted or fetch >= 20000:
                break
            fetch *= 4
        chosen = chosen[:limit]
        sessions = _session_docs(s, {r.stored["key"] for r in chosen})
        hl = _Highlighter(q)
        return [_to_hit(r, sessions.get(r.stored["key"]), hl) for r in chosen]


def _dedupe(raw: list[_Raw]) -> list[_Raw]:
    """Drop a session-document hit when a turn of the same file also matched."""
    turn_keys = {r.stored["key"] for r in raw if r.stored.get("kind") == "turn"}
    return [r for r in raw if r.stored.get("kind") == "turn" or r.stored["key"] not in turn_keys]


def _group(raw: list[_Raw]) -> list[_Raw]:
    """One result per session_id: its best turn (or the session document), best score."""
    groups: dict[str, list[_Raw]] = {}
    for r in raw:
        groups.setdefault(r.stored.get("session_id") or r.stored["key"], []).append(r)
    chosen = []
    for members in groups.values():
        best = max(r.score for r in members)
        turns = [r for r in members if r.stored.get("kind") == "turn"]
        rep = (turns or members)[0]  # members are in rank order
        chosen.append(_Raw(rep.docnum, best, rep.stored))
    chosen.sort(key=_Raw.rank_key)
    return chosen


def _session_docs(searcher, keys: set[str]) -> dict[str, dict]:
    if not keys:
        return {}
    q = Q.And([Q.Term("kind", "session"), Q.Or([Q.Term("key", k) for k in keys])])
    out = {}
    for docnum in searcher.docs_for_query(q):
        stored = searcher.stored_fields(docnum)
        out[stored["key"]] = stored
    return out


def _to_hit(r: _Raw, session: dict | None, hl: _Highlighter) -> Hit:
    st = r.stored
    session = session or (st if st.get("kind") == "session" else {})
    ts = st.get("timestamp")
    texts = _unpack(st.get("src"))
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

    def __init__(self, q):
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
        for field, text in texts:
            if text:
                spans = self._matches(field, text)
                if spans:
                    return _window(text, spans)
        for _, text in texts:
            if text.strip():
                return _window(text, [])
        return "", []


def _window(text: str, spans: list[tuple[int, int]], width: int = _SNIPPET_WIDTH):
    """~width characters around the densest group of matches, on one line, with spans."""
    start = 0
    if spans:
        best, best_i = -1, 0
        for i, (s, _) in enumerate(spans):
            n = sum(1 for s2, _ in spans[i:] if s2 < s + width * 2 // 3)
            if n > best:
                best, best_i = n, i
        first = spans[best_i][0]
        start = max(0, first - width // 4)
        if start:  # begin at a word boundary
            sp = text.rfind(" ", max(0, start - 20), first)
            start = sp + 1 if sp >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.find(" ", end, end + 20)
        end = sp if sp >= 0 else end
    out: list[str] = []
    mapping: dict[int, int] = {}
    prefix = "…" if start > 0 else ""
    pos = len(prefix)
    space = False
    for i in range(start, end):
        ch = text[i]
        mapping[i] = pos
        if ch.isspace():
            if not space and out:
                out.append(" ")
                pos += 1
            space = True
            continue
        space = False
        out.append(ch)
        pos += 1
    body = "".join(out).rstrip()
    snippet = prefix + body + ("…" if end < len(text) else "")
    highlights = []
    for s, e in spans:
        if s >= start and e <= end:
            hs, he = mapping.get(s, 0), mapping.get(e - 1, 0) + 1
            if he > hs:
                highlights.append((hs, he))
    return snippet, highlights
