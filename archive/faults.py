"""Crash and pause points: where the tests kill an ingest, as ``kill -9`` would, or hold it
still to change its sources at an exact instant.

Ingest and indexing call ``crash_point(name)`` between the steps whose order keeps the archive
sound (objects before the catalog commit, the catalog before the index, the index before
``session_meta``), and ``pause_point(name)`` where the world may change under a run (between
the walk of the roots and the reading of what it found). Outside the tests both do nothing.
"""

from __future__ import annotations

import os
import time

FAULT_ENV = "SESSION_ARCHIVE_FAULT"
PAUSE_ENV = "SESSION_ARCHIVE_PAUSE"
PAUSE_LIMIT = 60.0  # seconds a paused run waits for the test before it goes on by itself


def crash_point(name: str) -> None:
    """Die here at once (no cleanup, no ``finally``) when $SESSION_ARCHIVE_FAULT names this
    point. Does nothing otherwise."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(137)


def pause_point(name: str) -> None:
    """When $SESSION_ARCHIVE_PAUSE is ``name:FOLDER``: create ``FOLDER/name.reached``, then
    wait until ``FOLDER/name.go`` exists (at most PAUSE_LIMIT seconds), so a test can act
    while the run stands exactly here. Does nothing otherwise."""
    point, _, folder = os.environ.get(PAUSE_ENV, "").partition(":")
    if point != name or not folder:
        return
    with open(os.path.join(folder, f"{name}.reached"), "w"):
        pass
    go = os.path.join(folder, f"{name}.go")
    deadline = time.monotonic() + PAUSE_LIMIT
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.01)
