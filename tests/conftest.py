"""Shared fixtures: a throw-away HOME holding real transcripts, and the real CLI.

The layout mirrors a person with three profiles: ``~/.claude`` (default) and two CCS instances,
``work`` and ``personal``, each with real transcripts from tests/fixtures (see PROVENANCE.md).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from archive.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
CCL = FIXTURES / "handgemacht-ai__claude-code-log/test/test_data/real_projects"
SPOTTER = FIXTURES / "marot__spotter/test/fixtures/transcripts"
FASTHOOKS = FIXTURES / "oneryalcin__fasthooks/specs/data"

SHORT_ID = "55604662-cf2a-4331-851a-ec234028f8ca"
BIG_ID = "ae4a77f8-aedd-4bc1-888f-c94edc91af04"
FASTHOOKS_ID = "c45af7b1-cb7c-4e51-93db-8cbb250a877a"

# (profile, project folder, source file or folder, name in the project folder)
LAYOUT = [
    ("default", "-home-marco-projects-spotter", SPOTTER / "short.jsonl", f"{SHORT_ID}.jsonl"),
    ("default", "-home-USER-projects-spotter-worktrees-spotter-4te",
     SPOTTER / f"{BIG_ID}.jsonl", f"{BIG_ID}.jsonl"),
    ("default", "-home-USER-projects-spotter-worktrees-spotter-4te", SPOTTER / BIG_ID, BIG_ID),
    *[
        ("default", "-Users-dain-workspace-claude-code-log", p, p.name)
        for p in sorted((CCL / "-Users-dain-workspace-claude-code-log-sample").iterdir())
    ],
    *[
        ("default", "-Users-dain-workspace-JSSoundRecorder", p, p.name)
        for p in sorted((CCL / "-Users-dain-workspace-JSSoundRecorder").iterdir())
    ],
    *[
        ("work", "-experiments-worktrees", p, p.name)
        for p in sorted((CCL / "-experiments-worktrees").iterdir())
    ],
    *[
        ("work", "-src-experiments-claude-p", p, p.name)
        for p in sorted((CCL / "-src-experiments-claude_p").iterdir())
    ],
    *[
        ("personal", "-Users-dain-workspace-danieldemmel-me-next", p, p.name)
        for p in sorted((CCL / "-Users-dain-workspace-danieldemmel-me-next").iterdir())
    ],
    *[
        ("personal", "-experiments-ideas", p, p.name)
        for p in sorted((CCL / "-experiments-ideas").iterdir())
    ],
    ("personal", "-workspace", FASTHOOKS / "sample_main_transcript.jsonl", f"{FASTHOOKS_ID}.jsonl"),
]


@dataclass
class Home:
    """A temporary HOME with three profiles and an archive dir outside it."""

    path: Path
    archive: Path

    def root(self, profile: str) -> Path:
        if profile == "default":
            return self.path / ".claude"
        return self.path / ".ccs" / "instances" / profile

    def session_file(self, profile: str, project: str, session_id: str) -> Path:
        return self.root(profile) / "projects" / project / f"{session_id}.jsonl"


def lay_out(home: Path) -> None:
    for profile, project, source, name in LAYOUT:
        root = home / ".claude" if profile == "default" else home / ".ccs/instances" / profile
        dest = root / "projects" / project / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copyfile(source, dest)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    h = Home(tmp_path / "home", tmp_path / "archive")
    lay_out(h.path)
    monkeypatch.setenv("HOME", str(h.path))
    monkeypatch.setenv("SESSION_ARCHIVE_DIR", str(h.archive))
    monkeypatch.setenv("SESSION_ARCHIVE_FSYNC", "0")
    monkeypatch.setenv("COLUMNS", "200")
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    return h


PROFILES = ("default", "work", "personal")


def profile_root(home: Path, profile: str) -> Path:
    return home / ".claude" if profile == "default" else home / ".ccs" / "instances" / profile


@pytest.fixture
def space(tmp_path, monkeypatch):
    """A temp HOME with three empty profiles (filled by the test), an archive dir, and the
    environment of in-process CLI calls pointing at them (crash and concurrency suites)."""
    from archive.faults import FAULT_ENV

    home, archive = tmp_path / "home", tmp_path / "archive"
    for profile in PROFILES:
        (profile_root(home, profile) / "projects").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SESSION_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("SESSION_ARCHIVE_FSYNC", "0")
    monkeypatch.setenv("COLUMNS", "200")
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG", FAULT_ENV):
        monkeypatch.delenv(var, raising=False)
    return home, archive


class Cli:
    """Runs the real ``archive`` app in-process and checks no traceback escaped."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0):
        result = self.runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"traceback escaped: {result.exception!r}\n{result.output}")
        if code is not None:
            assert result.exit_code == code, (
                f"exit {result.exit_code} != {code}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}"
            )
        return result

    def json(self, *args: str, code: int | None = 0):
        result = self(*args, "--json", code=code)
        return orjson.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def stored_files(archive: Path) -> list[Path]:
    return [p for p in archive.rglob("*") if p.is_file()]


def private(path: Path) -> bool:
    return (os.stat(path).st_mode & 0o077) == 0
