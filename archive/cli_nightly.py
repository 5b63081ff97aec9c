"""Nightly operation: ``schedule install|show|remove``, ``at-risk`` and ``lost``.

Thin wrappers over schedule.py, retention.py and runlog.py, registered on ``cli.app`` (cli.py
imports this module). ``schedule`` is a sub-app, so its commands get the same one-line error
guard as ``cli.command`` through ``cli.guard``.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from .cli import (
    ArchiveDirOpt,
    JsonOpt,
    RootOpt,
    _archive_dir,
    _fail,
    _open_repo,
    _print_json,
    _roots,
    _stdout,
    app,
    command,
    guard,
)
from .errors import EXIT_FAILURE

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
    archive_dir: ArchiveDirOpt = None,
):
    """Add (or replace) the crontab line that runs `archive ingest` daily.

    The line runs a quiet ingest into this archive and logs each run to
    <archive dir>/logs/ingest.log; other crontab lines are left byte for byte. Installing
    again replaces the line, so there is never more than one.

    Example: archive schedule install --at 02:30
    """
    from . import schedule

    adir = _archive_dir(archive_dir)
    try:
        done = schedule.install(adir, at)
    except schedule.CrontabMissing as exc:
        if exc.line:
            typer.echo(exc.line)
        _fail("crontab is not installed", "add the line printed on stdout to your crontab by hand",
              EXIT_FAILURE)
    when = schedule.line_at(done.line)
    if not done.changed:
        typer.echo(f"Already installed (daily at {when}):")
    elif done.previous:
        typer.echo(f"Replaced the line of {schedule.line_at(done.previous) or '?'} "
                   f"(now daily at {when}):")
    else:
        typer.echo(f"Installed (daily at {when}):")
    typer.echo(done.line)


@_schedule_command("show")
def schedule_show(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """Print our crontab line and the result of the last logged run.

    Exit 1 when no line is installed.

    Example: archive schedule show
    """
    from . import schedule
    from .runlog import last_run

    line = schedule.show()
    log = schedule.line_option(line, "--log") if line else None
    log_path = Path(log) if log else schedule.log_path_for(_archive_dir(archive_dir))
    run = last_run(log_path)
    if json:
        _print_json(
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
            typer.echo(f"daily at {schedule.line_at(line) or '?'}:")
            typer.echo(line)
        else:
            typer.echo("no session-archive line in your crontab (`archive schedule install`)",
                       err=True)
        typer.echo(_describe_run(run, log_path))
    if line is None:
        raise typer.Exit(EXIT_FAILURE)


def _describe_run(run: dict | None, log_path: Path) -> str:
    from .render import human_size, local_time

    if run is None:
        return f"last run: none logged yet ({log_path})"
    when = local_time(run.get("finished"))
    if run.get("status") == "failed":
        return (f"last run: {when}, failed (exit {run.get('exit_code')}): "
                f"{run.get('message', '')}")
    text = (
        f"last run: {when}, {run.get('status')}: snapshot {run.get('snapshot')}, "
        f"{run.get('files_seen', 0)} files seen, {run.get('versions_added', 0)} versions added, "
        f"{human_size(run.get('bytes_stored', 0))} stored, {run.get('error_count', 0)} errors"
    )
    for e in run.get("errors", [])[:10]:
        text += f"\n  {e.get('profile')} {e.get('path')}: {e.get('error')}"
    return text


@_schedule_command("remove")
def schedule_remove():
    """Remove our line from the crontab; other lines are left byte for byte.

    Example: archive schedule remove
    """
    from . import schedule

    removed = schedule.remove()
    if removed is None:
        typer.echo("no session-archive line in your crontab: nothing to remove")
    else:
        typer.echo("Removed:")
        typer.echo(removed)


# -- at-risk and lost --------------------------------------------------------------------------


def _maybe_repo(adir: Path, quiet: bool):
    """The archive if there is one: both commands are useful before the first ingest."""
    if (adir / "catalog.sqlite").exists():
        return _open_repo(adir)
    if not quiet:
        typer.echo(f"note: no archive at {adir} yet: nothing counts as archived", err=True)
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
    from .retention import at_risk, cleanup_periods

    adir = _archive_dir(archive_dir)
    found = _roots(adir, root)
    with _maybe_repo(adir, json) as repo:
        rows = at_risk(found, repo, days=days)
    unarchived = sum(not r.archived for r in rows)
    if json:
        _print_json([r.to_dict() for r in rows])
    else:
        out = _stdout()
        periods = cleanup_periods(found)
        out.print(
            "cleanupPeriodDays: "
            + ", ".join(f"{p} {_num(d)} ({src})" for p, (d, src) in periods.items()),
            markup=False,
        )
        if rows:
            out.print(_at_risk_table(rows, days))
            sessions = len({(r.profile, r.session_id or r.relpath) for r in rows})
            line = (f"{_plural(sessions, 'session')} ({_plural(len(rows), 'file')}) "
                    f"deleted within {days} days")
            line += (
                f"; {_plural(unarchived, 'file')} not archived: run `archive ingest`"
                if unarchived
                else "; all are archived"
            )
            out.print(line, markup=False)
        else:
            out.print(f"nothing is deleted within {days} days", markup=False)
    if unarchived:
        raise typer.Exit(EXIT_FAILURE)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _home_short(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + os.sep) else path


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _at_risk_table(rows, days: int):
    from rich.table import Table
    from rich.text import Text

    from .render import local_time

    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r.profile, r.session_id or r.relpath), []).append(r)
    table = Table(title=f"Deleted by Claude Code within {days} days", title_justify="left")
    for name, justify in (("days left", "right"), ("profile", "left"), ("session", "left"),
                          ("files", "right"), ("archived", "left"), ("last change", "left"),
                          ("path", "left")):
        table.add_column(name, justify=justify, overflow="fold" if name == "path" else "ellipsis")
    for (profile, _), group in groups.items():
        first = min(group, key=lambda r: r.days_left)
        main = next((r for r in group if r.kind == "session"), first)
        held = sum(r.archived for r in group)
        archived = "yes" if held == len(group) else "no" if held == 0 else f"{held}/{len(group)}"
        table.add_row(
            Text(f"{first.days_left:.1f}" if first.days_left > 0 else "next start"),
            Text(profile),
            Text(main.session_id or Path(main.relpath).name),
            Text(str(len(group))),
            Text(archived, style="green" if held == len(group) else "bold red"),
            Text(local_time(first.mtime)),
            Text(_home_short(main.path)),
        )
    return table


@command()
def lost(root: RootOpt = None, archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List sessions named in history.jsonl whose transcript is gone and was never archived.

    history.jsonl keeps every prompt after Claude Code deletes the transcripts; a session it
    names that is neither at the source nor in the archive is lost. Newest first.

    Example: archive lost
    """
    from .retention import lost_sessions

    adir = _archive_dir(archive_dir)
    found = _roots(adir, root)
    with _maybe_repo(adir, json) as repo:
        rows = lost_sessions(found, repo.catalog if repo is not None else None)
    if json:
        _print_json([r.to_dict() for r in rows])
        return
    out = _stdout()
    if not rows:
        out.print("no lost session: every session in history.jsonl is at the source or archived",
                  markup=False)
        return
    from rich.table import Table
    from rich.text import Text

    from .render import local_time

    table = Table(title="Lost sessions (in history.jsonl, not at the source, not archived)",
                  title_justify="left")
    for name in ("started", "profile", "session", "prompts", "project", "first prompt"):
        table.add_column(name, justify="right" if name == "prompts" else "left",
                         overflow="fold" if name == "first prompt" else "ellipsis")
    for r in rows:
        table.add_row(
            Text(local_time(r.started)), Text(r.profile), Text(r.session_id),
            Text(str(r.prompts)), Text(r.project or "-"), Text(r.first_prompt),
        )
    out.print(table)
    out.print(f"{_plural(len(rows), 'session')} lost before being archived", markup=False)
