"""The full-text index: session documents written to Whoosh, and searches over them.

Only this package imports Whoosh, so the engine can be swapped without touching the rest of the
project; only its ``_whoosh`` subpackage (the fence) touches Whoosh's private names. One Whoosh
document per turn and one per session (``kind``), in an index folder that also holds
``meta.json`` (schema version, last indexed snapshot).

Concurrency model: the caller holds the archive-wide lock while writing, so there is at most
one ``IndexWriter``. Searches take no lock: Whoosh readers open the last committed table of
contents, so they never wait for an ingest and never see a half-written index.

Importing this package imports Whoosh (~30 ms): commands import it only when they need it;
the rest of it (the ranking, the writer) is imported on first use of a name.
"""

from __future__ import annotations

import importlib

from . import _whoosh  # noqa: F401  first: imports Whoosh without its heavy extras

# Where each public name lives. A name is imported on first use (PEP 562), so a search process
# never loads the writer (Whoosh's writing, sorting and pooling modules): a cold `archive
# search` is mostly start-up, and only ingest and reindex write.
_HOMES = {
    "IndexedSession": "documents",
    "SearchFilters": "filters",
    "DAMAGE_ERRORS": "folder",
    "WRITE_DAMAGE_ERRORS": "folder",
    "clean_leftovers": "folder",
    "clear_index": "folder",
    "damaged": "folder",
    "doc_count": "folder",
    "indexed_snapshot": "folder",
    "make_live": "folder",
    "open_index": "folder",
    "schema_outdated": "folder",
    "start_beside": "folder",
    "parse_query": "query_text",
    "Hit": "ranking",
    "search": "ranking",
    "SCHEMA_VERSION": "schema",
    "IndexWriter": "writer",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = sorted(_HOMES)
