"""Crash points: where the crash tests kill an ingest, as ``kill -9`` would.

Ingest and indexing call ``crash_point(name)`` between the steps whose order keeps the archive
sound (objects before the catalog commit, the catalog before the index, the index before
``session_meta``). Outside the tests it does nothing.
"""

from __future__ import annotations

import os

FAULT_ENV = "SESSION_ARCHIVE_FAULT"


def crash_point(name: str) -> None:
    """Die here at once (no cleanup, no ``finally``) when $SESSION_ARCHIVE_FAULT names this
    point. Does nothing otherwise."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(137)
