"""The full-screen session picker of ``archive resume`` (Textual).

Only ``archive resume`` imports this package: Textual and Whoosh cost other commands nothing.
The picker chooses; :mod:`archive.resume` does the work (capture, restore, the command).
"""

from __future__ import annotations

from pathlib import Path

from ..filters import SearchFilters
from ..roots import Root


def pick(
    archive_dir: Path,
    roots: list[Root],
    *,
    query: str = "",
    filters: SearchFilters | None = None,
    to: str | None = None,
    project: str | None = None,
):
    """Run the picker on this terminal; the :class:`~archive.tui.app.Choice` made, or None."""
    from .app import PickerApp

    return PickerApp(
        archive_dir, roots, query=query, filters=filters, to=to, project=project
    ).run()
