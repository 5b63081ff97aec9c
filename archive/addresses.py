"""Where a copy of a session lives, as a person types it after ``--from``.

A copy's address is its profile when the profile holds one copy of the session, else
``PROFILE:PLACE``, where PLACE is the shortest end of the copy's project path (``api``,
``work/api``) that no other copy in that profile shares, or of its folder in the root when the
project paths are the same. Whatever is typed after the colon picks the copies whose project
path or folder ends with it, whole parts only (``team:api``, ``team:/work/api``), so a copy
always has an address that picks it alone. Pure functions over (profile, project, relpath).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .errors import UsageError


class Place(NamedTuple):
    profile: str
    project: str | None  # the transcript's cwd, as session_meta has it
    relpath: str  # the transcript in its root


def _parts(path: str | None) -> list[str]:
    return [p for p in (path or "").split("/") if p]


def _ends_with(path: str | None, tail: str) -> bool:
    want = _parts(tail)
    have = _parts(path)
    return bool(want) and have[len(have) - len(want):] == want


def matches(place: Place, where: str) -> bool:
    """Whether ``where`` (what follows ``PROFILE:``) names this copy's project or folder."""
    folder = place.relpath.rsplit("/", 1)[0] if "/" in place.relpath else ""
    return (_ends_with(place.project, where) or _ends_with(folder, where)
            or where.strip("/") == place.relpath)


def addresses(places: Sequence[Place]) -> list[str]:
    """The address of each copy (same order): unique among ``places``."""
    out = []
    for place in places:
        group = [p for p in places if p.profile == place.profile]
        if len(group) == 1:
            out.append(place.profile)
            continue
        folder = place.relpath.rsplit("/", 1)[0] if "/" in place.relpath else ""
        project, folder_parts = _parts(place.project), _parts(folder)
        tails = [
            "/".join(parts[len(parts) - k:])
            for parts in (project, folder_parts) for k in range(1, len(parts) + 1)
        ]
        where = next(
            (t for t in tails if sum(matches(p, t) for p in group) == 1), place.relpath
        )
        out.append(f"{place.profile}:{where}")
    return out


def profile_of(address: str) -> str:
    """The profile an address names (``team`` of ``team:api``)."""
    return address.partition(":")[0]


def pick(places: Sequence[Place], address: str, session_id: str) -> int:
    """The index of the one copy ``address`` names; a UsageError (exit 2) naming the addresses
    to use when it names none or several."""
    profile, colon, where = address.partition(":")
    found = [i for i, p in enumerate(places)
             if p.profile == profile and (not colon or matches(p, where))]
    if len(found) == 1:
        return found[0]
    have = addresses(places)
    if not found:
        what = f"profile {profile!r}" if not colon else repr(address)
        raise UsageError(f"session {session_id} has no copy in {what}",
                         hint=f"copies are in: {', '.join(sorted(have))}")
    raise UsageError(
        f"{address!r} names {len(found)} copies of session {session_id}",
        hint="pick one with " + ", ".join(sorted(f"--from {have[i]}" for i in found)),
    )
