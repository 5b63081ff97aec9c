"""`sessions` marks a fork (`restore --turns N` and/or `--new-id`) with the session it came
from and the turns it took, from the transcripts alone: the link survives the ingest that
archives the fork under its new id, `archive repair` and `archive reindex` (issue 16)."""

from __future__ import annotations

import os

import orjson
import pytest
from conftest import BIG_ID, SHORT_ID


@pytest.fixture
def forked(home, cli):
    """BIG_ID forked at turn 2 into work, SHORT_ID forked whole into personal, ingested."""
    cli("ingest", "--quiet")
    big = cli.json("restore", BIG_ID, "--to", "work", "--turns", "2", "--new-id")
    short = cli.json("restore", SHORT_ID, "--to", "personal", "--new-id")
    cli("ingest", "--quiet")
    return {"big": big["session_id"], "short": short["session_id"]}


def _links(cli) -> dict[str, tuple]:
    return {r["session_id"]: (r["forked_from"], r["forked_turns"])
            for r in cli.json("sessions", "--all")}


def test_sessions_json_names_where_a_fork_came_from(forked, cli):
    links = _links(cli)
    short_turns = cli.json("show", SHORT_ID)["turn_count"]
    assert links[forked["big"]] == (BIG_ID, 2)
    assert links[forked["short"]] == (SHORT_ID, short_turns)
    assert links[BIG_ID] == (None, None)  # the origin is no fork
    assert links[SHORT_ID] == (None, None)
    assert sum(1 for v in links.values() if v[0]) == 2  # no other session is taken for one


@pytest.mark.parametrize("columns", ["200", "80"])
def test_sessions_shows_the_origin_at_every_width(forked, cli, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    out = cli("sessions", "--all").stdout
    (line,) = [ln for ln in out.splitlines() if ln.lstrip("│ ").startswith(forked["big"][:8])]
    assert f"from {BIG_ID[:8]} (turn 2)" in line, out
    (origin,) = [ln for ln in out.splitlines() if ln.lstrip("│ ").startswith(BIG_ID[:8])]
    assert "from " not in origin


def test_a_fork_that_grew_keeps_its_origin(forked, cli, home):
    path = next((home.root("work") / "projects").glob(f"*/{forked['big']}.jsonl"))
    with open(path, "ab") as fh:  # one more prompt, as resuming the fork adds
        fh.write(orjson.dumps({
            "type": "user", "uuid": "grown-1", "parentUuid": None, "sessionId": forked["big"],
            "cwd": "/tmp", "timestamp": "2030-01-01T00:00:00.000Z",
            "message": {"role": "user", "content": "one more prompt in the fork"}}) + b"\n")
    cli("ingest", "--quiet")
    (row,) = [r for r in cli.json("sessions", "--all") if r["session_id"] == forked["big"]]
    assert row["turns"] == 3
    assert (row["forked_from"], row["forked_turns"]) == (BIG_ID, 2)


def test_the_link_survives_repair_and_reindex(forked, cli, home):
    before = _links(cli)
    for suffix in ("", "-wal", "-shm"):
        path = home.archive / f"catalog.sqlite{suffix}"
        if path.exists():
            os.unlink(path)
    cli("repair")
    cli("reindex")
    assert _links(cli) == before
    assert before[forked["big"]] == (BIG_ID, 2)


def test_a_catalog_from_before_fork_marks_lists_and_then_marks(forked, cli, home):
    """A catalog made before the marks: `sessions` reads it as it is (no fork known), the next
    ingest adds the columns, and `archive reindex` marks every session again."""
    import sqlite3

    db = home.archive / "catalog.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX session_meta_by_fork_key")
        conn.execute("ALTER TABLE session_meta DROP COLUMN fork_key")
        conn.execute("ALTER TABLE session_meta DROP COLUMN turn_marks")
    assert _links(cli)[forked["big"]] == (None, None)
    cli("ingest", "--quiet")
    assert _links(cli)[forked["big"]] == (None, None)  # not indexed again: no marks yet
    cli("reindex", "--quiet")
    assert _links(cli)[forked["big"]] == (BIG_ID, 2)
