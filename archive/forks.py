"""Which session a fork came from, known from the transcripts alone.

A fork (``restore --turns N`` and/or ``--new-id``, or Claude Code's own ``--fork-session``)
carries its origin's first turns with their prompts and timestamps unchanged under another
session id. Each main session's ``session_meta`` row keeps a mark per turn (a hash of the
prompt and its timestamp) and its first mark as ``fork_key``; sessions sharing a fork key are
kin. Of two kin, the one archived later is the fork (a restore reads an archived session, so
its origin was archived first); its origin is the kin archived before it sharing the most
leading turns. Nothing is recorded beside the transcript: the link comes back with every
re-ingest, ``archive repair`` and ``archive reindex``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .dates import iso_utc

if TYPE_CHECKING:  # `sessions` reads fork links without parsing a transcript
    from .transcript import Session

MARK = 12  # hex characters per turn: 48 bits, so unrelated first turns do not meet


def turn_marks(session: Session) -> str | None:
    """One mark per turn, joined; None when the first turn has no timestamp (a prompt alone,
    "hi", is no sign of kinship)."""
    if not session.turns or session.turns[0].timestamp is None:
        return None
    out = []
    for turn in session.turns:
        seed = f"{iso_utc(turn.timestamp) or ''}\0{turn.prompt}".encode()
        out.append(hashlib.blake2b(seed, digest_size=MARK // 2).hexdigest())
    return "".join(out)


def _shared(a: str, b: str) -> int:
    """How many leading turns two mark strings have in common."""
    n = 0
    for i in range(0, min(len(a), len(b)), MARK):
        if a[i:i + MARK] != b[i:i + MARK]:
            break
        n += 1
    return n


def fork_links(catalog, rows: list[dict]) -> dict[str, dict]:
    """For each session of ``rows`` (session_rows) that is a fork: ``{"forked_from": origin
    session id, "forked_turns": turns it took from the origin}``, by session id."""
    keys = sorted({r["fork_key"] for r in rows if r.get("fork_key")})
    # Per fork key, per session id: its longest marks and when it was first archived.
    groups: dict[str, dict[str, dict]] = {}
    for k in catalog.kin(keys):
        if not k["session_id"] or not k["turn_marks"]:
            continue
        first = (k["first_snapshot"], k["file_id"])
        seen = groups.setdefault(k["fork_key"], {}).setdefault(
            k["session_id"], {"marks": "", "first": first})
        if len(k["turn_marks"]) > len(seen["marks"]):
            seen["marks"] = k["turn_marks"]
        seen["first"] = min(seen["first"], first)
    links: dict[str, dict] = {}
    for r in rows:
        kin = groups.get(r.get("fork_key") or "", {})
        me = kin.get(r["session_id"])
        if me is None or r["session_id"] in links:
            continue
        best = None
        for other, them in kin.items():
            if other == r["session_id"] or them["first"] >= me["first"]:
                continue  # only a session archived before this one can be its origin
            shared = _shared(me["marks"], them["marks"])
            if shared and (best is None or (shared, _neg(them["first"])) > best[:2]):
                best = (shared, _neg(them["first"]), other)
        if best is not None:
            links[r["session_id"]] = {"forked_from": best[2], "forked_turns": best[0]}
    return links


def _neg(first: tuple[int, int]) -> tuple[int, int]:
    """Sorts the earliest archived first among equally long shared prefixes."""
    return (-first[0], -first[1])
