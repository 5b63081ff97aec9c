"""The picker of `archive resume`, driven headless with Textual's pilot against a real archive
built from the fixtures, and the real command in tmux at 80×24."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
from test_search_cli import make_session

from archive.paths import project_folder
from archive.resume import EXEC_LOG_ENV, launch, plan_resume
from archive.roots import discover_roots

pytest.importorskip("textual")

from archive.tui.app import PickerApp, ProjectScreen  # noqa: E402

PHRASE = "zephyr quokka lantern"
FAKE_KEY = "".join(["sk-", "ant-", "api03-", "aB3dE6gH9kLmN0pQrS2tUv4wXy5z" * 3, "AA"])


@pytest.fixture
def planted(home, cli, tmp_path):
    """The fixtures' sessions plus one in `work` (cwd existing here) with PHRASE in turn 3 of
    4, a credential and terminal escape sequences in turn 1; all ingested."""
    sid = str(uuid.UUID(int=7 << 96))
    cwd = tmp_path / "proj"
    cwd.mkdir()
    turns = [(f"ordinary question {n} about the build", f"ordinary answer {n}")
             for n in range(1, 5)]
    turns[0] = (f"set ANTHROPIC_API_KEY={FAKE_KEY} \x1b]0;pwned\x07 and \x1b[2J go",
                "done \x1b[31mred\x1b[0m")
    turns[2] = (f"{turns[2][0]} {PHRASE}", turns[2][1])
    path = home.session_file("work", project_folder(str(cwd)), sid)
    make_session(path, sid, str(cwd), "main", "claude-opus-4-5", turns, day=25)
    cli("ingest")
    return sid, path, cwd


def _app(home, **kw) -> PickerApp:
    return PickerApp(home.archive, discover_roots(), **kw)


async def _settle(pilot, app, timeout: float = 20.0) -> None:
    """Until the rows of the newest query are on screen and the selected preview is loaded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if app.shown_generation == app.generation and (not app.rows or app.session_data):
            return
    raise AssertionError("the picker did not settle")


def _run(coro):
    return asyncio.run(coro)


def _snapshot(*folders: Path) -> dict:
    """Every file and its size and mtime; SQLite's -wal/-shm files, which any reader of the
    catalog opens, left out."""
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for folder in folders for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_typing_a_planted_phrase_puts_its_session_first_with_the_matching_turn(home, planted):
    sid, _, _ = planted

    async def go():
        app = _app(home)
        async with app.run_test(size=(120, 40)) as pilot:
            await _settle(pilot, app)
            assert app.rows[0].session_id == sid  # empty query: most recently active first
            await pilot.press(*PHRASE)
            await _settle(pilot, app)
            return app.rows, app.turn, app.target, app.preview_plain

    rows, turn, target, preview = _run(go())
    assert rows[0].session_id == sid and rows[0].turn == 3
    assert (turn, target) == (3, "work")
    assert f"ordinary question 3 about the build {PHRASE}" in preview


def test_move_switch_profile_fork_from_turn_2_restores_that_prefix_and_execs_it(
    home, planted, tmp_path
):
    sid, source, cwd = planted

    async def go():
        app = _app(home)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"ordinary question")
            await _settle(pilot, app)
            assert app.rows[0].session_id == sid
            await pilot.press("down")
            await _settle(pilot, app)
            moved = app.current.session_id
            await pilot.press("up")
            await _settle(pilot, app)
            assert app.current.session_id == sid and moved != sid
            assert app.target == "work"
            await pilot.press("ctrl+t")  # default -> personal -> work: the next after work
            first = app.target
            while app.target != "personal":
                await pilot.press("ctrl+t")
            app.turn = 3
            await pilot.press("pageup")  # from turn 3 to turn 2
            assert app.turn == 2
            await pilot.press("ctrl+f")
        return app.return_value, first

    choice, first = _run(go())
    assert first == "default"
    assert (choice.session_id, choice.to, choice.turns, choice.new_id) == (sid, "personal", 2, True)
    plan = plan_resume(home.archive, discover_roots(), choice.session_id, to=choice.to,
                       turns=choice.turns, new_id=choice.new_id, project=choice.project)
    assert plan.session_id != sid
    lines = source.read_bytes().splitlines(keepends=True)
    two_turns = b"".join(lines[:8])  # make_session writes 4 lines per turn
    assert plan.restored_path.read_bytes() == two_turns.replace(
        sid.encode(), plan.session_id.encode())
    log = tmp_path / "exec.json"
    launch(plan.launch, {**os.environ, EXEC_LOG_ENV: str(log)})
    assert orjson.loads(log.read_bytes()) == {
        "argv": ["ccs", "personal", "--resume", plan.session_id], "env": {}, "cwd": str(cwd)}


def test_enter_resumes_where_it_was_found_byte_exact(home, planted, tmp_path):
    sid, source, cwd = planted

    async def go():
        app = _app(home, to="default")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*PHRASE)
            await _settle(pilot, app)
            await pilot.press("enter")
        return app.return_value

    choice = _run(go())
    assert (choice.session_id, choice.to, choice.turns) == (sid, "default", None)
    plan = plan_resume(home.archive, discover_roots(), sid, to=choice.to)
    assert plan.restored_path.read_bytes() == source.read_bytes()
    log = tmp_path / "exec.json"
    launch(plan.launch, {**os.environ, EXEC_LOG_ENV: str(log)})
    assert orjson.loads(log.read_bytes())["argv"] == ["claude", "--resume", sid]


def test_escape_writes_nothing(home, planted, monkeypatch, tmp_path):
    work_dir = tmp_path / "cwd"
    work_dir.mkdir()
    monkeypatch.chdir(work_dir)
    before = _snapshot(home.path, home.archive, work_dir)

    async def go():
        app = _app(home)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*PHRASE)
            await _settle(pilot, app)
            await pilot.press("ctrl+t", "pageup", "escape")
        return app.return_value

    assert _run(go()) is None
    assert _snapshot(home.path, home.archive, work_dir) == before


def test_the_hand_off_key_writes_a_masked_document_here(home, planted, monkeypatch, tmp_path):
    sid, _, _ = planted
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)

    async def go():
        app = _app(home)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*PHRASE)
            await _settle(pilot, app)
            await pilot.press("ctrl+o")
            await pilot.pause(0.1)
            await pilot.press("ctrl+o")  # a second time: it exists, nothing overwritten
            await pilot.pause(0.1)
            await pilot.press("escape")
        return app.return_value

    assert _run(go()) is None
    doc = here / f"{sid[:8]}-handoff.md"
    assert [p.name for p in here.iterdir()] == [doc.name]
    text = doc.read_text()
    assert PHRASE in text and "[REDACTED" in text and FAKE_KEY not in text
    assert (doc.stat().st_mode & 0o777) == 0o600


def test_list_and_preview_mask_secrets_and_show_no_control_characters(home, planted):
    sid, _, _ = planted

    async def go():
        app = _app(home)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"ANTHROPIC_API_KEY")
            await _settle(pilot, app)
            app.turn = 1
            await pilot.press("pagedown", "pageup")
            return app.rows, app.preview_plain

    rows, preview = _run(go())
    assert rows[0].session_id == sid
    shown = "\n".join([preview, rows[0].title, rows[0].snippet])
    assert "[REDACTED" in preview and FAKE_KEY not in shown and "aB3dE6gH9kLm" not in shown
    assert "\x1b" not in shown and "\x07" not in shown
    assert "pwned" in preview  # the text stays readable; only the controls are replaced


def test_a_stale_answer_is_dropped(home, planted):
    async def go():
        app = _app(home)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*PHRASE)
            await _settle(pilot, app)
            shown = list(app.rows)
            stale = app.source.rows("ordinary")
            assert len(stale) != len(shown)
            app.show_rows(app.generation - 1, stale)  # an older query answering late
            return shown, app.rows

    shown, after = _run(go())
    assert after == shown


def test_a_missing_project_directory_is_asked_for(home, planted, tmp_path):
    """The fixtures' sessions ran in folders that do not exist here: Enter asks where."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    async def go():
        app = _app(home)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*"phx.server")
            await _settle(pilot, app)
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ProjectScreen)
            box = app.screen.query_one("#project-path")
            box.value = str(elsewhere)
            await pilot.press("enter")
            await pilot.pause(0.2)
        return app.return_value

    choice = _run(go())
    assert choice.session_id.startswith("55604662") and choice.project == str(elsewhere)


def test_a_malformed_query_is_said_in_the_status_line(home, planted):
    async def go():
        app = _app(home)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press(*'"unclosed')
            await _settle(pilot, app)
            return app.rows, app.status_plain

    rows, status = _run(go())
    assert rows == [] and status == "error: unbalanced quote (\") in query"


# -- the real command in a real terminal -------------------------------------------------------


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          timeout=30).stdout


SOCKET = f"archive-test-{os.getpid()}"


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_tmux_at_80x24_list_preview_and_footer_are_visible_and_enter_execs(
    home, planted, tmp_path
):
    sid, _, cwd = planted
    log = tmp_path / "exec.json"
    paged = tmp_path / "paged.txt"
    archive = Path(sys.executable).with_name("archive")
    env = {"PAGER": f"cat > {paged}", "HOME": str(home.path),
           "SESSION_ARCHIVE_DIR": str(home.archive), "SESSION_ARCHIVE_FSYNC": "0",
           EXEC_LOG_ENV: str(log), "TERM": "xterm-256color"}
    flags = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
    _tmux("new-session", "-d", "-x", "80", "-y", "24", *flags,
          # COLUMNS/LINES (conftest sets COLUMNS) would override the terminal's own size
          f"cd {tmp_path} && env -u COLUMNS -u LINES {archive} resume; sleep 30")
    try:
        def screen_until(text: str, timeout: float = 30.0) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                shown = _tmux("capture-pane", "-p")
                if text in shown:
                    return shown
                time.sleep(0.2)
            raise AssertionError(f"{text!r} never appeared:\n{shown}")

        screen_until("turn 4 of 4")
        _tmux("send-keys", "-l", PHRASE)
        shown = screen_until("turn 3 of 4")
        lines = shown.splitlines()
        print(shown)  # shown by pytest when the test fails
        assert len(lines) <= 24 and max(len(x) for x in lines) <= 80
        assert PHRASE in lines[0]  # the query
        assert "profiles" in lines[1] and "ctx" in lines[1]  # the list's columns, all of them
        assert sid[:8] in lines[2] and "work" in lines[2]  # the planted session first
        assert any(f"{sid} · work" in x for x in lines)  # the preview's heading
        assert "Resume" in lines[-1] and "Quit" in lines[-1]  # the footer
        _tmux("send-keys", "C-r")  # the whole session in the pager ($PAGER: a file here)
        deadline = time.monotonic() + 30
        while b"ordinary answer 4" not in _read(paged) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b"ordinary answer 4" in _read(paged) and b"[REDACTED" in _read(paged)
        assert FAKE_KEY.encode() not in _read(paged) and b"\x1b]0;" not in _read(paged)
        screen_until("turn 3 of 4")  # back in the picker
        _tmux("send-keys", "Enter")
        deadline = time.monotonic() + 30
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert orjson.loads(log.read_bytes()) == {
            "argv": ["ccs", "work", "--resume", sid], "env": {}, "cwd": str(cwd)}
    finally:
        _tmux("kill-server")
