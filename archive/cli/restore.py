"""The ``restore`` and ``resume`` commands: thin wrappers over the library, registered on the
CLI app."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .common import (
    SESSION_HELP,
    ArchiveDirOpt,
    FromOpt,
    JsonOpt,
    ProfileOpt,
    RootOpt,
    SinceOpt,
    VersionRefOpt,
    archive_path,
    command,
    config_roots,
    invoked_as,
    make_filters,
    note,
    print_json,
    say,
    stdout,
)


@command()
def restore(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
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
    version: VersionRefOpt = None,
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

    restore_report(stdout(), result, invoked_as())


@command()
def resume(
    query: Annotated[str | None, typer.Argument(
        help="A session (id, unique prefix, or /rename name) to resume, or words to find it "
        "by.")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Profile to resume in [default: the one it was found in].")] = None,
    from_profile: Annotated[str | None, typer.Option(
        "--from", help="Read (with --last: take the latest session of) this profile.")] = None,
    project: Annotated[str | None, typer.Option(
        "--project", help="Run it in this absolute directory (its cwd is rewritten).")] = None,
    last: Annotated[bool, typer.Option(
        "--last", help="The most recently active session, captured as it is now.")] = False,
    turns: Annotated[int | None, typer.Option(
        "--turns", min=1, help="Fork: only the first N turns, under a new id.")] = None,
    print_only: Annotated[bool, typer.Option(
        "--print", help="Print the command instead of running it.")] = False,
    profile: ProfileOpt = None,
    in_project: Annotated[str | None, typer.Option(
        "--in-project", help="Picker: only sessions whose project path contains this.")] = None,
    since: SinceOpt = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the archive lock.")] = 0.0,
    root: RootOpt = None,
    archive_dir: ArchiveDirOpt = None,
):
    """Find a session and go back into it, in the right profile and folder.

    On a terminal, opens a picker (search as you type; Enter resumes). A session not held by
    the target profile is restored there first, after capturing it fresh if its source grew
    since the last ingest; then `claude --resume` (or `ccs NAME --resume`) replaces this
    process, in the session's project directory. Without a terminal, or with --print, it
    prints the command. Exit codes as `restore`.

    Example: archive resume --last --to personal
    """
    from ..resume import Choice, launch, plan_resume, select_session

    adir = archive_path(archive_dir)
    found = config_roots(adir, root)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    sid = select_session(adir, found, query, last=last, from_profile=from_profile, picker=tty)
    if sid is not None:
        choice = Choice(sid, to, project=project)
    else:
        from ..tui import pick

        filters = make_filters(profile, in_project, None, None, None, since, None)
        choice = pick(adir, found, query=query or "", filters=filters, to=to, project=project)
        if choice is None:
            return  # Escape: nothing written
    plan = plan_resume(adir, found, choice.session_id, to=choice.to, from_profile=from_profile,
                       project=choice.project, turns=turns or choice.turns,
                       new_id=bool(turns) or choice.new_id, wait=wait)
    for text in plan.notes:
        note(text)
    if print_only or not tty:
        if plan.project and not plan.project_exists:
            note(f"the folder {plan.project} does not exist here; the command below fails "
                 "until it does (--project PATH runs it elsewhere)")
        say(plan.launch.shell_line())  # masked, control characters shown, as every output
        return
    launch(plan.launch)
