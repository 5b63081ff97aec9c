"""The ``secrets`` command: which archived sessions hold credentials, registered on ``cli.app``.

Only kinds and counts are shown: the library never returns a secret's text, so neither the table
nor the JSON can leak one.
"""

from __future__ import annotations

import typer

from .cli import (
    ArchiveDirOpt,
    JsonOpt,
    ProfileOpt,
    _archive_dir,
    _open_repo,
    _print_json,
    _stdout,
    command,
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
    from .secrets import scan

    with _open_repo(_archive_dir(archive_dir)) as repo:
        reports = scan(repo, profile)
    if json:
        _print_json([r.to_dict() for r in reports])
        return
    if not reports:
        typer.echo("no credential-shaped strings in the archived sessions", err=True)
        return
    out = _stdout()
    out.print(_table(reports))
    total = sum(r.total for r in reports)
    copies = f"{len(reports)} session" + ("" if len(reports) == 1 else "s")
    out.print(
        f"{total} credential-shaped string{'' if total == 1 else 's'} in {copies} "
        "(not shown; `archive export` masks them)",
        markup=False,
        highlight=False,
    )


def _table(reports):
    from rich.table import Table
    from rich.text import Text

    from .render import local_time

    table = Table(title="Sessions holding credential-shaped strings", title_justify="left")
    for col, justify in (("session", "left"), ("profile", "left"), ("project", "left"),
                         ("last active", "left"), ("found", "right"), ("turns", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "turns")
    table.add_column("kinds", ratio=1)
    for r in reports:
        project = r.project or "-"
        if len(project) > 32:
            project = "…" + project[-31:]
        kinds = ", ".join(f"{kind} ×{n}" for kind, n in r.to_dict()["kinds"].items())
        # Text cells: a project path or id is data, never rich markup ("[/x]" would raise).
        table.add_row(
            Text(r.session_id[:8]), Text(r.profile), Text(project), local_time(r.ended),
            str(r.total), _turn_ranges(r.turns), Text(kinds),
        )
    return table


def _turn_ranges(turns: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3, 7``: short enough for a table cell."""
    runs: list[list[int]] = []
    for n in turns:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) or "-"
