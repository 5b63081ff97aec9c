"""Context size: figures from real and generated sessions, bloated listing, fork and hand-off."""

from __future__ import annotations

import math
import shlex

from conftest import BIG_ID, SHORT_ID
from test_search_cli import make_session

from archive.transcript import parse_bytes

SID = "0badc0de-0000-4000-8000-000000000001"
PROJECT = "-home-me-bloat"


def _bloated_session(home, turns=6):
    """Turn n's last assistant message reports 100n+50 input tokens: 150, 250, … 650."""
    path = home.session_file("work", PROJECT, SID)
    make_session(
        path, SID, "/home/me/bloat", "main", "claude-opus-4-1",
        [(f"step {n} prompt: unique-{n}-marker " + "detail " * 200, "answer text " * 300)
         for n in range(1, turns + 1)],
    )
    return path


def test_real_fixture_figures(home, cli):
    cli.json("ingest")
    report = cli.json("context", BIG_ID, "--threshold", "120000")
    assert report["context_tokens"] == 102168
    assert report["peak_context_tokens"] == 141787
    assert report["compactions"] == [{"turn": 1, "trigger": "manual", "pre_tokens": 142431}]
    assert report["turns"] == [
        {"turn": 1, "context_tokens": 141787}, {"turn": 2, "context_tokens": 102168},
    ]
    assert report["first_turn_over"] == 1
    assert report["suggested_fork_turn"] is None  # nothing to fork from before turn 1
    assert set(report) >= {
        "session_id", "context_tokens", "peak_context_tokens", "threshold", "first_turn_over",
        "compactions", "turns", "suggested_fork_turn",
    }
    shown = cli.json("show", BIG_ID)
    assert [t["context_tokens"] for t in shown["turns"]] == [141787, 102168]
    assert "compacted (manual, 142K before)" in cli("context", BIG_ID).stdout


def test_generated_usage_first_turn_over_and_the_fork_command_works(home, cli):
    _bloated_session(home)
    cli.json("ingest")
    report = cli.json("context", SID, "--threshold", "400")
    assert [t["context_tokens"] for t in report["turns"]] == [150, 250, 350, 450, 550, 650]
    assert report["first_turn_over"] == 4
    assert report["suggested_fork_turn"] == 3
    text = cli("context", SID, "--threshold", "400").stdout
    fork = report["commands"]["fork"]
    assert fork in text and report["commands"]["handoff"] in text
    argv = shlex.split(fork)
    assert argv[:2] == ["archive", "restore"]
    result = cli.json(*argv[1:])
    restored = parse_bytes(open(result["path"], "rb").read())
    assert len(restored.turns) == 3
    assert result["session_id"] != SID


def test_bloated_lists_sessions_over_the_threshold_only(home, cli):
    _bloated_session(home)
    cli.json("ingest")
    rows = cli.json("sessions", "--bloated", "--threshold", "600")
    ids = {r["session_id"] for r in rows}
    assert SID in ids  # context 650
    assert SHORT_ID in ids  # context 25,353
    assert all(r["context_tokens"] > 600 for r in rows)
    assert SID not in {r["session_id"] for r in cli.json("sessions", "--bloated",
                                                          "--threshold", "700")}
    row = rows[0]
    assert set(row) >= {"context_tokens", "peak_context_tokens", "compactions",
                        "context_estimated"}
    by_context = cli.json("sessions", "--sort", "context")
    values = [r["context_tokens"] or 0 for r in by_context]
    assert values == sorted(values, reverse=True)
    stats = cli.json("stats")
    assert stats["bloated"] == len(cli.json("sessions", "--bloated", "--limit", "1000"))
    assert sum(r["bloated"] for r in stats["by_profile"]) == stats["bloated"]


def test_budgeted_handoff_fits_and_keeps_first_and_last_prompt(home, cli):
    _bloated_session(home)
    cli.json("ingest")
    full = cli("export", SID, "--format", "md").stdout
    budget = 1500
    assert math.ceil(len(full) / 4) > budget  # the plain export would not fit
    result = cli("export", SID, "--format", "md", "--budget", str(budget))
    text = result.stdout
    assert math.ceil(len(text) / 4) <= budget
    assert "unique-1-marker" in text and "unique-6-marker" in text
    assert "Shortened to fit 1,500 tokens" in text
    assert "answers of turns 2–5 shortened" in text
    assert "Shortened" in result.stderr
    small = cli("export", SID, "--budget", "3000").stdout
    assert "detail detail" in small


def test_budget_needs_markdown(home, cli):
    cli.json("ingest")
    result = cli("export", SHORT_ID, "--format", "html", "--budget", "1000", code=2)
    assert "--budget" in result.stderr
