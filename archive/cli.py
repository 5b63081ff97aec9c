"""The ``archive`` command: one small function per command over the library.

Each command parses its options, calls a library function that returns data, and renders it
(rich tables on a terminal, or JSON with ``--json``). Errors are one line on stderr with an exit
code (see errors.py). Heavy imports (whoosh) happen inside the commands that need them, so
``archive --help`` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .errors import EXIT_FAILURE, EXIT_USAGE, AmbiguousSession, ArchiveError

_APP_SETTINGS = dict(
    name="archive",
    help="A searchable, versioned archive of Claude Code sessions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app = typer.Typer(**_APP_SETTINGS)

# Options shared by several commands: help written once.
ArchiveDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--archive-dir",
        help="Archive folder [default: $SESSION_ARCHIVE_DIR or ~/.local/share/session-archive].",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing unless something failed.")
]
RootOpt = Annotated[
    list[str] | None,
    typer.Option("--root", metavar="NAME=PATH", help="An extra config root (repeatable)."),
]
VersionOpt = Annotated[
    int | None, typer.Option("--version", "-v", help="Version number [default: newest].")
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Read the copy of this profile when several hold the session."),
]


def _stdout():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _print_json(data) -> None:
    import orjson

    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _fail(message: str, hint: str | None, code: int, *, exit_now: bool = True) -> None:
    line = f"error: {message}"
    if hint:
        line += f" ({hint})"
    typer.echo(line, err=True)
    if exit_now:
        raise typer.Exit(code)


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def guard(fn):
    """Wrap a command so library errors become one line on stderr with their exit code, and
    anything else (a bug) one line with exit 70. Used by every command, sub-apps included."""

    @functools.wraps(fn)
    def guarded(*a, **kw):
        try:
            return fn(*a, **kw)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except AmbiguousSession as exc:
            _fail(str(exc), exc.hint, exc.exit_code, exit_now=False)
            for c in exc.candidates:
                typer.echo(
                    f"  {c['session_id']}  {c['profile']}  {c['project'] or '-'}  "
                    f"{(c['date'] or '')[:10]}  {c['title'] or ''}",
                    err=True,
                )
            raise typer.Exit(exc.exit_code) from None
        except ArchiveError as exc:
            _fail(str(exc), exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", None, 130)
        except BrokenPipeError:
            raise typer.Exit(EXIT_FAILURE) from None
        except Exception as exc:  # a bug: say so in one line, traceback on request
            if os.environ.get("ARCHIVE_DEBUG"):
                import traceback

                traceback.print_exc()
            # The message itself may quote transcript text (secrets): name only the
            # exception and where it was raised.
            _fail(
                f"internal error: {type(exc).__name__} at {_where(exc)}",
                "set ARCHIVE_DEBUG=1 for the traceback and report it",
                70,
            )

    return guarded


def command(*args, **kwargs):
    """``app.command`` with ``guard``."""

    def decorate(fn):
        return app.command(*args, **kwargs)(guard(fn))

    return decorate


def _archive_dir(path: Path | None) -> Path:
    from .config import resolve_archive_dir

    return resolve_archive_dir(path)


def _roots(archive_dir: Path, root_options: list[str] | None):
    from .config import load_settings
    from .roots import discover_roots, parse_root_option

    extra = [parse_root_option(v) for v in root_options or []]
    settings = load_settings(archive_dir) if archive_dir.is_dir() else None
    return discover_roots(extra, settings.roots if settings else None)


def _open_repo(archive_dir: Path):
    from .repo import Repository

    return Repository(archive_dir, readonly=True)


@command()
def roots(root: RootOpt = None, archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List the config roots (profiles) that ingest reads.

    The default root is $CLAUDE_CONFIG_DIR or ~/.claude; each ~/.ccs/instances/NAME is a profile
    NAME; more come from [roots] in the archive's config.toml and from --root NAME=PATH.

    Example: archive roots --root old=/mnt/backup/.claude
    """
    from .roots import count_session_files

    found = _roots(_archive_dir(archive_dir), root)
    rows = []
    for r in found:
        row = r.to_dict()
        row["session_files"] = count_session_files(r)
        rows.append(row)
    if json:
        _print_json(
            [
                {k: row[k] for k in ("profile", "path", "exists", "session_files")}
                | {"aliases": row["aliases"], "projects_shared_with": row["projects_shared_with"]}
                for row in rows
            ]
        )
        return
    from .render import roots_table

    _stdout().print(roots_table(rows))


@command()
def ingest(
    root: RootOpt = None,
    archive_dir: ArchiveDirOpt = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for another ingest to finish.")
    ] = 0.0,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
    log: Annotated[
        Path | None,
        typer.Option(help="Append this run's result to a log file (kept to the last 10 runs)."),
    ] = None,
):
    """Snapshot the session files of every config root into the archive.

    Only files whose size, mtime or inode changed are read; a file that grew is stored as its
    new tail. Exit 0 when all went well, 1 when some files could not be read, 75 when another
    ingest holds the archive.

    Example: archive ingest --quiet   (from cron)
    """
    from .ingest import default_durable
    from .ingest import ingest as run_ingest
    from .render import human_size, ingest_errors, ingest_summary

    adir = _archive_dir(archive_dir)
    found = _roots(adir, root)
    err = _stderr()
    progress = None
    bar = None
    if not quiet and not json and err.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn

        bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err,
                       transient=True)
        task = bar.add_task("scanning")
        bar.start()

        def progress(files: int, nbytes: int) -> None:
            bar.update(task, description=f"{files} files, {human_size(nbytes)} read")

    try:
        result = run_ingest(adir, found, wait=wait, durable=default_durable(), progress=progress)
    except ArchiveError as exc:
        if log:
            _log_failure(log, exc)
        raise
    finally:
        if bar:
            bar.stop()
    if log:
        from .runlog import append_run

        try:
            append_run(log, result)
        except ArchiveError as exc:
            result.warnings.append(f"cannot write the log: {exc}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json:
        _print_json(result.to_dict())
    elif not quiet:
        ingest_summary(_stdout(), result)
    if result.errors:
        ingest_errors(err, result)
        raise typer.Exit(EXIT_FAILURE)


def _log_failure(log: Path, exc: ArchiveError) -> None:
    from .runlog import append_failure

    try:
        append_failure(log, str(exc), exit_code=exc.exit_code)
    except ArchiveError:
        pass  # the error itself is reported on stderr; a log we cannot write changes nothing


@command()
def versions(
    session_id: Annotated[str, typer.Argument(help="Session id or a unique prefix of it.")],
    from_profile: FromOpt = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """List the versions of a session's transcript, oldest first.

    Every distinct content the file ever had is a version, kept even after Claude Code deletes
    or rewrites the file.

    Example: archive versions 4f2a
    """
    with _open_repo(_archive_dir(archive_dir)) as repo:
        copy = repo.pick_copy(session_id, from_profile)
        f = copy.file
        rows = [
            {
                "version": v.seq,
                "sha256": v.sha256,
                "size": v.size,
                "snapshot": v.snapshot_id,
                "captured_at": v.captured_at,
                "profile": f.profile,
                "path": f.relpath,
            }
            for v in repo.catalog.versions(f.id)
        ]
    if json:
        _print_json(rows)
        return
    if copy.others:
        typer.echo(
            f"note: copies also in {', '.join(copy.others)}; showing {f.profile} "
            "(pick one with --from)",
            err=True,
        )
    from .render import versions_table

    _stdout().print(versions_table(f.session_id, rows))


@command()
def snapshots(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List the snapshots (one per ingest run), oldest first.

    Example: archive snapshots --json
    """
    with _open_repo(_archive_dir(archive_dir)) as repo:
        rows = repo.catalog.snapshots()
    for row in rows:
        row["roots"] = __import__("orjson").loads(row["roots"])
    if json:
        _print_json(rows)
        return
    from .render import snapshots_table

    _stdout().print(snapshots_table(rows))


@command()
def cat(
    session_id: Annotated[str, typer.Argument(help="Session id or a unique prefix of it.")],
    version: VersionOpt = None,
    from_profile: FromOpt = None,
    archive_dir: ArchiveDirOpt = None,
):
    """Write the exact bytes of a version of a session's transcript to stdout.

    Example: archive cat 4f2a --version 1 > old.jsonl
    """
    with _open_repo(_archive_dir(archive_dir)) as repo:
        copy = repo.pick_copy(session_id, from_profile)
        v = repo.pick_version(copy.file, version)
        out = sys.stdout.buffer
        for data in repo.iter_version_bytes(v):
            out.write(data)
        out.flush()


@command()
def verify(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """Re-hash every stored object and check every catalog reference.

    Exit 0 when the archive is sound, 1 with a list of what is damaged.

    Example: archive verify
    """
    from .verify import verify as run_verify

    with _open_repo(_archive_dir(archive_dir)) as repo:
        result = run_verify(repo)
    if json:
        _print_json(result.to_dict())
    else:
        from .render import verify_report

        verify_report(_stdout(), result)
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


# -- the index and its queries ---------------------------------------------------------------

ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Only this profile.")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", help="Project path contains this (any case).")
]
BranchOpt = Annotated[str | None, typer.Option("--branch", help="Only this git branch.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name contains this.")]
ToolOpt = Annotated[str | None, typer.Option("--tool", help="A tool used, e.g. Bash.")]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="From this date: 2026-11-01, yesterday, '3 days ago', 2w."),
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Up to this date (a bare date includes the day).")
]
NoRedactOpt = Annotated[
    bool, typer.Option("--no-redact", help="Show credential-shaped strings (masked by default).")
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]
ThresholdOpt = Annotated[
    int | None,
    typer.Option(
        "--threshold", metavar="TOKENS", min=1,
        help="Context size that counts as bloated [default: 100000, or [context] threshold].",
    ),
]


class SortOrder(StrEnum):
    recent = "recent"
    context = "context"


def _threshold(archive_dir: Path, given: int | None) -> int:
    if given is not None:
        return given
    from .config import load_settings

    return load_settings(archive_dir).context_threshold if archive_dir.is_dir() else 100_000


def _filters(profile, project, branch, model, tool, since, until):
    from .dates import parse_when
    from .query import Filters

    return Filters(
        profile=profile,
        project=project,
        branch=branch,
        model=model,
        tool=tool,
        since=parse_when(since) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
    )


@command()
def search(
    query: Annotated[str, typer.Argument(help="Words, \"phrases\", AND/OR/NOT, field:term.")],
    profile: ProfileOpt = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    model: ModelOpt = None,
    tool: ToolOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 20,
    sessions: Annotated[
        bool, typer.Option("--sessions", help="One row per session (its best turn).")
    ] = False,
    session: Annotated[
        str | None,
        typer.Option("--session", help="Only this session (id, unique prefix, or name)."),
    ] = None,
    no_redact: NoRedactOpt = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Search every archived turn, best match first.

    A word in a prompt or a title counts more than in an answer, which counts more than
    thinking or tool input and output; newer wins ties. Fields: prompt, answer, thinking,
    tool_input, tool_output, title, profile, project, branch, models, tools, files.
    Exit 1 when nothing matches (like grep), 2 for a malformed query.

    Example: archive search "jwt refresh" --since "2 weeks ago" --profile work
    """
    from .query import search as run_search

    filters = _filters(profile, project, branch, model, tool, since, until)
    with _open_repo(_archive_dir(archive_dir)) as repo:
        if session:
            filters.session_ids = [repo.session_copies(session)[0].session_id]
        hits = run_search(
            repo, query, filters, limit=limit, group_sessions=sessions, redact=not no_redact
        )
    if json:
        _print_json(hits)
    elif hits:
        from .render import search_view

        console = _stdout()
        console.print(search_view(hits, grouped=sessions, width=console.width))
    if not hits:
        if not json:
            typer.echo(f"no match for {query!r}", err=True)
        raise typer.Exit(EXIT_FAILURE)


@command()
def sessions(
    profile: ProfileOpt = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    model: ModelOpt = None,
    tool: ToolOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 50,
    name: Annotated[
        str | None, typer.Option("--name", help="Custom name (/rename) contains this.")
    ] = None,
    bloated: Annotated[
        bool, typer.Option("--bloated", help="Only sessions whose context is past --threshold.")
    ] = False,
    threshold: ThresholdOpt = None,
    sort: Annotated[
        SortOrder, typer.Option("--sort", help="recent: last active first; context: largest.")
    ] = "recent",
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """List archived sessions, most recently active first.

    A session held by several profiles is one row listing them all; "diverged" marks copies
    that both changed after the copy (see `archive diff`). A † marks a session deleted at the
    source (it lives on in the archive).

    Example: archive sessions --project myapp --since 2026-11-01
    """
    from .query import list_sessions

    adir = _archive_dir(archive_dir)
    filters = _filters(profile, project, branch, model, tool, since, until)
    filters.name = name
    if bloated:
        filters.min_context = _threshold(adir, threshold)
    with _open_repo(adir) as repo:
        rows = list_sessions(repo, filters, limit, sort=sort)
    if json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no archived session matches", err=True)
        return
    from .render import sessions_view

    console = _stdout()
    console.print(sessions_view(rows, width=console.width))


@command()
def show(
    session_id: Annotated[str, typer.Argument(help="Session id or a unique prefix of it.")],
    turn: Annotated[int | None, typer.Option("--turn", "-t", help="Only this turn.")] = None,
    version: VersionOpt = None,
    from_profile: FromOpt = None,
    no_redact: NoRedactOpt = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Show a session as a conversation: prompts, answers, one line per tool call.

    Credential-shaped strings are masked as [REDACTED:<kind>] unless --no-redact.

    Example: archive show 4f2a --turn 3
    """
    from .errors import UsageError
    from .query import load_session, session_dict

    with _open_repo(_archive_dir(archive_dir)) as repo:
        loaded = load_session(repo, session_id, from_profile=from_profile, version=version)
    turns = loaded.session.turns
    if turn is not None:
        if not 1 <= turn <= len(turns):
            raise UsageError(
                f"session {loaded.session.session_id} has no turn {turn}",
                hint=f"it has {len(turns)} turns",
            )
        turns = [turns[turn - 1]]
    data = session_dict(loaded, turns)
    if not no_redact:
        from .redact import redact_data

        data = redact_data(data)
    if json:
        _print_json(data)
        return
    if loaded.others:
        typer.echo(
            f"note: copies also in {', '.join(loaded.others)}; showing {loaded.file.profile} "
            "(pick one with --from)",
            err=True,
        )
    from .render import show_session

    show_session(_stdout(), data)


@command()
def diff(
    session_id: Annotated[str, typer.Argument(help="Session id, unique prefix, or name.")],
    from_profiles: Annotated[
        list[str] | None,
        typer.Option("--from", help="A profile whose copy to compare (give two)."),
    ] = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Compare two copies of one session held by different profiles.

    Says whether they are identical, whether they diverged (both changed after the copy), and
    the first turn from which they differ.

    Example: archive diff auth-feature --from work --from personal
    """
    from .query import diff_copies

    with _open_repo(_archive_dir(archive_dir)) as repo:
        data = diff_copies(repo, session_id, from_profiles)
    if json:
        _print_json(data)
        return
    from .render import diff_report

    diff_report(_stdout(), data)


@command()
def reindex(archive_dir: ArchiveDirOpt = None, quiet: QuietOpt = False):
    """Rebuild the search index from the archive alone.

    Needed after an upgrade that changes the index schema; safe at any time.

    Example: archive reindex
    """
    from .config import private_umask
    from .indexer import update_index
    from .lock import ArchiveLock
    from .repo import Repository

    adir = _archive_dir(archive_dir)
    if not (adir / "catalog.sqlite").exists():
        from .errors import ArchiveError

        raise ArchiveError(f"no archive at {adir}", hint="run `archive ingest` first")
    err = _stderr()
    with private_umask(), ArchiveLock(adir, purpose="reindex"):
        with Repository(adir, readonly=False) as repo:
            snapshots = repo.catalog.snapshots()
            last = snapshots[-1]["id"] if snapshots else 0
            if quiet or not err.is_terminal:
                stats = update_index(repo, last, rebuild=True)
            else:
                from rich.progress import Progress

                with Progress(console=err, transient=True) as bar:
                    task = bar.add_task("indexing", total=None)
                    stats = update_index(
                        repo, last, rebuild=True,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    )
    if not quiet:
        _stdout().print(
            f"Reindexed {stats.transcripts} transcripts: {stats.turns} turns, "
            f"{stats.documents} documents"
            + (f", {stats.bad_lines} bad lines skipped" if stats.bad_lines else "")
        )


@command()
def stats(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """Sessions, turns and tokens by profile and project; archive and index size.

    Example: archive stats
    """
    from .query import stats as run_stats

    adir = _archive_dir(archive_dir)
    with _open_repo(adir) as repo:
        data = run_stats(repo, _threshold(adir, None))
    if json:
        _print_json(data)
        return
    from .render import human_size, stats_table

    out = _stdout()
    out.print(
        f"{data['sessions']} sessions, {data['turns']} turns, "
        f"{data['context_tokens']:,} tokens of context; {data['versions']} versions of "
        f"{data['files']} files; archive {human_size(data['archive_bytes'])}, "
        f"index {human_size(data['index_bytes'])}; {data['bloated']} sessions past "
        f"{data['bloated_threshold']:,} tokens"
    )
    out.print(stats_table("By profile", data["by_profile"], "profile"))
    out.print(stats_table("By project", data["by_project"][:20], "project"))


@command()
def demo(
    archive_dir: Annotated[
        Path | None,
        typer.Option("--archive-dir", help="Where to build the demo archive [default: temp]."),
    ] = None,
):
    """Ingest the sample sessions shipped with session-archive into a demo archive.

    Lays out real Claude Code transcripts as two profiles (default and a CCS instance "work")
    in a temporary home, ingests them twice (the second run is a no-op), and shows the result.
    Nothing outside the temporary folders is touched.

    Example: archive demo
    """
    import tempfile

    from .demo import run_demo

    base = Path(tempfile.mkdtemp(prefix="session-archive-demo-"))
    adir = archive_dir or base / "archive"
    run_demo(base / "home", adir, _stdout())


@command()
def resume(
    query: Annotated[str | None, typer.Argument(
        help="A session (id, prefix, name) to resume, or words to search for.")] = None,
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
    from .resume import Choice, launch, plan_resume, select_session

    adir = _archive_dir(archive_dir)
    found = _roots(adir, root)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    sid = select_session(adir, found, query, last=last, from_profile=from_profile, picker=tty)
    if sid is not None:
        choice = Choice(sid, to, project=project)
    else:
        from .tui import pick

        filters = _filters(profile, in_project, None, None, None, since, None)
        choice = pick(adir, found, query=query or "", filters=filters, to=to, project=project)
        if choice is None:
            return  # Escape: nothing written
    plan = plan_resume(adir, found, choice.session_id, to=choice.to, from_profile=from_profile,
                       project=choice.project, turns=turns or choice.turns,
                       new_id=bool(turns) or choice.new_id, wait=wait)
    for note in plan.notes:
        typer.echo(f"note: {note}", err=True)
    if print_only or not tty:
        typer.echo(plan.launch.shell_line())
        return
    launch(plan.launch)


# Commands of other areas live in their own modules and register themselves on ``app``.
from . import cli_context, cli_export, cli_nightly, cli_restore, cli_secrets  # noqa: E402,F401


def app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``archive COMMAND …``: one holding just COMMAND.

    Typer turns every registered command into a click command before dispatching: ~80 ms for
    this tool's commands, a quarter of a cold `archive search`. Converting only the one asked
    for takes a few ms. Anything else (no command, an option first, a command group such as
    `schedule`, an unknown name) gets the whole app, so help and errors are Typer's own."""
    if len(argv) < 2 or argv[1].startswith("-"):
        return app
    from typer.main import get_command_name

    found = [
        info for info in app.registered_commands
        if (info.name or get_command_name(info.callback.__name__)) == argv[1]
    ]
    if len(found) != 1:
        return app
    one = typer.Typer(**_APP_SETTINGS)
    one.registered_commands = found
    one.callback()(_no_options)  # keeps COMMAND a subcommand (a lone command would be the app)
    return one


def _no_options() -> None:  # the group callback of a one-command app: no options of its own
    pass


def main() -> None:
    """Console-script entry point."""
    try:
        app_for(sys.argv)()
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)


__all__ = ["app", "main", "EXIT_USAGE"]
