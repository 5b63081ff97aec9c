"""Codex CLI sessions beside Claude Code's: discover, archive, search by agent, show, export,
restore byte-exact, resume command.

The rollout is a real one, written by Codex CLI 0.171.0 against a loopback stand-in (see
tests/fixtures/codex-0.171.0/PROVENANCE.md): a prompt with reasoning, a shell tool call and its
output, then a second prompt from ``codex exec resume``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from archive.roots import discover_roots
from archive.sources import SOURCES, by_agent, for_relpath

FIXTURE = Path(__file__).parent / "fixtures" / "codex-0.171.0"
SID = "01a2429b-6f58-7c10-b9f2-dcba7a45c79f"
REL = f"sessions/2026/12/04/rollout-2026-12-04T19-50-12-{SID}.jsonl"
PLANTED = "quokkaphrase"


@pytest.fixture
def codex_home(home, monkeypatch):
    """The Claude Code home of conftest plus ~/.codex with the real rollout, a phrase planted
    in its second prompt (as a person would have typed it)."""
    monkeypatch.delenv("CODEX_HOME", raising=False)
    dest = home.path / ".codex" / REL
    dest.parent.mkdir(parents=True)
    data = (FIXTURE / REL).read_bytes().replace(b"second prompt", f"second {PLANTED}".encode())
    dest.write_bytes(data)
    return home


def test_every_source_owns_its_own_top_folders():
    tops = [t for s in SOURCES for t in s.tops]
    assert len(tops) == len(set(tops))
    assert for_relpath(REL).agent == "codex"
    archived = f"archived_sessions/rollout-2026-12-04T19-50-12-{SID}.jsonl"
    assert for_relpath(archived).agent == "codex"
    assert for_relpath("projects/-x/abc.jsonl").agent == "claude"


@pytest.mark.parametrize(
    "relpath, expected",
    [
        (REL, ("session", SID)),
        (f"archived_sessions/rollout-2026-12-04T19-50-12-{SID}.jsonl", ("session", SID)),
        ("sessions/2026/12/04/notes.txt", ("other", None)),
        (f"sessions/rollout-2026-12-04T19-50-12-{SID}.jsonl", ("other", None)),
    ],
    ids=["live", "archived", "not-a-rollout", "wrong-depth"],
)
def test_codex_classify(relpath, expected):
    assert by_agent("codex").classify(relpath) == expected


def test_discover_codex_home_and_ccs_codex_instances(tmp_path):
    home = tmp_path / "home"
    (home / ".codex" / "sessions").mkdir(parents=True)
    (home / ".ccs" / "codex-instances" / "work" / "sessions").mkdir(parents=True)
    (home / ".claude").mkdir()
    roots = {r.profile: r for r in discover_roots(environ={}, home=home)}
    assert roots["codex"].agent == "codex" and roots["codex"].path == home / ".codex"
    assert roots["codex-work"].agent == "codex" and roots["codex-work"].origin == "ccs"
    assert roots["default"].agent == "claude"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    roots = {r.profile: r for r in discover_roots(environ={"CODEX_HOME": str(elsewhere)},
                                                   home=home)}
    assert roots["codex"].path == elsewhere


def test_no_codex_profile_without_a_codex_home(tmp_path):
    (tmp_path / ".claude").mkdir()
    assert [r.profile for r in discover_roots(environ={}, home=tmp_path)] == ["default"]


def test_rollout_parses_into_turns():
    source = by_agent("codex")
    with open(FIXTURE / REL, "rb") as fh:
        s = source.parse(fh, kind="session", session_id=None, tool_output_cap=8192,
                         file_size=(FIXTURE / REL).stat().st_size)
    assert s.session_id == SID and s.project == "/tmp/cx/proj"
    assert s.models == ["gpt-standin"] and s.versions == ["0.171.0"]
    assert [t.prompt for t in s.turns] == ["please ask the alpaca question", "second prompt"]
    first = s.turns[0]
    assert first.thinking == "thinking about the alpaca question"
    assert first.answer == "stand-in answer 2 marmalade-zebra"
    (call,) = first.tool_calls
    assert call.name == "exec_command" and call.key_argument == "echo hello-from-tool"
    assert "hello-from-tool" in call.output
    assert s.tools == ["exec_command"]
    assert s.context_tokens == 1203 and s.peak_context_tokens == 1203
    assert s.turns[-1].end_offset == (FIXTURE / REL).stat().st_size
    assert s.bad_lines == 0


def test_archive_search_by_agent_show_export(codex_home, cli):
    out = cli("ingest", "-q")
    roots = cli.json("roots")
    assert {"profile": "codex", "agent": "codex", "session_files": 1}.items() <= next(
        r for r in roots if r["profile"] == "codex").items()
    assert {r["agent"] for r in roots if r["profile"] != "codex"} == {"claude"}
    assert "agent codex" in cli("roots").stdout

    hits = cli.json("search", PLANTED, "--agent", "codex")
    assert [(h["session_id"], h["agent"], h["turn"]) for h in hits] == [(SID, "codex", 2)]
    cli("search", PLANTED, "--agent", "claude", code=1)
    assert cli.json("search", PLANTED)[0]["session_id"] == SID

    codex_rows = cli.json("sessions", "--agent", "codex")
    assert [(r["session_id"], r["agent"], r["profile"]) for r in codex_rows] == [
        (SID, "codex", "codex")
    ]
    claude_rows = cli.json("sessions", "--agent", "claude")
    assert claude_rows and SID not in {r["session_id"] for r in claude_rows}
    everything = cli.json("sessions", "--limit", "1000")
    assert len(everything) == len(claude_rows) + 1
    bad = cli("sessions", "--agent", "gemini", code=2)
    assert "unknown agent" in bad.stderr

    shown = cli("show", SID[:13]).stdout
    assert "please ask the alpaca question" in shown and "hello-from-tool" in shown
    assert PLANTED in shown
    md = cli("export", SID, "--format", "md").stdout
    assert "stand-in answer 3 marmalade-zebra" in md and "exec_command" in md
    assert out.exit_code == 0
    context = cli.json("context", SID)
    assert [t["context_tokens"] for t in context["turns"]] == [1202, 1203]
    stats = cli.json("stats")
    assert {"profile": "codex", "sessions": 1, "turns": 2}.items() <= next(
        r for r in stats["by_profile"] if r["profile"] == "codex").items()


def test_a_growing_rollout_is_one_session_with_appended_versions(codex_home, cli):
    rollout = codex_home.path / ".codex" / REL
    full = rollout.read_bytes()
    first_turn_end = full.index(b'"second ') - 1
    first_turn_end = full.rindex(b"\n", 0, first_turn_end) + 1  # up to turn 2's prompt line
    rollout.write_bytes(full[:first_turn_end])
    cli("ingest", "-q")
    cli("search", PLANTED, "--agent", "codex", code=1)
    rollout.write_bytes(full)
    cli("ingest", "-q")
    versions = cli.json("versions", SID)
    assert [(v["version"], v["size"]) for v in versions] == [(1, first_turn_end), (2, len(full))]
    assert cli.json("search", PLANTED, "--agent", "codex")[0]["turn"] == 2


def test_restore_is_byte_exact_where_codex_resume_finds_it(codex_home, cli, tmp_path):
    source_file = codex_home.path / ".codex" / REL
    original = source_file.read_bytes()
    cli("ingest", "-q")
    source_file.unlink()
    other = tmp_path / "other-codex"
    (other / "sessions").mkdir(parents=True)
    result = cli.json("restore", SID, "--to", "elsewhere", "--root", f"elsewhere={other}")
    restored = other / REL
    assert restored.read_bytes() == original
    assert result["path"] == str(restored)
    assert result["resume_command"] == (
        f"cd /tmp/cx/proj && CODEX_HOME={other} codex resume {SID}"
    )
    again = cli("restore", SID, "--to", "elsewhere", "--root", f"elsewhere={other}", code=None)
    assert again.exit_code != 0 and "already exists" in again.stderr
    assert restored.read_bytes() == original

    home_result = cli.json("restore", SID, "--to", "codex")
    assert source_file.read_bytes() == original
    assert home_result["resume_command"] == f"cd /tmp/cx/proj && codex resume {SID}"


def test_archived_rollout_comes_back_under_sessions(codex_home, cli):
    codex = codex_home.path / ".codex"
    name = REL.rsplit("/", 1)[1]
    (codex / "archived_sessions").mkdir()
    shutil.move(codex / REL, codex / "archived_sessions" / name)
    cli("ingest", "-q")
    (codex / "archived_sessions" / name).unlink()
    cli.json("restore", SID, "--to", "codex")
    assert (codex / REL).exists()


def test_codex_session_is_not_restored_into_a_claude_root(codex_home, cli):
    cli("ingest", "-q")
    result = cli("restore", SID, "--to", "default", code=2)
    assert "Codex CLI session" in result.stderr and "Claude Code root" in result.stderr
    result = cli("restore", SID, "--to", "codex", "--new-id", code=2)
    assert "--new-id is not supported" in result.stderr


def test_old_catalog_gains_the_agent_column(codex_home, cli):
    import sqlite3

    cli("ingest", "-q")
    db = codex_home.archive / "catalog.sqlite"
    with sqlite3.connect(db) as conn:  # as an archive made before Codex sources were
        conn.execute("ALTER TABLE session_meta DROP COLUMN agent")
    cli("ingest", "-q")
    with sqlite3.connect(db) as conn:
        agents = dict(conn.execute(
            "SELECT f.session_id, m.agent FROM session_meta m JOIN files f ON f.id = m.file_id"
        ).fetchall())
    assert agents[SID] == "claude"  # the default for old rows, until a reindex
    cli("reindex", "-q")
    with sqlite3.connect(db) as conn:
        agents = dict(conn.execute(
            "SELECT f.session_id, m.agent FROM session_meta m JOIN files f ON f.id = m.file_id"
        ).fetchall())
    assert agents[SID] == "codex"
    rows = orjson.loads(cli("sessions", "--agent", "codex", "--json").stdout)
    assert rows[0]["session_id"] == SID


GITHUB = "gh" + "p_" + "R8kd2LmQ" * 4 + "x9Za"


def test_secrets_in_a_codex_session_are_found_by_turn_and_masked(codex_home, cli):
    rollout = codex_home.path / ".codex" / REL
    rollout.write_bytes(rollout.read_bytes().replace(PLANTED.encode(), GITHUB.encode()))
    cli("ingest", "-q")
    (report,) = [r for r in cli.json("secrets") if r["session_id"] == SID]
    assert report["kinds"] == {"github-token": 2}  # the message and its item_completed event
    assert report["turns"] == [2]  # numbered by the Codex reader, not Claude Code's
    shown = cli("show", SID).stdout
    assert GITHUB not in shown and "[REDACTED:github-token]" in shown


def test_archive_resume_of_a_codex_session_runs_codex(codex_home, cli, tmp_path):
    """`archive resume` (issue 22) on a Codex session: the home that holds it is not written
    and the command is Codex's; a deleted one is restored first, into another home too."""
    import os

    from archive.resume import EXEC_LOG_ENV, launch, plan_resume

    cli("ingest", "-q")
    rollout = codex_home.path / ".codex" / REL
    before = rollout.stat().st_mtime_ns
    plan = plan_resume(codex_home.archive, discover_roots(), SID[:8])
    assert not plan.restored and plan.restored_path == rollout
    assert rollout.stat().st_mtime_ns == before
    log = tmp_path / "exec.json"
    launch(plan.launch, {**os.environ, EXEC_LOG_ENV: str(log)})
    assert orjson.loads(log.read_bytes()) == {
        "argv": ["codex", "resume", SID], "env": {}, "cwd": "/tmp/cx/proj"}

    other = tmp_path / "spare-codex"
    (other / "sessions").mkdir(parents=True)
    out = cli("resume", SID, "--to", "spare", "--root", f"spare={other}")
    assert out.stdout.strip() == f"cd /tmp/cx/proj && CODEX_HOME={other} codex resume {SID}"
    assert (other / REL).read_bytes() == rollout.read_bytes()


def test_an_old_codex_session_is_not_at_risk_of_claude_codes_cleanup(codex_home, cli):
    import os

    rollout = codex_home.path / ".codex" / REL
    os.utime(rollout, (1_000_000_000, 1_000_000_000))  # years past any cleanupPeriodDays
    risky = orjson.loads(cli("at-risk", "--days", "100000", "--json", code=None).stdout)
    assert risky and all(r["session_id"] != SID for r in risky)  # Claude Code's files only
    out = cli("ingest")
    assert "Claude Code deletes" not in out.stdout + out.stderr
    header = cli("at-risk", "--days", "100000", code=None).stdout.splitlines()[0]
    assert "codex never (Codex CLI deletes no sessions)" in header, header
    assert "codex 30" not in header and "default 30 (default)" in header


def test_force_archives_the_rollout_it_replaces(codex_home, cli):
    rollout = codex_home.path / ".codex" / REL
    original = rollout.read_bytes()
    cli("ingest", "-q")
    rollout.write_bytes(original[: len(original) // 2])  # another state of it at the target
    cut = rollout.read_bytes()
    refused = cli("restore", SID, "--to", "codex", code=3)
    assert "already exists" in refused.stderr and rollout.read_bytes() == cut
    cli("restore", SID, "--to", "codex", "--version", "1", "--force")
    assert rollout.read_bytes() == original
    versions = cli.json("versions", SID)
    assert sorted(v["size"] for v in versions) == sorted([len(original), len(cut)])
