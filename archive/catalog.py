"""The catalog: which files were seen, every version they had, and the chunks of each version.

Invariants:
- A catalog row never refers to an object that is not durable: ingest stores and syncs objects
  first and commits the rows that name them afterwards, in one SQLite transaction.
- Versions are append-only: a version, once committed, is never changed or removed (until an
  explicit prune command, which does not exist yet).
- SQLite runs in WAL mode, so readers (versions, cat, search) never wait for an ingest and see
  only committed states.
- A catalog is created only in a folder that holds no archived data. Objects or manifests
  beside a missing, empty or unreadable catalog mean it was lost: that is refused (exit 65),
  never taken for a new archive, and ``archive repair`` rebuilds it from the manifests.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from .dates import iso_utc
from .errors import ArchiveError, CatalogDamaged, UsageError

if TYPE_CHECKING:
    from .filters import SearchFilters

CATALOG_FILE = "catalog.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    host TEXT NOT NULL,
    roots TEXT NOT NULL,                 -- JSON list of {profile, path}
    status TEXT NOT NULL,                -- running | complete | interrupted
    files_seen INTEGER NOT NULL DEFAULT 0,
    files_changed INTEGER NOT NULL DEFAULT 0,
    versions_added INTEGER NOT NULL DEFAULT 0,
    bytes_read INTEGER NOT NULL DEFAULT 0,
    bytes_stored INTEGER NOT NULL DEFAULT 0,
    gone_from_source INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    profile TEXT NOT NULL,
    relpath TEXT NOT NULL,               -- relative to the root, POSIX
    kind TEXT NOT NULL,                  -- session, subagent, tool-result, sidecar, memory, …
    session_id TEXT,
    first_snapshot INTEGER NOT NULL,
    gone_snapshot INTEGER,               -- first snapshot that found it missing at the source
    stat_size INTEGER,                   -- stat of the last read: unchanged means not read again
    stat_mtime_ns INTEGER,
    stat_inode INTEGER,
    UNIQUE (profile, relpath)
);
CREATE INDEX IF NOT EXISTS files_by_session ON files (session_id);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files (id),
    seq INTEGER NOT NULL,                -- 1, 2, … per file
    sha256 TEXT NOT NULL,                -- of the whole content
    size INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
    captured_at TEXT NOT NULL,           -- UTC ISO-8601
    mtime_ns INTEGER,
    appended_to INTEGER,                 -- the version whose bytes this one starts with
    UNIQUE (file_id, seq)
);
CREATE TABLE IF NOT EXISTS version_chunks (
    version_id INTEGER NOT NULL REFERENCES versions (id),
    pos INTEGER NOT NULL,
    chunk TEXT NOT NULL REFERENCES chunks (sha256),
    PRIMARY KEY (version_id, pos)
) WITHOUT ROWID;
-- Derived, like the index: what the parser found in the newest indexed version of each
-- transcript, rebuilt by `archive reindex`. `version_id` is the version it describes.
CREATE TABLE IF NOT EXISTS session_meta (
    file_id INTEGER PRIMARY KEY REFERENCES files (id),
    version_id INTEGER NOT NULL,
    agent TEXT NOT NULL DEFAULT 'claude', -- the source (archive.sources): claude, codex
    session_id TEXT,
    parent_session_id TEXT,
    agent_id TEXT,
    is_subagent INTEGER NOT NULL,
    project TEXT,
    branch TEXT,
    models TEXT NOT NULL,                -- JSON list
    tools TEXT NOT NULL,                 -- JSON list
    started TEXT,
    ended TEXT,
    turns INTEGER NOT NULL,
    title TEXT,
    custom_title TEXT,                   -- the name: custom-title, else agent-name (/rename)
    context_tokens INTEGER,
    peak_context_tokens INTEGER,
    compactions INTEGER NOT NULL,
    context_estimated INTEGER NOT NULL,
    bad_lines INTEGER NOT NULL,
    turn_marks TEXT,                     -- archive.forks: a mark per turn (main sessions)
    fork_key TEXT                        -- the first turn's mark: sessions sharing it are kin
);
-- Derived: transcripts whose newest version could not be read for indexing (damaged or
-- missing objects), so later ingests do not stumble on them again; reindex retries them.
CREATE TABLE IF NOT EXISTS index_skipped (
    file_id INTEGER PRIMARY KEY REFERENCES files (id),
    version_id INTEGER NOT NULL,
    problem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL
) WITHOUT ROWID;
"""


# Columns added after a table was first released: (table, column, definition). CREATE TABLE IF
# NOT EXISTS leaves an older table as it was, so _migrate adds what it lacks; a default makes
# the old rows right (every session archived before Codex came was Claude Code's).
ADDED_COLUMNS = (
    ("session_meta", "agent", "TEXT NOT NULL DEFAULT 'claude'"),
    # NULL until the session is indexed again (`archive reindex` marks every one).
    ("session_meta", "turn_marks", "TEXT"),
    ("session_meta", "fork_key", "TEXT"),
)
# Indexes on added columns: created after the columns exist.
ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS session_meta_by_fork_key ON session_meta (fork_key);",
)

_SCHEMA_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


@dataclass
class FileRow:
    id: int
    profile: str
    relpath: str
    kind: str
    session_id: str | None
    first_snapshot: int
    gone_snapshot: int | None
    stat_size: int | None
    stat_mtime_ns: int | None
    stat_inode: int | None


@dataclass
class VersionRow:
    id: int
    file_id: int
    seq: int
    sha256: str
    size: int
    snapshot_id: int
    captured_at: str
    mtime_ns: int | None
    appended_to: int | None


@dataclass
class ChunkRef:
    sha256: str
    size: int


# (relpath, id, gone_snapshot, stat_size, stat_mtime_ns, stat_inode): see file_stats_of_profile.
StatRow = tuple[str, int, int | None, int | None, int | None, int | None]

_FILE_COLS = (
    "id, profile, relpath, kind, session_id, first_snapshot, gone_snapshot, "
    "stat_size, stat_mtime_ns, stat_inode"
)
_VERSION_COLS = "id, file_id, seq, sha256, size, snapshot_id, captured_at, mtime_ns, appended_to"


def check_archive_dir(archive_dir: Path) -> None:
    """Refuse an archive location that is not a folder (``--archive-dir`` naming a file)."""
    if archive_dir.exists() and not archive_dir.is_dir():
        raise UsageError(
            f"{archive_dir} is not a folder",
            hint="--archive-dir (or $SESSION_ARCHIVE_DIR) names the archive's folder",
        )


def holds_archived_data(archive_dir: Path) -> bool:
    """Whether the folder holds objects or manifests: the history a lost catalog described."""
    manifests = archive_dir / "manifests"
    try:
        if manifests.is_dir() and any(p.name.endswith(".zst") for p in manifests.iterdir()):
            return True
        objects = archive_dir / "objects"
        if not objects.is_dir():
            return False
        for fan in objects.iterdir():
            if len(fan.name) == 2 and fan.is_dir() and any(True for _ in fan.iterdir()):
                return True
    except OSError:
        return True  # cannot tell: never risk re-initialising someone's archive
    return False


class Catalog:
    """A connection to ``catalog.sqlite``. Writers use ``transaction()``; readers just query.

    ``path``: another file to create or open (``archive repair`` builds a new catalog beside
    the damaged one); ``allow_new``: create it even though the folder holds archived data."""

    def __init__(
        self,
        archive_dir: Path,
        *,
        readonly: bool = False,
        path: Path | None = None,
        allow_new: bool = False,
    ):
        self.archive_dir = archive_dir
        self.path = path or archive_dir / CATALOG_FILE
        check_archive_dir(archive_dir)
        if not self.path.exists():
            if holds_archived_data(archive_dir) and not allow_new:
                raise CatalogDamaged(
                    f"the catalog of {archive_dir} is missing, but the folder holds archived "
                    "objects"
                )
            if readonly:
                raise self._no_archive()
        try:
            if readonly:
                self.conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=30
                )
            else:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                os.close(fd)
                self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.DatabaseError as exc:
            raise CatalogDamaged(f"the catalog {self.path} cannot be opened ({exc})") from None
        try:
            if not readonly:
                if not allow_new and not self._has_schema() and holds_archived_data(archive_dir):
                    raise CatalogDamaged(
                        f"the catalog {self.path} is empty, but the folder holds archived objects"
                    )
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                self._migrate()
                for suffix in ("-wal", "-shm"):
                    side = Path(str(self.path) + suffix)
                    if side.exists():
                        os.chmod(side, 0o600)
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._check_version()
        except sqlite3.OperationalError:
            self.conn.close()
            raise  # locked, full, a failed migration: not damage (errors.from_environment)
        except sqlite3.DatabaseError as exc:  # not a database, a malformed image
            self.conn.close()
            raise CatalogDamaged(f"the catalog {self.path} is damaged ({exc})") from None
        except BaseException:
            self.conn.close()
            raise

    def _has_schema(self) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        return row is not None

    def close(self) -> None:
        self.conn.close()

    def _no_archive(self) -> ArchiveError:
        return ArchiveError(f"no archive at {self.archive_dir}", hint="run `archive ingest` first")

    def _migrate(self) -> None:
        # Every statement is idempotent (IF NOT EXISTS), so running the script again is safe.
        # One transaction, with the version row: a reader opening the catalog of a first ingest
        # sees either no schema (no archive yet) or all of it, never some tables without others.
        added = ""
        for table, column, definition in ADDED_COLUMNS:
            columns = self._columns(table)  # empty: no such table yet, SCHEMA creates it whole
            if columns and column not in columns:
                added += f"ALTER TABLE {table} ADD COLUMN {column} {definition};\n"
        indexes = "\n".join(ADDED_INDEXES)
        script = (
            f"BEGIN IMMEDIATE;\n{SCHEMA}\n{added}{indexes}\n"
            "INSERT OR IGNORE INTO meta (key, value) "
            f"VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
        )
        try:
            self.conn.executescript(script)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def _check_version(self) -> None:
        try:
            tables = {
                name for (name,) in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone() if "meta" in tables else None
        except sqlite3.DatabaseError as exc:
            raise CatalogDamaged(f"the catalog {self.path} is damaged ({exc})") from None
        if row is None:
            if tables - _SCHEMA_TABLES:
                raise ArchiveError(f"catalog {self.path} is not a session-archive catalog")
            if holds_archived_data(self.archive_dir):
                raise CatalogDamaged(
                    f"the catalog {self.path} is empty, but the folder holds archived objects"
                )
            # Created by a first ingest that has not committed its schema yet (or died before
            # it did): nothing was ever archived here. Writers never get here: _migrate ran.
            raise self._no_archive()
        if int(row[0]) > SCHEMA_VERSION:
            found = row[0]
            raise ArchiveError(
                f"catalog {self.path} has schema version {found}; this archive supports "
                f"{SCHEMA_VERSION}",
                hint="upgrade session-archive",
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- snapshots -------------------------------------------------------------------------

    def begin_snapshot(self, started_at: str, host: str, roots_json: str) -> int:
        with self.transaction() as c:
            # A snapshot left "running" belongs to a process that died: the lock proves it.
            c.execute("UPDATE snapshots SET status = 'interrupted' WHERE status = 'running'")
            cur = c.execute(
                "INSERT INTO snapshots (started_at, host, roots, status) "
                "VALUES (?, ?, ?, 'running')",
                (started_at, host, roots_json),
            )
            return int(cur.lastrowid)

    def update_snapshot(self, snapshot_id: int, **counts: int | str) -> None:
        cols = ", ".join(f"{k} = ?" for k in counts)
        self.conn.execute(
            f"UPDATE snapshots SET {cols} WHERE id = ?", (*counts.values(), snapshot_id)
        )

    def snapshots(self) -> list[dict]:
        cur = self.conn.execute("SELECT * FROM snapshots ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def snapshot(self, snapshot_id: int) -> dict | None:
        cur = self.conn.execute("SELECT * FROM snapshots WHERE id = ?", (snapshot_id,))
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        return dict(zip(names, row, strict=True)) if row else None

    # -- files -----------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        """Every profile the archive holds files of, sorted."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT profile FROM files ORDER BY 1")]

    def files_of_kind(self, kind: str) -> list[FileRow]:
        """Every file of one kind (``history``, ``session``…), by profile."""
        cur = self.conn.execute(
            f"SELECT {_FILE_COLS} FROM files WHERE kind = ? ORDER BY profile", (kind,))
        return [FileRow(*row) for row in cur]

    def files_of_profile(self, profile: str) -> dict[str, FileRow]:
        cur = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE profile = ?", (profile,))
        return {row[2]: FileRow(*row) for row in cur}

    def file_stats_of_profile(self, profile: str) -> dict[str, StatRow]:
        """What ingest compares a walk with, by relpath: plain tuples, built for every known
        file on every run, so kept as cheap as SQLite hands them over."""
        cur = self.conn.execute(
            "SELECT relpath, id, gone_snapshot, stat_size, stat_mtime_ns, stat_inode "
            "FROM files WHERE profile = ?",
            (profile,),
        )
        return {row[0]: row for row in cur}

    def file(self, file_id: int) -> FileRow:
        row = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE id = ?", (file_id,))
        return FileRow(*row.fetchone())

    def add_file(
        self, profile: str, relpath: str, kind: str, session_id: str | None, snapshot_id: int
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO files (profile, relpath, kind, session_id, first_snapshot) "
            "VALUES (?, ?, ?, ?, ?)",
            (profile, relpath, kind, session_id, snapshot_id),
        )
        return int(cur.lastrowid)

    def names_of(self, file_ids: list[int]) -> dict[int, tuple[str, str]]:
        """(profile, relpath) of each file id."""
        out = {}
        for i in range(0, len(file_ids), 500):  # SQLite's variable limit
            part = file_ids[i : i + 500]
            marks = ", ".join("?" * len(part))
            cur = self.conn.execute(
                f"SELECT id, profile, relpath FROM files WHERE id IN ({marks})", part
            )
            out.update({fid: (profile, relpath) for fid, profile, relpath in cur})
        return out

    def move_file(self, file_id: int, relpath: str) -> None:
        """A file Claude Code moved (``/cd``): same file, same versions, new place."""
        self.conn.execute("UPDATE files SET relpath = ? WHERE id = ?", (relpath, file_id))

    def set_stat(self, file_id: int, size: int, mtime_ns: int, inode: int) -> None:
        self.conn.execute(
            "UPDATE files SET stat_size = ?, stat_mtime_ns = ?, stat_inode = ?, "
            "gone_snapshot = NULL WHERE id = ?",
            (size, mtime_ns, inode, file_id),
        )

    def mark_back(self, file_ids: list[int]) -> None:
        self.conn.executemany(
            "UPDATE files SET gone_snapshot = NULL WHERE id = ?", [(i,) for i in file_ids]
        )

    def mark_gone(self, file_ids: list[int], snapshot_id: int) -> None:
        self.conn.executemany(
            "UPDATE files SET gone_snapshot = ? WHERE id = ? AND gone_snapshot IS NULL",
            [(snapshot_id, i) for i in file_ids],
        )

    def session_files(self, prefix: str, kinds: tuple[str, ...] = ("session",)) -> list[FileRow]:
        """Main transcripts (or files of the given ``kinds``) whose session id starts with
        ``prefix``."""
        cur = self.conn.execute(
            f"SELECT {_FILE_COLS} FROM files WHERE kind IN ({', '.join('?' * len(kinds))}) "
            "AND session_id LIKE ? ESCAPE '\\' ORDER BY session_id, profile",
            (*kinds, _like_escape(prefix) + "%"),
        )
        return [FileRow(*row) for row in cur]

    def sessions_named(self, name: str) -> list[FileRow]:
        """Main transcripts whose name (``/rename``: custom-title, else agent-name) is ``name``,
        ignoring case."""
        cur = self.conn.execute(
            f"SELECT {', '.join('f.' + c.strip() for c in _FILE_COLS.split(','))} "
            "FROM files f JOIN session_meta m ON m.file_id = f.id "
            "WHERE f.kind = 'session' AND m.custom_title = ? COLLATE NOCASE "
            "ORDER BY f.session_id, f.profile",
            (name,),
        )
        return [FileRow(*row) for row in cur]

    def session_meta(self, file_id: int) -> dict | None:
        cur = self.conn.execute("SELECT * FROM session_meta WHERE file_id = ?", (file_id,))
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        return dict(zip(names, row, strict=True)) if row else None

    def sidecar_files(self, profile: str, project_dir: str, session_id: str) -> list[FileRow]:
        """Files in a session's own folder (subagents/, tool-results/, …) of one profile."""
        prefix = f"{project_dir}/{session_id}/"
        cur = self.conn.execute(
            f"SELECT {_FILE_COLS} FROM files WHERE profile = ? AND session_id = ? "
            "AND kind != 'session' AND substr(relpath, 1, ?) = ? ORDER BY relpath",
            (profile, session_id, len(prefix), prefix),
        )
        return [FileRow(*row) for row in cur]

    def files_of_session(self, profile: str, session_id: str) -> list[FileRow]:
        """Every file of one session in one profile: transcript, sidecars, set-aside copies,
        file history."""
        cur = self.conn.execute(
            f"SELECT {_FILE_COLS} FROM files WHERE profile = ? AND session_id = ? "
            "ORDER BY relpath",
            (profile, session_id),
        )
        return [FileRow(*row) for row in cur]

    def archived_session_ids(self) -> set[str]:
        cur = self.conn.execute("SELECT DISTINCT session_id FROM files WHERE kind = 'session'")
        return {sid for (sid,) in cur}

    def gone_files(self) -> list[FileRow]:
        cur = self.conn.execute(f"SELECT {_FILE_COLS} FROM files WHERE gone_snapshot IS NOT NULL")
        return [FileRow(*r) for r in cur]

    def facts_by_key(self, keys) -> dict[str, tuple[str | None, bool]]:
        """For index keys ("profile/relpath"): (title from session_meta, gone from source).
        Keys of no archived file (prompt-only documents) are left out."""
        by_profile: dict[str, list[str]] = {}
        for key in keys:
            profile, _, relpath = key.partition("/")
            by_profile.setdefault(profile, []).append(relpath)
        out: dict[str, tuple[str | None, bool]] = {}
        for profile, relpaths in by_profile.items():
            for i in range(0, len(relpaths), 500):  # SQLite's variable limit
                part = relpaths[i : i + 500]
                cur = self.conn.execute(
                    "SELECT f.relpath, m.title, f.gone_snapshot IS NOT NULL FROM files f "
                    "LEFT JOIN session_meta m ON m.file_id = f.id "
                    f"WHERE f.profile = ? AND f.relpath IN ({', '.join('?' * len(part))})",
                    (profile, *part),
                )
                for relpath, title, gone in cur:
                    out[f"{profile}/{relpath}"] = (title, bool(gone))
        return out

    def all_files(self) -> list[FileRow]:
        return [FileRow(*r) for r in self.conn.execute(f"SELECT {_FILE_COLS} FROM files")]

    # -- versions and chunks ---------------------------------------------------------------

    def latest_version(self, file_id: int) -> VersionRow | None:
        row = self.conn.execute(
            f"SELECT {_VERSION_COLS} FROM versions WHERE file_id = ? ORDER BY seq DESC LIMIT 1",
            (file_id,),
        ).fetchone()
        return VersionRow(*row) if row else None

    def version(self, version_id: int) -> VersionRow:
        row = self.conn.execute(
            f"SELECT {_VERSION_COLS} FROM versions WHERE id = ?", (version_id,)
        ).fetchone()
        return VersionRow(*row)

    def versions(self, file_id: int) -> list[VersionRow]:
        cur = self.conn.execute(
            f"SELECT {_VERSION_COLS} FROM versions WHERE file_id = ? ORDER BY seq", (file_id,)
        )
        return [VersionRow(*row) for row in cur]

    def all_versions(self) -> Iterator[VersionRow]:
        cur = self.conn.execute(f"SELECT {_VERSION_COLS} FROM versions ORDER BY file_id, seq")
        for row in cur:
            yield VersionRow(*row)

    def chunks_of(self, version_id: int) -> list[ChunkRef]:
        cur = self.conn.execute(
            "SELECT vc.chunk, c.size FROM version_chunks vc "
            "LEFT JOIN chunks c ON c.sha256 = vc.chunk WHERE vc.version_id = ? ORDER BY vc.pos",
            (version_id,),
        )
        return [ChunkRef(sha, size if size is not None else -1) for sha, size in cur]

    def has_chunk(self, sha: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM chunks WHERE sha256 = ?", (sha,)).fetchone()
        return row is not None

    def add_chunk(self, sha: str, size: int, stored_size: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO chunks (sha256, size, stored_size) VALUES (?, ?, ?)",
            (sha, size, stored_size),
        )

    def add_version(
        self,
        file_id: int,
        sha256: str,
        size: int,
        snapshot_id: int,
        captured_at: str,
        mtime_ns: int,
        chunks: list[str],
        appended_to: int | None,
    ) -> VersionRow:
        seq = 1 + (
            self.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM versions WHERE file_id = ?", (file_id,)
            ).fetchone()[0]
        )
        cur = self.conn.execute(
            "INSERT INTO versions (file_id, seq, sha256, size, snapshot_id, captured_at, "
            "mtime_ns, appended_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, seq, sha256, size, snapshot_id, captured_at, mtime_ns, appended_to),
        )
        version_id = int(cur.lastrowid)
        self.conn.executemany(
            "INSERT INTO version_chunks (version_id, pos, chunk) VALUES (?, ?, ?)",
            [(version_id, pos, sha) for pos, sha in enumerate(chunks)],
        )
        return VersionRow(
            version_id, file_id, seq, sha256, size, snapshot_id, captured_at, mtime_ns,
            appended_to,
        )

    def all_chunks(self) -> dict[str, tuple[int, int]]:
        cur = self.conn.execute("SELECT sha256, size, stored_size FROM chunks")
        return {sha: (size, stored) for sha, size, stored in cur}

    def totals(self) -> dict[str, int]:
        c = self.conn
        return {
            "files": c.execute("SELECT COUNT(*) FROM files").fetchone()[0],
            "versions": c.execute("SELECT COUNT(*) FROM versions").fetchone()[0],
            "chunks": c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "bytes_stored": c.execute(
                "SELECT COALESCE(SUM(stored_size), 0) FROM chunks"
            ).fetchone()[0],
        }

    # -- derived session metadata -------------------------------------------------------------

    def files_to_index(
        self, every: bool = False
    ) -> list[tuple[FileRow, VersionRow, int | None, int]]:
        """Transcripts whose newest version is not the one the derived views describe (all
        of them with ``every``, for a rebuild): (file, newest version, version described now
        or None, turns described now)."""
        cur = self.conn.execute(
            f"SELECT {', '.join('f.' + c.strip() for c in _FILE_COLS.split(','))}, "
            f"{', '.join('v.' + c.strip() for c in _VERSION_COLS.split(','))}, "
            "m.version_id, COALESCE(m.turns, 0) "
            "FROM files f JOIN versions v ON v.file_id = f.id "
            "AND v.seq = (SELECT MAX(seq) FROM versions WHERE file_id = f.id) "
            "LEFT JOIN session_meta m ON m.file_id = f.id "
            "WHERE f.kind IN ('session', 'subagent', 'history') "
            "AND (? OR ((m.version_id IS NULL OR m.version_id != v.id) "
            "AND NOT EXISTS (SELECT 1 FROM index_skipped s "
            "WHERE s.file_id = f.id AND s.version_id = v.id))) ORDER BY f.id",
            (int(every),),
        )
        nf = len(_FILE_COLS.split(","))
        nv = len(_VERSION_COLS.split(","))
        return [
            (FileRow(*row[:nf]), VersionRow(*row[nf : nf + nv]), row[-2], row[-1])
            for row in cur
        ]

    def put_session_meta(self, rows: list[dict]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        self.conn.executemany(
            f"INSERT OR REPLACE INTO session_meta ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})",
            [tuple(r[c] for c in cols) for r in rows],
        )

    def clear_session_meta(self) -> None:
        self.conn.execute("DELETE FROM session_meta")

    def clear_index_skipped(self) -> None:
        self.conn.execute("DELETE FROM index_skipped")

    def set_index_skipped(
        self, indexed: list[int], skipped: list[tuple[int, int, str]]
    ) -> None:
        """Forget the skips of transcripts now indexed; remember new ones (file, version, why)."""
        self.conn.executemany(
            "DELETE FROM index_skipped WHERE file_id = ?", [(i,) for i in indexed]
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO index_skipped (file_id, version_id, problem) VALUES (?, ?, ?)",
            skipped,
        )

    def index_skipped(self) -> list[tuple[str, str, int, str]]:
        """(profile, relpath, version seq, problem) of every transcript left out of the index."""
        if not self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'index_skipped'"
        ).fetchone():
            return []  # a catalog from before the table: nothing was skipped
        cur = self.conn.execute(
            "SELECT f.profile, f.relpath, v.seq, s.problem FROM index_skipped s "
            "JOIN files f ON f.id = s.file_id JOIN versions v ON v.id = s.version_id "
            "ORDER BY f.profile, f.relpath"
        )
        return list(cur)

    def session_rows(self, where: str = "", params: tuple = ()) -> list[dict]:
        """Main sessions with their derived metadata and where they live, newest first (the
        turn marks left out: only fork links read them, see ``kin``)."""
        meta = ", ".join(f"m.{c}" for c in self._meta_columns())
        cur = self.conn.execute(
            f"SELECT f.id AS file_id, f.profile, f.relpath, f.gone_snapshot, {meta}, "
            "v.sha256 AS sha256, v.size AS size "
            "FROM files f JOIN session_meta m ON m.file_id = f.id "
            "JOIN versions v ON v.id = m.version_id "
            f"WHERE f.kind = 'session' {where} "
            "ORDER BY COALESCE(m.ended, m.started, '') DESC, f.id DESC",
            params,
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def _meta_columns(self) -> list[str]:
        cur = self.conn.execute("PRAGMA table_info(session_meta)")
        return [row[1] for row in cur if row[1] != "turn_marks"]

    def kin(self, fork_keys: list[str]) -> list[dict]:
        """Every copy of the main sessions whose first turn has one of ``fork_keys`` and is
        shared with another session id: its session id, fork key, turn marks and the snapshot
        that first archived it (archive.forks). Sessions with no kin cost no marks read."""
        if not fork_keys or "fork_key" not in self._columns("session_meta"):
            return []
        out = []
        for start in range(0, len(fork_keys), 500):  # within SQLite's parameter limit
            batch = tuple(fork_keys[start:start + 500])
            marks = ",".join("?" for _ in batch)
            cur = self.conn.execute(
                "SELECT m.session_id, m.fork_key, m.turn_marks, f.first_snapshot, f.id "
                "FROM session_meta m JOIN files f ON f.id = m.file_id "
                f"WHERE f.kind = 'session' AND m.fork_key IN ({marks}) AND m.fork_key IN ("
                "  SELECT k.fork_key FROM session_meta k JOIN files g ON g.id = k.file_id "
                f"  WHERE g.kind = 'session' AND k.fork_key IN ({marks}) "
                "  GROUP BY k.fork_key HAVING COUNT(DISTINCT k.session_id) > 1)",
                batch + batch,
            )
            out += [{"session_id": s, "fork_key": k, "turn_marks": t, "first_snapshot": fs,
                     "file_id": fid} for s, k, t, fs, fid in cur]
        return out

    def session_page(
        self, filters: SearchFilters, limit: int | None, *, by_context: bool = False
    ) -> tuple[list[dict], int]:
        """The listing's rows: the first copy of each session matching ``filters`` in listing
        order (newest first, or largest context first), the first ``limit`` of them (None:
        all), and how many sessions match. The order is taken in SQL over two columns and
        whole rows are read for the page only: reading every row of 60,000 sessions into
        dictionaries took most of a 0.75 s `archive sessions`."""
        where, params = self._session_filter(filters)
        order = "COALESCE(m.ended, m.started, '') DESC, f.id DESC"
        if by_context:
            order = f"COALESCE(m.context_tokens, 0) DESC, {order}"
        cur = self.conn.execute(
            "SELECT m.session_id, f.id FROM files f JOIN session_meta m ON m.file_id = f.id "
            "JOIN versions v ON v.id = m.version_id "
            f"WHERE f.kind = 'session' {where} ORDER BY {order}",
            params,
        )
        first: dict[str | None, int] = {}
        for session_id, file_id in cur:
            first.setdefault(session_id, file_id)
        page = list(first.values())
        if limit:
            page = page[:limit]
        rows: dict[int, dict] = {}
        for i in range(0, len(page), 500):
            part = page[i : i + 500]
            marks = ",".join("?" for _ in part)
            rows.update((r["file_id"], r) for r in self.session_rows(
                f"AND f.id IN ({marks})", tuple(part)))
        return [rows[file_id] for file_id in page], len(first)

    def _session_filter(self, filters: SearchFilters) -> tuple[str, tuple]:
        """The WHERE clauses (after ``f.kind = 'session'``) and parameters of ``filters``
        (substring filters ignore case); ``session_ids`` is not a listing filter: ignored."""
        where, params = [], []

        def add(clause: str, value) -> None:
            where.append(clause)
            params.append(value)

        if filters.profile:
            add("f.profile = ?", filters.profile)
        if filters.agent:
            if "agent" in self._columns("session_meta"):
                add("m.agent = ?", filters.agent)
            elif filters.agent != "claude":  # a catalog no ingest has migrated: all Claude
                add("0 = ?", 1)
        if filters.project:
            add("m.project LIKE ? ESCAPE '\\'", _like(filters.project))
        if filters.branch:
            add("m.branch = ?", filters.branch)
        if filters.model:
            add("m.models LIKE ? ESCAPE '\\'", _like(filters.model))
        if filters.tool:  # tools is a JSON list: match the quoted name
            add("m.tools LIKE ? ESCAPE '\\'", _like(orjson.dumps(filters.tool).decode()))
        if filters.since:
            add("COALESCE(m.ended, m.started) >= ?", iso_utc(filters.since))
        if filters.until:
            add("COALESCE(m.started, m.ended) <= ?", iso_utc(filters.until))
        if filters.name:
            add("m.custom_title LIKE ? ESCAPE '\\'", _like(filters.name))
        if filters.min_context is not None:
            add("m.context_tokens > ?", filters.min_context)
        return "".join(f" AND {w}" for w in where), tuple(params)

    def session_counts(self, by: str, bloated_threshold: int) -> list[dict]:
        """Main sessions grouped ``by`` "profile", "project" or "all" (one group), most sessions
        first: sessions, turns, gone from source, context tokens, and how many are past
        ``bloated_threshold``. Copies of one session (restored or copied into several profiles)
        are one session in each group that holds them: counted once in a project and in "all",
        once in each profile; gone only when every copy is."""
        column = {"profile": "f.profile", "project": "m.project", "all": "''"}[by]
        cur = self.conn.execute(
            "SELECT k, COUNT(*), COALESCE(SUM(turns), 0), SUM(gone), COALESCE(SUM(ctx), 0), "
            "SUM(COALESCE(ctx, 0) > ?) FROM ("
            f"  SELECT {column} AS k, MAX(m.turns) AS turns, "
            "   MIN(f.gone_snapshot IS NOT NULL) AS gone, MAX(m.context_tokens) AS ctx "
            "  FROM files f JOIN session_meta m ON m.file_id = f.id WHERE f.kind = 'session' "
            "  GROUP BY k, COALESCE(m.session_id, f.session_id, 'file:' || f.id)"
            ") GROUP BY k ORDER BY COUNT(*) DESC, k",
            (bloated_threshold,),
        )
        return [
            {by: k, "sessions": n, "turns": t, "gone": g, "context_tokens": tok, "bloated": b}
            for k, n, t, g, tok, b in cur
        ]


def _like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (for ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere."""
    return f"%{_like_escape(text)}%"
