"""Nothing leaks, nothing acts on the terminal: every command, every output format.

The credential battery (``credentials.py``, one or more of every kind) is planted in every part
of real-shaped transcripts (prompt, answer, thinking, tool input, tool output, summary line,
custom title, history.jsonl prompt, project path) in a temporary HOME, ingested, and every
command that prints transcript-derived text is run in every format. No piece of any secret may
appear on stdout or stderr unless the user asked (``--no-redact``).

Escape sequences planted the same way are checked under a real pty (``os.openpty``, the real
``archive`` process): no raw ESC/OSC/C1 from a transcript reaches the terminal, while ``-o FILE``
keeps the bytes.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path

import orjson
import pytest
from credentials import CREDENTIALS, leaked
from typer.testing import CliRunner

from archive.cli import app

PROJECT_CWD = "/tmp/battery-proj"
WORD = "batterymark"  # in every planted prompt, so one search finds them all


def _sid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"session-archive-test/{name}"))


def _line(kind: str, sid: str, n: int, cwd: str = PROJECT_CWD, **fields) -> dict:
    return {"type": kind, "sessionId": sid, "cwd": cwd, "version": "2.1.0", "uuid": f"{kind}{n}",
            "timestamp": f"2026-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z", **fields}


def _turn(sid: str, n: int, text: str, cwd: str = PROJECT_CWD) -> list[dict]:
    """One turn with ``text`` in its prompt, thinking, answer, tool input and tool output."""
    return [
        _line("user", sid, 3 * n, cwd, message={"role": "user", "content": f"{WORD} {text}"}),
        _line("assistant", sid, 3 * n + 1, cwd, message={
            "id": f"m{n}", "role": "assistant", "model": "claude-test",
            "usage": {"input_tokens": 100 * n + 10},
            "content": [
                {"type": "thinking", "thinking": f"thinking about {text}"},
                {"type": "text", "text": f"answer: {text}"},
                {"type": "tool_use", "id": f"t{n}", "name": "Bash",
                 "input": {"command": f"echo {text}", "description": text}},
            ]}),
        _line("user", sid, 3 * n + 2, cwd, message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{n}", "content": f"output {text}"}]}),
    ]


def _write(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


BIG = _sid("all-credentials")  # one session holding every credential, one turn each
ATTACK = _sid("escape-sequences")
# A key made of letters and digits only survives Claude Code's folder encoding (every other
# character becomes "-") whole, so the folder name holds it too. (A `ghp_` token becomes
# `ghp-…` there, a shape no rule knows: see the README's "not caught".)
TOKEN_PATH = next(c.secret for c in CREDENTIALS if c.kind == "aws-access-key-id")
PATH_SID = _sid("secret-in-path")

ESC = "\x1b"
# (name, sequence planted, what a terminal would do with it)
ESCAPES = {
    "osc8-link": f"{ESC}]8;;https://evil.example/{ESC}\\docs.python.org{ESC}]8;;{ESC}\\",
    "hidden-text": f"{ESC}[8mhidden-text{ESC}[0m",
    "clear-screen": f"{ESC}[2J{ESC}[H",
    "window-title": f"{ESC}]0;pwned-title\x07",
    "osc52-clipboard": f"{ESC}]52;c;cm0gLXJmIH4=\x07",
    "c1-csi": "\x9b31mc1-red",
}
# Raw bytes that must never reach the terminal from data (rich's own SGR colours may).
RAW = (f"{ESC}]", f"{ESC}[8m", f"{ESC}[2J", f"{ESC}[H", f"{ESC}P", "\x07", "\x9b", "\x9d")


def _lay_out(home: Path) -> None:
    projects = home / ".claude" / "projects"
    folder = projects / "-tmp-battery-proj"
    turns = [line for n, c in enumerate(CREDENTIALS, 1) for line in _turn(BIG, n, c.text)]
    _write(folder / f"{BIG}.jsonl",
           [{"type": "custom-title", "customTitle": "all credentials", "sessionId": BIG},
            *turns])
    # The same session in a second profile, one turn longer: `diff` and copies notes name both.
    extra = _turn(BIG, len(CREDENTIALS) + 1, CREDENTIALS[0].text)
    _write(home / ".ccs/instances/work/projects/-tmp-battery-proj" / f"{BIG}.jsonl",
           [{"type": "custom-title", "customTitle": "all credentials", "sessionId": BIG},
            *turns, *extra])
    history = []
    for i, c in enumerate(CREDENTIALS):
        by_summary, by_name = _sid(f"summary-{c.id}"), _sid(f"name-{c.id}")
        _write(folder / f"{by_summary}.jsonl",
               [{"type": "summary", "summary": c.text, "leafUuid": "x"},
                *_turn(by_summary, 1, c.text)])
        _write(folder / f"{by_name}.jsonl",
               [*_turn(by_name, 1, c.text),
                {"type": "custom-title", "customTitle": c.text, "sessionId": by_name}])
        history.append({"display": f"{WORD} {c.text}", "pastedContents": {},
                        "timestamp": 1772000000000 + i * 1000, "project": PROJECT_CWD,
                        "sessionId": _sid(f"lost-{c.id}")})
        history.append({"display": f"{WORD} {c.text}", "pastedContents": {},
                        "timestamp": 1772100000000 + i * 1000, "project": PROJECT_CWD,
                        "sessionId": BIG})
    (home / ".claude" / "history.jsonl").write_bytes(
        b"".join(orjson.dumps(h) + b"\n" for h in history))
    secret_cwd = f"/work/{TOKEN_PATH}/app"
    _write(projects / f"-work-{TOKEN_PATH}-app" / f"{PATH_SID}.jsonl",
           _turn(PATH_SID, 1, "a session whose project path holds a token", cwd=secret_cwd))
    # Escape sequences in every part of a session, and in its project folder's name and cwd.
    attack_cwd = f"/tmp/esc{ESC}]0;folder-title\x07dir"
    attack_lines = [
        {"type": "summary", "summary": f"title {ESCAPES['window-title']} end", "leafUuid": "x"},
        *[line for n, seq in enumerate(ESCAPES.values(), 1)
          for line in _turn(ATTACK, n, f"{WORD} before {seq} after", cwd=attack_cwd)],
    ]
    _write(projects / f"-tmp-esc{ESC}]0;folder-title\x07dir" / f"{ATTACK}.jsonl", attack_lines)


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    """A HOME with the battery ingested; returns the environment for the CLI."""
    base = tmp_path_factory.mktemp("outward")
    home, archive = base / "home", base / "archive"
    _lay_out(home)
    env = {"HOME": str(home), "SESSION_ARCHIVE_DIR": str(archive),
           "SESSION_ARCHIVE_FSYNC": "0", "COLUMNS": "200"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG"):
            mp.delenv(var, raising=False)
        result = CliRunner().invoke(app, ["ingest", "--quiet"])
        assert result.exit_code == 0, result.output
    return env


def _run(env: dict, args: list[str], columns: int = 200, code: int | None = None):
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {**env, "COLUMNS": str(columns)}.items():
            mp.setenv(k, v)
        for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG"):
            mp.delenv(var, raising=False)
        result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback escaped: {result.exception!r}\n{result.output}")
    if code is not None:
        assert result.exit_code == code, result.output
    return result


# Every command that prints transcript-derived text, each output format.
COMMANDS = {
    "sessions": ["sessions", "--limit", "1000"],
    "sessions-project": ["sessions", "--project", "work", "--limit", "1000"],
    "lost": ["lost"],
    "search": ["search", WORD, "--limit", "500"],
    "search-sessions": ["search", WORD, "--sessions", "--limit", "500"],
    "search-title": ["search", "title:batterymark OR title:key OR title:token", "--limit", "500"],
    "show": ["show", BIG, "--from", "default"],
    "show-copies-note": ["show", BIG],
    "versions": ["versions", BIG, "--from", "default"],
    "diff": ["diff", BIG, "--from", "default", "--from", "work"],
    "context": ["context", BIG, "--from", "default", "--threshold", "1000"],
    "stats": ["stats"],
    "secrets": ["secrets"],
    "at-risk": ["at-risk", "--days", "100000"],
    "roots": ["roots"],
    "snapshots": ["snapshots"],
    "ambiguous-session": ["show", "all credentials"],
}
JSON_TOO = {"sessions", "sessions-project", "lost", "search", "search-sessions", "search-title",
            "show", "versions", "diff", "context", "stats", "secrets", "at-risk", "roots",
            "snapshots"}
CASES = [
    pytest.param(args + extra, id=f"{name}{suffix}")
    for name, args in COMMANDS.items()
    for extra, suffix in [([], ""), *([(["--json"], "-json")] if name in JSON_TOO else [])]
]


@pytest.mark.parametrize("args", CASES)
def test_no_output_holds_a_secret(battery, args):
    """Every command, as a table at 80 and 200 columns and as JSON: no piece of any secret."""
    for columns in (80, 200) if "--json" not in args else (200,):
        result = _run(battery, args, columns)
        assert result.exit_code in (0, 1, 2), result.output
        assert leaked(result.stdout) == [], (columns, result.stdout[-2000:])
        assert leaked(result.stderr) == [], (columns, result.stderr[-2000:])
        if "--json" in args and result.stdout.strip():
            orjson.loads(result.stdout)  # still valid JSON


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_exports_to_stdout_hold_no_secret(battery, fmt):
    for extra in ([], ["--tool-output"], ["--budget", "2000"] if fmt == "md" else []):
        result = _run(battery, ["export", BIG, "--from", "default", "--format", fmt, *extra],
                      code=0)
        assert leaked(result.stdout) == [] and leaked(result.stderr) == []


def test_the_battery_is_really_there(battery):
    """Asked for (--no-redact), every secret shows: the battery was planted and is read."""
    shown = _run(battery, ["show", BIG, "--from", "default", "--json", "--no-redact"], code=0)
    assert set(leaked(shown.stdout)) == {c.id for c in CREDENTIALS}
    found = _run(battery, ["search", WORD, "--limit", "500", "--json", "--no-redact"], code=0)
    assert set(leaked(found.stdout)) == {c.id for c in CREDENTIALS}
    exported = _run(battery, ["export", BIG, "--from", "default", "--no-redact"], code=0)
    assert set(leaked(exported.stdout)) == {c.id for c in CREDENTIALS}
    # Titles and history prompts are in the catalog: the masked listings name each session.
    rows = orjson.loads(_run(battery, ["sessions", "--limit", "1000", "--json"]).stdout)
    assert sum("[REDACTED:" in (r.get("title") or "") for r in rows) >= 2 * len(CREDENTIALS)
    lost = orjson.loads(_run(battery, ["lost", "--json"]).stdout)
    assert len(lost) >= len(CREDENTIALS)


# -- under a real terminal ----------------------------------------------------------------------


def _pty_run(env: dict, args: list[str], columns: int = 200) -> str:
    """The real ``archive`` process with a pty as its terminal; all it wrote to it."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("COLUMNS", "LINES", "NO_COLOR", "CLAUDE_CONFIG_DIR", "CCS_HOME",
                             "XDG_DATA_HOME", "ARCHIVE_DEBUG")}
    full_env.update(env)
    full_env.pop("COLUMNS", None)
    full_env["TERM"] = "xterm-256color"
    full_env["PAGER"] = "cat"  # the bytes this process writes, not a pager waiting for keys
    proc = subprocess.Popen([sys.executable, "-m", "archive", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=full_env, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
        if time.monotonic() > deadline:
            proc.kill()
            break
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


PTY_COMMANDS = {
    "search": ["search", "before after", "--limit", "50"],
    "search-sessions": ["search", "before after", "--sessions"],
    "show": ["show", ATTACK],
    "sessions": ["sessions", "--limit", "1000"],
    "export": ["export", ATTACK, "--tool-output"],
    "export-html": ["export", ATTACK, "--format", "html", "--tool-output"],
    "cat": ["cat", ATTACK],
    "versions": ["versions", ATTACK],
    "context": ["context", ATTACK, "--threshold", "100"],
}


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("args", list(PTY_COMMANDS.values()), ids=list(PTY_COMMANDS))
def test_no_escape_sequence_reaches_the_terminal(battery, args, columns):
    out = _pty_run(battery, args, columns)
    assert "Traceback" not in out and "error:" not in out, out[-2000:]
    raw = [seq for seq in RAW if seq in out]
    assert raw == [], (raw, out[-3000:])
    if args[0] not in ("versions", "context"):  # those print no transcript text
        # The sequences are shown as text, not dropped (cat shows JSONL, where ESC is \u001b).
        assert "^[" in out or ("\\u001b" in out and "\\x9b" in out)


def test_json_under_a_terminal_is_exact_and_inert(battery):
    out = _pty_run(battery, ["show", ATTACK, "--json"])
    assert [seq for seq in RAW if seq in out] == []
    data = orjson.loads(out.replace("\r\n", "\n"))
    prompts = [t["prompt"] for t in data["turns"]]
    assert any(ESCAPES["osc52-clipboard"] in p for p in prompts)  # the data itself is exact


def test_a_file_written_with_o_keeps_the_bytes(battery, tmp_path):
    target = tmp_path / "attack.md"
    out = _pty_run(battery, ["export", ATTACK, "--tool-output", "-o", str(target)])
    assert [seq for seq in RAW if seq in out] == []
    text = target.read_text()
    for name in ("osc52-clipboard", "osc8-link", "hidden-text", "clear-screen"):
        assert ESCAPES[name] in text, name
    # and so does a pipe: `archive cat` into a file is byte-exact (the JSONL escapes C0 itself)
    piped = subprocess.run([sys.executable, "-m", "archive", "cat", ATTACK],
                           env={**os.environ, **battery}, capture_output=True, check=True)
    assert "\x9b31mc1-red".encode() in piped.stdout
    assert b"\\u001b]52;c;" in piped.stdout and b"^[" not in piped.stdout
