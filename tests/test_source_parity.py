"""What each source's sessions get wherever a session is reached (issue 19, the rest): set-aside
copies listed and read as versions, a live Codex rollout captured before resuming, forks
offered only where the source supports them, the agent filter of the MCP server and the web
pages, sessions named by an ``agent-name`` line, each root's origin, and a Cowork session's
file history restored.

Real files in a temporary HOME (the Claude Code 2.1.328 and Codex 0.171.0 fixtures), the real
CLI, the real MCP server through the SDK's stdio client, the real web app.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
import test_claude_current
from test_claude_current import CURRENT, MAIN, PROJECT, SID

claude_home = test_claude_current.claude_home  # the fixture: an empty HOME and archive

# -- names: agent-name lines name a session ---------------------------------------------------


def _named_home(root: Path, keep: tuple[bytes, ...], extra: bytes = b"") -> Path:
    """The fixture session with only the naming lines of the types in ``keep`` (and
    ``extra`` appended)."""
    folder = root / "projects" / PROJECT
    shutil.copytree(CURRENT / PROJECT, folder)
    path = folder / f"{SID}.jsonl"
    lines = [line for line in MAIN.read_bytes().splitlines(keepends=True)
             if not line.startswith((b'{"type":"custom-title"', b'{"type":"agent-name"'))
             or line.startswith(keep)]
    path.write_bytes(b"".join(lines) + extra)
    (folder / SID / "custom-title.json").unlink()
    return path


def _title_line(kind: str, key: str, value: str) -> bytes:
    return orjson.dumps({"type": kind, key: value, "sessionId": SID}) + b"\n"


def test_a_session_named_only_by_agent_name_is_found_by_that_name(claude_home, cli):
    path = _named_home(claude_home / ".claude", (b'{"type":"agent-name"',))
    assert b'"type":"custom-title"' not in path.read_bytes()
    assert b'"agentName":"Word counting"' in path.read_bytes()
    cli("ingest", "-q")
    assert cli.json("show", "word COUNTING")["session_id"] == SID
    listed = cli.json("sessions", "--name", "counting")
    rows = listed["sessions"] if isinstance(listed, dict) else listed
    assert [r["session_id"] for r in rows] == [SID] and rows[0]["name"] == "Word counting"
    hits = cli.json("search", "notes", "--session", "Word counting")
    assert hits and {h["session_id"] for h in hits} == {SID}


def test_custom_title_names_over_agent_name_and_ai_title_is_no_name(claude_home, cli):
    extra = (_title_line("custom-title", "customTitle", "chosen name")
             + _title_line("agent-name", "agentName", "agent label")
             + _title_line("ai-title", "aiTitle", "generated words"))
    _named_home(claude_home / ".claude", (), extra)
    cli("ingest", "-q")
    assert cli.json("show", "chosen name")["session_id"] == SID
    assert "no session matches" in cli("show", "agent label", code=2).stderr
    assert "no session matches" in cli("show", "generated words", code=2).stderr


# -- a Cowork session's file history comes back with it ------------------------------------------


def test_a_cowork_session_is_restored_with_its_file_history_byte_exact(claude_home, cli,
                                                                     monkeypatch):
    from test_claude_current import ACCOUNT, ORG, TASK, lay_out_cowork

    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    (claude_home / ".claude" / "projects").mkdir(parents=True)
    base = lay_out_cowork(claude_home / ".config" / "Claude")
    history = base / TASK / ".claude" / "file-history" / SID
    (history / "3f1c0e2a@v2").write_bytes(b"\x00\xffbinary\r\n")
    before = {p.name: p.read_bytes() for p in history.iterdir()}
    cli("ingest", "-q")
    done = cli.json("restore", SID, "--from", f"cowork-{ORG[:8]}-{ACCOUNT[:8]}",
                    "--to", "default")
    root = claude_home / ".claude"
    assert Path(done["path"]).read_bytes() == MAIN.read_bytes()
    restored = root / "file-history" / SID
    assert {p.name: p.read_bytes() for p in restored.iterdir()} == before
    assert {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} >= {
        f"file-history/{SID}/3f1c0e2a@v1", f"file-history/{SID}/3f1c0e2a@v2"}
    assert not (root / TASK).exists()  # nothing of the Cowork layout leaks into the root


# -- each root says how it was found ----------------------------------------------------------


def test_roots_say_how_each_root_was_found(claude_home, cli, monkeypatch, tmp_path):
    from test_claude_current import ACCOUNT, ORG, lay_out_cowork

    home = claude_home
    for var in ("XDG_CONFIG_HOME", "APPDATA", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".ccs" / "instances" / "work").mkdir(parents=True)
    (home / ".codex" / "sessions").mkdir(parents=True)
    (home / ".ccs" / "codex-instances" / "team" / "sessions").mkdir(parents=True)
    lay_out_cowork(home / ".config" / "Claude")
    archive = tmp_path / "archive"
    archive.mkdir(mode=0o700, exist_ok=True)
    (archive / "config.toml").write_text(f'[roots]\nbackup = "{tmp_path / "backup"}"\n')
    cowork = f"cowork-{ORG[:8]}-{ACCOUNT[:8]}"
    args = ("roots", "--root", f"old={tmp_path / 'old'}")
    found = {r["profile"]: (r["agent"], r["origin"]) for r in cli.json(*args)}
    assert found == {
        "default": ("claude", "default"), "work": ("claude", "ccs"),
        cowork: ("claude", "cowork"), "codex": ("codex", "default"),
        "codex-team": ("codex", "ccs"), "backup": ("claude", "config"),
        "old": ("claude", "--root"),
    }
    # Named by a variable: the variable is the origin.
    elsewhere, codex_elsewhere = tmp_path / "claude-cfg", tmp_path / "codex-home"
    elsewhere.mkdir()
    (codex_elsewhere / "sessions").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(elsewhere))
    monkeypatch.setenv("CODEX_HOME", str(codex_elsewhere))
    found = {r["profile"]: r["origin"] for r in cli.json(*args)}
    assert found["default"] == "CLAUDE_CONFIG_DIR" and found["codex"] == "CODEX_HOME"
    # The table says it too, within 80 columns.
    monkeypatch.setenv("COLUMNS", "80")
    table = cli(*args).stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    for word in ("$CLAUDE_CONFIG_DIR", "$CODEX_HOME", "CCS instance", "Cowork account",
                 "config.toml", "--root"):
        assert word in table, word


# -- both kinds in one archive: the context's ways on, the agent filter ------------------------

CODEX_SID = "01a2429b-6f58-7c10-b9f2-dcba7a45c79f"
CODEX_REL = f"sessions/2026/12/04/rollout-2026-12-04T19-50-12-{CODEX_SID}.jsonl"
CODEX_FIXTURE = Path(__file__).parent / "fixtures" / "codex-0.171.0"
# Contexts: the Claude Code session 10,000 then 12,000 tokens, the Codex one 1,202 then 1,203.
CODEX_OVER = "1202"  # turn 2 of the Codex session is the first past it
CLAUDE_OVER = "11000"  # turn 2 of the Claude Code session is the first past it


def lay_out_both(home: Path) -> None:
    """The Claude Code 2.1.328 session in ~/.claude and the Codex 0.171.0 rollout in ~/.codex."""
    shutil.copytree(CURRENT / PROJECT, home / ".claude" / "projects" / PROJECT)
    dest = home / ".codex" / CODEX_REL
    dest.parent.mkdir(parents=True)
    shutil.copyfile(CODEX_FIXTURE / CODEX_REL, dest)


@pytest.fixture
def both(claude_home, monkeypatch):
    monkeypatch.delenv("CODEX_HOME", raising=False)
    lay_out_both(claude_home)
    return claude_home


def test_context_offers_the_fork_only_where_the_source_can_fork(both, cli):
    cli("ingest", "-q")
    codex = cli.json("context", CODEX_SID, "--threshold", CODEX_OVER)
    assert codex["first_turn_over"] == 2
    assert "fork" not in codex["commands"] and codex["suggested_fork_turn"] is None
    assert "Codex CLI" in codex["fork_unavailable"] and "--turns" in codex["fork_unavailable"]
    assert codex["commands"]["handoff"].startswith(f"archive export {CODEX_SID} ")
    text = cli("context", CODEX_SID, "--threshold", CODEX_OVER).stdout
    assert "One way on" in text and "archive restore" not in text
    assert "no fork: a Codex CLI session is restored as archived" in text
    # The fork restore would refuse is exactly what is no longer offered.
    refused = cli("restore", CODEX_SID, "--turns", "1", "--new-id", "--to", "codex", code=2)
    assert "--turns is not supported for Codex CLI sessions" in refused.stderr

    claude = cli.json("context", SID, "--threshold", CLAUDE_OVER)
    assert claude["suggested_fork_turn"] == 1 and claude["fork_unavailable"] is None
    assert claude["commands"]["fork"] == f"archive restore {SID} --turns 1 --new-id --to default"
    assert "fork from turn 1" in cli("context", SID, "--threshold", CLAUDE_OVER).stdout
    # A session past the threshold from its first turn says why it has no fork too.
    first = cli.json("context", SID, "--threshold", "5000")
    assert first["commands"].keys() == {"handoff"} and "turn 1" in first["fork_unavailable"]


def test_the_agent_filter_of_search_and_sessions_on_the_cli(both, cli):
    """The CLI's --agent, the reference the MCP tools and the web pages are held to below."""
    cli("ingest", "-q")
    ids = {a: {r["session_id"] for r in cli.json("sessions", "--agent", a)} for a in
           ("claude", "codex")}
    assert ids == {"claude": {SID}, "codex": {CODEX_SID}}
    hits = cli.json("search", "please", "--agent", "codex")
    assert hits and {h["session_id"] for h in hits} == {CODEX_SID}
    assert "unknown agent 'gemini'" in cli("sessions", "--agent", "gemini", code=2).stderr


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Both kinds ingested by the real CLI in a subprocess, with a context threshold under
    turn 2 of the Codex session (config.toml), for the MCP server and the web app."""
    from test_mcp import archive_cli, env_for

    base = tmp_path_factory.mktemp("mixed")
    home, archive = base / "home", base / "archive"
    home.mkdir()
    lay_out_both(home)
    env = {k: v for k, v in env_for(home, archive).items() if k != "CODEX_HOME"}
    archive_cli(env, "ingest", "--quiet")
    (archive / "config.toml").write_text(f"[context]\nthreshold = {CODEX_OVER}\n")
    return {"home": home, "archive": archive, "env": env, "base": base}


def test_mcp_search_and_list_sessions_take_the_agent(mixed):
    from test_mcp import Client

    client = Client(mixed["env"], mixed["base"] / "mcp.log")
    try:
        tools = {t.name: t for t in client.tools()}
        for name in ("search", "list_sessions"):
            assert "agent" in tools[name].input_schema["properties"], name
        for agent, sid in (("codex", CODEX_SID), ("claude", SID)):
            listed = client.ok("list_sessions", agent=agent)["sessions"]
            assert [s["session_id"] for s in listed] == [sid], agent
        assert len(client.ok("list_sessions")["sessions"]) == 2
        hits = client.ok("search", query="please", agent="codex")["hits"]
        assert hits and {h["session_id"] for h in hits} == {CODEX_SID}
        hits = client.ok("search", query="please", agent="claude")["hits"]
        assert hits and {h["session_id"] for h in hits} == {SID}
        from test_mcp import archive_cli

        cli_error = archive_cli(mixed["env"], "sessions", "--agent", "gemini", code=2).stderr
        assert cli_error.startswith("error: unknown agent 'gemini'")
        for tool, args in (("list_sessions", {}), ("search", {"query": "please"})):
            text, is_error = client.call(tool, agent="gemini", **args)
            assert is_error and text.splitlines()[0] == cli_error.splitlines()[0], tool
        # session_context says why a Codex session gets no fork.
        report = client.ok("session_context", session=CODEX_SID)
        assert report["first_turn_over"] == 2 and "fork" not in report["commands"]
        assert "Codex CLI" in report["fork_unavailable"]
    finally:
        client.close()


def test_web_search_and_sessions_pages_take_the_agent(mixed):
    from urllib.parse import urlparse

    from test_web import Server, start_server, stop

    proc, url = start_server(mixed["env"], mixed["archive"])
    u = urlparse(url)
    server = Server(url, f"{u.scheme}://{u.netloc}", u.query.split("token=")[1], u.port, proc)
    try:
        every = server.page("/sessions")
        assert CODEX_SID[:8] in every and SID[:8] in every
        assert '<select name="agent">' in every and '<option value="codex"' in every
        codex = server.page("/sessions?agent=codex")
        assert CODEX_SID[:8] in codex and SID[:8] not in codex
        assert '<option value="codex" title="Codex CLI" selected>' in codex
        claude = server.page("/sessions?agent=claude")
        assert SID[:8] in claude and CODEX_SID[:8] not in claude
        found = server.page("/?q=please&agent=codex")
        assert f"/session/{CODEX_SID}" in found and f"/session/{SID}" not in found
        found = server.page("/?q=please&agent=claude")
        assert f"/session/{SID}" in found and f"/session/{CODEX_SID}" not in found
        status, _, body = server.get("/?q=please&agent=gemini")
        assert status == 400 and "unknown agent" in body
        status, _, body = server.get("/sessions?agent=gemini")
        assert status == 400 and "unknown agent" in body
        # The context page of a Codex session past the threshold: no fork, and why.
        page = server.page(f"/session/{CODEX_SID}/context")
        assert 'id="fork-command"' not in page and "One way on" in page
        assert "no fork: a Codex CLI session is restored as archived" in page
    finally:
        stop(proc)


# -- resume captures a live Codex rollout first ---------------------------------------------------


def _grow_rollout(path: Path, words: str) -> bytes:
    """One more exchange appended to a rollout, as Codex writes it after ``codex resume``."""
    stamp = "2026-12-05T08:00:00.000Z"
    lines = [
        {"timestamp": stamp, "type": "response_item", "payload": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": f"third prompt {words}"}]}},
        {"timestamp": stamp, "type": "response_item", "payload": {
            "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": f"third answer {words}"}]}},
    ]
    with open(path, "ab") as fh:
        fh.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path.read_bytes()


def test_resume_captures_a_grown_codex_rollout_before_restoring_it(both, cli, tmp_path):
    from archive.resume import plan_resume
    from archive.roots import discover_roots

    rollout = both / ".codex" / CODEX_REL
    cli("ingest", "-q")
    archived = rollout.read_bytes()
    grown = _grow_rollout(rollout, "wombat-lantern")
    other = tmp_path / "spare-codex"
    (other / "sessions").mkdir(parents=True)
    out = cli("resume", CODEX_SID, "--to", "spare", "--root", f"spare={other}")
    assert out.stdout.strip().endswith(f"CODEX_HOME={other} codex resume {CODEX_SID}")
    assert "captured 1 changed file(s) of the session first" in out.stderr
    # What went into the other home is the rollout as it is now, not last ingest's copy.
    assert (other / CODEX_REL).read_bytes() == grown != archived
    sizes = [v["size"] for v in cli.json("versions", CODEX_SID, "--from", "codex")]
    assert sizes == [len(archived), len(grown)]
    assert [h["session_id"] for h in cli.json("search", "wombat", "--agent", "codex")] == \
        [CODEX_SID]

    # In the home that holds it: nothing is written there, the new bytes are archived all the
    # same, and the command is plain `codex resume`.
    again = _grow_rollout(rollout, "second-growth")
    plan = plan_resume(both.parent / "archive", discover_roots(), CODEX_SID)
    assert not plan.restored and plan.restored_path == rollout
    assert plan.captured == [f"codex/{CODEX_REL}"] and rollout.read_bytes() == again
    assert plan.launch.argv == ["codex", "resume", CODEX_SID] and plan.launch.env == {}
    assert [v["size"] for v in cli.json("versions", CODEX_SID, "--from", "codex")][-1] == \
        len(again)


def test_resume_last_finds_the_newest_codex_rollout(both, cli):
    import os

    cli("ingest", "-q")
    claude = both / ".claude" / "projects" / PROJECT / f"{SID}.jsonl"
    rollout = both / ".codex" / CODEX_REL
    os.utime(claude, ns=(1_900_000_000 * 10**9,) * 2)
    os.utime(rollout, ns=(1_900_000_100 * 10**9,) * 2)  # the rollout was written last
    out = cli("resume", "--last")
    assert out.stdout.strip().endswith(f"codex resume {CODEX_SID}")


def test_resume_captures_a_grown_cowork_session_and_its_file_history_first(claude_home, cli,
                                                                           monkeypatch):
    from test_claude_current import ACCOUNT, ORG, TASK, lay_out_cowork

    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    (claude_home / ".claude" / "projects").mkdir(parents=True)
    config = lay_out_cowork(claude_home / ".config" / "Claude") / TASK / ".claude"
    cli("ingest", "-q")
    (transcript,) = (config / "projects").glob(f"*/{SID}.jsonl")
    with open(transcript, "ab") as fh:
        fh.write(orjson.dumps({"type": "user", "sessionId": SID, "uuid": "grown-1",
                               "cwd": "/sessions/epic-laughing-keller",
                               "message": {"role": "user", "content": "one more thing"}})
                 + b"\n")
    snapshot = config / "file-history" / SID / "3f1c0e2a@v2"
    snapshot.write_bytes(b"written after the last ingest\n")
    out = cli("resume", SID, "--from", f"cowork-{ORG[:8]}-{ACCOUNT[:8]}", "--to", "default")
    assert "captured 2 changed file(s) of the session first" in out.stderr
    root = claude_home / ".claude"
    (restored,) = (root / "projects").glob(f"*/{SID}.jsonl")
    assert restored.read_bytes() == transcript.read_bytes()
    assert (root / "file-history" / SID / "3f1c0e2a@v2").read_bytes() == snapshot.read_bytes()


# -- set-aside copies are versions of their session -----------------------------------------------


def test_set_aside_copies_are_listed_read_and_restored_as_versions(claude_home, cli):
    from test_claude_current import ORPHANED, SUPERSEDED, lay_out_current

    root = claude_home / ".claude"
    folder = lay_out_current(root)
    cli("ingest", "-q")
    rows = cli.json("versions", SID)
    assert [(r["version"], r["set_aside"]) for r in rows] == [
        (1, False), ("a1", True), ("a2", True)]
    # In the order Claude Code set them aside (the times in their names).
    assert [(r["path"].rsplit("/", 1)[1], r["set_aside_at"]) for r in rows[1:]] == [
        (ORPHANED, "2026-12-04T19:49:54.723Z"), (SUPERSEDED, "2026-12-04T19:50:00.000Z")]
    assert rows[0]["set_aside_at"] is None and rows[0]["path"].endswith(f"{SID}.jsonl")
    assert {r["size"] for r in rows[1:]} == {(folder / n).stat().st_size
                                            for n in (ORPHANED, SUPERSEDED)}
    table = cli("versions", SID).stdout
    assert "a1: set aside" in table and "a2: set aside" in table
    assert ORPHANED in "".join(line.strip() for line in table.splitlines())  # wrapped path

    # cat reads a set-aside copy's exact bytes by its label.
    assert cli("cat", SID, "--version", "a1").stdout_bytes == (folder / ORPHANED).read_bytes()
    assert cli("cat", SID, "-v", "A2").stdout_bytes == (folder / SUPERSEDED).read_bytes()
    assert cli("cat", SID, "--version", "1").stdout_bytes == MAIN.read_bytes()
    missing = cli("cat", SID, "--version", "a3", code=2)
    assert "no set-aside copy a3" in missing.stderr and "a1, a2" in missing.stderr
    assert "is not a version" in cli("cat", SID, "--version", "x1", code=2).stderr

    # restore puts a set-aside version back as the session's transcript.
    other = claude_home / ".ccs" / "instances" / "other"
    other.mkdir(parents=True)
    done = cli.json("restore", SID, "--version", "a1", "--to", "other")
    assert done["version"] == "a1"
    assert Path(done["path"]).read_bytes() == (folder / ORPHANED).read_bytes()
    assert Path(done["path"]).name == f"{SID}.jsonl"

    # A copy set aside later gets the next label; the labels given before stay.
    later = f"{SID}.orphaned-1796413900000-9f9f9f9f.jsonl"
    (folder / later).write_bytes(MAIN.read_bytes()[:1000].rsplit(b"\n", 1)[0] + b"\n")
    cli("ingest", "-q")  # also archives the restored copy: --from names the one with copies
    rows = cli.json("versions", SID, "--from", "default")
    assert [r["path"].rsplit("/", 1)[1] for r in rows[1:]] == [ORPHANED, SUPERSEDED, later]
    assert [r["version"] for r in rows] == [1, "a1", "a2", "a3"]
    assert cli("cat", SID, "--from", "default", "--version", "a3").stdout_bytes == \
        (folder / later).read_bytes()


def test_a_session_without_set_aside_copies_lists_only_its_own_versions(claude_home, cli):
    folder = claude_home / ".claude" / "projects" / PROJECT
    shutil.copytree(CURRENT / PROJECT, folder)
    cli("ingest", "-q")
    rows = cli.json("versions", SID)
    assert [(r["version"], r["set_aside"]) for r in rows] == [(1, False)]
    assert "set aside" not in cli("versions", SID).stdout
    assert "no set-aside copy a1" in cli("cat", SID, "--version", "a1", code=2).stderr


def test_the_picker_does_not_fork_a_codex_session_and_says_why(both, cli):
    """Ctrl+F on a Codex session stays in the picker with the source's reason (restore would
    refuse the fork after the picker closed)."""
    import asyncio
    import os

    pytest.importorskip("textual")
    from archive.roots import discover_roots
    from archive.tui.app import PickerApp

    cli("ingest", "-q")
    notes: list[str] = []

    async def go(keys):
        app = PickerApp(Path(os.environ["SESSION_ARCHIVE_DIR"]), discover_roots())
        app.notify = lambda message, **kw: notes.append(str(message))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*"please")
            for _ in range(200):
                await pilot.pause(0.05)
                row = app.current
                if row is not None and row.agent == "codex" and app.session_data:
                    break
                await pilot.press("down")
            assert app.current.agent == "codex"
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.1)
            if app.is_running:
                await pilot.press("escape")
        return app.return_value

    assert asyncio.run(go(["ctrl+f"])) is None
    assert any(n.startswith("no fork: a Codex CLI session") for n in notes), notes
