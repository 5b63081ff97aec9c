"""Nightly operation: ``schedule install|show|remove``, ``at-risk`` and ``lost``.

Thin wrappers over schedule.py, retention.py and runlog.py; tables and texts from render.py.
``schedule`` is a sub-app, so its commands get the same one-line error guard as ``command``
through ``guard``.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_FAILURE
from ..text import plural
from .common import (
    ArchiveDirOpt,
    JsonOpt,
    RootOpt,
    app,
    archive_path,
    command,
    config_roots,
    fail,
    guard,
    note,
    open_repo,
    print_json,
    say,
    shown,
    stdout,
)

schedule_app = typer.Typer(
    help="Run `archive ingest` every night from your crontab.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(schedule_app, name="schedule")


def _schedule_command(name: str):
    def decorate(fn):
        return schedule_app.command(name)(guard(fn))

    return decorate


# -- schedule ----------------------------------------------------------------------------------


@_schedule_command("install")
def schedule_install(
    at: Annotated[
        str, typer.Option("--at", metavar="HH:MM", help="Time of day to run (24 h, local).")
    ] = "03:17",
    push: Annotated[
        bool, typer.Option("--push", help="Also push to every remote after the ingest.")
    ] = False,
    pull: Annotated[
        bool, typer.Option("--pull", help="Also pull from every remote after the ingest.")
    ] = False,
    archive_dir: ArchiveDirOpt = None,
):
    """Add (or replace) the crontab line that runs `archive ingest` daily.

    The line runs a quiet ingest into this archive and logs each run to
    <archive dir>/logs/ingest.log; other crontab lines are left byte for byte. Installing
    again replaces the line, so there is never more than one.

    Example: archive schedule install --at 02:30
    """
    from .. import schedule

    adir = archive_path(archive_dir)
    try:
        extra = tuple(flag for flag, on in (("--push", push), ("--pull", pull)) if on)
        done = schedule.install(adir, at, extra=extra)
    except schedule.CrontabMissing as exc:
        if exc.line:
            say(exc.line)
        fail("crontab is not installed", "add the line printed on stdout to your crontab by hand",
              EXIT_FAILURE)
    when = schedule.line_at(done.line)
    if not done.changed:
        say(f"Already installed (daily at {when}):")
    elif done.previous:
        say(f"Replaced the line of {schedule.line_at(done.previous) or '?'} "
                   f"(now daily at {when}):")
    else:
        say(f"Installed (daily at {when}):")
    say(done.line)


@_schedule_command("show")
def schedule_show(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """Print our crontab line and the result of the last logged run.

    Exit 1 when no line is installed.

    Example: archive schedule show
    """
    from .. import schedule
    from ..runlog import last_run

    line = schedule.show()
    log = schedule.line_option(line, "--log") if line else None
    log_path = Path(log) if log else schedule.log_path_for(archive_path(archive_dir))
    run = last_run(log_path)
    if json:
        print_json(
            {
                "installed": line is not None,
                "line": line,
                "at": schedule.line_at(line) if line else None,
                "log": str(log_path),
                "last_run": run,
            }
        )
    else:
        if line:
            say(f"daily at {schedule.line_at(line) or '?'}:")
            say(line)
        else:
            say("no session-archive line in your crontab (`archive schedule install`)",
                       err=True)
        from ..render import last_run_text

        say(last_run_text(run, log_path))
    if line is None:
        raise typer.Exit(EXIT_FAILURE)


@_schedule_command("remove")
def schedule_remove():
    """Remove our line from the crontab; other lines are left byte for byte.

    Example: archive schedule remove
    """
    from .. import schedule

    removed = schedule.remove()
    if removed is None:
        say("no session-archive line in your crontab: nothing to remove")
    else:
        say("Removed:")
        say(removed)


# -- at-risk and lost --------------------------------------------------------------------------


def _maybe_repo(adir: Path, quiet: bool):
    """The archive if there is one: both commands are useful before the first ingest."""
    if (adir / "catalog.sqlite").exists():
        return open_repo(adir)
    if not quiet:
        note(f"no archive at {adir} yet: nothing counts as archived")
    return nullcontext(None)


@command("at-risk")
def at_risk_command(
    days: Annotated[
        int, typer.Option("--days", min=0, help="Warn about deletions within this many days.")
    ] = 7,
    root: RootOpt = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """List session files Claude Code will delete within --days days, and if they are archived.

    Claude Code deletes session files older than cleanupPeriodDays (settings.json, default 30)
    when it next starts. Exit 1 when a file at risk is not archived yet (run `archive ingest`).

    Example: archive at-risk --days 3
    """
    from ..retention import at_risk, cleanup_periods

    adir = archive_path(archive_dir)
    found = config_roots(adir, root)
    with _maybe_repo(adir, json) as repo:
        rows = shown(at_risk(found, repo, days=days))
    unarchived = sum(not r.archived for r in rows)
    if json:
        print_json([r.to_dict() for r in rows])
    else:
        from ..render import at_risk_view, hanging

        out = stdout()
        periods = {p: f"{_num(d)} ({src})" for p, (d, src) in cleanup_periods(found).items()}
        for r in found:  # Codex CLI has no cleanup: said, rather than Claude Code's default
            if r.exists and r.agent == "codex":
                periods[r.profile] = "never (Codex CLI deletes no sessions)"
        out.print(hanging("cleanupPeriodDays: ", ", ".join(f"{p} {v}" for p, v in
                                                          periods.items())))
        if rows:
            out.print(at_risk_view(rows, days, width=out.width))
            sessions = len({(r.profile, r.session_id or r.relpath) for r in rows})
            line = (f"{plural(sessions, 'session')} ({plural(len(rows), 'file')}) "
                    f"deleted within {days} days")
            line += (
                f"; {plural(unarchived, 'file')} not archived: run `archive ingest`"
                if unarchived
                else "; all are archived"
            )
            out.print(line, markup=False)
        else:
            out.print(f"nothing is deleted within {days} days", markup=False)
    if unarchived:
        raise typer.Exit(EXIT_FAILURE)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@command()
def lost(root: RootOpt = None, archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List sessions named in history.jsonl whose transcript is gone and was never archived.

    history.jsonl keeps every prompt after Claude Code deletes the transcripts; a session it
    names that is neither at the source nor in the archive is lost. Newest first.

    Example: archive lost
    """
    from ..retention import lost_sessions

    adir = archive_path(archive_dir)
    found = config_roots(adir, root)
    with _maybe_repo(adir, json) as repo:
        rows = shown(lost_sessions(found, repo.catalog if repo is not None else None))
    if json:
        print_json([r.to_dict() for r in rows])
        return
    out = stdout()
    if not rows:
        out.print("no lost session: every session in history.jsonl is at the source or archived",
                  markup=False)
        return
    from ..render import lost_view

    out.print(lost_view(rows, width=out.width))
    out.print(f"{plural(len(rows), 'session')} lost before being archived", markup=False)
