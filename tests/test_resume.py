"""`archive resume` without a terminal, and the library under it: which session, the freshness
capture, restore when the target lacks the session, and the command for each kind of root
(checked through the exec test seam)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from conftest import SHORT_ID
from test_search_cli import make_session

from archive.lock import ArchiveLock
from archive.paths import project_folder
from archive.resume import EXEC_LOG_ENV, launch, plan_resume
from archive.roots import discover_roots, find_root

PROJECT = "-home-marco-projects-spotter"


def _roots(*extra):
    return discover_roots(list(extra))


def _exec_log(tmp_path, plan) -> dict:
    log = tmp_path / "exec.json"
    launch(plan.launch, {**os.environ, EXEC_LOG_ENV: str(log)})
    return orjson.loads(log.read_bytes())


def _grown_session(home, tmp_path, profile="work", turns=2):
    """A session in ``profile`` whose cwd exists here, ingested, then grown by one turn."""
    sid = str(uuid.uuid4())
    cwd = tmp_path / "proj"
    cwd.mkdir(exist_ok=True)
    path = home.session_file(profile, project_folder(str(cwd)), sid)  # as Claude Code names it
    make_session(path, sid, str(cwd), "main", "claude-opus-4-5",
                 [(f"question {n}", f"answer {n}") for n in range(1, turns + 1)], day=20)
    return sid, path, cwd


def _grow(path: Path, sid: str, cwd: Path, turns: int) -> None:
    """Rewrite ``path`` as itself plus one more turn (an append: the old bytes stay a prefix)."""
    old = path.read_bytes()
    tmp = path.with_suffix(".tmp")
    make_session(tmp, sid, str(cwd), "main", "claude-opus-4-5",
                 [(f"question {n}", f"answer {n}") for n in range(1, turns + 2)], day=20)
    new = tmp.read_bytes()
    tmp.unlink()
    # make_session draws fresh uuids: keep the old lines, append the new last turn's lines.
    tail = b"".join(new.splitlines(keepends=True)[len(old.splitlines()):])
    with open(path, "ab") as fh:
        fh.write(tail)


# -- the command for each kind of root ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["default", "extra-root", "ccs"])
def test_each_root_kind_gets_its_command_and_the_restored_file_is_byte_exact(
    home, cli, tmp_path, kind
):
    """The session lives in `work` only; resuming it elsewhere restores it byte-exact and
    execs the command that root needs: plain `claude`, `CLAUDE_CONFIG_DIR=… claude`, `ccs`."""
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    extra = tmp_path / "old-laptop" / ".claude"
    (extra / "projects").mkdir(parents=True)
    cli("ingest", "--root", f"old={extra}")
    roots = _roots(("old", str(extra)))
    to = {"default": "default", "extra-root": "old", "ccs": "personal"}[kind]
    plan = plan_resume(home.archive, roots, sid[:8], to=to)
    target = find_root(roots, to).path / "projects" / source.parent.name / f"{sid}.jsonl"
    assert plan.restored and plan.restored_path == target
    assert target.read_bytes() == source.read_bytes()
    got = _exec_log(tmp_path, plan)
    expected = {
        "default": (["claude", "--resume", sid], {}),
        "extra-root": (["claude", "--resume", sid], {"CLAUDE_CONFIG_DIR": str(extra)}),
        "ccs": (["ccs", "personal", "--resume", sid], {}),
    }[kind]
    assert (got["argv"], got["env"], got["cwd"]) == (*expected, str(cwd))
    # The printed line says the same as what is exec'd, and as restore prints it.
    from archive.restore import resume_command

    assert plan.launch.shell_line() == resume_command(find_root(roots, to), str(cwd), sid)
    words = shlex.split(plan.launch.shell_line())
    assert words[:3] == ["cd", str(cwd), "&&"] and words[-2:] == ["--resume", sid]


def test_a_profile_that_holds_the_session_is_not_written(home, cli, tmp_path):
    cli("ingest")
    before = sorted(p for p in home.path.rglob("*") if p.is_file())
    plan = plan_resume(home.archive, _roots(), SHORT_ID)
    assert not plan.restored and plan.profile == "default"
    assert plan.restored_path == home.session_file("default", PROJECT, SHORT_ID)
    assert sorted(p for p in home.path.rglob("*") if p.is_file()) == before
    got = _exec_log(tmp_path, plan)
    assert got == {"argv": ["claude", "--resume", SHORT_ID], "env": {},
                   "cwd": "/home/marco/projects/spotter"}


def test_project_option_runs_it_elsewhere_with_its_cwd_rewritten(home, cli, tmp_path):
    cli("ingest")
    where = tmp_path / "checkout"
    where.mkdir()
    plan = plan_resume(home.archive, _roots(), SHORT_ID, to="work", project=str(where))
    assert plan.project == str(where) and plan.project_exists
    lines = plan.restored_path.read_bytes().splitlines()
    cwds = {orjson.loads(line).get("cwd") for line in lines} - {None}
    assert cwds == {str(where)}
    assert _exec_log(tmp_path, plan)["cwd"] == str(where)


# -- the CLI without a terminal ----------------------------------------------------------------


def test_without_a_terminal_it_restores_if_needed_and_prints_the_command(home, cli):
    cli("ingest")
    target = home.session_file("work", PROJECT, SHORT_ID)
    first = cli("resume", SHORT_ID[:6], "--to", "work")
    line = f"cd /home/marco/projects/spotter && ccs work --resume {SHORT_ID}"
    assert first.stdout.strip() == line
    assert "restored it into profile work" in first.stderr
    assert target.read_bytes() == home.session_file("default", PROJECT, SHORT_ID).read_bytes()
    mtime = target.stat().st_mtime_ns
    again = cli("resume", SHORT_ID[:6], "--to", "work")
    assert again.stdout.strip() == line
    assert "restored" not in again.stderr
    assert target.stat().st_mtime_ns == mtime


def test_printing_the_command_names_the_copy_and_a_missing_folder(home, cli):
    """`resume --print` of a session two profiles hold says which copy it resumes and how to
    pick the other, and that the folder the command cds into does not exist here."""
    cli("ingest")
    cli("resume", SHORT_ID, "--to", "work")  # now held by default and work
    out = cli("resume", SHORT_ID, "--print")
    assert out.stdout.strip().endswith(f"--resume {SHORT_ID}")
    assert "copies also in" in out.stderr and "(pick one with --from)" in out.stderr
    assert "/home/marco/projects/spotter does not exist here" in out.stderr
    chosen = cli("resume", SHORT_ID, "--print", "--from", "default")
    assert "copies also in" not in chosen.stderr


def test_fork_from_a_turn_writes_a_new_id_with_that_prefix(home, cli, tmp_path):
    sid, source, cwd = _grown_session(home, tmp_path, "work", turns=3)
    cli("ingest")
    out = cli("resume", sid, "--to", "personal", "--turns", "2").stdout.strip()
    new = out.rsplit(" ", 1)[1]
    assert new != sid and out == f"cd {cwd} && ccs personal --resume {new}"
    forked = home.root("personal") / "projects"
    files = list(forked.rglob(f"{new}.jsonl"))
    assert len(files) == 1
    lines = [orjson.loads(x) for x in files[0].read_bytes().splitlines()]
    prompts = [x["message"]["content"] for x in lines
               if x["type"] == "user" and isinstance(x["message"]["content"], str)]
    assert prompts == ["question 1", "question 2"]
    assert {x["sessionId"] for x in lines} == {new}


@pytest.mark.parametrize(
    "args, code",
    [
        (["no-such-session", "--to", "work"], 2),
        ([SHORT_ID, "--to", "nobody"], 2),
        ([], 2),
        (["--last", SHORT_ID], 2),
    ],
    ids=["unknown-session", "unknown-profile", "nothing-given", "last-and-session"],
)
def test_bad_input_exits_like_restore(home, cli, args, code):
    cli("ingest")
    result = cli("resume", *args, code=code)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not list(home.root("work").rglob(f"{SHORT_ID}.jsonl"))


# -- --last and the freshness rule -------------------------------------------------------------


def test_last_resumes_the_grown_session_in_the_other_profile_with_its_newest_bytes(
    home, cli, tmp_path
):
    """Switching accounts mid-work: the session grew after last night's ingest; `--last --to
    personal` captures it as it is now and restores exactly those bytes, no `ingest` run."""
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    cli("ingest")
    snapshots = len(cli.json("snapshots"))
    _grow(source, sid, cwd, turns=2)
    result = cli("resume", "--last", "--to", "personal")
    assert result.stdout.strip() == f"cd {cwd} && ccs personal --resume {sid}"
    restored = list((home.root("personal") / "projects").rglob(f"{sid}.jsonl"))
    assert len(restored) == 1
    assert restored[0].read_bytes() == source.read_bytes()  # the newest bytes, exactly
    assert b"question 3" in restored[0].read_bytes()
    versions = cli.json("versions", sid, "--from", "work")
    assert len(versions) == 2 and versions[-1]["size"] == source.stat().st_size
    assert len(cli.json("snapshots")) == snapshots + 1  # one small capture, nothing else


def test_last_from_a_profile_takes_that_profiles_newest(home, cli, tmp_path):
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    cli("ingest")
    other = home.session_file("personal", "-workspace",
                              "c45af7b1-cb7c-4e51-93db-8cbb250a877a")
    os.utime(other)  # personal now holds the newest file of all
    out = cli("resume", "--last").stdout  # resumed where it is: nothing written
    assert out.strip().endswith("ccs personal --resume c45af7b1-cb7c-4e51-93db-8cbb250a877a")
    out = cli("resume", "--last", "--from", "work", "--to", "personal").stdout
    assert out.strip().endswith(f"ccs personal --resume {sid}")


def test_switching_back_replaces_the_older_copy_after_archiving_it(home, cli, tmp_path):
    """work -> personal -> work: the session went on in personal; going back to work must
    resume those newest bytes, not work's older copy, which stays archived."""
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    cli("ingest")
    cli("resume", sid, "--to", "personal")
    moved = next((home.root("personal") / "projects").rglob(f"{sid}.jsonl"))
    old_work = source.read_bytes()
    _grow(moved, sid, cwd, turns=2)  # work went on in personal
    result = cli("resume", "--last", "--to", "work")
    assert result.stdout.strip() == f"cd {cwd} && ccs work --resume {sid}"
    assert "held an older state" in result.stderr
    assert source.read_bytes() == moved.read_bytes() and b"question 3" in source.read_bytes()
    versions = cli.json("versions", sid, "--from", "work")
    assert [v["size"] for v in versions][0] == len(old_work)  # the old copy is still archived


def test_copies_that_both_grew_are_not_replaced(home, cli, tmp_path):
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    cli("ingest")
    cli("resume", sid, "--to", "personal")
    moved = next((home.root("personal") / "projects").rglob(f"{sid}.jsonl"))
    _grow(moved, sid, cwd, turns=2)
    _grow(source, sid, cwd, turns=2)  # both went on: diverged
    before = source.read_bytes()
    result = cli("resume", sid, "--to", "work")
    assert "restored" not in result.stderr and "replaced" not in result.stderr
    assert source.read_bytes() == before


def test_an_unchanged_session_is_not_captured_again(home, cli):
    cli("ingest")
    snapshots = len(cli.json("snapshots"))
    cli("resume", SHORT_ID, "--to", "work")
    assert len(cli.json("snapshots")) == snapshots


def test_the_capture_takes_the_writer_lock(home, cli, tmp_path):
    sid, source, cwd = _grown_session(home, tmp_path, "work")
    cli("ingest")
    _grow(source, sid, cwd, turns=2)
    with ArchiveLock(home.archive, purpose="ingest"):
        result = cli("resume", sid, "--to", "personal", code=75)
    assert "another archive process is writing" in result.stderr
    assert not list((home.root("personal") / "projects").rglob(f"{sid}.jsonl"))
    cli("resume", sid, "--to", "personal", "--wait", "5")
    restored = list((home.root("personal") / "projects").rglob(f"{sid}.jsonl"))
    assert restored[0].read_bytes() == source.read_bytes()


def test_a_session_no_ingest_saw_yet_is_captured_then_resumed(home, cli, tmp_path):
    cli("ingest")
    sid, source, cwd = _grown_session(home, tmp_path, "work")  # written after the ingest
    out = cli("resume", sid, "--to", "default").stdout.strip()
    assert out == f"cd {cwd} && claude --resume {sid}"
    restored = list((home.root("default") / "projects").rglob(f"{sid}.jsonl"))
    assert restored[0].read_bytes() == source.read_bytes()


# -- imports -----------------------------------------------------------------------------------


def test_only_resume_loads_textual_and_the_library_never_loads_the_ui(tmp_path):
    code = (
        "import sys\n"
        "import archive.resume, archive.tui.source\n"
        "bad = [m for m in ('typer', 'rich', 'textual') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from archive.cli import main\n"
        "sys.argv = ['archive', 'sessions', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'textual' not in sys.modules\n"
    )
    env = {**os.environ, "SESSION_ARCHIVE_DIR": str(tmp_path / "none"), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
