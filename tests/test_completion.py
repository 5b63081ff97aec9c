"""Tab completion (issue 16): commands, options, profiles, session ids and names from the
catalog, without importing Whoosh; the scripts installed in one command, and bash's really
completing through them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIG_ID, SHORT_ID

ARCHIVE = Path(sys.executable).parent / "archive"


def complete(*words: str, env=None) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "archive", "__complete", *words],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


@pytest.fixture
def archived(home, cli):
    cli("ingest", "--quiet")
    return home


def test_a_partial_session_id(archived):
    assert complete("show", BIG_ID[:3]) == [BIG_ID]
    assert complete("restore", SHORT_ID[:4]) == [SHORT_ID]
    assert len(complete("show", "")) >= 10  # every session, newest first


def test_commands_options_profiles_choices(archived):
    assert complete("se") == ["search", "sessions", "secrets", "serve"]
    assert "--from" in complete("show", "--f")
    assert "--no-pager" in complete("show", BIG_ID, "--no")
    assert complete("sessions", "--profile", "") == ["default", "personal", "work"]
    assert complete("export", BIG_ID, "--format", "h") == ["html"]
    assert complete("completion", "") == ["show", "install"]
    assert complete("nosuch", "x") == []


def test_no_archive_completes_commands_only(home):
    assert complete("show", "ae") == []
    assert "show" in complete("sh")


def test_completion_imports_no_whoosh(archived):
    code = ("import sys; sys.argv = ['archive', '__complete', 'show', 'ae']\n"
            "from archive.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('WHOOSH' if any(m.startswith('whoosh') for m in sys.modules) else 'clean')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout.splitlines()
    assert out == [BIG_ID + "\t" + out[0].split("\t", 1)[1], "clean"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_install_in_one_command(archived, cli, shell):
    home = archived.path
    cli("completion", "install", "--shell", shell)
    script = {"bash": home / ".local/share/bash-completion/completions/archive",
              "zsh": home / ".zfunc/archive-completion.zsh",
              "fish": home / ".config/fish/completions/archive.fish"}[shell]
    assert script.read_text() == cli("completion", "show", shell).stdout
    assert "archive __complete" in script.read_text()
    if shell == "zsh":
        cli("completion", "install", "--shell", "zsh")  # twice: one line in .zshrc
        assert (home / ".zshrc").read_text().count(f"source {script}") == 1
    cli("completion", "install", "--shell", "tcsh", code=2)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_through_the_script(archived, cli):
    script = cli("completion", "show", "bash").stdout
    probe = (script + "\nCOMP_WORDS=(archive show " + BIG_ID[:4] + ")\nCOMP_CWORD=2\n"
             "_archive_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {**os.environ, "PATH": f"{ARCHIVE.parent}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True,
                         timeout=60, env=env).stdout.split()
    assert out == [BIG_ID]
