"""The ``restore`` command(s): thin wrappers over the library, registered on the CLI app."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    ArchiveDirOpt,
    FromOpt,
    JsonOpt,
    RootOpt,
    archive_path,
    command,
    config_roots,
    note,
    print_json,
    stdout,
)


@command()
def restore(
    session_id: Annotated[str, typer.Argument(help="Session id or a unique prefix of it.")],
    to: Annotated[
        str,
        typer.Option("--to", help="Profile to write into (see `archive roots`).",
                     show_default=False),
    ],
    from_profile: FromOpt = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            help="Put it under this absolute project path and rewrite each line's cwd to it.",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", "-v", min=1, help="Version number [default: newest]."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The newest version captured at or before this date (a bare date: its end).",
        ),
    ] = None,
    turns: Annotated[
        int | None,
        typer.Option("--turns", min=1, help="Only the first N turns (implies --new-id when the "
                     "target already has the session)."),
    ] = None,
    new_id: Annotated[
        bool, typer.Option("--new-id", help="Write it as a fork under a fresh session id.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace existing files, after archiving them."),
    ] = False,
    wait: Annotated[
        float, typer.Option(help="With --force: seconds to wait for the archive lock.")
    ] = 0.0,
    root: RootOpt = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Write an archived session back into a profile, where `claude --resume` finds it.

    The file goes to <root>/projects/<encoded project path>/<id>.jsonl with its sidecar folder
    (subagents/, tool-results/), byte for byte unless --project, --new-id or --turns ask for a
    rewrite. An existing file is never overwritten unless --force, which first archives it.
    Exit 3 when the target exists, 2 for a bad id, profile or path, 75 when the archive is busy.

    Example: archive restore 4f2a --to work --turns 3 --new-id
    """
    from ..ingest import default_durable
    from ..restore import restore as run_restore

    adir = archive_path(archive_dir)
    result = run_restore(
        adir,
        config_roots(adir, root),
        session_id,
        to=to,
        from_profile=from_profile,
        project=project,
        version=version,
        at=at,
        turns=turns,
        new_id=new_id,
        dry_run=dry_run,
        force=force,
        wait=wait,
        durable=default_durable(),
    )
    for text in result.notes:
        note(text)
    if json:
        print_json(result.to_dict())
        return
    from ..render import restore_report

    restore_report(stdout(), result)
