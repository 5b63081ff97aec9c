"""What people expect from gh, git and atuin, and messages that must not mislead (issue 16).

`--version`, the overview, plurals, `sessions --all`, the session argument's help, and the
cases of "Messages that mislead" as written in the issue, over the fixture archive.
"""

from __future__ import annotations

import re

import orjson
import pytest
from conftest import BIG_ID, SHORT_ID

from archive import __version__
from archive.render import last_run_text

LOST_ID = "9b1e0000-1111-4222-8333-444455556666"


@pytest.fixture
def archived(home, cli):
    """The fixture home ingested, with a second copy of SHORT_ID (in work) and a history.jsonl
    naming a session whose transcript was never archived."""
    history = [
        {"display": f"lost prompt number {n} about the quokka migration", "pastedContents": {},
         "timestamp": 1772000000000 + n * 60_000, "project": "/Users/dain/workspace/lostproj",
         "sessionId": LOST_ID}
        for n in (1, 2)
    ]
    (home.root("default") / "history.jsonl").write_bytes(
        b"".join(orjson.dumps(h) + b"\n" for h in history))
    cli("ingest", "--quiet")
    cli("restore", SHORT_ID, "--to", "work")
    cli("ingest", "--quiet")
    return home


# -- conventions -------------------------------------------------------------------------------


def test_version(cli):
    for flag in ("--version", "-V"):
        result = cli(flag)
        assert result.stdout.strip() == f"archive (session-archive) {__version__}"


def test_help_names_both_agents(cli):
    """Codex sessions are archived too: the overview and --help say so, not "Claude Code" only."""
    for args in ((), ("--help",)):
        head = " ".join(cli(*args).stdout.split("Commands:")[0].split())
        assert "Claude Code and Codex CLI sessions" in head, head


def test_overview_gives_whole_descriptions(cli, monkeypatch):
    from archive.cli import app

    monkeypatch.setenv("COLUMNS", "80")
    out = cli().stdout
    assert "..." not in out.split("Commands:")[1]
    flat = " ".join(out.split())
    for info in app.registered_commands:
        first = " ".join(info.callback.__doc__.strip().split("\n\n")[0].split())
        assert first in flat, first
    assert "Tab completion for bash, zsh and fish: commands, options, profiles, session ids " \
        "and names." in flat


@pytest.mark.parametrize("command", ["show", "versions", "cat", "export", "restore", "context",
                                     "diff"])
def test_session_argument_help(cli, command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert "id, unique prefix, or /rename name" in cli(command, "--help").stdout


def test_plurals(archived, cli):
    show = cli("show", SHORT_ID, "--from", "default").stdout
    assert re.search(r"\b1 turn,", show) and "1 turns" not in show
    diff = cli("diff", SHORT_ID).stdout
    assert "default: 1 turn," in diff and "1 turns" not in diff
    stats = cli("stats").stdout
    assert "1 session past 100,000 tokens" in stats, stats.splitlines()[0]
    restore = " ".join(cli("restore", BIG_ID, "--to", "work", "--turns", "1", "--new-id",
                           "--dry-run").stdout.split())
    assert "first 1 turn" in restore and "first 1 turns" not in restore
    run = {"finished": "2026-11-01T00:00:00Z", "status": "ok", "snapshot": 3, "files_seen": 1,
           "versions_added": 1, "bytes_stored": 10, "error_count": 1}
    line = last_run_text(run, "log")
    assert "1 file seen, 1 version added" in line and "1 error" in line, line
    verify = cli("verify").stdout
    assert not re.search(r"\b1 (objects|versions|manifests)\b", verify)
    assert "1 manifest" in verify or "manifests" in verify


def test_sessions_says_what_it_left_out(archived, cli):
    every = cli.json("sessions", "--all")
    assert len(every) > 3
    out = cli("sessions", "--limit", "2").stdout
    assert f"showing 2 of {len(every)} (--limit N, or --all)" in out
    assert "showing" not in cli("sessions", "--all").stdout


# -- messages that mislead ---------------------------------------------------------------------


def test_copies_note_only_without_from(archived, cli):
    for args in (["show", SHORT_ID], ["export", SHORT_ID, "--format", "md"],
                 ["versions", SHORT_ID]):
        assert "copies also in" in cli(*args).stderr
        assert "copies also in" not in cli(*args, "--from", "work").stderr


def test_context_counts_its_ways_on(archived, cli):
    report = cli.json("context", BIG_ID, "--threshold", "1000")
    assert "fork" not in report["commands"]  # past it from turn 1: no fork
    out = cli("context", BIG_ID, "--threshold", "1000").stdout
    assert "One way on:" in out and "Two ways" not in out


def test_root_named_like_a_profile_is_refused(archived, cli, tmp_path):
    before = cli.json("sessions", "--profile", "work", "--all")
    result = cli("ingest", "--root", f"work={tmp_path}", code=2)
    assert "work is already a profile" in result.stderr and "--root work-old=PATH" in result.stderr
    assert result.stderr.count("\n") == 1
    after = cli.json("sessions", "--profile", "work", "--all")
    assert [r["gone_from_source"] for r in after] == [r["gone_from_source"] for r in before]
    assert not any(r["gone_from_source"] for r in after)
    cli("roots", "--root", f"work={tmp_path}", code=2)


def test_restore_says_when_the_folder_is_not_here(archived, cli):
    out = cli("restore", BIG_ID, "--to", "work", "--dry-run").stdout
    project = "/home/USER/projects/spotter-worktrees/spotter-4te"  # the transcript's cwd
    assert f"cd {project} &&" in out
    assert f"the folder {project} does not exist here" in " ".join(out.split())
    assert "--project PATH" in out


@pytest.mark.parametrize("command", [["sessions"], ["search", "test"]])
def test_unknown_profile_is_refused(archived, cli, command):
    result = cli(*command, "--profile", "nosuch", code=2)
    assert "no profile 'nosuch'" in result.stderr
    assert "known: default, personal, work" in result.stderr


@pytest.mark.parametrize("command", [["sessions"], ["search", "test"]])
def test_since_after_until_is_refused(archived, cli, command):
    result = cli(*command, "--since", "2026-11-10", "--until", "2026-11-01", code=2)
    assert "later than --until" in result.stderr


def test_show_of_a_prompt_only_hit(archived, cli):
    hits = cli.json("search", "quokka")
    assert any(h["prompt_only"] and h["session_id"] == LOST_ID for h in hits)
    out = cli("show", LOST_ID[:4]).stdout
    assert "lost before archiving" in out
    assert "lost prompt number 1" in out and "lost prompt number 2" in out
    assert "/Users/dain/workspace/lostproj" in out
    data = cli.json("show", LOST_ID[:4])
    assert data["prompt_only"] and len(data["prompts"]) == 2
    cli("show", "ffffffff", code=2)  # neither archived nor in a history: still not found


def test_search_sessions_labels_the_main_session(archived, cli):
    # "bead" is in the main session's first prompt and in its compaction sub-agent.
    flat = cli.json("search", "bead", "--limit", "50")
    assert any(h["session_id"] == BIG_ID and not h["agent_id"] for h in flat)
    grouped = [h for h in cli.json("search", "bead", "--sessions") if h["session_id"] == BIG_ID]
    assert len(grouped) == 1 and grouped[0]["agent_id"] is None


# -- missing pieces ----------------------------------------------------------------------------


def test_show_tool_output(archived, cli):
    plain = cli("show", SHORT_ID, "--from", "default").stdout
    full = cli("show", SHORT_ID, "--from", "default", "--tool-output").stdout
    said = "The user doesn't want to proceed with this tool use"
    assert said not in plain and said in " ".join(full.split())
    data = cli.json("show", SHORT_ID, "--from", "default", "--tool-output")
    assert any(c.get("output") for t in data["turns"] for c in t["tool_calls"])


def _append_turn(path, prompt: str, answer: str) -> None:
    last = orjson.loads(path.read_bytes().splitlines()[-1])
    common = {"sessionId": SHORT_ID, "cwd": last.get("cwd"), "isSidechain": False,
              "userType": "external", "version": "2.1.39"}
    lines = [
        {**common, "type": "user", "uuid": f"u-{prompt}", "parentUuid": last.get("uuid"),
         "timestamp": "2026-11-20T10:00:00.000Z", "message": {"role": "user", "content": prompt}},
        {**common, "type": "assistant", "uuid": f"a-{prompt}", "parentUuid": f"u-{prompt}",
         "timestamp": "2026-11-20T10:01:00.000Z", "requestId": f"r-{prompt}",
         "message": {"id": f"m-{prompt}", "role": "assistant", "model": "claude-opus-4-1",
                     "content": [{"type": "text", "text": answer}]}},
    ]
    with path.open("ab") as f:
        f.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def test_diff_shows_both_sides_where_copies_part(archived, cli):
    default = archived.session_file("default", "-home-marco-projects-spotter", SHORT_ID)
    work = next((archived.root("work") / "projects").rglob(f"{SHORT_ID}.jsonl"))
    _append_turn(default, "deploy to staging first", "staged it on the blue cluster")
    _append_turn(work, "roll back the migration", "rolled back to revision 41")
    cli("ingest", "--quiet")
    out = " ".join(cli("diff", SHORT_ID).stdout.split())
    assert "different from turn 2" in out
    assert "default, turn 2" in out and "work, turn 2" in out
    for text in ("deploy to staging first", "staged it on the blue cluster",
                 "roll back the migration", "rolled back to revision 41"):
        assert text in out
    sides = {c["profile"]: c["at_first_difference"] for c in cli.json("diff", SHORT_ID)["copies"]}
    assert sides["work"]["prompt"] == "roll back the migration"
