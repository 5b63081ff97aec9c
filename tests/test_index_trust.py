"""The search index can be trusted: a reindex never takes search down, a damaged index is named
with its remedy, and data pasted into prompts does not blow the index up (issue 14: 7, 9, 11).

- ``archive reindex`` builds the new index in ``index.new/`` and makes it live with one atomic
  exchange: searches during the run answer from the old index; a SIGKILL (at several moments)
  or a crash at each named point leaves an index serving that ``session_meta`` agrees with,
  and the next writer removes what the kill left.
- A truncated, emptied, garbled or missing index file makes ``search`` exit 65 with one line
  naming the damage and the hint ``archive reindex``; ``reindex`` then rebuilds it.
- 8 MiB of base64 (one run, MIME lines, a data: URI) in prompts leaves the index small; the
  words, a git SHA and a UUID around it stay findable.
"""

from __future__ import annotations

import base64
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import profile_root
from test_crash import (
    REPO,
    Corpus,
    archive_cmd,
    archive_env,
    assert_found_once,
    assert_no_survivors,
    ingest_ok,
    planted_phrase,
    query,
    run_archive,
    verify_ok,
)

from archive.faults import FAULT_ENV

EXIT_DAMAGED = 65  # README: damaged archive data (EX_DATAERR)

LEFTOVERS = ("index.new", "index.old")


def _corpus(home: Path, seed: int, sessions: int, turns: tuple[int, int]) -> Corpus:
    corpus = Corpus(home, seed=seed)
    for _ in range(sessions):
        corpus.new_session(turns=corpus.rnd.randint(*turns))
    return corpus


def _planted(corpus: Corpus, tag: int) -> tuple[str, Path, int]:
    phrase = planted_phrase(tag)
    path = next(iter(corpus.sessions))
    return phrase, path, corpus.append(path, turns=1, phrase=phrase)


def _listed(cli) -> set[tuple[str, int]]:
    return {(r["session_id"], r["turns"]) for r in cli.json("sessions", "--limit", "100000")}


def _assert_consistent(cli, archive: Path, corpus: Corpus, phrase: str, path: Path, turn: int):
    """The live index answers, holds the planted turn once, and session_meta lists every
    session as the index has it."""
    assert_found_once(cli, corpus, phrase, path, turn)
    assert _listed(cli) == {(s.sid, s.turns) for s in corpus.sessions.values()}
    assert (archive / "index" / "meta.json").exists()


def _stale_meta(archive: Path) -> int:
    """Transcripts whose newest version session_meta does not describe (to index again)."""
    return query(archive, "SELECT COUNT(*) FROM files f JOIN versions v ON v.file_id = f.id "
                          "AND v.seq = (SELECT MAX(seq) FROM versions WHERE file_id = f.id) "
                          "LEFT JOIN session_meta m ON m.file_id = f.id "
                          "WHERE f.kind IN ('session', 'subagent') "
                          "AND (m.version_id IS NULL OR m.version_id != v.id)")[0][0]


def _start_reindex(env: dict) -> subprocess.Popen:
    return subprocess.Popen(archive_cmd("reindex", "--quiet"), env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


# --------------------------------------------------------------------------------------------
# Item 7: reindex beside the live index


def test_searches_during_reindex_keep_finding_the_planted_hit(space, cli):
    """A real `archive reindex` runs for seconds; a search loop meanwhile gets the planted hit
    every time (and `sessions` the full list), then the new index is live."""
    home, archive = space
    corpus = _corpus(home, seed=31, sessions=90, turns=(15, 30))
    phrase, path, turn = _planted(corpus, 31)
    env = archive_env(home, archive, SESSION_ARCHIVE_FSYNC="0")
    ingest_ok(env)
    expected = {(s.sid, s.turns) for s in corpus.sessions.values()}
    before = os.stat(archive / "index").st_ino

    proc = _start_reindex(env)
    during = 0
    try:
        while proc.poll() is None:
            assert_found_once(cli, corpus, phrase, path, turn)
            assert _listed(cli) == expected
            if proc.poll() is None:
                during += 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert during >= 3, f"only {during} searches ran while reindex did: make the corpus bigger"
    assert os.stat(archive / "index").st_ino != before  # the rebuilt index is the live one
    assert not [n for n in LEFTOVERS if (archive / n).exists()]
    _assert_consistent(cli, archive, corpus, phrase, path, turn)
    assert _stale_meta(archive) == 0


def test_sigkilled_reindex_leaves_the_old_index_serving(space, cli):
    """SIGKILL a real reindex at several moments of its run (measured first): each time the
    old index answers; the next ingest removes what the kill left and changes nothing else."""
    home, archive = space
    corpus = _corpus(home, seed=32, sessions=50, turns=(10, 25))
    phrase, path, turn = _planted(corpus, 32)
    env = archive_env(home, archive, SESSION_ARCHIVE_FSYNC="0")
    ingest_ok(env)
    started = time.monotonic()
    r = run_archive(env, "reindex", "--quiet")
    duration = time.monotonic() - started
    assert r.returncode == 0, r.stderr.decode()[-2000:]

    left_behind = 0
    for fraction in (0.1, 0.35, 0.6, 0.85, 0.97):
        proc = _start_reindex(env)
        time.sleep(duration * fraction)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        assert_no_survivors(archive)
        left_behind += any((archive / n).exists() for n in LEFTOVERS)
        _assert_consistent(cli, archive, corpus, phrase, path, turn)
    assert left_behind >= 2, "the kills all missed the rebuild: timing is off"

    result = ingest_ok(env)
    assert not [n for n in LEFTOVERS if (archive / n).exists()]
    assert result["snapshot"] > 1
    _assert_consistent(cli, archive, corpus, phrase, path, turn)
    verify_ok(env)


REINDEX_POINTS = ["rebuilt-before-switch", "index-live-before-cleanup",
                  "after-index-before-meta", "index-between-renames"]

# The two-rename switch, for filesystems that cannot exchange two folders.
NO_EXCHANGE = ("import sys; import archive.search.folder as f; f.exchange = lambda a, b: False; "
               "from archive.cli import main; sys.argv[0] = 'archive'; main()")


@pytest.mark.parametrize("point", REINDEX_POINTS)
def test_reindex_crash_at_each_point_leaves_a_consistent_index(space, cli, point):
    """Killed at each step of the switch (before it; after it, before the old index is
    removed; before session_meta; between the fallback's two renames), a reindex leaves an
    index that answers, holds the planted turn once and agrees with `sessions`; the next
    ingest removes the leftovers and indexes what session_meta did not describe yet."""
    home, archive = space
    corpus = _corpus(home, seed=33, sessions=12, turns=(3, 8))
    env = archive_env(home, archive, SESSION_ARCHIVE_FSYNC="0")
    ingest_ok(env)
    phrase, path, turn = _planted(corpus, 33)
    ingest_ok(env)

    cmd = ([sys.executable, "-c", NO_EXCHANGE] if point == "index-between-renames"
           else archive_cmd())
    r = subprocess.run([*cmd, "reindex", "--quiet"], env={**env, FAULT_ENV: point}, cwd=REPO,
                       capture_output=True, timeout=300)
    assert r.returncode == 137, r.stderr.decode()[-2000:]
    assert_no_survivors(archive)
    if point == "index-between-renames":
        assert not (archive / "index").exists() and (archive / "index.old").is_dir()
    else:
        assert any((archive / n).exists() for n in LEFTOVERS) == (
            point != "after-index-before-meta")
        _assert_consistent(cli, archive, corpus, phrase, path, turn)

    ingest_ok(env)
    assert not [n for n in LEFTOVERS if (archive / n).exists()]
    _assert_consistent(cli, archive, corpus, phrase, path, turn)
    assert _stale_meta(archive) == 0
    verify_ok(env)


# --------------------------------------------------------------------------------------------
# Item 9: a damaged index is named, with its remedy


def _biggest_segment(index: Path) -> Path:
    return max((p for p in index.iterdir() if p.name.startswith("MAIN_") and
                not p.name.endswith("WRITELOCK")), key=lambda p: p.stat().st_size)


def _toc(index: Path) -> Path:
    return next(p for p in index.iterdir() if p.name.endswith(".toc"))


def _garble(path: Path, start: int, length: int) -> None:
    data = bytearray(path.read_bytes())
    data[start:start + length] = b"\xff" * len(data[start:start + length])
    path.write_bytes(bytes(data))


DAMAGE = {
    "toc-truncated": lambda ix: os.truncate(_toc(ix), 100),
    "toc-emptied": lambda ix: os.truncate(_toc(ix), 0),
    "toc-garbled": lambda ix: _garble(_toc(ix), 200, 200),
    "segment-truncated": lambda ix: os.truncate(_biggest_segment(ix),
                                                _biggest_segment(ix).stat().st_size // 2),
    "segment-emptied": lambda ix: os.truncate(_biggest_segment(ix), 0),
    "segment-end-garbled": lambda ix: _garble(_biggest_segment(ix),
                                              _biggest_segment(ix).stat().st_size - 20000, 20000),
    "segment-deleted": lambda ix: _biggest_segment(ix).unlink(),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_one_line_exit_65_and_reindex_heals_it(home, cli, damage):
    """Whatever the damage, `search` prints one error line naming a damaged index with the
    hint `archive reindex` and exits 65 (never 70, never a traceback); `show` and `sessions`,
    which do not read the index, still work; `reindex` rebuilds it and search answers again."""
    cli("ingest", "--quiet")
    assert cli.json("search", "hook", "--limit", "1")
    DAMAGE[damage](home.archive / "index")
    from archive.search import ranking

    ranking._SEARCHERS.clear()  # as a new process would: open the damaged files

    r = cli("search", "hook", code=EXIT_DAMAGED)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "index is damaged" in lines[0] and "archive reindex" in lines[0], lines[0]
    assert "Traceback" not in r.output and "internal error" not in r.stderr
    assert cli("search", "hook", "--json", code=EXIT_DAMAGED).stdout == ""
    assert cli.json("sessions")
    sid = cli.json("sessions")[0]["session_id"]
    cli("show", sid)

    cli("reindex", "--quiet")
    assert cli.json("search", "hook", "--limit", "1")
    assert not [n for n in LEFTOVERS if (home.archive / n).exists()]


@pytest.mark.parametrize("what", ["a-file", "an-empty-folder", "garbled-meta"])
def test_reindex_recovers_whatever_is_at_the_index_path(home, cli, what):
    cli("ingest", "--quiet")
    index = home.archive / "index"
    if what == "garbled-meta":
        (index / "meta.json").write_bytes(b"\x00{not json")
    else:
        import shutil

        shutil.rmtree(index)
        if what == "a-file":
            index.write_bytes(b"not an index")
        else:
            index.mkdir()
    r = cli("search", "hook", code=None)
    assert r.exit_code in (1, EXIT_DAMAGED) and "Traceback" not in r.output, r.output
    cli("reindex", "--quiet")
    assert index.is_dir() and cli.json("search", "hook", "--limit", "1")


def test_ingest_on_a_damaged_index_names_it_and_keeps_the_archive(home, cli):
    """An ingest that finds the index damaged still archives (catalog committed), reports the
    index error with the reindex hint (exit 1, not 70); reindex then indexes the new turn."""
    cli("ingest", "--quiet")
    DAMAGE["toc-garbled"](home.archive / "index")
    sid = "0b5d1a2c-9f7e-4c1a-8e2b-3c4d5e6f7a8b"
    line = {"type": "user", "sessionId": sid, "uuid": "u1", "cwd": "/w",
            "timestamp": "2026-11-01T10:00:00Z",
            "message": {"role": "user", "content": "wyzzyva fresh words after damage"}}
    f = profile_root(home.path, "default") / "projects" / "-w" / f"{sid}.jsonl"
    f.parent.mkdir(parents=True)
    f.write_bytes(orjson.dumps(line) + b"\n")
    r = cli("ingest", code=1)
    assert "index is damaged" in r.stderr and "archive reindex" in r.stderr, r.stderr
    assert "internal error" not in r.stderr
    assert cli("cat", sid).stdout_bytes == f.read_bytes()
    cli("reindex", "--quiet")
    assert [h["session_id"] for h in cli.json("search", "wyzzyva")] == [sid]


# --------------------------------------------------------------------------------------------
# Item 11: data is not words


def _session_line(sid: str, n: int, text: str) -> bytes:
    return orjson.dumps({
        "type": "user", "sessionId": sid, "uuid": f"u{n}", "cwd": "/home/me/blob",
        "timestamp": f"2026-11-01T10:{n:02d}:00Z",
        "message": {"role": "user", "content": text},
    }) + b"\n"


def test_pasted_base64_keeps_the_index_small_and_words_findable(home, cli):
    """8 MiB of base64 in four prompts (one long run, MIME lines of 76, a data: URI, URL-safe
    base64) gives an index under 2 MiB for the session (it was 67 MiB); the words around it,
    a git SHA and a UUID in the same prompt are found."""
    cli("ingest", "--quiet")
    index = home.archive / "index"
    base_size = sum(p.stat().st_size for p in index.iterdir())
    rnd = random.Random(11)
    blob = base64.b64encode(rnd.randbytes(3 * 512 * 1024)).decode()  # 2 MiB each
    sha, uuid = "3f786850e387550fdab836ed7e6dc881de23001b", "9d7c1a52-3b4e-4f60-8a1d-2c5e7f901b34"
    prompts = [
        f"wyzzalpha please decode {blob} and compare with commit {sha} wyzzomega",
        "wyzzmime attachment:\n" + "\n".join(blob[i:i + 76] for i in range(0, len(blob), 76)),
        f"wyzzimage <img src=\"data:image/png;base64,{blob}\"> for session {uuid}",
        "wyzzurlsafe " + base64.urlsafe_b64encode(rnd.randbytes(3 * 512 * 1024)).decode(),
    ]
    assert sum(len(p) for p in prompts) > 8 * 1024 * 1024
    sid = "7f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8"
    f = profile_root(home.path, "default") / "projects" / "-home-me-blob" / f"{sid}.jsonl"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"".join(_session_line(sid, n, p) for n, p in enumerate(prompts, 1)))
    cli("ingest", "--quiet")

    grown = sum(p.stat().st_size for p in index.iterdir()) - base_size
    assert grown < 2 * 1024 * 1024, f"the index grew by {grown / 2**20:.1f} MiB"
    for word, turn in [("wyzzalpha", 1), ("wyzzomega", 1), ("decode", 1), ("wyzzmime", 2),
                       ("wyzzimage", 3), ("wyzzurlsafe", 4), (sha, 1), (uuid.split("-")[0], 3),
                       (f'"{uuid}"', 3)]:
        hits = cli.json("search", word, "--session", sid)
        assert [(h["session_id"], h["turn"]) for h in hits][:1] == [(sid, turn)], word
    piece = re.search(r"[A-Za-z0-9]{20}", blob).group()  # inside the blob: not a word
    cli("search", piece, "--session", sid, code=1)
    assert cli("cat", sid).stdout_bytes == f.read_bytes()  # the archive keeps every byte


@pytest.mark.parametrize("text,kept", [
    ("ThisIsATestOfTheEmergencyBroadcastSystem", True),
    ("getUserAuthenticationTokenFromRequestHeaders", True),
    ("3f786850e387550fdab836ed7e6dc881de23001b", True),  # git SHA-1
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", True),  # SHA-256
    ("550e8400-e29b-41d4-a716-446655440000", True),  # UUID
    ("/usr/lib/python3.11/site-packages/whoosh_reloaded/analysis", True),
    ("test_searches_during_reindex_keep_finding_the_planted_hit", True),
    ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", False),  # a PNG
    ("0a1b2c3d4e5f" * 12, False),  # a hex dump longer than a digest
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0", False),
    # credentials the masking recognises stay findable (and are masked wherever shown)
    ("".join(["sk-", "ant-api03-", "aB3dE6gH9kLmN0pQrS2tUv4wXy5z" * 3]), True),
    ("password=" + "aB3dE6gH9kLmN0pQrS2tUv4wXy5z" * 2, True),
    ("aB3dE6gH9kLmN0pQrS2tUv4wXy5z" * 2 + "".join(["gh", "p_"]) + "aB3dE6gH9kLmN0pQ" * 3, False),
])
def test_what_counts_as_data(text, kept):
    from archive.search.analysis import NOISE_MARK, elide_noise

    out = elide_noise(f"before {text} after")
    assert (out == f"before {text} after") == kept, out
    if not kept:
        assert out.startswith("before ") and out.endswith(" after") and NOISE_MARK in out


def test_the_name_of_an_assignment_stays_words():
    """`NAME=<data>` is one run of the base64 alphabet ('=' is its padding): only the value
    may be elided, never the name people search for."""
    from archive.search.analysis import NOISE_MARK, elide_noise

    blob = "Qm9vbXNoYWthbGFrYTEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejk4NzY1NDMy"
    out = elide_noise(f"set DEPLOY_PAYLOAD_DATA={blob} now")
    assert out == f"set DEPLOY_PAYLOAD_DATA={NOISE_MARK} now"
    assert elide_noise(f"padded {blob}== end") == f"padded {NOISE_MARK} end"
