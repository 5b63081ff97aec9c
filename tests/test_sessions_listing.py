"""The sessions listing reads the catalog once for every session held once, and names a long
page's sessions in SQL no more (``views.copy_info``): the rows stay exactly the same."""

from __future__ import annotations

import pytest
from conftest import CCL

from archive import views

SRC = CCL / "-Users-dain-workspace-JSSoundRecorder" / "7acd37a8-2745-4b58-a8a9-46164b22ad9e.jsonl"


@pytest.fixture
def copied(home, cli):
    """The archive of ``home`` plus one session copied by hand into a second profile."""
    dest = home.root("work") / "projects" / SRC.parent.name / SRC.name
    dest.parent.mkdir(parents=True)
    dest.write_bytes(SRC.read_bytes())
    cli.json("ingest")
    return home


@pytest.mark.parametrize("args", [["--all"], ["--limit", "3"], ["--profile", "work", "--all"]],
                         ids=["all", "a-page", "one-profile"])
def test_rows_are_the_same_however_the_copies_are_read(copied, cli, monkeypatch, args):
    named = cli.json("sessions", *args)
    monkeypatch.setattr(views, "NAMED_PAGE_MAX", 0)  # as for a page of 60,000 sessions
    assert cli.json("sessions", *args) == named
    both = [r for r in named if r["session_id"] == SRC.stem]
    if args[0] != "--limit":
        (row,) = both
        assert row["profiles"] == ["default", "work"] and len(row["copies"]) == 2
        assert row["addresses"] == ["default", "work"] and row["diverged"] is False
    once = [r for r in named if r["session_id"] != SRC.stem]
    assert once and all(len(r["copies"]) == 1 and r["profiles"] == [r["profile"]]
                        and r["copies"][0]["sha256"] for r in once)
