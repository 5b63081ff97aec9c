"""Words shared by every front-end's messages: counts with their noun, the copies note.

Plain strings, no terminal styling, so the library (restore's notes, export's headers) and the
CLI say a thing the same way.
"""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """``1 session``, ``2 sessions``: a count meeting its noun (regular plurals only)."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def copies_note(others: list[str], chosen: str) -> str:
    """The note when several profiles hold one session: which copy was ``chosen`` (e.g.
    ``showing work``) and how to pick another."""
    return f"copies also in {', '.join(others)}; {chosen} (pick one with --from)"
