"""Long views go through $PAGER on a terminal, as git's do (issue 16).

The real CLI runs in a subprocess whose stdout is a pseudo-terminal (or a pipe); PAGER is a
small script that records what it was given, so the test sees whether the pager ran and what
it received.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest
from conftest import BIG_ID

TITLE_WORD = "spotter-4te"  # in the title of BIG_ID


@pytest.fixture
def pager(home, cli, tmp_path):
    cli("ingest", "--quiet")
    record = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(
        "import sys\n"
        f"open({str(record)!r}, 'wb').write(sys.stdin.buffer.read())\n"
    )
    env = {**os.environ, "PAGER": f"{sys.executable} {script}", "COLUMNS": "100",
           "LINES": "30"}
    return record, env


def run_on_pty(args: list[str], env: dict) -> str:
    """Run ``archive ARGS`` with stdout on a pseudo-terminal; what reached the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "archive", *args], stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return out.decode("utf-8", "replace")


@pytest.mark.parametrize("args", [["show", BIG_ID], ["sessions"], ["search", "spotter"]])
def test_a_terminal_gets_the_pager(pager, args):
    record, env = pager
    shown = run_on_pty(args, env)
    assert record.exists(), "the pager did not run"
    paged = record.read_text(errors="replace")
    assert TITLE_WORD in paged or "spotter" in paged
    assert "spotter" not in shown  # everything went through the pager


def test_no_pager_prints_directly(pager):
    record, env = pager
    shown = run_on_pty(["show", BIG_ID, "--no-pager"], env)
    assert not record.exists()
    assert TITLE_WORD in shown


def test_a_pipe_gets_no_pager(pager):
    record, env = pager
    result = subprocess.run([sys.executable, "-m", "archive", "show", BIG_ID], env=env,
                            capture_output=True, timeout=60)
    assert result.returncode == 0
    assert not record.exists()
    assert TITLE_WORD in result.stdout.decode()


def test_pager_cat_prints_directly(pager):
    record, env = pager
    shown = run_on_pty(["show", BIG_ID], {**env, "PAGER": "cat"})
    assert not record.exists()
    assert TITLE_WORD in shown
