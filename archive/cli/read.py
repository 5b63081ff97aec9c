"""The read commands: roots, versions, snapshots, cat, search, sessions, show, diff, stats.

Each parses its options, asks the library (views, query, repo) for data, and prints it through
render.py, or as JSON with ``--json``. Nothing here writes to the archive.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from ..errors import EXIT_FAILURE
from ..text import copies_note, plural
from .common import (
    SESSION_HELP,
    AgentOpt,
    ArchiveDirOpt,
    BranchOpt,
    FromOpt,
    JsonOpt,
    LimitOpt,
    ModelOpt,
    NoPagerOpt,
    NoRedactOpt,
    ProfileOpt,
    ProjectOpt,
    RootOpt,
    SinceOpt,
    ThresholdOpt,
    ToolOpt,
    UntilOpt,
    VersionOpt,
    VersionRefOpt,
    archive_path,
    check_profile,
    command,
    config_roots,
    context_threshold,
    make_filters,
    note,
    open_repo,
    paged,
    print_json,
    say,
    shown,
    stdout,
    to_terminal,
)


class SortOrder(StrEnum):
    recent = "recent"
    context = "context"


@command()
def roots(root: RootOpt = None, archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List the config roots (profiles) that ingest reads.

    The default root is $CLAUDE_CONFIG_DIR or ~/.claude; each ~/.ccs/instances/NAME is a profile
    NAME. Codex CLI homes are profiles of agent codex: $CODEX_HOME or ~/.codex (profile codex)
    and each ~/.ccs/codex-instances/NAME (codex-NAME). More come from [roots] in the archive's
    config.toml and from --root NAME=PATH. Each row says how its root was found (origin).

    Example: archive roots --root old=/mnt/backup/.claude
    """
    from ..roots import count_session_files

    found = config_roots(archive_path(archive_dir), root)
    rows = []
    for r in found:
        row = r.to_dict()
        row["session_files"] = count_session_files(r)
        rows.append(row)
    rows = shown(rows)
    if json:
        print_json(
            [
                {k: row[k] for k in ("profile", "agent", "origin", "path", "exists",
                                     "session_files")}
                | {"aliases": row["aliases"], "projects_shared_with": row["projects_shared_with"]}
                for row in rows
            ]
        )
        return
    from ..render import roots_table

    stdout().print(roots_table(rows))


@command()
def versions(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    from_profile: FromOpt = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """List the versions of a session's transcript, oldest first.

    Every distinct content the file ever had is a version, kept even after Claude Code deletes
    or rewrites the file. Copies Claude Code set aside beside it (.orphaned-…, .superseded-…)
    are old versions too, listed after the others as a1, a2… with where and when they were
    set aside; `cat` and `restore` take those labels with --version.

    Example: archive versions 4f2a
    """
    from ..views import version_row

    with open_repo(archive_path(archive_dir)) as repo:
        copy = repo.pick_copy(session_id, from_profile)
        f = copy.file

        rows = [version_row(a, f.profile) for a in repo.session_versions(f)]
    rows = shown(rows)
    if json:
        print_json(rows)
        return
    if copy.others and not from_profile:
        note(copies_note(copy.others, f"showing {copy.address}"))
    from ..render import versions_table

    stdout().print(versions_table(f.session_id, rows))


@command()
def snapshots(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """List the snapshots (one per ingest run), oldest first.

    Example: archive snapshots --json
    """
    with open_repo(archive_path(archive_dir)) as repo:
        rows = repo.catalog.snapshots()
    for row in rows:
        row["roots"] = __import__("orjson").loads(row["roots"])
    rows = shown(rows)
    if json:
        print_json(rows)
        return
    from ..render import snapshots_table

    stdout().print(snapshots_table(rows))


@command()
def cat(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    version: VersionRefOpt = None,
    from_profile: FromOpt = None,
    archive_dir: ArchiveDirOpt = None,
):
    """Write the exact bytes of a version of a session's transcript to stdout.

    On a terminal the text is shown as every other view shows it (credentials masked, control
    characters visible); into a file or a pipe the bytes are exact.

    Example: archive cat 4f2a --version 1 > old.jsonl
    """
    with open_repo(archive_path(archive_dir)) as repo:
        copy = repo.pick_copy(session_id, from_profile)
        v = repo.pick_version(copy.file, version)
        if sys.stdout.isatty():
            data = b"".join(repo.iter_version_bytes(v))  # checked whole before anything shows
            text = data.decode("utf-8", "replace")
            typer.echo(to_terminal(shown(text)), nl=False)
            note("on a terminal credentials are masked and control characters shown; "
                 "redirect to a file for the exact bytes")
            return
        out = sys.stdout.buffer
        for data in repo.iter_version_bytes(v, check_first=True):
            out.write(data)
        out.flush()


@command()
def search(
    query: Annotated[
        list[str],
        typer.Argument(help="Words, \"phrases\", AND/OR/NOT, field:term; several arguments are "
                       "one query, as if quoted together.", metavar="QUERY..."),
    ],
    agent: AgentOpt = None,
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
        typer.Option("--session", help="Only this session (id, unique prefix, or /rename name)."),
    ] = None,
    no_redact: NoRedactOpt = False,
    no_pager: NoPagerOpt = False,
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
    from ..query import search as run_search

    query = " ".join(query)  # `archive search jwt OR token`: one query, as gh and rg take it
    filters = make_filters(profile, project, branch, model, tool, since, until, agent)
    with open_repo(archive_path(archive_dir)) as repo:
        check_profile(repo, profile)
        if session:
            filters.session_ids = [repo.session_copies(session)[0].session_id]
        hits = run_search(
            repo, query, filters, limit=limit, group_sessions=sessions, redact=not no_redact
        )
    hits = shown(hits, redact=not no_redact)
    if json:
        print_json(hits, redact=not no_redact)
    elif hits:
        from ..render import search_view

        paged(lambda console: console.print(
            search_view(hits, grouped=sessions, width=console.width)), no_pager=no_pager)
    if not hits:
        if not json:
            say(f"no match for {query!r}", err=True)
        raise typer.Exit(EXIT_FAILURE)


@command()
def sessions(
    agent: AgentOpt = None,
    profile: ProfileOpt = None,
    project: ProjectOpt = None,
    branch: BranchOpt = None,
    model: ModelOpt = None,
    tool: ToolOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 50,
    every: Annotated[
        bool, typer.Option("--all", help="Every matching session (no --limit).")
    ] = False,
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
    no_pager: NoPagerOpt = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """List archived sessions, most recently active first.

    A session held by several profiles is one row listing them all; "diverged" marks copies
    that both changed after the copy (see `archive diff`). A † marks a session deleted at the
    source (it lives on in the archive).

    Example: archive sessions --project myapp --since 2026-11-01
    """
    from ..views import sessions_page

    adir = archive_path(archive_dir)
    filters = make_filters(profile, project, branch, model, tool, since, until, agent)
    filters.name = name
    if bloated:
        filters.min_context = context_threshold(adir, threshold)
    with open_repo(adir) as repo:
        check_profile(repo, profile)
        rows, total = sessions_page(repo, filters, None if every else limit, sort=sort)
    rows = shown(rows)
    if json:
        print_json(rows)
        return
    if not rows:
        say("no archived session matches", err=True)
        return
    from ..render import sessions_view

    def render(console) -> None:
        console.print(sessions_view(rows, width=console.width))
        if total > len(rows):
            console.print(f"showing {len(rows)} of {total} (--limit N, or --all)", style="dim",
                          markup=False, highlight=False)

    paged(render, no_pager=no_pager)


@command()
def show(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    turn: Annotated[int | None, typer.Option("--turn", "-t", help="Only this turn.")] = None,
    version: VersionOpt = None,
    from_profile: FromOpt = None,
    tool_output: Annotated[bool, typer.Option(
        "--tool-output", help="Each tool call's output under it (first 8,192 characters).")
    ] = False,
    no_redact: NoRedactOpt = False,
    no_pager: NoPagerOpt = False,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Show a session as a conversation: prompts, answers, one line per tool call.

    Credential-shaped strings are masked as [REDACTED:<kind>] unless --no-redact.

    Example: archive show 4f2a --turn 3
    """
    from ..errors import SessionNotFound, UsageError
    from ..views import load_session, prompt_only_session, session_dict

    known = None
    with open_repo(archive_path(archive_dir)) as repo:
        try:
            loaded = load_session(repo, session_id, from_profile=from_profile, version=version)
        except SessionNotFound:
            known = prompt_only_session(repo, session_id)
            if known is None:
                raise
    if known is not None:  # a "prompt only" search hit: what history.jsonl kept
        known = shown(known, redact=not no_redact)
        if json:
            print_json(known, redact=not no_redact)
            return
        from ..render import show_prompt_only

        paged(lambda console: show_prompt_only(console, known), no_pager=no_pager)
        return
    turns = loaded.session.turns
    if turn is not None:
        if not 1 <= turn <= len(turns):
            raise UsageError(
                f"session {loaded.session.session_id} has no turn {turn}",
                hint=f"it has {plural(len(turns), 'turn')}",
            )
        turns = [turns[turn - 1]]
    data = shown(session_dict(loaded, turns, with_tool_output=tool_output),
                 redact=not no_redact)
    if json:
        print_json(data, redact=not no_redact)
        return
    if loaded.others and not from_profile:
        note(copies_note(loaded.others, f"showing {loaded.address}"))
    from ..render import show_session

    paged(lambda console: show_session(console, data), no_pager=no_pager)


@command()
def diff(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    from_profiles: Annotated[
        list[str] | None,
        typer.Option("--from", metavar="PROFILE[:PROJECT]",
                     help="A copy to compare (give two): a profile, or PROFILE:PROJECT."),
    ] = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Compare two copies of one session held by different profiles.

    Says whether they are identical, whether they diverged (both changed after the copy), and
    the first turn from which they differ.

    Example: archive diff auth-feature --from work --from personal
    """
    from ..views import diff_copies

    with open_repo(archive_path(archive_dir)) as repo:
        data = shown(diff_copies(repo, session_id, from_profiles))
    if json:
        print_json(data)
        return
    from ..render import diff_report

    diff_report(stdout(), data)


@command()
def stats(archive_dir: ArchiveDirOpt = None, json: JsonOpt = False):
    """Sessions, turns and tokens by profile and project; archive and index size.

    Example: archive stats
    """
    from ..views import stats as run_stats

    adir = archive_path(archive_dir)
    with open_repo(adir) as repo:
        data = shown(run_stats(repo, context_threshold(adir, None)))
    if json:
        print_json(data)
        return
    from ..render import human_size, stats_table

    out = stdout()
    out.print(
        f"{plural(data['sessions'], 'session')}, {plural(data['turns'], 'turn')}, "
        f"{data['context_tokens']:,} tokens of context; {plural(data['versions'], 'version')}"
        f" of {plural(data['files'], 'file')}; archive {human_size(data['archive_bytes'])}, "
        f"index {human_size(data['index_bytes'])}; {plural(data['bloated'], 'session')} past "
        f"{data['bloated_threshold']:,} tokens"
    )
    out.print(stats_table("By profile", data["by_profile"], "profile"))
    out.print(stats_table("By project", data["by_project"][:20], "project"))
