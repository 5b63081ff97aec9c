"""The demo's home: the sample sessions shipped with the package, laid out as two profiles.

``archive demo`` (cli/demo.py) ingests and searches it, so a new user sees real output on a
machine without Claude Code sessions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


def build_demo_home(home: Path) -> None:
    """``home/.claude`` from samples/default and ``home/.ccs/instances/work`` from samples/work."""
    shutil.copytree(SAMPLES / "default", home / ".claude", dirs_exist_ok=True)
    shutil.copytree(SAMPLES / "work", home / ".ccs" / "instances" / "work", dirs_exist_ok=True)
