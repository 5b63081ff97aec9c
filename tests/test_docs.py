"""The README and the CLI agree: every command has help and is documented; the demo runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archive.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def _command_names() -> list[str]:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    return sorted(names)


def test_readme_opens_with_the_two_commands():
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert block[0].endswith("archive demo")
    assert block[1] == ".venv/bin/python -m pytest"
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest" in ci


@pytest.mark.parametrize("name", _command_names())
def test_every_command_has_help_and_is_in_the_readme(cli, name):
    result = cli(name, "--help")
    assert "Usage" in result.stdout
    assert f"archive {name}" in README, f"`archive {name}` is not documented in README.md"


def test_demo_runs_on_the_shipped_samples(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = cli("demo", "--archive-dir", tmp_path / "demo-archive")
    assert "Snapshot 1 of default, work" in result.stdout
    assert "new versions 6" in result.stdout
    assert "changed 0" in result.stdout  # the second, no-op ingest
    assert "7acd37a8" in result.stdout  # a search hit from the work profile


def test_demo_leaves_no_temporary_folder_behind(cli, tmp_path, monkeypatch):
    """With --archive-dir nothing of the demo stays in the temp folder; without it, only the
    archive its hints use, and it says where that is and how to remove it."""
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("COLUMNS", "80")
    cli("demo", "--archive-dir", tmp_path / "demo-archive")
    assert list(temp.iterdir()) == []

    out = cli("demo").stdout
    (base,) = temp.iterdir()
    assert [p.name for p in base.iterdir()] == ["archive"]  # the home is gone
    assert f"rm -rf {base}" in out.splitlines()[-1]
    assert f"--archive-dir {base / 'archive'}" in out



def test_demo_hints_name_the_program_as_it_was_run(tmp_path):
    """After the README's first line (`.venv/bin/archive demo`) `archive` is not on PATH: the
    demo's commands say `.venv/bin/archive …` then, whole on one line each; `archive` when that
    name on PATH is this program."""
    import os
    import subprocess
    import sys

    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "SESSION_ARCHIVE_DIR")}
    env.update(HOME=str(tmp_path), COLUMNS="60")

    def demo(prog: str, path: str, where: Path) -> list[str]:
        result = subprocess.run([prog, "demo", "--archive-dir", str(where)], cwd=venv_bin.parent,
                                env=env | {"PATH": path}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    lines = demo("bin/archive", "/usr/bin:/bin", tmp_path / "a")
    assert f"  bin/archive sessions --archive-dir {tmp_path / 'a'}" in lines  # one line, whole
    assert any(line.startswith("Try: bin/archive --help") for line in lines)
    assert "$ bin/archive ingest" in lines
    assert not any(line.lstrip().startswith("archive ") for line in lines)

    lines = demo(str(venv_bin / "archive"), f"{venv_bin}:/usr/bin:/bin", tmp_path / "b")
    assert f"  archive sessions --archive-dir {tmp_path / 'b'}" in lines
    assert "$ archive ingest" in lines


START_UP = """
import sys
from archive.cli import main
sys.argv = ["archive", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(" ".join(m for m in ("pydantic", "whoosh") if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["search", "jwt", "--limit", "5"]])
def test_command_start_up_stays_light(tmp_path, argv):
    """Start-up time is most of a search's time: `--help` must not load Whoosh, and option
    parsing must not load pydantic (typer 0.29 does, for 0.16 s: pyproject pins below it)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SESSION_ARCHIVE_DIR": str(tmp_path / "none"), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", START_UP, *argv], env=env,
                          capture_output=True, text=True, timeout=60)
    loaded = proc.stderr.strip().splitlines()[-1].split() if proc.stderr.strip() else []
    assert "pydantic" not in loaded
    if argv == ["--help"]:
        assert "Usage" in proc.stdout
        assert "whoosh" not in loaded


@pytest.mark.parametrize("name", _command_names())
def test_one_command_app_answers_like_the_whole_app(cli, name):
    """`archive COMMAND` runs an app holding only COMMAND (a faster start): its help and its
    usage errors must be the whole app's, word for word."""
    from typer.testing import CliRunner

    from archive.cli import app_for

    one = app_for(["archive", name])
    assert (one is app) == (name in [g.name for g in app.registered_groups])
    runner = CliRunner()
    for args in ([name, "--help"], [name, "--no-such-option"]):
        whole = runner.invoke(app, args, prog_name="archive")
        alone = runner.invoke(one, args, prog_name="archive")
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args
