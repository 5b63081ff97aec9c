"""The archive is private whatever the umask, parents included (issue 14, item 14).

Under ``umask 000`` the default location ``~/.local/share/session-archive`` creates its missing
parents 0700 (XDG's mode for the data folder), not 0777; an archive found readable by others is
tightened as a whole (files 0600, folders 0700), not only its top folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
from conftest import SHORT_ID, SPOTTER


def _run(args: list[str], home: Path, umask: int) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "SESSION_ARCHIVE_FSYNC": "0", "COLUMNS": "200",
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}  # the code under test
    return subprocess.run(
        [sys.executable, "-m", "archive", *args], env=env, cwd=str(home),
        preexec_fn=lambda: os.umask(umask), capture_output=True, text=True, timeout=300,
    )


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    folder = home / ".claude" / "projects" / "-home-marco-projects-spotter"
    folder.mkdir(parents=True)
    (folder / f"{SHORT_ID}.jsonl").write_bytes((SPOTTER / "short.jsonl").read_bytes())
    return home


def _modes(top: Path) -> dict[str, int]:
    out = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(folder, name)
            out[os.path.relpath(path, top)] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


def test_umask_000_creates_the_default_location_and_its_parents_private(tmp_path):
    home = _home(tmp_path)
    done = _run(["ingest", "--json"], home, 0)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["versions_added"] == 1
    for folder in (".local", ".local/share", ".local/share/session-archive"):
        assert stat.S_IMODE(os.stat(home / folder).st_mode) == 0o700, folder
    archive = home / ".local/share/session-archive"
    modes = _modes(archive)
    assert "catalog.sqlite" in modes and any(p.startswith("objects/") for p in modes)
    loose = {p: oct(m) for p, m in modes.items()
             if m != (0o700 if (archive / p).is_dir() else 0o600)}
    assert loose == {}


def test_an_archive_readable_by_others_is_tightened_files_included(tmp_path):
    home = _home(tmp_path)
    assert _run(["ingest"], home, 0o022).returncode == 0
    archive = home / ".local/share/session-archive"
    for path in [archive, *archive.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert stat.S_IMODE(os.stat(archive / "catalog.sqlite").st_mode) == 0o644
    done = _run(["ingest"], home, 0o022)
    assert done.returncode == 0, done.stderr
    assert "readable by other users; now 0700" in done.stderr
    modes = _modes(archive)
    assert modes["catalog.sqlite"] == 0o600
    loose = {p: oct(m) for p, m in modes.items()
             if m != (0o700 if (archive / p).is_dir() else 0o600)}
    assert loose == {}
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o700
