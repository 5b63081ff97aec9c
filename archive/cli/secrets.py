"""The ``secrets`` command: which archived sessions hold credentials, registered on the CLI app.

Only kinds and counts are shown: the library never returns a secret's text, so neither the table
nor the JSON can leak one.
"""

from __future__ import annotations

from ..text import plural
from .common import (
    ArchiveDirOpt,
    JsonOpt,
    ProfileOpt,
    archive_path,
    command,
    open_repo,
    print_json,
    say,
    shown,
    stdout,
)


@command()
def secrets(profile: ProfileOpt = None, archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List archived sessions holding credential-shaped strings, by kind, never the strings.

    Reads the newest version of every transcript, sub-agent transcript and saved tool output,
    raw (tool output the index caps included). Kinds are those `archive export` masks: vendor API
    keys, bearer tokens, JWTs, private keys, URL passwords, password= assignments. Exit 0 whether
    or not any is found.

    Example: archive secrets --profile work
    """
    from ..secrets import scan

    with open_repo(archive_path(archive_dir)) as repo:
        reports = shown(scan(repo, profile))
    if json:
        print_json([r.to_dict() for r in reports])
        return
    if not reports:
        say("no credential-shaped strings in the archived sessions", err=True)
        return
    from ..render import secrets_view

    out = stdout()
    out.print(secrets_view(reports, width=out.width))
    total = sum(r.total for r in reports)
    out.print(
        f"{plural(total, 'credential-shaped string')} in {plural(len(reports), 'session')} "
        "(not shown; `archive export` masks them)",
        markup=False,
        highlight=False,
    )
