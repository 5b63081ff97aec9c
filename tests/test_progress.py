"""Ingest's progress, phase by phase (issue 16): the library reports scan, store and index
through a callback with counts that only grow and totals known once the scan is over; the CLI
draws them on a terminal only (a real pty), never under --quiet, --json or into a pipe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_outward_cli import _pty_run

from archive.ingest import ingest
from archive.roots import discover_roots


def _record(home):
    calls = []
    result = ingest(home.archive, discover_roots(environ={}, home=home.path), durable=False,
                    progress=lambda phase, done, total: calls.append((phase, done, total)))
    return result, calls


def _phases(calls):
    seq = []
    for phase, _, _ in calls:
        if not seq or seq[-1] != phase:
            seq.append(phase)
    return seq


def test_the_callback_reports_each_phase_in_order_with_growing_counts(home):
    result, calls = _record(home)
    assert _phases(calls) == ["scan", "store", "index", "commit"]
    by_phase = {p: [(d, t) for q, d, t in calls if q == p] for p in _phases(calls)}
    for phase, counts in by_phase.items():
        done = [d for d, _ in counts]
        assert done == sorted(done), phase
    assert by_phase["scan"][-1] == (result.files_seen, None)
    store_totals = {t for _, t in by_phase["store"]}
    assert store_totals == {result.bytes_read}  # known from the scan, right from the start
    assert by_phase["store"][0][0] == 0 and by_phase["store"][-1][0] == result.bytes_read
    assert len(by_phase["store"]) > 3  # moves while files are read, not once at the end
    index_totals = {t for _, t in by_phase["index"]}
    assert len(index_totals) == 1 and index_totals.pop() > 0
    assert by_phase["index"][-1][0] == by_phase["index"][-1][1]
    assert len(by_phase["index"]) > 3
    assert by_phase["commit"] == [(0, None)]


def test_a_noop_ingest_reports_an_empty_store_and_no_index(home):
    _record(home)
    result, calls = _record(home)
    assert _phases(calls) == ["scan", "store"]
    assert calls[-1] == ("store", 0, 0)
    assert result.files_changed == 0


@pytest.fixture
def env(home):
    return {"HOME": str(home.path), "SESSION_ARCHIVE_DIR": str(home.archive),
            "SESSION_ARCHIVE_FSYNC": "0"}


def test_a_terminal_sees_the_three_phases(env):
    out = _pty_run(env, ["ingest"])
    for label in ("scan", "store", "index"):
        assert label in out, out
    assert "files found" in out and " read" in out and " indexed" in out
    assert "Snapshot 1" in out  # the summary, after the bar is gone


@pytest.mark.parametrize("flag", ["--quiet", "--json"])
def test_quiet_and_json_draw_no_progress(env, flag):
    out = _pty_run(env, ["ingest", flag])
    assert "files found" not in out and " indexed" not in out


def test_a_pipe_draws_no_progress(env):
    full = {**os.environ, **env}
    proc = subprocess.run([sys.executable, "-m", "archive", "ingest"], env=full,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Snapshot 1" in proc.stdout
    assert "files found" not in proc.stderr + proc.stdout
