"""Damage stays local, and the machine's troubles are named (issue 14, items 4, 5 and 9).

One flipped bit costs only the versions that use it; a chunk list pointing at another valid
chunk is named, never returned as data; a full disk, an archive dir that is a file and a
garbled catalog each get one line, a hint and their exit code, and leave the archive sound.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import orjson
import pytest
from conftest import BIG_ID, FASTHOOKS_ID, SHORT_ID
from test_search_cli import make_session

from archive.errors import EXIT_DAMAGED, EXIT_IO, EXIT_USAGE


def _chunks_of(archive: Path, session_id: str) -> list[str]:
    """The chunks of the newest version of a session's main transcript."""
    con = sqlite3.connect(archive / "catalog.sqlite")
    try:
        rows = con.execute(
            "SELECT vc.chunk FROM version_chunks vc JOIN versions v ON v.id = vc.version_id "
            "JOIN files f ON f.id = v.file_id WHERE f.session_id = ? AND f.kind = 'session' "
            "AND v.seq = (SELECT MAX(seq) FROM versions WHERE file_id = f.id) ORDER BY vc.pos",
            (session_id,),
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _flip_a_bit(archive: Path, sha: str) -> None:
    path = archive / "objects" / sha[:2] / sha[2:]
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))


def _one_line_error(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    for needle in needles:
        assert needle in lines[0], (needle, stderr)


# -- item 4: one damaged object ------------------------------------------------------------


def test_a_flipped_bit_costs_only_its_transcript_on_reindex_and_later_ingests(home, cli):
    cli.json("ingest")
    assert cli.json("search", "phx.server")[0]["session_id"] == SHORT_ID  # its first prompt
    hits = {h["session_id"] for h in cli.json("search", "file", "--sessions", "--limit", "100")}
    listed = {s["session_id"] for s in cli.json("sessions", "--limit", "100")}
    assert len(hits) > 5 and SHORT_ID in listed
    (victim,) = _chunks_of(home.archive, SHORT_ID)
    _flip_a_bit(home.archive, victim)

    result = cli("reindex", "--json", code=1)
    stats = orjson.loads(result.stdout)
    assert [(s["profile"], s["version"]) for s in stats["skipped"]] == [("default", 1)]
    assert stats["skipped"][0]["path"].endswith(f"{SHORT_ID}.jsonl")
    assert victim[:12] in stats["skipped"][0]["problem"]
    assert f"{SHORT_ID}.jsonl" in result.stderr and "not indexed" in result.stderr
    # Everything else is indexed: the index is not empty, every other session is found.
    again = {h["session_id"] for h in cli.json("search", "file", "--sessions", "--limit", "100")}
    assert again == hits - {SHORT_ID}
    assert {s["session_id"] for s in cli.json("sessions", "--limit", "100")} == listed - {SHORT_ID}
    assert SHORT_ID not in {h["session_id"] for h in cli.json("search", "phx.server")}

    # Later ingests do not fail on the same object, and index what is new.
    fresh = str(uuid.uuid4())
    make_session(home.session_file("work", "-new", fresh), fresh, "/w", "main", "claude-x",
                 [("the quokka migration plan", "done")])
    out = cli.json("ingest")
    assert out["errors"] == [] and out["indexed"]["transcripts"] == 1
    assert cli.json("search", "quokka")[0]["session_id"] == fresh
    assert cli.json("ingest")["errors"] == []


def test_ingest_indexes_around_a_damaged_object_and_names_it(home, cli):
    cli.json("ingest")
    (victim,) = _chunks_of(home.archive, SHORT_ID)
    _flip_a_bit(home.archive, victim)
    # The damaged session grows (its new version reuses the damaged chunk), another one too.
    short = home.session_file("default", "-home-marco-projects-spotter", SHORT_ID)
    with open(short, "ab") as fh:
        fh.write(orjson.dumps({"type": "user", "sessionId": SHORT_ID, "uuid": str(uuid.uuid4()),
                               "message": {"role": "user", "content": "axolotl follow-up"},
                               "timestamp": "2026-11-20T10:00:00.000Z"}) + b"\n")
    fasthooks = home.session_file("personal", "-workspace", FASTHOOKS_ID)
    with open(fasthooks, "ab") as fh:
        fh.write(orjson.dumps({"type": "user", "sessionId": FASTHOOKS_ID,
                               "uuid": str(uuid.uuid4()),
                               "message": {"role": "user", "content": "the narwhal question"},
                               "timestamp": "2026-11-20T10:00:00.000Z"}) + b"\n")
    result = cli("ingest", "--json", code=1)
    out = orjson.loads(result.stdout)
    assert out["versions_added"] == 2
    named = [e for e in out["errors"] if "not indexed" in e["error"]]
    assert [e["path"] for e in named] == [short.relative_to(home.root("default")).as_posix()]
    assert [s["version"] for s in out["indexed"]["skipped"]] == [2]
    assert f"{SHORT_ID}.jsonl" in result.stderr
    assert cli.json("search", "narwhal")[0]["session_id"] == FASTHOOKS_ID
    assert cli("search", "axolotl", "--json", code=1).stdout.strip() == "[]"
    # The next ingest does not stumble on it again; verify still names the damage.
    assert cli.json("ingest")["errors"] == []
    report = cli.json("verify", code=1)
    assert {d["name"] for d in report["damage"] if d["what"] == "object"} == {victim}


# -- item 5: a chunk list pointing at the wrong (valid) chunk --------------------------------


def _remap(archive: Path, session_id: str, pos: int, other: str) -> None:
    con = sqlite3.connect(archive / "catalog.sqlite")
    with con:
        con.execute(
            "UPDATE version_chunks SET chunk = ? WHERE pos = ? AND version_id IN (SELECT v.id "
            "FROM versions v JOIN files f ON f.id = v.file_id WHERE f.session_id = ? "
            "AND f.kind = 'session')",
            (other, pos, session_id),
        )
    con.close()


def test_a_remapped_chunk_is_named_by_cat_show_export_never_returned(home, cli, tmp_path):
    cli.json("ingest")
    (other,) = _chunks_of(home.archive, FASTHOOKS_ID)  # a valid chunk of another session
    _remap(home.archive, SHORT_ID, 0, other)
    for args in (["cat", SHORT_ID], ["show", SHORT_ID], ["show", SHORT_ID, "--json"],
                 ["export", SHORT_ID], ["export", SHORT_ID, "--format", "json"]):
        result = cli(*args, code=1)
        assert result.stdout_bytes == b"", args
        _one_line_error(result.stderr, "version 1 of default/", f"{SHORT_ID}.jsonl", "damaged")
    target = tmp_path / "out.md"
    cli("export", SHORT_ID, "-o", target, code=1)
    assert not target.exists()
    # restore of a turn prefix reads the version to its end, so the damage is found there too
    (fasthooks,) = _chunks_of(home.archive, FASTHOOKS_ID)
    _remap(home.archive, FASTHOOKS_ID, 0, _chunks_of(home.archive, BIG_ID)[0])
    result = cli("restore", FASTHOOKS_ID, "--to", "work", "--turns", "1", code=1)
    _one_line_error(result.stderr, "damaged", f"{FASTHOOKS_ID}.jsonl")
    assert not list(home.root("work").rglob(f"{FASTHOOKS_ID}*"))
    _remap(home.archive, FASTHOOKS_ID, 0, fasthooks)
    # The indexer names it too, and the other session is still found.
    stats = orjson.loads(cli("reindex", "--json", code=1).stdout)
    assert [s["path"].rsplit("/", 1)[1] for s in stats["skipped"]] == [f"{SHORT_ID}.jsonl"]
    assert "is damaged" in stats["skipped"][0]["problem"]


def test_cat_of_a_many_chunk_version_writes_nothing_when_a_later_chunk_is_wrong(space, cli):
    home, archive = space
    sid = str(uuid.uuid4())
    path = home / ".claude" / "projects" / "-big" / f"{sid}.jsonl"
    path.parent.mkdir(parents=True)
    line = orjson.dumps({"type": "user", "sessionId": sid, "message": {
        "role": "user", "content": "lorem ipsum dolor sit amet " * 40}}) + b"\n"
    path.write_bytes(line * (9 * 1024 * 1024 // len(line)))  # three chunks of ~4 MiB
    other = str(uuid.uuid4())
    make_session(home / ".claude" / "projects" / "-small" / f"{other}.jsonl", other, "/s",
                 "main", "claude-x", [("tiny", "ok")])
    cli.json("ingest")
    chunks = _chunks_of(archive, sid)
    assert len(chunks) >= 2
    assert cli("cat", sid).stdout_bytes == path.read_bytes()
    _remap(archive, sid, len(chunks) - 1, _chunks_of(archive, other)[0])
    result = cli("cat", sid, code=1)
    assert result.stdout_bytes == b""
    _one_line_error(result.stderr, "damaged", f"{sid}.jsonl")


# -- item 9: the machine's troubles ----------------------------------------------------------


@pytest.mark.parametrize("command", ["ingest", "sessions", "verify", "reindex", "repair"])
def test_archive_dir_naming_a_regular_file_is_a_usage_error(home, cli, tmp_path, command):
    a_file = tmp_path / "not-a-folder"
    a_file.write_bytes(b"mine\n")
    result = cli(command, "--archive-dir", a_file, code=EXIT_USAGE)
    _one_line_error(result.stderr, str(a_file), "is not a folder", "--archive-dir")
    assert a_file.read_bytes() == b"mine\n"


@pytest.mark.parametrize("command", ["ingest", "reindex", "verify", "sessions", "search"])
def test_garbled_catalog_is_refused_never_reinitialised(home, cli, command):
    cli.json("ingest")
    catalog = home.archive / "catalog.sqlite"
    garbage = os.urandom(8192)
    catalog.write_bytes(garbage)
    args = [command, "anything"] if command == "search" else [command]
    result = cli(*args, code=EXIT_DAMAGED)
    _one_line_error(result.stderr, "catalog", "damaged", "archive repair")
    assert catalog.read_bytes() == garbage


def _mount_tmpfs(where: Path, size: str) -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


def test_full_disk_during_ingest_exits_74_and_the_archive_stays_sound(space, cli, tmp_path):
    home, _ = space
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "1m")
    try:
        archive = disk / "archive"
        sessions = []
        for n in range(6):  # ~3 MiB that does not compress: more than the disk holds
            sid = str(uuid.uuid4())
            noise = os.urandom(256 * 1024).hex()
            make_session(home / ".claude" / "projects" / f"-p{n}" / f"{sid}.jsonl", sid, "/p",
                         "main", "claude-x", [(f"pangolin {n} {noise}", "ok")])
            sessions.append(sid)
        result = cli("ingest", "--archive-dir", archive, code=EXIT_IO)
        _one_line_error(result.stderr, "no space left", "free some space")
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        assert cli.json("verify", "--archive-dir", archive)["ok"] is True
        out = cli.json("ingest", "--archive-dir", archive)
        assert out["errors"] == []
        for n, sid in enumerate(sessions):
            src = home / ".claude" / "projects" / f"-p{n}" / f"{sid}.jsonl"
            assert cli("cat", sid, "--archive-dir", archive).stdout_bytes == src.read_bytes()
        assert cli.json("verify", "--archive-dir", archive)["ok"] is True
        assert len(cli.json("search", "pangolin", "--archive-dir", archive,
                            "--sessions")) == 6
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
