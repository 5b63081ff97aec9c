"""Concurrency: readers during an ingest, two ingests at once, a transcript growing while read.

Every process here is a real `archive` subprocess, as a person or cron would start it: readers
take no lock and must see a committed state (old or new, never a mix or a half-written file),
writers exclude each other with the archive lock (one runs, the other waits or exits 75).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import zstandard
from test_crash import (
    PROFILES,
    REPO,
    Corpus,
    archive_cmd,
    archive_env,
    ingest_ok,
    planted_phrase,
    query,
    run_archive,
    verify_ok,
)

from archive import catalog as catalog_module
from archive.catalog import CATALOG_FILE, Catalog
from archive.errors import ArchiveError, ArchiveLocked
from archive.lock import LOCK_FILE, ArchiveLock


@dataclass
class Call:
    kind: str
    args: tuple[str, ...]
    start: float
    end: float
    code: int
    out: bytes
    err: bytes


def _run(env: dict, kind: str, *args: str) -> Call:
    start = time.monotonic()
    r = subprocess.run(archive_cmd(*args), env=env, cwd=REPO, capture_output=True, timeout=300)
    return Call(kind, args, start, time.monotonic(), r.returncode, r.stdout, r.stderr)


# --------------------------------------------------------------------------------------------
# Readers while an ingest runs


def _prompts(data: bytes) -> list[str]:
    """The typed prompts of a generated transcript, in order."""
    lines = [orjson.loads(line) for line in data.splitlines()]
    return [x["message"]["content"] for x in lines
            if x["type"] == "user" and isinstance(x["message"]["content"], str)]


def test_readers_during_ingest_see_old_or_new_state_never_a_mix(space):
    """Searches, show and cat run 4 at a time over an ingest's whole duration: all succeed,
    cat prints exactly the old or the new bytes, show parses the old or the new turns, a phrase
    planted only in the new state is found in none or all of its sessions, and a phrase of the
    old state is found at rank 1 throughout."""
    home, archive = space
    env = archive_env(home, archive)
    corpus = Corpus(home, seed=5)
    for _ in range(200):
        corpus.new_session()
    old_phrase = planted_phrase(1)
    old_path = next(iter(corpus.sessions))
    old_turn = corpus.append(old_path, phrase=old_phrase)
    ingest_ok(env)

    paths = sorted(corpus.sessions)
    appended, rewritten, unchanged = paths[1], paths[2], paths[3]
    watched = [appended, rewritten, unchanged]
    old_bytes = {p: p.read_bytes() for p in watched}
    # The new state: many appends (a long ingest), rewrites, new files, and one phrase planted
    # in six sessions of all three profiles.
    new_phrase = planted_phrase(2)
    by_profile = {pr: [p for p in paths[4:] if corpus.sessions[p].profile == pr]
                  for pr in PROFILES}
    planted = {ps[i] for ps in by_profile.values() for i in range(2)}
    for p in planted:
        corpus.append(p, phrase=new_phrase)
    for p in [appended, *paths[20:130]]:
        corpus.append(p, turns=2)
    corpus.rewrite(rewritten)
    for _ in range(10):
        corpus.new_session()
    planted_ids = {corpus.sessions[p].sid for p in planted}
    new_bytes = {p: p.read_bytes() for p in watched}
    assert new_bytes[appended].startswith(old_bytes[appended])
    assert new_bytes[rewritten] != old_bytes[rewritten]

    def sid(p: Path) -> str:
        return corpus.sessions[p].sid

    readers = [
        ("search-new", ("search", f'"{new_phrase}"', "--limit", "50", "--json")),
        ("cat", ("cat", sid(appended))),
        ("search-old", ("search", f'"{old_phrase}"', "--json")),
        ("show", ("show", sid(appended), "--json")),
        ("cat", ("cat", sid(rewritten))),
        ("search-new", ("search", f'"{new_phrase}"', "--sessions", "--json")),
        ("show", ("show", sid(rewritten), "--json")),
        ("cat", ("cat", sid(unchanged))),
    ]
    calls: list[Call] = []
    with ThreadPoolExecutor(4) as pool:
        t0 = time.monotonic()
        ingest = subprocess.Popen(archive_cmd("ingest", "--json"), env=env, cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pending = set()
        launched = 0
        t1 = None  # when the ingest exited
        while t1 is None or launched < 20:
            if t1 is None and ingest.poll() is not None:
                t1 = time.monotonic()
            while len(pending) < 4:
                kind, args = readers[launched % len(readers)]
                pending.add(pool.submit(_run, env, kind, *args))
                launched += 1
            done = {f for f in pending if f.done()}
            calls += [f.result() for f in done]
            pending -= done
            time.sleep(0.01)
        out, err = ingest.communicate(timeout=300)
        calls += [f.result() for f in pending]
    assert ingest.returncode == 0, err.decode()[-2000:]
    assert orjson.loads(out)["errors"] == []

    path_of = {sid(p): p for p in watched}
    new_seen = old_seen = 0
    for c in calls:
        what = f"{c.kind} {c.args} exited {c.code}: {c.err.decode()[-1000:]}"
        if c.kind == "search-new":
            assert c.code in (0, 1), what
            hits = orjson.loads(c.out)  # complete JSON, even with no hit
            assert (c.code == 1) == (hits == [])
            # Either the old state (absent) or the new one (in all six sessions, in full).
            assert {h["session_id"] for h in hits} in (set(), planted_ids), what
            assert all(w in h["snippet"].lower() for h in hits for w in new_phrase.split())
            new_seen += bool(hits)
            old_seen += not hits
        elif c.kind == "search-old":
            assert c.code == 0, what
            hits = orjson.loads(c.out)
            assert (hits[0]["session_id"], hits[0]["turn"]) == (sid(old_path), old_turn)
        elif c.kind == "cat":
            assert c.code == 0, what
            p = path_of[c.args[1]]
            assert c.out in (old_bytes[p], new_bytes[p]), f"{c.args}: partial or mixed bytes"
        else:
            assert c.code == 0, what
            shown = orjson.loads(c.out)
            p = path_of[c.args[1]]
            prompts = [t["prompt"] for t in shown["turns"]]
            assert shown["turn_count"] == len(prompts)
            assert prompts in (_prompts(old_bytes[p]), _prompts(new_bytes[p])), what
    during = [c for c in calls if t0 <= c.start < t1]
    assert len(during) >= 20, f"only {len(during)} readers ran during a {t1 - t0:.1f}s ingest"
    assert old_seen, "no search ran before the index commit: the ingest was too short"
    # After the ingest every reader sees the new state.
    final = _run(env, "search-new", "search", f'"{new_phrase}"', "--limit", "50", "--json")
    assert {h["session_id"] for h in orjson.loads(final.out)} == planted_ids
    print(f"\n[readers] ingest {t1 - t0:.1f}s, {len(calls)} reader calls, {len(during)} during "
          f"it; searches saw the old state {old_seen} times, the new {new_seen}")


# --------------------------------------------------------------------------------------------
# A reader in the instant the first ingest creates the catalog


def test_reader_before_the_first_schema_commit_sees_no_archive(tmp_path):
    """The first ingest creates catalog.sqlite, then its schema: a reader opening it in between
    is told there is no archive yet (the usual one-line error), not "no such table: meta", and
    not "schema version none" either."""
    archive = tmp_path / "archive"
    archive.mkdir()
    db = archive / CATALOG_FILE
    db.touch()  # created, nothing written yet
    with pytest.raises(ArchiveError, match="^no archive at ") as exc:
        Catalog(archive, readonly=True)
    assert exc.value.hint and "archive ingest" in exc.value.hint

    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")  # the schema is being written, not committed
    writer.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    with pytest.raises(ArchiveError, match="^no archive at "):
        Catalog(archive, readonly=True)
    writer.execute("COMMIT")  # what an older version left when killed before its version row
    with pytest.raises(ArchiveError, match="^no archive at "):
        Catalog(archive, readonly=True)
    writer.close()

    Catalog(archive).close()  # the ingest goes on: the schema is completed, readers see it
    reader = Catalog(archive, readonly=True)
    assert reader.snapshots() == []
    reader.close()


def test_catalog_schema_is_created_in_one_transaction(tmp_path, monkeypatch):
    """Creating the schema is all or nothing: a failure halfway leaves no table behind."""
    archive = tmp_path / "archive"
    archive.mkdir()
    monkeypatch.setattr(
        catalog_module, "SCHEMA", catalog_module.SCHEMA + "CREATE TABLE broken (;\n"
    )
    with pytest.raises(sqlite3.Error):
        Catalog(archive)
    con = sqlite3.connect(archive / CATALOG_FILE)
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == []
    con.close()
    with pytest.raises(ArchiveError, match="^no archive at "):
        Catalog(archive, readonly=True)


def test_a_foreign_database_is_not_taken_for_an_empty_archive(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    con = sqlite3.connect(archive / CATALOG_FILE)
    con.execute("CREATE TABLE notes (body TEXT)")
    con.commit()
    con.close()
    with pytest.raises(ArchiveError, match="is not a session-archive catalog"):
        Catalog(archive, readonly=True)


def test_readers_racing_the_first_catalog_creation_see_nothing_or_all(tmp_path):
    """Readers opening the catalog over and over while it is created: each sees no archive or
    the whole, versioned schema."""
    failures: list[str] = []
    for round_ in range(15):
        archive = tmp_path / f"archive{round_}"
        archive.mkdir()
        done = threading.Event()

        def read(archive=archive, done=done) -> None:
            while not done.is_set():
                try:
                    Catalog(archive, readonly=True).close()
                except ArchiveError as exc:
                    if not str(exc).startswith("no archive at "):
                        failures.append(str(exc))

        readers = [threading.Thread(target=read) for _ in range(2)]
        for t in readers:
            t.start()
        time.sleep(0.005)
        Catalog(archive).close()
        time.sleep(0.005)
        done.set()
        for t in readers:
            t.join()
    assert failures == []


# --------------------------------------------------------------------------------------------
# Two ingests at once


def _corpus(home: Path, n: int, seed: int) -> Corpus:
    corpus = Corpus(home, seed=seed)
    for _ in range(n):
        corpus.new_session()
    return corpus


def _both(env: dict, *extra: str) -> list[subprocess.CompletedProcess]:
    """Start two ingests at the same instant; wait for both."""
    procs = [subprocess.Popen(archive_cmd("ingest", "--json", *extra), env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        done.pid = p.pid
        results.append(done)
    return results


def test_second_ingest_without_wait_exits_75_and_writes_nothing(space):
    """Two ingests started together: one archives everything, the other finds the lock taken,
    exits 75 (EX_TEMPFAIL) with a one-line reason, and never begins a snapshot."""
    home, archive = space
    env = archive_env(home, archive)
    _corpus(home, 150, seed=21)
    results = _both(env)
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 75], [r.stderr.decode()[-500:] for r in results]
    loser = next(r for r in results if r.returncode == 75)
    assert loser.stdout == b""
    err = loser.stderr.decode()
    winner = next(r for r in results if r.returncode == 0)
    # Named, never "unknown process", however close together the two started.
    assert err.startswith(
        f"error: another archive process is writing (ingest pid {winner.pid})"
    ), err
    winner = orjson.loads(winner.stdout)
    snaps = query(archive, "SELECT status, files_changed FROM snapshots")
    assert snaps == [("complete", winner["files_changed"])] and winner["files_changed"] > 0
    verify_ok(env)


def test_second_ingest_with_wait_runs_after_the_first(space):
    """With --wait both succeed, one after the other: their snapshots do not overlap in time,
    the second finds nothing left to store, and no file got two versions of the same bytes."""
    home, archive = space
    env = archive_env(home, archive)
    _corpus(home, 150, seed=22)
    results = _both(env, "--wait", "120")
    assert [r.returncode for r in results] == [0, 0], [r.stderr.decode() for r in results]
    snaps = query(archive, "SELECT id, started_at, finished_at, status, files_changed "
                           "FROM snapshots ORDER BY started_at")
    assert [s[3] for s in snaps] == ["complete", "complete"]
    (_, _, first_end, _, first_changed), (_, second_start, _, _, second_changed) = snaps
    assert first_end <= second_start, f"two writers at once: {snaps}"
    assert first_changed > 0 and second_changed == 0
    assert query(archive, "SELECT COUNT(*) FROM versions") == query(
        archive, "SELECT COUNT(*) FROM files")
    assert sorted(orjson.loads(r.stdout)["files_changed"] for r in results) == [0, first_changed]
    verify_ok(env)


# --------------------------------------------------------------------------------------------
# Who holds the lock


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


class _Holder:
    """Another process's view of the lock: flock taken, its record written ``delay`` later
    (the instant between the two is when a refused ingest used to say "unknown process")."""

    def __init__(self, archive: Path, leftover: bytes = b""):
        self.fd = os.open(archive / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self.fd, leftover, 0)  # what a killed holder left behind
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def later(self, delay: float, action) -> threading.Timer:
        timer = threading.Timer(delay, action)
        timer.start()
        return timer

    def write_record(self) -> None:
        record = f"ingest pid {os.getpid()}\n".encode()
        os.pwrite(self.fd, record, 0)
        os.ftruncate(self.fd, len(record))

    def close(self) -> None:
        os.close(self.fd)  # releases the flock


@pytest.mark.parametrize("leftover", [b"", b"ingest pid DEAD\n"], ids=["empty", "stale"])
def test_refused_lock_names_a_holder_that_writes_its_record_late(tmp_path, leftover):
    leftover = leftover.replace(b"DEAD", str(_dead_pid()).encode())
    holder = _Holder(tmp_path, leftover)
    timer = holder.later(0.05, holder.write_record)
    try:
        with pytest.raises(ArchiveLocked) as exc:
            ArchiveLock(tmp_path).acquire()
        assert str(exc.value) == f"another archive process is writing (ingest pid {os.getpid()})"
    finally:
        timer.join()
        holder.close()


def test_lock_freed_while_reading_its_holder_is_taken(tmp_path):
    holder = _Holder(tmp_path)
    timer = holder.later(0.05, holder.close)  # the holder finishes before writing anything
    try:
        with ArchiveLock(tmp_path, purpose="test"):
            assert (tmp_path / LOCK_FILE).read_bytes() == f"test pid {os.getpid()}\n".encode()
    finally:
        timer.join()
    assert (tmp_path / LOCK_FILE).read_bytes() == b""  # released: no holder named any more


def test_holder_record_replaces_a_longer_leftover_and_unknown_holder_is_said(tmp_path):
    holder = _Holder(tmp_path, b"a-much-longer-purpose pid 1234567890\n")
    holder.close()
    with ArchiveLock(tmp_path):  # takes the lock over a killed holder's record
        assert (tmp_path / LOCK_FILE).read_bytes() == f"ingest pid {os.getpid()}\n".encode()
    holder = _Holder(tmp_path)  # holds it and never says who it is
    try:
        start = time.monotonic()
        with pytest.raises(ArchiveLocked, match=r"\(unknown process\)$"):
            ArchiveLock(tmp_path).acquire()
        assert time.monotonic() - start < 2
    finally:
        holder.close()


# --------------------------------------------------------------------------------------------
# Claude Code appending while ingest reads


def test_file_growing_during_ingest_is_a_prefix_then_an_append(space, cli):
    """A writer appends turns line by line to a ~30 MB transcript while ingest runs: the version
    recorded is an exact prefix of the final bytes (whatever line it was cut in), and the next
    ingest stores only the tail as an append; the turn cut in two is then indexed once, whole."""
    home, archive = space
    env = archive_env(home, archive)
    corpus = _corpus(home, 40, seed=31)
    big = corpus.new_session(profile="work", turns=1)
    s = corpus.sessions[big]
    pool = [corpus.text(3000, 3000) for _ in range(8)]  # ~24 KB tool outputs
    with open(big, "ab") as fh:
        while fh.tell() < 30_000_000:
            s.turns += 1
            fh.write(corpus.turn_lines(s, s.turns, tool_output=pool[s.turns % len(pool)] * 6))
    initial_size = big.stat().st_size

    starts: dict[int, int] = {}  # turn number -> offset of its first line
    stop = threading.Event()

    def claude_code() -> None:
        """Appends one line per write, a turn every 20 ms, each prompt with its own phrase."""
        with open(big, "ab", buffering=0) as fh:
            while not stop.is_set():
                s.turns += 1
                starts[s.turns] = fh.tell()
                data = corpus.turn_lines(s, s.turns, prompt=f"look {planted_phrase(s.turns)}",
                                         tool_output=pool[s.turns % len(pool)][:6000])
                for line in data.splitlines(keepends=True):
                    fh.write(line)
                time.sleep(0.02)

    writer = threading.Thread(target=claude_code)
    writer.start()
    try:
        time.sleep(0.3)
        first = run_archive(env, "ingest", "--json")
    finally:
        stop.set()
        writer.join()
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    final = big.read_bytes()

    (v1,) = cli.json("versions", s.sid)
    assert initial_size < v1["size"] < len(final)  # read while it grew, and it grew after
    assert hashlib.sha256(final[: v1["size"]]).hexdigest() == v1["sha256"]
    assert cli("cat", s.sid, "--version", "1").stdout_bytes == final[: v1["size"]]

    second = orjson.loads(run_archive(env, "ingest", "--json").stdout)
    tail = final[v1["size"]:]
    assert second["errors"] == [] and second["versions_added"] == 1
    tail_zstd = len(zstandard.ZstdCompressor(level=3).compress(tail))
    whole_zstd = len(zstandard.ZstdCompressor(level=3).compress(final))
    assert second["bytes_stored"] <= tail_zstd * 1.1 + 4096, (second, tail_zstd)
    assert second["bytes_stored"] < whole_zstd / 4, (second, whole_zstd)
    v1_again, v2 = cli.json("versions", s.sid)
    assert v1_again == v1 and v2["size"] == len(final)
    assert v2["sha256"] == hashlib.sha256(final).hexdigest()
    assert cli("cat", s.sid, "--version", "2").stdout_bytes == final
    appended_to = query(archive, "SELECT appended_to FROM versions v JOIN files f ON "
                                 "f.id = v.file_id WHERE f.session_id = ? ORDER BY seq",
                        (s.sid,))
    v1_id = query(archive, "SELECT v.id FROM versions v JOIN files f ON f.id = v.file_id "
                           "WHERE f.session_id = ? AND seq = 1", (s.sid,))[0][0]
    assert appended_to == [(None,), (v1_id,)]
    verify_ok(env)

    # The turn in which version 1 ends, and the one after, are each found once, whole.
    cut = max(t for t, off in starts.items() if off < v1["size"])
    for turn in (t for t in (cut, cut + 1) if t <= s.turns):
        hits = cli.json("search", f'"{planted_phrase(turn)}"')
        assert [(h["session_id"], h["turn"]) for h in hits] == [(s.sid, turn)], turn
    shown = cli.json("show", s.sid)
    assert shown["turn_count"] == s.turns and shown["bad_lines"] == 0
