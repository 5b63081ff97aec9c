"""The ``restore`` command(s): thin wrappers over the library, registered on ``cli.app``."""

from __future__ import annotations

from typing import Annotated

import typer

from .cli import (
    ArchiveDirOpt,
    FromOpt,
    JsonOpt,
    RootOpt,
    _archive_dir,
    _print_json,
    _roots,
    _stdout,
    command,
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
    from .ingest import default_durable
    from .restore import restore as run_restore

    adir = _archive_dir(archive_dir)
    result = run_restore(
        adir,
        _roots(adir, root),
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
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if json:
        _print_json(result.to_dict())
        return
    out = _stdout()

    def say(text: str = "") -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    verb = "Would restore" if result.dry_run else "Restored"
    renamed = (
        f" as {result.session_id}" if result.session_id != result.original_session_id else ""
    )
    say(
        f"{verb} session {result.original_session_id}{renamed} from profile "
        f"{result.source_profile} (version {result.version} of {result.newest_version}, "
        f"captured {result.captured_at}) into profile {result.profile}"
        + (f", first {result.turns} turns" if result.turns else "")
    )
    where = {"cwd": "the transcript's cwd", "--project": "--project",
             "folder": "the source folder name"}[result.project_from]
    say(f"  project: {result.project or '(unknown)'} (from {where}) -> "
        f"folder {result.project_folder}")
    for field, value in result.rewrites.items():
        say(f"  rewrite: {field} -> {value}")
    for f in result.files:
        changed = ", ".join(f"{k} in {n} lines" for k, n in f.rewritten.items())
        state = " (replaces the existing file)" if f.exists else ""
        say(f"  {f.path}  {f.size} bytes{'; ' + changed if changed else ''}{state}")
    if result.archived_snapshot is not None:
        say(f"  the files replaced were archived first (snapshot {result.archived_snapshot})")
    if result.dry_run:
        say("Nothing written (--dry-run).")
    say("Resume it with:")
    say(f"  {result.resume_command}")
