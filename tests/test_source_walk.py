"""What ingest does not look at, it says, and never takes for deleted (issue 14, items 8, 12).

A folder that cannot be read is an error naming it (exit 1), and the sessions archived from it
stay "present"; symlinks inside ``projects/`` are not followed to files, nor to folders outside
the root, and each one skipped is named in a warning.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import orjson
import pytest
import unprivileged
from conftest import SHORT_ID, SPOTTER

from archive.roots import WalkReport, discover_roots, iter_root_files


def _sid(i: int) -> str:
    return str(uuid.UUID(int=(0xE0 + i) << 120 | i))


def _session(folder: Path, sid: str, prompt: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    line = {"type": "user", "sessionId": sid, "cwd": "/p", "timestamp": "2026-01-01T00:00:00Z",
            "message": {"role": "user", "content": prompt}}
    (folder / f"{sid}.jsonl").write_bytes(orjson.dumps(line) + b"\n")


def _gone(result_stdout: str) -> dict[str, bool]:
    return {s["session_id"]: s["gone_from_source"] for s in orjson.loads(result_stdout)}


@pytest.mark.skipif(unprivileged.how() == "not possible",
                    reason="cannot take away the privilege to read every folder here")
@pytest.mark.parametrize("which", ["project-folder", "projects-folder"])
def test_unreadable_folder_is_an_error_and_nothing_under_it_is_gone(which):
    with unprivileged.space() as base:
        home = base / "home"
        projects = home / ".claude" / "projects"
        a, b = _sid(1), _sid(2)
        _session(projects / "-p", a, "alpha prompt")
        _session(projects / "-q", b, "beta prompt")
        unprivileged.hand_over(base)
        env = {"SESSION_ARCHIVE_DIR": str(base / "archive")}
        first = unprivileged.run(["ingest", "--json"], home, **env)
        assert first.returncode == 0, first.stderr
        assert orjson.loads(first.stdout)["versions_added"] == 2

        folder = projects / "-p" if which == "project-folder" else projects
        os.chmod(folder, 0)
        if not unprivileged.denied(folder, home):
            pytest.skip(f"running {unprivileged.how()} still reads a chmod-000 folder")
        result = unprivileged.run(["ingest", "--json"], home, **env)
        assert result.returncode == 1, result.stderr
        out = orjson.loads(result.stdout)
        rel = "projects/-p" if which == "project-folder" else "projects"
        assert [(e["profile"], e["path"]) for e in out["errors"]] == [("default", rel)]
        assert "Permission denied" in out["errors"][0]["error"]
        assert out["gone_from_source"] == 0
        listed = unprivileged.run(["sessions", "--json"], home, **env)
        assert _gone(listed.stdout) == {a: False, b: False}

        text = unprivileged.run(["ingest"], home, **env)  # the text form names it, one line
        assert text.returncode == 1
        assert rel in text.stderr and "Traceback" not in text.stderr
        os.chmod(folder, 0o755)


def test_symlinks_to_files_are_not_followed_and_each_skip_is_named(home, cli, tmp_path):
    """A link named like a transcript to /proc/self/environ must not put the ingest process's
    environment into the archive."""
    folder = home.root("default") / "projects" / "-home-marco-projects-spotter"
    leak = _sid(3)
    (folder / f"{leak}.jsonl").symlink_to("/proc/self/environ")
    outside = tmp_path / "outside"
    _session(outside / "-elsewhere", _sid(4), "zanzibarquux prompt")
    inside = _sid(5)
    (folder / f"{inside}.jsonl").symlink_to(folder / f"{SHORT_ID}.jsonl")  # a file in the root
    (folder / "away").symlink_to(outside, target_is_directory=True)  # a folder outside

    result = cli("ingest", "--json")
    out = orjson.loads(result.stdout)
    assert out["errors"] == []
    skipped = [w for w in out["warnings"] if "not followed" in w]
    rel = "projects/-home-marco-projects-spotter"
    assert sorted(skipped) == sorted([
        f"default: {rel}/{leak}.jsonl is a symlink to a file; symlinks to files are not followed",
        f"default: {rel}/{inside}.jsonl is a symlink to a file; symlinks to files are not "
        "followed",
        f"default: {rel}/away is a symlink to {os.path.realpath(outside)}, outside the root; "
        "not followed",
    ])
    for sid in (leak, inside, _sid(4)):
        cli("cat", sid, code=2)  # never archived
    hits = cli("search", "zanzibarquux", "--json", code=1)
    assert orjson.loads(hits.stdout) == []
    text = cli("ingest")
    assert f"{rel}/{leak}.jsonl is a symlink to a file" in text.stderr


def test_environ_link_stores_nothing_of_the_environment(tmp_path):
    """The same link, checked at the walk: the file is never yielded, so never read."""
    root_dir = tmp_path / ".claude"
    folder = root_dir / "projects" / "-p"
    folder.mkdir(parents=True)
    (folder / "x.jsonl").symlink_to("/proc/self/environ")
    (folder / "real.jsonl").write_text("{}\n")
    root = next(r for r in discover_roots(environ={}, home=tmp_path) if r.profile == "default")
    report = WalkReport()
    assert [f.relpath for f in iter_root_files(root, report)] == ["projects/-p/real.jsonl"]
    assert report.skipped == [
        ("projects/-p/x.jsonl", "a symlink to a file; symlinks to files are not followed")
    ]
    assert report.covers("projects/-p/x.jsonl") and not report.covers("projects/-p/real.jsonl")


def test_folder_links_inside_the_root_and_ccs_links_are_followed(tmp_path):
    home = tmp_path
    shared = home / ".ccs/shared/memory/-p"
    shared.mkdir(parents=True)
    (shared / "notes.md").write_text("remember\n")
    inst = home / ".ccs/instances/work"
    (inst / "projects/-p").mkdir(parents=True)
    (inst / "projects/-p/memory").symlink_to(shared, target_is_directory=True)  # legacy CCS
    (inst / "projects/-q").symlink_to(inst / "projects/-p", target_is_directory=True)
    root = next(r for r in discover_roots(environ={}, home=home) if r.profile == "work")
    report = WalkReport()
    assert [f.relpath for f in iter_root_files(root, report)] == ["projects/-p/memory/notes.md"]
    assert report.skipped == [] and report.unreadable == []


def test_a_file_link_archived_before_is_not_marked_gone(home, cli):
    """Skipping a link is not seeing its file deleted: what an older version archived through
    it stays present."""
    folder = home.root("default") / "projects" / "-home-marco-projects-spotter"
    real = folder / f"{SHORT_ID}.jsonl"
    moved = home.path / "kept.jsonl"
    shutil.move(real, moved)
    real.symlink_to(moved)
    out = cli.json("ingest")  # the link is skipped: the session was never archived
    assert out["gone_from_source"] == 0
    real.unlink()
    shutil.copyfile(SPOTTER / "short.jsonl", real)
    cli.json("ingest")
    real.unlink()
    real.symlink_to(moved)
    out = cli.json("ingest")
    assert out["gone_from_source"] == 0
    listed = {s["session_id"]: s["gone_from_source"] for s in cli.json("sessions")}
    assert listed[SHORT_ID] is False
