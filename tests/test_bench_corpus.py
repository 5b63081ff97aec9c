"""The benchmark's generated corpora and report (scripts/gen_corpus.py, scripts/bench.py).

The bench measures issue 20's figures on two corpus shapes; these tests check that the shapes
differ the way the figures rely on (the dense one is mostly text worth indexing), that a seed
always gives the same bytes, and that a real bench run prints every figure with its target,
skipped steps included.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from archive.transcript import iter_lines, parse_lines

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
import gen_corpus  # noqa: E402  (a script, not a package)


def _text_share(home: Path) -> tuple[float, float, int]:
    """Bytes of prompt, answer and thinking / JSONL bytes, the same with tool text, and the
    median size of a main transcript (as the parser sees them)."""
    prose = text = total = 0
    sizes = []
    for path in home.rglob("*.jsonl"):
        if path.name == "history.jsonl":
            continue
        total += path.stat().st_size
        if "subagents" not in path.parts:
            sizes.append(path.stat().st_size)
        with path.open("rb") as fh:
            session = parse_lines(iter_lines(fh), session_id=None, is_subagent=False,
                                  tool_output_cap=1 << 30, file_size=path.stat().st_size)
        for turn in session.turns:
            said = sum(len(p.encode()) for p in (turn.prompt, turn.answer, turn.thinking) if p)
            tools = [c.input_text for c in turn.tool_calls] + [c.output for c in turn.tool_calls]
            prose += said
            text += said + sum(len(p.encode()) for p in tools if p)
    return prose / total, text / total, int(statistics.median(sizes))


def _digest(home: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(home.rglob("*.jsonl")):
        h.update(path.relative_to(home).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_dense_shape_is_mostly_text_in_many_short_sessions(tmp_path):
    dense = gen_corpus.generate(tmp_path / "dense", total_mb=3, seed=5, shape="dense")
    envelope = gen_corpus.generate(tmp_path / "envelope", total_mb=3, seed=5)
    dense_prose, dense_text, dense_median = _text_share(tmp_path / "dense")
    envelope_prose, envelope_text, _ = _text_share(tmp_path / "envelope")
    assert dense_prose >= 0.3 and dense_text >= 0.4, (dense_prose, dense_text)
    assert envelope_prose < 0.1 and envelope_text < dense_text, (envelope_prose, envelope_text)
    assert dense["sessions"] > envelope["sessions"]
    assert dense_median < 64 * 1024


def test_a_seed_always_gives_the_same_dense_corpus(tmp_path):
    for name in ("a", "b"):
        gen_corpus.generate(tmp_path / name, total_mb=1, seed=9, shape="dense")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    gen_corpus.generate(tmp_path / "c", total_mb=1, seed=10, shape="dense")
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")


def test_an_unknown_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus shape"):
        gen_corpus.generate(tmp_path, total_mb=1, shape="sparse")
    p = subprocess.run([sys.executable, str(SCRIPTS / "gen_corpus.py"), str(tmp_path),
                        "--shape", "sparse"], capture_output=True, text=True)
    assert p.returncode == 2 and "invalid choice" in p.stderr


@pytest.mark.slow
def test_bench_prints_each_figure_with_its_target_and_skipped_steps(tmp_path):
    """A real (tiny) first ingest of the dense shape: its rows carry the dense targets, and
    the 5 GiB step, not asked for, is listed as not run rather than left out."""
    p = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench.py"), "--steps", "1", "--mb", "1",
         "--shape", "dense", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode in (0, 1), p.stderr[-2000:]
    rows = {line.split("  ")[0].strip(): line for line in p.stdout.splitlines()}
    throughput = rows["1. first ingest throughput, index included (dense, CLI)"]
    assert ">= 10 MB/s" in throughput and ("PASS" in throughput or "MISS" in throughput)
    assert "<= 0.15x" in rows["1. index / JSONL bytes (dense)"]
    parts = [float(re.search(r"(\d+\.\d+) x", rows[f"1. index {name} / JSONL bytes (dense)"])[1])
             for name in ("postings", "term table", "columns")]
    assert all(x > 0 for x in parts)
    envelope = [line for name, line in rows.items()
                if "(envelope" in name and not line.startswith("{")]
    assert envelope and all(line.endswith("not run: --shape dense") for line in envelope)
    skipped = [line for name, line in rows.items() if name.startswith("9. dense")]
    assert len(skipped) == 8 and all(line.endswith("not run: step 9 not in --steps")
                                     for line in skipped)
    assert any(">= 5x" in line for line in skipped)
    assert any("<= 15 s" in line and "nightly" in line for line in skipped)
