"""End-to-end: the real CLI over a temporary HOME with real transcripts."""

from __future__ import annotations

import os
import sqlite3

import orjson
import pytest
import unprivileged
import zstandard
from conftest import BIG_ID, FASTHOOKS_ID, SHORT_ID, lay_out, private, stored_files

from archive.lock import ArchiveLock

SHORT_PROJECT = "-home-marco-projects-spotter"


def test_roots_lists_default_and_ccs_instances(home, cli):
    rows = cli.json("roots")
    by_name = {r["profile"]: r for r in rows}
    assert list(by_name) == ["default", "personal", "work"]
    assert by_name["default"]["path"] == str(home.root("default"))
    assert by_name["default"]["session_files"] == 9
    assert by_name["work"]["session_files"] == 2
    assert by_name["personal"]["session_files"] == 6
    assert all(r["exists"] for r in rows)


def test_missing_root_is_reported_not_an_error(home, cli, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home.path / "nowhere"))
    rows = cli.json("roots")
    default = next(r for r in rows if r["profile"] == "default")
    assert default["exists"] is False and default["session_files"] == 0
    result = cli.json("ingest")
    assert result["errors"] == []
    assert result["files_seen"] > 0  # the CCS instances were still read


def test_extra_roots_from_option_and_config_and_symlink_dedup(home, cli, tmp_path):
    extra = tmp_path / "extra"
    (extra / "projects" / "-p").mkdir(parents=True)
    (extra / "projects" / "-p" / "abc.jsonl").write_bytes(b'{"type":"user"}\n')
    alias = home.path / ".ccs" / "instances" / "alias"
    alias.symlink_to(home.root("work"))
    home.archive.mkdir()
    (home.archive / "config.toml").write_text(f'[roots]\nfromconfig = "{extra}"\n')
    rows = cli.json("roots", "--root", f"opt={extra / 'nothing'}")
    by_name = {r["profile"]: r for r in rows}
    assert "alias" not in by_name  # a symlink to work's folder: one root, named work
    assert by_name["work"]["aliases"] == ["alias"]
    assert by_name["fromconfig"]["session_files"] == 1
    assert by_name["opt"]["exists"] is False


def test_bad_root_option_is_a_usage_error(home, cli):
    result = cli("roots", "--root", "noequals", code=2)
    assert "NAME=PATH" in result.stderr
    result = cli("roots", "--root", "../evil=/tmp", code=2)
    assert "invalid profile name" in result.stderr


def test_ingest_then_versions_and_cat_are_byte_exact(home, cli):
    summary = cli.json("ingest")
    assert summary["snapshot"] == 1
    assert summary["errors"] == []
    assert summary["versions_added"] == summary["files_changed"] == summary["files_seen"]
    assert set(summary) >= {
        "snapshot", "files_seen", "files_changed", "versions_added", "bytes_read",
        "bytes_stored", "gone_from_source", "seconds", "errors",
    }
    rows = cli.json("versions", SHORT_ID[:8])
    assert len(rows) == 1
    assert rows[0]["version"] == 1 and rows[0]["profile"] == "default"
    assert rows[0]["path"] == f"projects/{SHORT_PROJECT}/{SHORT_ID}.jsonl"
    assert set(rows[0]) == {
        "version", "sha256", "size", "snapshot", "captured_at", "profile", "path",
        "set_aside", "set_aside_at",
    }
    assert rows[0]["set_aside"] is False and rows[0]["set_aside_at"] is None
    for profile, project, sid in [
        ("default", SHORT_PROJECT, SHORT_ID),
        ("default", "-home-USER-projects-spotter-worktrees-spotter-4te", BIG_ID),
        ("personal", "-workspace", FASTHOOKS_ID),
    ]:
        out = cli("cat", sid).stdout_bytes
        assert out == home.session_file(profile, project, sid).read_bytes()


def test_noop_ingest_reads_nothing(home, cli):
    cli.json("ingest")
    again = cli.json("ingest")
    assert again["snapshot"] == 2
    assert again["files_changed"] == 0 and again["versions_added"] == 0
    assert again["bytes_read"] == 0 and again["bytes_stored"] == 0
    snaps = cli.json("snapshots")
    assert [s["status"] for s in snaps] == ["complete", "complete"]
    assert snaps[0]["roots"][0]["profile"] == "default"


def test_append_stores_about_the_appended_bytes(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = path.read_bytes()
    cli.json("ingest")
    lines = original.splitlines(keepends=True)
    appended = b"".join(lines[-4:]) * 3  # real lines, as Claude Code would append
    with open(path, "ab") as fh:
        fh.write(appended)
    second = cli.json("ingest")
    assert second["versions_added"] == 1
    # Only the tail is new: what is stored is that tail compressed, not the whole file again.
    tail_compressed = len(zstandard.ZstdCompressor(level=3).compress(appended))
    assert 0 < second["bytes_stored"] <= tail_compressed + 64
    whole_compressed = len(zstandard.ZstdCompressor(level=3).compress(original + appended))
    assert second["bytes_stored"] < whole_compressed
    rows = cli.json("versions", SHORT_ID)
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[1]["size"] == len(original) + len(appended)
    assert cli("cat", SHORT_ID, "--version", "1").stdout_bytes == original
    assert cli("cat", SHORT_ID).stdout_bytes == original + appended


def test_cut_last_line_is_a_version_and_the_rest_comes_as_an_append(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = path.read_bytes()
    partial = b'{"type":"user","message":{"content":"half a li'
    path.write_bytes(original + partial)
    cli.json("ingest")
    path.write_bytes(original + partial + b'ne"}}\n')
    cli.json("ingest")
    assert cli("cat", SHORT_ID, "-v", "1").stdout_bytes == original + partial
    assert cli("cat", SHORT_ID, "-v", "2").stdout_bytes == original + partial + b'ne"}}\n'


def test_deleted_source_stays_archived(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = path.read_bytes()
    cli.json("ingest")
    path.unlink()
    result = cli.json("ingest")
    assert result["gone_from_source"] == 1
    assert cli("cat", SHORT_ID).stdout_bytes == original
    assert len(cli.json("versions", SHORT_ID)) == 1
    # A third ingest does not count it again; putting it back clears the mark.
    assert cli.json("ingest")["gone_from_source"] == 0
    path.write_bytes(original)
    assert cli.json("ingest")["versions_added"] == 0


def test_rewrite_is_a_new_whole_version(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = path.read_bytes()
    cli.json("ingest")
    rewritten = original.replace(b"spotter", b"SPOTTER")
    path.write_bytes(rewritten)
    result = cli.json("ingest")
    assert result["versions_added"] == 1
    assert result["bytes_read"] >= len(rewritten)
    assert cli("cat", SHORT_ID, "--version", "1").stdout_bytes == original
    assert cli("cat", SHORT_ID, "--version", "2").stdout_bytes == rewritten
    shrunk = original[: len(original) // 2]
    path.write_bytes(shrunk)
    cli.json("ingest")
    assert cli("cat", SHORT_ID, "--version", "3").stdout_bytes == shrunk
    assert cli.json("verify")["ok"] is True


def _object_paths(archive):
    return sorted(p for p in (archive / "objects").glob("??/*"))


def test_verify_names_a_damaged_object(home, cli):
    cli.json("ingest")
    assert cli("verify").exit_code == 0
    victim = max(_object_paths(home.archive), key=lambda p: p.stat().st_size)
    name = victim.parent.name + victim.name
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    victim.write_bytes(bytes(blob))
    report = cli.json("verify", code=1)
    assert report["ok"] is False
    names = {d["name"] for d in report["damage"] if d["what"] == "object"}
    assert names == {name}
    assert any(d["what"] == "version" for d in report["damage"])
    text = cli("verify", code=1).stdout
    assert name in text


def test_verify_names_a_missing_object_and_cat_refuses_damaged_bytes(home, cli):
    cli.json("ingest")
    rows = cli.json("versions", SHORT_ID)
    con = sqlite3.connect(home.archive / "catalog.sqlite")
    (chunk,) = con.execute(
        "SELECT chunk FROM version_chunks vc JOIN versions v ON v.id = vc.version_id "
        "WHERE v.sha256 = ?",
        (rows[0]["sha256"],),
    ).fetchone()
    con.close()
    (home.archive / "objects" / chunk[:2] / chunk[2:]).unlink()
    report = cli.json("verify", code=1)
    assert [d["name"] for d in report["damage"] if d["what"] == "object"] == [chunk]
    result = cli("cat", SHORT_ID, code=1)
    assert "missing" in result.stderr and result.stdout_bytes == b""


def test_second_ingest_while_locked_exits_75(home, cli):
    home.archive.mkdir(mode=0o700)
    with ArchiveLock(home.archive):
        result = cli("ingest", code=75)
        assert f"another archive process is writing (ingest pid {os.getpid()})" in result.stderr
        assert "Traceback" not in result.stderr
        result = cli("ingest", "--wait", "0.3", code=75)
    assert cli.json("ingest")["snapshot"] == 1  # the lock is free again


def test_archive_is_private_even_with_permissive_umask(home, cli):
    old = os.umask(0o022)
    try:
        cli.json("ingest")
    finally:
        os.umask(old)
    assert private(home.archive)
    everything = [p for p in home.archive.rglob("*")]
    assert everything
    for p in everything:
        assert private(p), p


def test_warns_when_existing_archive_dir_is_readable_by_others(home, cli):
    home.archive.mkdir(mode=0o755)
    os.chmod(home.archive, 0o755)
    result = cli("ingest")
    assert "readable by other users" in result.stderr
    assert private(home.archive)


@pytest.mark.skipif(unprivileged.how() == "not possible",
                    reason="cannot take away the privilege to read every file here")
def test_unreadable_file_is_reported_and_the_rest_goes_on():
    with unprivileged.space() as base:
        lay_out(base)
        bad = base / ".ccs/instances/work/projects/-src-experiments-claude-p/unreadable.jsonl"
        bad.write_bytes(b"{}\n")
        unprivileged.hand_over(base)
        os.chmod(bad, 0)  # as root, only without its privilege
        if not unprivileged.denied(bad, base):
            pytest.skip(f"running {unprivileged.how()} still reads a chmod-000 file")
        env = {"SESSION_ARCHIVE_DIR": str(base / "archive")}
        done = unprivileged.run(["ingest", "--json"], base, **env)
        assert done.returncode == 1, done.stderr
        result = orjson.loads(done.stdout)
        assert [e["path"] for e in result["errors"]] == [
            "projects/-src-experiments-claude-p/unreadable.jsonl"
        ]
        assert result["errors"][0]["profile"] == "work"
        assert result["versions_added"] == result["files_seen"] - 1
        text = unprivileged.run(["ingest"], base, **env)
        assert text.returncode == 1 and "unreadable.jsonl" in text.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["versions", "0000nope"],
        ["cat", "0000nope"],
        ["versions", SHORT_ID, "--from", "nobody"],
        ["cat", SHORT_ID, "--version", "9"],
    ],
    ids=["unknown-id", "cat-unknown-id", "unknown-profile-copy", "unknown-version"],
)
def test_bad_references_are_one_line_errors(home, cli, args):
    cli.json("ingest")
    result = cli(*args, code=2)
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_ambiguous_prefix_lists_candidates(home, cli):
    cli.json("ingest")
    # Two sessions of the fixtures start with "7": 71c9afe9… and 7acd37a8….
    result = cli("versions", "7", code=2)
    assert "prefix of 2 sessions" in result.stderr
    assert "71c9afe9" in result.stderr and "7acd37a8" in result.stderr


def test_ambiguous_prefix_lists_each_session_once_with_its_profiles(home, cli):
    """A session copied into two profiles is one candidate (one line naming both), so the
    count in the message and the lines below it agree."""
    src = next((home.root("default") / "projects").glob("*/7acd37a8-*.jsonl"))
    dest = home.root("work") / "projects" / src.parent.name / src.name
    dest.parent.mkdir(parents=True)
    dest.write_bytes(src.read_bytes())
    cli.json("ingest")
    result = cli("show", "7", code=2)
    first, *candidates = result.stderr.strip().splitlines()
    assert "'7' is the prefix of 2 sessions" in first
    assert len(candidates) == 2, result.stderr
    (copied,) = [c for c in candidates if "7acd37a8" in c]
    assert "  default,work  " in copied


def test_no_archive_hint_carries_the_archive_dir_given(home, cli, tmp_path):
    nope = tmp_path / "no such archive"
    result = cli("sessions", "--archive-dir", nope, code=1)
    assert f"(run `archive ingest --archive-dir '{nope}'` first)" in result.stderr
    result = cli("sessions", code=1)  # $SESSION_ARCHIVE_DIR: the plain command finds it
    assert "(run `archive ingest` first)" in result.stderr


@pytest.mark.parametrize("flags", [[], ["--quiet"], ["--json"]], ids=["plain", "quiet", "json"])
def test_ingest_without_any_config_root_records_nothing_and_says_where_it_looked(
    tmp_path, cli, monkeypatch, flags
):
    """Nothing to snapshot is not a failure (exit 0) and records no empty snapshot; one line
    on stderr, also under --quiet (cron must hear that nothing is being archived)."""
    monkeypatch.setenv("HOME", str(tmp_path / "empty"))
    archive = tmp_path / "archive"
    monkeypatch.setenv("SESSION_ARCHIVE_DIR", str(archive))
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_CONFIG_HOME", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    result = cli("ingest", *flags)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("warning: no config root found (looked at ")
    assert str(tmp_path / "empty" / ".claude") in lines[0] and "nothing archived" in lines[0]
    assert "archive roots" in lines[0] and "--root NAME=PATH" in lines[0]
    if flags == ["--json"]:
        out = orjson.loads(result.stdout)
        assert out["snapshot"] is None and out["errors"] == [] and out["files_seen"] == 0
        assert out["warnings"] == [lines[0].removeprefix("warning: ")]
    else:
        assert result.stdout == ""
    assert not archive.exists()  # nothing to keep: no archive made for it


def test_ingest_that_finds_its_roots_gone_records_no_empty_snapshot(home, cli, monkeypatch):
    cli.json("ingest")
    before = cli.json("snapshots")
    sessions = cli.json("sessions", "--all")
    monkeypatch.setenv("HOME", str(home.path / "elsewhere"))  # every root missing now
    log = home.path / "ingest.log"
    result = cli("ingest", "--quiet", "--log", log)
    assert "no config root found" in result.stderr
    assert cli.json("snapshots") == before
    assert cli.json("sessions", "--all") == sessions  # nothing marked gone either
    assert "no config root found" in log.read_text()


def test_reading_commands_without_archive_say_so(home, cli):
    result = cli("snapshots", code=1)
    assert "no archive" in result.stderr and "archive ingest" in result.stderr


@pytest.mark.parametrize("command", ["snapshots", "sessions", "search"])
def test_reading_commands_before_the_first_ingest_commits_say_so(home, cli, command):
    """The first ingest has created catalog.sqlite but not yet its schema."""
    home.archive.mkdir(mode=0o700)
    (home.archive / "catalog.sqlite").touch()
    args = [command, "anything"] if command == "search" else [command]
    result = cli(*args, code=1)
    assert result.stderr.startswith("error: no archive at "), result.stderr
    assert "archive ingest" in result.stderr and "Traceback" not in result.stderr


def test_everything_captured_by_kind(home, cli):
    cli.json("ingest")
    con = sqlite3.connect(home.archive / "catalog.sqlite")
    kinds = dict(con.execute("SELECT kind, COUNT(*) FROM files GROUP BY kind").fetchall())
    con.close()
    assert kinds["session"] == 17
    assert kinds["subagent"] == 5  # 3 new-layout + legacy agent-3430b97e + ef958aa1's
    assert kinds["sidecar"] == 1  # the .meta.json
    assert len(stored_files(home.archive)) > 0


def test_ingest_warns_about_files_claude_code_is_about_to_delete(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    old = __import__("time").time() - 27 * 86400  # default cleanupPeriodDays is 30
    os.utime(path, (old, old))
    result = cli("ingest")
    assert "1 file that Claude Code deletes within 7 days was not archived yet" in result.stderr
    assert "deletes within" not in cli("ingest").stderr  # archived now: nothing to warn about


def test_no_at_risk_warning_for_old_files_already_archived(home, cli):
    """Files only touched since their last ingest (same bytes): no new version, nothing was at
    risk of being lost, so ingest does not warn about them; a changed one still counts."""
    cli("ingest")
    old = __import__("time").time() - 25 * 86400  # default cleanupPeriodDays is 30
    paths = sorted((home.root("work") / "projects").rglob("*.jsonl"))[:3]
    for path in paths:
        os.utime(path, (old, old))
    result = cli("ingest", "--json")
    assert orjson.loads(result.stdout)["versions_added"] == 0
    assert "deletes within" not in result.stderr, result.stderr
    with open(paths[0], "a") as fh:
        fh.write("\n")
    os.utime(paths[0], (old, old))
    result = cli("ingest")
    assert "1 file that Claude Code deletes within 7 days was not archived yet" in result.stderr
