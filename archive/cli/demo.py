"""``archive demo``: the whole job on the sample sessions shipped with the package.

It builds a throw-away home with two profiles (``archive/demo.py``) and runs the real library
on it, printing what the commands would, so a new user sees real output on a machine without
Claude Code sessions.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import command, invoked_as, stdout

if TYPE_CHECKING:
    from rich.console import Console


@command()
def demo(
    archive_dir: Annotated[
        Path | None,
        typer.Option("--archive-dir", help="Where to build the demo archive [default: temp]."),
    ] = None,
):
    """Ingest the sample sessions shipped with session-archive into a demo archive.

    Lays out real Claude Code transcripts as two profiles (default and a CCS instance "work")
    in a temporary home, ingests them twice (the second run is a no-op), and shows the result.
    Nothing outside the temporary folders is touched; the home is removed at the end, and a
    temporary demo archive is kept for the commands it suggests (it says how to remove it).

    Example: archive demo
    """
    import shutil
    import tempfile

    from ..render import command_line

    base = Path(tempfile.mkdtemp(prefix="session-archive-demo-"))
    adir = archive_dir or base / "archive"
    console = stdout()
    kept = False
    try:
        run_demo(base / "home", adir, console, invoked_as())
        kept = archive_dir is None
    finally:
        # The home is a copy of the samples: nothing suggested reads it again.
        shutil.rmtree(base / "home" if kept else base, ignore_errors=True)
    if kept:
        console.print(f"\nThe demo archive stays in {base} for these commands; when done:",
                      markup=False, highlight=False, soft_wrap=True)
        command_line(console, f"rm -rf {shlex.quote(str(base))}", "  ")


def run_demo(home: Path, archive_dir: Path, console: Console, prog: str = "archive") -> None:
    """Build the demo home, ingest it twice, search it, and say what to try next, each command
    written as ``prog`` (how this program was run) so it can be pasted."""
    from ..demo import build_demo_home
    from ..filters import SearchFilters
    from ..ingest import ingest
    from ..query import search
    from ..render import ingest_summary, roots_table, search_view
    from ..repo import Repository
    from ..roots import count_session_files, discover_roots

    build_demo_home(home)
    roots = discover_roots(environ={}, home=home)
    console.print(f"Demo home: {home}\nArchive:   {archive_dir}\n")
    rows = [r.to_dict() | {"session_files": count_session_files(r)} for r in roots]
    console.print(roots_table(rows))
    console.print(f"\n$ {prog} ingest", markup=False, highlight=False, soft_wrap=True)
    ingest_summary(console, ingest(archive_dir, roots, durable=False))
    console.print(f"\n$ {prog} ingest   (again: nothing changed, nothing is read)",
                  markup=False, highlight=False, soft_wrap=True)
    ingest_summary(console, ingest(archive_dir, roots, durable=False))
    console.print(f'\n$ {prog} search "test" --limit 5', markup=False, highlight=False,
                  soft_wrap=True)
    with Repository(archive_dir) as repo:
        hits = search(repo, "test", SearchFilters(), limit=5)
    console.print(search_view(hits, grouped=False, width=console.width))
    from ..render import command_line

    where = shlex.quote(str(archive_dir))
    console.print(f"\nTry: {prog} --help, or any command with --archive-dir {where}, e.g.",
                  markup=False, highlight=False, soft_wrap=True)
    for line in ("snapshots", "sessions", "show 556", "search 'microphone OR recorder'"):
        command_line(console, f"{prog} {line} --archive-dir {where}", "  ")
