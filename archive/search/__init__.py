"""The full-text index: session documents written to Whoosh, and searches over them.

Only this package imports Whoosh, so the engine can be swapped without touching the rest of the
project; only its ``_whoosh`` subpackage (the fence) touches Whoosh's private names. One Whoosh
document per turn and one per session (``kind``), in an index folder that also holds
``meta.json`` (schema version, last indexed snapshot).

Concurrency model: the caller holds the archive-wide lock while writing, so there is at most
one ``IndexWriter``. Searches take no lock: Whoosh readers open the last committed table of
contents, so they never wait for an ingest and never see a half-written index.

Importing this package imports Whoosh (~0.1 s): commands import it only when they need it.
"""

from __future__ import annotations

from . import _whoosh  # noqa: F401  first: imports Whoosh without its heavy extras

# isort: split
from .documents import IndexedSession
from .filters import SearchFilters
from .folder import (
    DAMAGE_ERRORS,
    WRITE_DAMAGE_ERRORS,
    clean_leftovers,
    clear_index,
    damaged,
    doc_count,
    indexed_snapshot,
    make_live,
    open_index,
    schema_outdated,
    start_beside,
)
from .query_text import parse_query
from .ranking import Hit, search
from .schema import SCHEMA_VERSION
from .writer import IndexWriter

__all__ = [
    "DAMAGE_ERRORS",
    "SCHEMA_VERSION",
    "WRITE_DAMAGE_ERRORS",
    "Hit",
    "IndexWriter",
    "IndexedSession",
    "SearchFilters",
    "clean_leftovers",
    "clear_index",
    "damaged",
    "doc_count",
    "indexed_snapshot",
    "make_live",
    "open_index",
    "parse_query",
    "schema_outdated",
    "search",
    "start_beside",
]
