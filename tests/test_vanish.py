"""A file that goes away between the walk and its read is not an error.

`archive ingest` walks every root first (the progress total), then reads what it found. Claude
Code deletes transcripts (cleanupPeriodDays) and moves them at any time, so a file can vanish in
between. Each test runs the real CLI in a subprocess held at the pause point between the walk
and the reads (``faults.pause_point``), changes the source exactly then, lets it go, and checks
the exit code, the JSON result and the catalog.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import SPOTTER, profile_root

from archive.faults import FAULT_ENV, PAUSE_ENV

REPO = Path(__file__).resolve().parent.parent
POINT = "after-walk-before-read"
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
PROJECT = "-home-me-app"


def _env(home: Path, archive: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG",
                        FAULT_ENV, PAUSE_ENV)}
    env.update(HOME=str(home), SESSION_ARCHIVE_DIR=str(archive), SESSION_ARCHIVE_FSYNC="0",
               COLUMNS="200", PYTHONPATH=str(REPO), **extra)
    return env


def _ingest(env: dict) -> tuple[int, dict, str]:
    done = subprocess.run([sys.executable, "-m", "archive", "ingest", "--json"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    return done.returncode, orjson.loads(done.stdout), done.stderr


def _ingest_changing(env: dict, tmp: Path, change) -> tuple[int, dict, str]:
    """``archive ingest --json`` with ``change()`` run after its walk and before any read."""
    pause = tmp / "pause"
    pause.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive", "ingest", "--json"],
        env={**env, PAUSE_ENV: f"{POINT}:{pause}"}, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (pause / f"{POINT}.reached").exists():
            assert proc.poll() is None, f"ingest ended before its reads: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "ingest never reached the pause point"
            time.sleep(0.01)
        change()
        (pause / f"{POINT}.go").touch()
        out, err = proc.communicate(timeout=60)  # a FIFO read would block: the timeout fails
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (pause / f"{POINT}.reached").unlink()
    (pause / f"{POINT}.go").unlink()
    return proc.returncode, orjson.loads(out), err


def _cli_json(env: dict, *args: str):
    done = subprocess.run([sys.executable, "-m", "archive", *args, "--json"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


@pytest.fixture
def work(space):
    """(env, the work profile's project folder) with sessions A and B in it, not archived."""
    home, archive = space
    folder = profile_root(home, "work") / "projects" / PROJECT
    folder.mkdir(parents=True)
    text = (SPOTTER / "short.jsonl").read_bytes()
    for sid in (A, B):
        (folder / f"{sid}.jsonl").write_bytes(text)
    return _env(home, archive), folder


def test_a_new_file_deleted_after_the_walk_is_nothing(work, tmp_path):
    env, folder = work
    code, result, err = _ingest_changing(env, tmp_path, (folder / f"{A}.jsonl").unlink)
    assert code == 0, err
    assert result["errors"] == [] and "error" not in err
    assert result["vanished"] == 1
    assert result["files_seen"] == 1 and result["versions_added"] == 1  # B only
    assert result["gone_from_source"] == 0
    ids = {r["session_id"] for r in _cli_json(env, "sessions", "--all")}
    assert ids == {B}


def _delete(path: Path) -> None:
    path.unlink()


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("not a transcript")


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _project_gone(path: Path) -> None:
    shutil.rmtree(path.parent)


@pytest.mark.parametrize("change", [_delete, _folder, _fifo, _project_gone],
                         ids=["deleted", "replaced-by-a-folder", "replaced-by-a-fifo",
                              "its-project-folder-deleted"])
def test_an_archived_file_gone_after_the_walk_is_gone_from_source(work, tmp_path, change):
    env, folder = work
    first, _, err = _ingest(env)
    assert first == 0, err
    path = folder / f"{A}.jsonl"
    with path.open("ab") as fh:  # changed since: the walk lists it to be read
        fh.write(b'{"type":"summary","summary":"later"}\n')
    code, result, err = _ingest_changing(env, tmp_path, lambda: change(path))
    assert code == 0, err
    assert result["errors"] == [] and "error" not in err
    assert result["vanished"] == 1 and result["versions_added"] == 0
    rows = {r["session_id"]: r for r in _cli_json(env, "sessions", "--all")}
    assert rows[A]["gone_from_source"] is True
    assert len(_cli_json(env, "versions", A)) == 1  # what was archived stays, nothing added
    assert result["gone_from_source"] == 1
    # B, unchanged, was not to be read: its folder's loss is the next walk's to see.
    assert rows[B]["gone_from_source"] is False
    again, result, err = _ingest(env)  # the next run agrees, with no error
    assert again == 0 and result["errors"] == [], err
    assert result["gone_from_source"] == (change is _project_gone)
    assert result["versions_added"] == (change is _folder)  # the file the new folder holds


def test_a_symlink_put_in_its_place_is_not_followed(work, tmp_path):
    """A transcript swapped for a link to another file after the walk: the link is not read
    (it may lead to /proc/self/environ or a key file), it is reported as the walk reports a
    link, and what was archived of the file stays, not gone."""
    env, folder = work
    assert _ingest(env)[0] == 0
    path = folder / f"{A}.jsonl"
    with path.open("ab") as fh:
        fh.write(b'{"type":"summary","summary":"later"}\n')
    elsewhere = tmp_path / "private.txt"
    elsewhere.write_bytes(b"PRIVATE-BYTES-NOT-A-TRANSCRIPT\n")

    def swap() -> None:
        path.unlink()
        path.symlink_to(elsewhere)

    code, result, err = _ingest_changing(env, tmp_path, swap)
    assert code == 0, err
    assert result["errors"] == [] and result["versions_added"] == 0
    assert any(f"projects/{PROJECT}/{A}.jsonl" in w and "symlink" in w
               for w in result["warnings"]), result["warnings"]
    rows = {r["session_id"]: r for r in _cli_json(env, "sessions", "--all")}
    assert rows[A]["gone_from_source"] is False
    stored = subprocess.run([sys.executable, "-m", "archive", "cat", A], env=env, cwd=REPO,
                            capture_output=True, timeout=300)
    assert stored.returncode == 0 and b"PRIVATE-BYTES" not in stored.stdout
    assert stored.stdout == (SPOTTER / "short.jsonl").read_bytes()


def test_a_file_emptied_after_the_walk_is_stored_as_it_is(work, tmp_path):
    """Emptied is not gone: whatever bytes a file holds when it is read are a version, as if
    the walk had found it empty; the versions before stay."""
    env, folder = work
    assert _ingest(env)[0] == 0
    path = folder / f"{A}.jsonl"
    with path.open("ab") as fh:
        fh.write(b'{"type":"summary","summary":"later"}\n')
    code, result, err = _ingest_changing(env, tmp_path, lambda: path.write_bytes(b""))
    assert code == 0, err
    assert result["errors"] == [] and result["vanished"] == 0
    versions = _cli_json(env, "versions", A)
    assert [v["size"] for v in versions][-1] == 0 and len(versions) == 2
