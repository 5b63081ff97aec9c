"""``archive demo``: the whole job on the sample sessions shipped with the package.

It builds a throw-away home with two profiles from ``archive/samples`` and runs the real
library on it, so a new user sees real output on a machine without Claude Code sessions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from .ingest import ingest
from .render import ingest_summary, roots_table
from .roots import count_session_files, discover_roots

SAMPLES = Path(__file__).parent / "samples"


def build_demo_home(home: Path) -> None:
    """``home/.claude`` from samples/default and ``home/.ccs/instances/work`` from samples/work."""
    shutil.copytree(SAMPLES / "default", home / ".claude", dirs_exist_ok=True)
    shutil.copytree(SAMPLES / "work", home / ".ccs" / "instances" / "work", dirs_exist_ok=True)


def run_demo(home: Path, archive_dir: Path, console: Console) -> None:
    build_demo_home(home)
    roots = discover_roots(environ={}, home=home)
    console.print(f"Demo home: {home}\nArchive:   {archive_dir}\n")
    rows = [r.to_dict() | {"session_files": count_session_files(r)} for r in roots]
    console.print(roots_table(rows))
    console.print("\n$ archive ingest")
    ingest_summary(console, ingest(archive_dir, roots, durable=False))
    console.print("\n$ archive ingest   (again: nothing changed, nothing is read)")
    ingest_summary(console, ingest(archive_dir, roots, durable=False))
    from . import query
    from .render import search_view
    from .repo import Repository

    console.print('\n$ archive search "test" --limit 5')
    with Repository(archive_dir) as repo:
        hits = query.search(repo, "test", query.Filters(), limit=5)
    console.print(search_view(hits, grouped=False, width=console.width))
    console.print(
        f"\nTry: archive --help, or any command with --archive-dir {archive_dir}, e.g.\n"
        f"  archive snapshots --archive-dir {archive_dir}\n"
        f"  archive sessions --archive-dir {archive_dir}\n"
        f"  archive show 556 --archive-dir {archive_dir}\n"
        f"  archive search 'microphone OR recorder' --archive-dir {archive_dir}"
    )
