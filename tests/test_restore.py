"""`archive restore`: the real CLI against the temporary HOME of conftest, plus the byte-level
helpers it relies on (project-folder encoding, targeted JSON rewrites, safe joins)."""

from __future__ import annotations

import os
import re
import shlex
import time
import uuid
from pathlib import Path

import orjson
import pytest
from conftest import BIG_ID, FASTHOOKS_ID, SHORT_ID

from archive.ingest import ingest
from archive.lock import ArchiveLock
from archive.paths import (
    UnsafePath,
    djb2_js,
    encode_project_path,
    project_folder,
    project_folder_candidates,
    safe_join,
    wyhash,
)
from archive.restore import rewrite_line
from archive.roots import discover_roots
from archive.transcript import parse_bytes

WORK_ID = "29ccd257-68b1-427f-ae5f-6524b7cb6f20"  # work, cwd /src/experiments/claude_p
WORKTREE_ID = "ef958aa1-0e93-49f0-bb71-150f63befcd1"  # work, with a .meta.json sidecar
SOUND_ID = "7acd37a8-2745-4b58-a8a9-46164b22ad9e"  # default, 5 turns
NO_CWD_ID = "a95fea4a-b88a-4e49-ac07-4cc323d8700c"  # personal, no line has a cwd
SHORT_PROJECT = "-home-marco-projects-spotter"


def ingest_all(home) -> None:
    # The CLI's `archive ingest` indexes too, and the index is being reworked: the library call
    # without the index stores the same versions.
    result = ingest(home.archive, discover_roots(), index=False, durable=False)
    assert result.errors == []


@pytest.fixture
def archived(home):
    ingest_all(home)
    return home


def encoded(path: str) -> str:
    """Claude Code's folder name, computed here independently of archive.paths."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def first_cwd(data: bytes) -> str:
    for line in data.splitlines():
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("cwd"), str):
            return obj["cwd"]
    raise AssertionError("no cwd")


def source(home, profile: str, session_id: str) -> Path:
    found = list((home.root(profile) / "projects").glob(f"*/{session_id}.jsonl"))
    assert len(found) == 1, found
    return found[0]


def tree(base: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``base`` (symlinks not followed), with size and mtime for files.
    SQLite's -wal/-shm beside the catalog are left out: any reader of the archive makes them."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            if name in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
                continue
            p = Path(dirpath) / name
            st = os.lstat(p)
            is_dir = os.path.isdir(p) and not os.path.islink(p)
            out[str(p.relative_to(base))] = None if is_dir else (st.st_size, st.st_mtime_ns)
    return out


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# -- where it goes, byte for byte ----------------------------------------------------------------


def test_ccs_to_ccs_is_byte_exact_under_the_cwd_folder_with_sidecars(archived, cli):
    home = archived
    src = source(home, "work", WORK_ID)
    original = src.read_bytes()
    folder = encoded(first_cwd(original))
    assert folder == "-src-experiments-claude-p"
    before = time.time()

    result = cli("restore", WORK_ID[:8], "--to", "personal")

    dest = home.root("personal") / "projects" / folder / f"{WORK_ID}.jsonl"
    assert dest.read_bytes() == original
    agent = Path(WORK_ID) / "subagents" / "agent-a2271d1.jsonl"
    assert (dest.parent / agent).read_bytes() == (src.parent / agent).read_bytes()
    for path in (dest, dest.parent / agent):
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert os.stat(path).st_mtime >= before - 1  # now, not the source's old mtime
    for folder_path in (dest.parent, dest.parent / WORK_ID, dest.parent / WORK_ID / "subagents"):
        assert os.stat(folder_path).st_mode & 0o777 == 0o700
    assert "from profile work" in result.stdout
    assert f"cd /src/experiments/claude_p && ccs personal --resume {WORK_ID}" in result.stdout
    assert not list(dest.parent.rglob("*.restoring"))


def test_every_sidecar_kind_comes_along_and_a_dash_project_is_cd_safe(archived, cli):
    home = archived
    src = source(home, "work", WORKTREE_ID)
    data = cli.json("restore", WORKTREE_ID, "--to", "default")
    dest_dir = home.root("default") / "projects" / encoded(first_cwd(src.read_bytes()))
    expected = sorted(p.relative_to(src.parent) for p in (src.parent / WORKTREE_ID).rglob("*")
                      if p.is_file())
    assert any(p.name.endswith(".meta.json") for p in expected)
    got = sorted(Path(f["path"]).relative_to(dest_dir) for f in data["files"][1:])
    assert got == expected
    for rel in expected:
        assert (dest_dir / rel).read_bytes() == (src.parent / rel).read_bytes()
    # The sanitised fixture's cwd starts with '-': `cd` must not read it as an option.
    assert data["resume_command"] == (
        f"cd -- -experiments/worktrees && claude --resume {WORKTREE_ID}"
    )


def test_without_from_the_newest_copy_is_used_and_named(archived, cli):
    home = archived
    cli("restore", WORK_ID, "--to", "personal")
    ingest_all(home)  # now work and personal both hold it; personal's copy is newer
    result = cli("restore", WORK_ID, "--to", "default", "--dry-run", "--json")
    assert orjson.loads(result.stdout)["source_profile"] == "personal"
    assert "copies also in work" in result.stderr
    data = cli.json("restore", WORK_ID, "--to", "default", "--dry-run", "--from", "work")
    assert data["source_profile"] == "work"


def test_no_cwd_falls_back_to_the_source_folder(archived, cli):
    result = cli("restore", NO_CWD_ID, "--to", "work")
    src = source(archived, "personal", NO_CWD_ID)
    dest = archived.root("work") / "projects" / src.parent.name / src.name
    assert dest.read_bytes() == src.read_bytes()
    assert "no cwd" in result.stderr
    assert f"ccs work --resume {NO_CWD_ID}" in result.stdout


# -- which version ----------------------------------------------------------------------------


def test_version_and_at_pick_past_bytes_and_matching_sidecars(home, cli):
    src = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    side = src.parent / SHORT_ID / "tool-results"
    side.mkdir(parents=True)
    (side / "old.txt").write_bytes(b"first output\n")
    original = src.read_bytes()
    ingest_all(home)
    time.sleep(0.01)
    appended = original + b'{"type":"user","message":{"role":"user","content":"more"}}\n'
    src.write_bytes(appended)
    (side / "old.txt").write_bytes(b"first output, edited\n")
    (side / "new.txt").write_bytes(b"born in snapshot 2\n")
    ingest_all(home)
    rows = cli.json("versions", SHORT_ID)
    assert [r["version"] for r in rows] == [1, 2]

    cli("restore", SHORT_ID, "--version", "1", "--to", "work")
    dest = home.root("work") / "projects" / SHORT_PROJECT / f"{SHORT_ID}.jsonl"
    assert dest.read_bytes() == original
    dest_side = dest.parent / SHORT_ID / "tool-results"
    assert (dest_side / "old.txt").read_bytes() == b"first output\n"
    assert not (dest_side / "new.txt").exists()  # did not exist at version 1's snapshot

    v1, v2 = rows[0]["captured_at"], rows[1]["captured_at"]
    assert cli.json("restore", SHORT_ID, "--at", v1, "--to", "personal", "--dry-run")[
        "version"] == 1
    assert cli.json("restore", SHORT_ID, "--at", v2, "--to", "personal", "--dry-run")[
        "version"] == 2
    cli("restore", SHORT_ID, "--at", v1, "--to", "personal")
    dest = home.root("personal") / "projects" / SHORT_PROJECT / f"{SHORT_ID}.jsonl"
    assert dest.read_bytes() == original

    # work holds the id already (restored above): --force moves it (issue 19: once per root)
    newest = cli.json("restore", SHORT_ID, "--to", "work", "--project", "/elsewhere", "--force")
    assert newest["version"] == 2
    new_side = Path(newest["path"]).parent / SHORT_ID / "tool-results"
    assert (new_side / "old.txt").read_bytes() == b"first output, edited\n"
    assert (new_side / "new.txt").exists()

    result = cli("restore", SHORT_ID, "--at", "2000-01-01", "--to", "work", code=2)
    assert "no version captured at or before" in one_error_line(result)
    result = cli("restore", SHORT_ID, "--version", "9", "--to", "work", code=2)
    assert "no version 9" in one_error_line(result)


# -- rewrites ---------------------------------------------------------------------------------


def test_turns_with_new_id_is_a_valid_prefix_fork(archived, cli):
    src = source(archived, "default", SOUND_ID)
    original = src.read_bytes()
    whole = parse_bytes(original)
    assert len(whole.turns) == 5

    data = cli.json("restore", SOUND_ID, "--turns", "2", "--new-id", "--to", "personal")
    new_id = data["session_id"]
    assert new_id != SOUND_ID and str(uuid.UUID(new_id)) == new_id
    dest = Path(data["path"])
    assert dest.name == f"{new_id}.jsonl"
    restored = dest.read_bytes()
    lines = restored.splitlines()
    carrying = 0
    for line in lines:
        obj = orjson.loads(line)  # every line is valid JSON
        if "sessionId" in obj:
            assert obj["sessionId"] == new_id
            carrying += 1
    assert carrying > 0
    fork = parse_bytes(restored)
    assert [t.prompt for t in fork.turns] == [t.prompt for t in whole.turns[:2]]
    prefix = original[: whole.turns[1].end_offset]
    last = prefix.splitlines()[-1].replace(SOUND_ID.encode(), new_id.encode())
    assert lines[-1] == last  # ends with turn 2's last line
    assert len(lines) == len(prefix.splitlines())


def test_turns_keeps_the_id_only_where_the_target_lacks_it(archived, cli):
    same = cli.json("restore", SOUND_ID, "--turns", "1", "--to", "work")
    assert same["session_id"] == SOUND_ID
    result = cli("restore", SOUND_ID, "--turns", "1", "--to", "default", "--json")
    forked = orjson.loads(result.stdout)
    assert forked["session_id"] != SOUND_ID  # default already holds SOUND_ID
    assert "implies --new-id" in result.stderr
    assert source(archived, "default", SOUND_ID).exists()


def test_project_rewrites_only_cwd(archived, cli):
    src = source(archived, "personal", FASTHOOKS_ID)
    old_bytes = src.read_bytes()
    # The id is in personal already: --force moves it to the new place (once per root).
    data = cli.json("restore", FASTHOOKS_ID, "--to", "personal", "--project", "/new/place",
                    "--force")
    assert not src.exists()
    dest = Path(data["path"])
    assert dest == archived.root("personal") / "projects" / "-new-place" / f"{FASTHOOKS_ID}.jsonl"
    assert data["resume_command"] == f"cd /new/place && ccs personal --resume {FASTHOOKS_ID}"
    old_lines = old_bytes.splitlines()
    new_lines = dest.read_bytes().splitlines()
    assert len(old_lines) == len(new_lines)
    changed = 0
    for old, new in zip(old_lines, new_lines, strict=True):
        try:
            before = orjson.loads(old)
        except orjson.JSONDecodeError:
            assert new == old
            continue
        after = orjson.loads(new)
        if isinstance(before, dict) and "cwd" in before:
            assert after.pop("cwd") == "/new/place"
            before.pop("cwd")
            changed += 1
            # Byte level: the value was swapped in place, nothing re-serialised.
            cwd = orjson.dumps(orjson.loads(old)["cwd"])
            assert new == old.replace(b'"cwd":' + cwd, b'"cwd":"/new/place"')
        else:
            assert new == old
        assert after == before
    assert changed > 0


def test_project_moves_subfolder_cwds_along_and_rewrites_sidecar_transcripts(archived, cli):
    data = cli.json("restore", WORKTREE_ID, "--to", "personal", "--project", "/new/wt")
    cwds = {orjson.loads(line).get("cwd") for line in Path(data["path"]).read_bytes().splitlines()}
    assert cwds - {None} == {"/new/wt", "/new/wt/.claude/worktrees/agent-ab1e6e14"}
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    agent = by_name["agent-a4ca7529859c158c2.jsonl"]
    assert agent["rewritten_lines"]["cwd"] > 0
    meta = by_name["agent-a4ca7529859c158c2.meta.json"]
    assert meta["rewritten_lines"] == {}
    src = source(archived, "work", WORKTREE_ID).parent / WORKTREE_ID / "subagents"
    original_meta = (src / "agent-a4ca7529859c158c2.meta.json").read_bytes()
    assert Path(meta["path"]).read_bytes() == original_meta


# -- never overwrite without archiving first ---------------------------------------------------


def test_existing_target_is_refused_then_force_archives_it_first(archived, cli):
    home = archived
    target = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = target.read_bytes()
    target.write_bytes(original + b'{"type":"user","note":"local change"}\n')
    changed = target.read_bytes()
    stamp = os.stat(target).st_mtime_ns

    result = cli("restore", SHORT_ID, "--to", "default", code=3)
    assert str(target) in one_error_line(result)
    assert target.read_bytes() == changed and os.stat(target).st_mtime_ns == stamp

    result = cli("restore", SHORT_ID, "--to", "default", "--force")
    assert target.read_bytes() == original
    rows = cli.json("versions", SHORT_ID, "--from", "default")
    assert len(rows) == 2
    old = cli("cat", SHORT_ID, "--from", "default", "--version", str(rows[-1]["version"]))
    assert old.stdout_bytes == changed
    assert "archived first" in result.stdout


def test_force_waits_for_the_archive_lock(archived, cli):
    target = archived.session_file("default", SHORT_PROJECT, SHORT_ID)
    before = target.read_bytes()
    target.write_bytes(before + b"{}\n")
    with ArchiveLock(archived.archive, purpose="test"):
        result = cli("restore", SHORT_ID, "--to", "default", "--force", code=75)
    assert "another archive process" in one_error_line(result)
    assert target.read_bytes() == before + b"{}\n"


def test_a_failed_write_leaves_nothing_behind(archived, cli, monkeypatch):
    personal = archived.root("personal")
    snap = tree(personal)
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the sidecar's temp file: the transcript's is already written
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", failing_fsync)
        result = cli("restore", WORK_ID, "--to", "personal", code=1)
    assert "nothing was restored" in one_error_line(result)
    assert len(calls) == 2
    assert tree(personal) == snap


# -- never outside the root ---------------------------------------------------------------------

OUTSIDE = "outside"

TRAVERSALS = [
    # (id, --to, session id, --project, symlink to plant, stderr must contain)
    ("to-dotdot", "..", SHORT_ID, None, None, "invalid profile name"),
    ("to-up-etc", "../../etc", SHORT_ID, None, None, "invalid profile name"),
    ("to-nul", "work\x00", SHORT_ID, None, None, "invalid profile name"),
    ("to-abs-dotdot", "/abs/../../x", SHORT_ID, None, None, "invalid profile name"),
    ("id-dotdot", "work", "..", None, None, "invalid session id"),
    ("id-up-etc", "work", "../../etc/passwd", None, None, "invalid session id"),
    ("id-nul", "work", "55604662\x00x", None, None, "invalid session id"),
    ("id-abs-dotdot", "work", "/abs/../../x", None, None, "invalid session id"),
    ("project-dotdot", "work", SHORT_ID, "..", None, "must be an absolute path"),
    ("project-up-etc", "work", SHORT_ID, "../../etc", None, "must be an absolute path"),
    ("project-nul", "work", SHORT_ID, "/tmp/a\x00b", None, "NUL"),
    ("project-abs-dotdot", "work", SHORT_ID, "/abs/../../x", None, "'..'"),
    ("symlink-project-folder", "work", SHORT_ID, None, f"projects/{SHORT_PROJECT}", "symlink"),
    ("symlink-session-folder", "work", BIG_ID, None,
     f"projects/-home-USER-projects-spotter-worktrees-spotter-4te/{BIG_ID}", "symlink"),
    ("symlink-projects-outside-ccs", "work", SHORT_ID, None, "projects", "symlink"),
]


@pytest.mark.parametrize(
    ("to", "session", "project", "link", "message"),
    [case[1:] for case in TRAVERSALS],
    ids=[case[0] for case in TRAVERSALS],
)
def test_nothing_is_written_outside_the_root(archived, cli, tmp_path, to, session, project,
                                             link, message):
    outside = tmp_path / OUTSIDE
    outside.mkdir()
    if link:
        planted = archived.root(to) / link
        if planted.exists():
            # move the real folder away so the link is what the restore meets
            planted.rename(planted.with_name(planted.name + ".moved"))
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.symlink_to(outside, target_is_directory=True)
    snap = tree(tmp_path)
    args = ["restore", session, "--to", to]
    if project is not None:
        args += ["--project", project]
    result = cli(*args, code=2)
    assert message in one_error_line(result)
    assert tree(tmp_path) == snap
    assert list(outside.iterdir()) == []


def test_projects_may_be_a_ccs_shared_link(archived, cli):
    """CCS context_mode shared: instances/<n>/projects -> ~/.ccs/shared/context-groups/…"""
    home = archived
    shared = home.path / ".ccs" / "shared" / "context-groups" / "team" / "projects"
    projects = home.root("work") / "projects"
    shared.parent.mkdir(parents=True)
    projects.rename(shared)
    projects.symlink_to(shared, target_is_directory=True)
    data = cli.json("restore", SHORT_ID, "--to", "work")
    assert (shared / SHORT_PROJECT / f"{SHORT_ID}.jsonl").read_bytes() == (
        home.session_file("default", SHORT_PROJECT, SHORT_ID).read_bytes()
    )
    assert data["path"].startswith(str(projects))


# -- plan, JSON, resume commands, bad input ----------------------------------------------------


def test_dry_run_writes_nothing_and_prints_the_plan(archived, cli, tmp_path):
    snap = tree(tmp_path)
    result = cli("restore", WORK_ID, "--to", "personal", "--dry-run", "--new-id",
                 "--project", "/p/q")
    assert tree(tmp_path) == snap
    out = result.stdout
    assert "Would restore" in out and "Nothing written" in out
    assert "/projects/-p-q/" in out and "subagents/agent-a2271d1.jsonl" in out
    assert "rewrite: cwd -> /p/q" in out and "rewrite: sessionId -> " in out


def test_a_missing_project_folder_comes_with_a_restore_command_that_works(archived, cli,
                                                                          tmp_path):
    """The note about a project folder missing here gives the whole command that puts the
    session elsewhere, on its own line; pasted with PATH filled in, it succeeds (--force, since
    the session is now in the target profile). A dry run says how it *would* be resumed."""
    assert not Path("/src/experiments/claude_p").exists()
    dry = cli("restore", WORK_ID, "--to", "personal", "--dry-run").stdout
    assert "It would be resumed with:" in dry and "Resume it with:" not in dry
    assert f"  archive restore {WORK_ID} --to personal --project PATH" in dry.splitlines()

    out = cli("restore", WORK_ID, "--to", "personal").stdout
    assert "Resume it with:" in out
    assert "note: the folder /src/experiments/claude_p does not exist here" in out
    again = f"  archive restore {WORK_ID} --to personal --project PATH --force"
    assert again in out.splitlines()
    target = tmp_path / "elsewhere"
    target.mkdir()
    args = shlex.split(again.replace("PATH", str(target)))[1:]
    result = cli(*args)
    assert str(target) in result.stdout
    assert len(list((archived.root("personal") / "projects").glob(f"*/{WORK_ID}.jsonl"))) == 1


def test_json_keys(archived, cli):
    data = cli.json("restore", WORK_ID, "--to", "personal", "--dry-run")
    assert set(data) == {
        "session_id", "profile", "path", "files", "resume_command", "source_profile",
        "version", "set_aside_at", "dry_run", "notes", "moved_from",
    }
    assert data["dry_run"] is True and data["profile"] == "personal"
    assert data["source_profile"] == "work" and data["version"] == 1
    assert data["set_aside_at"] is None  # a version of the transcript's own
    assert data["files"][0]["path"] == data["path"]
    assert data["files"][0]["size"] == source(archived, "work", WORK_ID).stat().st_size
    assert not Path(data["path"]).exists()


def test_resume_command_names_the_config_dir(archived, cli, monkeypatch, tmp_path):
    def command(*extra):
        return cli.json("restore", SOUND_ID, "--dry-run", "--turns", "1", *extra)[
            "resume_command"]

    cd = "cd /Users/dain/workspace/JSSoundRecorder && "
    assert command("--to", "default").startswith(cd + "claude --resume ")
    assert command("--to", "work") == f"{cd}ccs work --resume {SOUND_ID}"
    extra = tmp_path / "old laptop" / ".claude"
    extra.mkdir(parents=True)
    assert command("--to", "old", "--root", f"old={extra}") == (
        f"{cd}CLAUDE_CONFIG_DIR={shlex.quote(str(extra))} claude --resume {SOUND_ID}"
    )
    alt = tmp_path / "alt-config"
    alt.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(alt))
    assert command("--to", "default") == (
        f"{cd}CLAUDE_CONFIG_DIR={alt} claude --resume {SOUND_ID}"
    )


def test_unknown_session_and_unknown_profile_are_usage_errors(archived, cli):
    result = cli("restore", "ffffffff", "--to", "work", code=2)
    assert "no session matches" in one_error_line(result)
    result = cli("restore", SHORT_ID, "--to", "nobody", code=2)
    assert "unknown profile 'nobody'" in one_error_line(result)
    result = cli("restore", SHORT_ID, "--to", "work", "--from", "nobody", code=2)
    assert "no copy in profile 'nobody'" in one_error_line(result)
    result = cli("restore", SHORT_ID, "--to", "work", "--version", "1", "--at", "now", code=2)
    assert "not both" in one_error_line(result)


# -- the helpers --------------------------------------------------------------------------------


def test_wyhash_matches_the_published_vectors():
    vectors = [
        (0, 0x0409638EE2BDE459, b""),
        (1, 0xA8412D091B5FE0A9, b"a"),
        (2, 0x32DD92E4B2915153, b"abc"),
        (3, 0x8619124089A3A16B, b"message digest"),
        (4, 0x7A43AFB61D7F5F40, b"abcdefghijklmnopqrstuvwxyz"),
        (5, 0xFF42329B90E50D58,
         b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        (6, 0xC39CAB13B115AAD3, b"1234567890" * 8),
    ]
    for seed, expected, data in vectors:
        assert wyhash(data, seed) == expected
    assert wyhash(b"hello world") == 0x668D5E431C3B2573  # Bun's test: Bun.hash("hello world")


def test_long_project_paths_follow_claude_codes_rule(tmp_path):
    short = "/a/" + "b" * 197
    assert encode_project_path(short) == "-a-" + "b" * 197  # exactly 200: unchanged
    long = "/x" + "/verylongdirectoryname" * 12
    bun, node = project_folder_candidates(long)
    head = encoded(long)[:200]
    assert bun.startswith(head + "-") and node.startswith(head + "-")
    # Values from running Claude Code's sanitizePath under Node.js (djb2) for the Node form.
    assert node == head + "-552nyb"
    assert bun == head + "-33a2t9au8xtvd"
    assert djb2_js("hello") == 99162322
    assert encode_project_path(long) == bun
    assert project_folder(long, [node, "other"]) == node  # an existing folder wins
    assert project_folder(long, ["other"]) == bun
    # JS replaces per UTF-16 unit: an emoji is two dashes.
    assert encode_project_path("/a/\U0001F600b") == "-a---b"


def test_rewrite_line_touches_only_top_level_string_values():
    line = (b'{"parentUuid":null,"cwd":"/old","message":{"cwd":"/nested","content":"say '
            b'\\"cwd\\":\\"/x\\""},"sessionId":"s1", "n":[1,{"cwd":"/deep"}]}\n')
    new, keys = rewrite_line(line, {"cwd": lambda _: "/n\u00e9w", "sessionId": lambda _: "s2"})
    assert keys == ["cwd", "sessionId"]
    assert new == line.replace(b'"cwd":"/old"', '"cwd":"/n\u00e9w"'.encode()).replace(
        b'"sessionId":"s1"', b'"sessionId":"s2"')
    for untouched in (b"not json\n", b'{"cwd":"/cut', b'["cwd","x"]\n', b'{"cwd":null}\n',
                      b"\n"):
        assert rewrite_line(untouched, {"cwd": lambda _: "/n"}) == (untouched, [])
    spaced = b'{ "cwd" : "/old" , "a" : true }\r\n'
    assert rewrite_line(spaced, {"cwd": lambda _: "/n"})[0] == b'{ "cwd" : "/n" , "a" : true }\r\n'


def test_safe_join_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "projects").mkdir(parents=True)
    assert safe_join(root, "projects/a/b.jsonl") == root / "projects" / "a" / "b.jsonl"
    for bad in ("../x", "projects/../../x", "/etc/passwd", "projects//x", "projects/./x",
                "projects/a\x00b"):
        with pytest.raises(UnsafePath):
            safe_join(root, bad)
    (root / "projects" / "in").symlink_to(root / "projects")  # inside the root: fine
    assert safe_join(root, "projects/in/x.jsonl")
    (root / "projects" / "out").symlink_to(tmp_path)
    with pytest.raises(UnsafePath, match="symlink"):
        safe_join(root, "projects/out/x.jsonl")
