"""The ``export`` command: a thin wrapper over archive/export.py, registered on the CLI app.

Exports mask credential-shaped strings unless ``--no-redact``; the archive is only read.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..text import copies_note, plural
from .common import (
    SESSION_HELP,
    ArchiveDirOpt,
    FromOpt,
    VersionOpt,
    archive_path,
    command,
    note,
    open_repo,
    say,
    to_terminal,
)


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


@command()
def export(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="md (context to start fresh), html, json.")
    ] = ExportFormat.md,
    turns: Annotated[
        str | None,
        typer.Option(
            "--turns", metavar="A:B", help="Only turns A to B (1-based, inclusive; A: and :B too)."
        ),
    ] = None,
    version: VersionOpt = None,
    from_profile: FromOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write FILE (mode 0600) instead of stdout."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    tool_output: Annotated[
        bool,
        typer.Option("--tool-output", help="Include tool output (first 8,192 characters a call)."),
    ] = False,
    no_redact: Annotated[
        bool,
        typer.Option("--no-redact", help="Keep credential-shaped strings (masked by default)."),
    ] = False,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget", metavar="TOKENS", min=100,
            help="md only: a hand-off that fits TOKENS (characters / 4); middle turns shortened.",
        ),
    ] = None,
    archive_dir: ArchiveDirOpt = None,
):
    """Export a session as Markdown, a self-contained HTML page, or JSON.

    Markdown keeps what a fresh session needs: title, project, dates, every prompt and answer
    in full, one line per tool call. API keys, tokens, passwords and private keys become
    [REDACTED:<kind>]; --no-redact keeps them. Exit 3 when FILE exists (--force replaces it);
    exit 2 when it is not a regular file (a FIFO, device, symlink: never replaced). -o - is stdout.

    Example: archive export 4f2a --turns 3: -o context.md
    """
    from ..export import check_export_target, export_session, parse_turns, write_export
    from ..views import load_session

    if budget is not None and fmt is not ExportFormat.md:
        from ..errors import UsageError

        raise UsageError("--budget makes a Markdown hand-off", hint="use --format md")
    turn_range = parse_turns(turns) if turns is not None else None
    if output is not None and str(output) == "-":
        output = None
    if output is not None:  # fail before reading the session; write_export checks again
        check_export_target(output, force=force)
    with open_repo(archive_path(archive_dir)) as repo:
        loaded = load_session(repo, session_id, from_profile=from_profile, version=version)
    if budget is not None:
        result = _budgeted(loaded, budget, turn_range, not no_redact)
    else:
        result = export_session(
            loaded, fmt.value, turns=turn_range, tool_output=tool_output, redact=not no_redact
        )
    if loaded.others and not from_profile:
        note(copies_note(loaded.others, f"exported {loaded.address}"))
    if result.masked:
        kinds = ", ".join(f"{kind} ×{n}" for kind, n in sorted(result.masked.items()))
        note(f"masked {result.masked.total()} credential-shaped strings ({kinds}); "
             "--no-redact keeps them")
    if output is None:
        out = sys.stdout.buffer
        out.write(to_terminal(result.text).encode("utf-8"))  # a file (-o, > FILE) keeps it as is
        out.flush()
        return
    path = write_export(output, result.text, force=force)
    say(f"wrote {path} ({plural(result.turns, 'turn')}, {fmt.value})", err=True)


def _budgeted(loaded, budget: int, turn_range, redact: bool):
    """The hand-off document of ``archive context``'s second way on."""
    from collections import Counter

    from ..context import handoff_markdown
    from ..errors import UsageError
    from ..export import Export

    if turn_range is not None:
        raise UsageError("--budget exports the whole session", hint="drop --turns")
    masked: Counter = Counter()
    text, notes = handoff_markdown(loaded, budget, masked=masked if redact else None)
    for line in notes:
        note(line)
    return Export(text=text, turns=len(loaded.session.turns), masked=masked)
