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
