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
from test_claude_current import CURRENT, MAIN, PROJECT, SID, lay_out_current
from test_claude_current import claude_home  # noqa: F401 (a fixture)

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
