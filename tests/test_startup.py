"""What a cold `archive search` (and `sessions`) process imports.

Each query is a new process, and start-up is most of its time (issue 20): these tests hold the
search path to the modules it answers with. They assert on imports, never on time, and run the
real CLI (``main()``) in a subprocess against a real archive.
"""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest
from conftest import lay_out

# Imported by `main()`, which then prints the modules loaded, one a line, on stderr.
RUN = """
import sys
from archive.cli import main
sys.argv = ["archive", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as e:
    code = e.code
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

# Modules for writing, parsing transcripts or discovering roots, which no read of the index
# needs; and the command modules of every other command.
NEVER_FOR_READS = (
    "archive.indexer",
    "archive.ingest",
    "archive.transcript",
    "archive.roots",
    "archive.search.writer",
    "whoosh.writing",
    "whoosh.externalsort",
    *(f"archive.cli.{name}" for name in (
        "completion", "context", "demo", "export", "ingest", "mcp", "nightly", "remote",
        "restore", "secrets", "serve")),
)


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """A HOME of real transcripts in three profiles, ingested (index included)."""
    root = tmp_path_factory.mktemp("startup")
    home, archive = root / "home", root / "archive"
    lay_out(home)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG")}
    env.update(HOME=str(home), SESSION_ARCHIVE_DIR=str(archive), SESSION_ARCHIVE_FSYNC="0",
               COLUMNS="200")
    subprocess.run([sys.executable, "-m", "archive", "ingest", "--quiet"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def run(env: dict, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    proc = subprocess.run([sys.executable, "-c", RUN, *args], env=env, capture_output=True,
                          text=True, timeout=120)
    lines = proc.stderr.splitlines()
    return proc, {m for m in lines if m and " " not in m}


def test_cold_search_json_loads_no_writer_parser_roots_or_rich(archived):
    proc, loaded = run(archived, "search", "spotter", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert orjson.loads(proc.stdout)  # it did search: hits
    assert {"whoosh.searching", "archive.search.ranking", "archive.redact"} <= loaded
    assert sorted(loaded & set(NEVER_FOR_READS)) == []
    assert "rich" not in loaded and "archive.render" not in loaded  # JSON needs no console


def test_cold_search_table_loads_rich_but_no_writer_parser_or_roots(archived):
    proc, loaded = run(archived, "search", "spotter", "--no-pager")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "spotter" in proc.stdout.lower()
    assert {"rich.table", "archive.render", "archive.search.ranking"} <= loaded
    assert sorted(loaded & set(NEVER_FOR_READS)) == []


def test_cold_sessions_loads_no_index_parser_or_roots(archived):
    proc, loaded = run(archived, "sessions", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(orjson.loads(proc.stdout)) > 3
    assert "archive.views" in loaded
    assert sorted(loaded & {*NEVER_FOR_READS, "whoosh", "archive.search", "rich"}) == []


@pytest.mark.parametrize("argv", [["ingest", "--help"], ["schedule", "--help"], ["--help"]],
                         ids=["another-command", "a-group", "the-overview"])
def test_other_commands_still_load_their_module(archived, argv):
    """Only the read commands skip the other command modules: the rest load them all."""
    proc, loaded = run(archived, *argv)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage" in proc.stdout
    assert {"archive.cli.ingest", "archive.cli.nightly", "archive.cli.completion"} <= loaded
