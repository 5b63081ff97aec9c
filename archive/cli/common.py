"""What every command module shares: the app, its options, the error guard, output helpers.

The leaf of the CLI package: command modules import from here and register on ``app``; this
module imports no command module, so the package has no import circle.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import EXIT_FAILURE, AmbiguousSession, ArchiveError

APP_SETTINGS = dict(
    name="archive",
    help="A searchable, versioned archive of Claude Code and Codex CLI sessions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app = typer.Typer(**APP_SETTINGS)

# -- options shared by several commands: help written once --------------------------------------

ArchiveDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--archive-dir",
        help="Archive folder [default: $SESSION_ARCHIVE_DIR or ~/.local/share/session-archive].",
        show_default=False,
    ),
]
SESSION_HELP = "Session: id, unique prefix, or /rename name."
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing unless something failed.")
]
RootOpt = Annotated[
    list[str] | None,
    typer.Option("--root", metavar="NAME=PATH", help="An extra config root (repeatable)."),
]
# A version of a session (show, cat, export, context, restore): a set-aside copy's label too.
VersionOpt = VersionRefOpt = Annotated[
    str | None,
    typer.Option("--version", "-v", metavar="N|aN",
                 help="Version number, or a set-aside copy (a1, a2…, as `versions` lists) "
                 "[default: newest]."),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", metavar="PROFILE[:PROJECT]",
        help="Read this copy when several hold the session: a profile, or PROFILE:PROJECT "
        "(an end of the project path) when the profile holds two.",
    ),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Only this profile.")]
AgentOpt = Annotated[
    str | None,
    typer.Option("--agent", help="Only sessions of this agent: claude (Claude Code) or codex."),
]
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

# -- output --------------------------------------------------------------------------------------


# Everything a command prints passes the one outward step (outward.py): JSON through
# ``print_json``, messages through ``say``, tables and views through the terminal console, whose
# rows the command has masked with ``outward_data`` first.


def stdout():
    from ..render import terminal_console

    return terminal_console()


def stderr():
    from ..render import terminal_console

    return terminal_console(stderr=True)


def print_json(data, *, redact: bool = True) -> None:
    """``data`` as JSON on stdout: masked unless ``redact`` is off (data that came from
    :func:`shown` was masked there, with the caller's choice), terminal-safe, exact."""
    from ..outward import json_bytes

    if isinstance(data, _Shown):
        redact = False  # once is enough: masking every string twice doubled `sessions --json`
    typer.echo(json_bytes(data, redact=redact).decode())


def say(text: str, *, err: bool = False) -> None:
    """A line for a person (a message, a warning, a name): masked, control characters shown."""
    from ..outward import outward

    typer.echo(outward(text, terminal=True), err=err)


class _Shown:
    """Marks rows or a view's data that passed the outward step (:func:`shown`)."""


class _ShownList(list, _Shown):
    pass


class _ShownDict(dict, _Shown):
    pass


def shown(data, *, redact: bool = True):
    """Rows or a view's data as they may be shown: every string masked unless ``redact`` is off
    (before any table cuts a cell, so no cut splits a secret)."""
    from ..outward import outward_data

    out = outward_data(data, redact=redact)
    if isinstance(out, list):
        return _ShownList(out)
    if isinstance(out, dict):
        return _ShownDict(out)
    return out


def to_terminal(text: str) -> str:
    """Text written raw to stdout (``cat``, ``export``): made visible when stdout is a terminal;
    into a file or a pipe it stays as it is."""
    import sys

    from ..outward import visible

    return visible(text) if sys.stdout.isatty() else text


NoPagerOpt = Annotated[
    bool, typer.Option("--no-pager", help="Print directly, not through $PAGER (less -R).")
]


def paged(render, *, no_pager: bool = False) -> None:
    """Run ``render(console)`` through the pager, as git does: on a terminal the output goes
    to $PAGER (default ``less -R``, with LESS=FRX unless set, so a short view stays on the
    screen); with ``--no-pager``, into a pipe or a file, or with PAGER=cat, it prints
    directly. The console renders before the pager sees it: control characters from
    transcripts are already made visible."""
    import subprocess
    import sys

    console = stdout()
    pager = os.environ.get("PAGER", "less -R").strip()
    if no_pager or not sys.stdout.isatty() or pager in ("", "cat"):
        render(console)
        return
    with console.capture() as captured:
        render(console)
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        sys.stdout.write(captured.get())
        return
    try:
        proc.stdin.write(captured.get().encode("utf-8", "replace"))
        proc.stdin.close()
    except BrokenPipeError:  # the reader quit early (q in less): not a failure
        pass
    proc.wait()


def invoked_as() -> str:
    """This program as the user can type it again, for the commands we suggest: ``archive``
    when that name on PATH is this program, else the way it was run (``.venv/bin/archive``,
    ``python -m archive``), so a suggestion pasted as printed works."""
    import shlex
    import shutil
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    here = Path(argv0)
    if here.name == "__main__.py" and here.parent.name == "archive":
        return f"{shlex.quote(sys.executable)} -m archive"
    if here.name != "archive" or "/" not in argv0:
        return "archive"  # run by its name from PATH, or in-process (tests): the plain name
    on_path = shutil.which("archive")
    try:
        if on_path is not None and os.path.samefile(on_path, argv0):
            return "archive"
    except OSError:
        pass
    return shlex.quote(argv0)


def note(text: str) -> None:
    """A ``note:`` line on stderr: something the user may want to know, not a failure."""
    say(f"note: {text}", err=True)


def fail(message: str, hint: str | None, code: int, *, exit_now: bool = True) -> None:
    line = f"error: {message}"
    if hint:
        line += f" ({hint})"
    say(line, err=True)
    if exit_now:
        raise typer.Exit(code)


# -- the error guard -------------------------------------------------------------------------------


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
        _given_dir.clear()  # in-process runs (tests) call several commands
        try:
            return fn(*a, **kw)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except AmbiguousSession as exc:
            fail(str(exc), exc.hint, exc.exit_code, exit_now=False)
            sessions: dict[str, list[dict]] = {}  # one line per session, its copies' profiles
            for c in exc.candidates:
                sessions.setdefault(c["session_id"], []).append(c)
            for sid, copies in sessions.items():
                c = copies[0]
                profiles = ",".join(dict.fromkeys(c["profile"] for c in copies))
                say(
                    f"  {sid}  {profiles}  {c['project'] or '-'}  "
                    f"{(c['date'] or '')[:10]}  {c['title'] or ''}",
                    err=True,
                )
            raise typer.Exit(exc.exit_code) from None
        except ArchiveError as exc:
            fail(runnable(str(exc)), runnable(exc.hint), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", None, 130)
        except BrokenPipeError:
            raise typer.Exit(EXIT_FAILURE) from None
        except Exception as exc:  # a bug: say so in one line, traceback on request
            from ..errors import from_environment

            known = from_environment(exc)  # a full disk, an I/O error, a garbled catalog
            if known is not None:
                fail(str(known), known.hint, known.exit_code)
            if os.environ.get("ARCHIVE_DEBUG"):
                import traceback

                traceback.print_exc()
            # The message itself may quote transcript text (secrets): name only the
            # exception and where it was raised.
            fail(
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


# -- the archive and its settings --------------------------------------------------------------


_given_dir: list[Path] = []  # this command's --archive-dir, for the commands its errors suggest


def archive_path(path: Path | None) -> Path:
    """The archive folder: ``--archive-dir``, else $SESSION_ARCHIVE_DIR, else the default."""
    from ..config import resolve_archive_dir

    if path is not None:
        _given_dir[:] = [path]
    return resolve_archive_dir(path)


def runnable(text: str | None) -> str | None:
    """A message's suggested `archive COMMAND …` as this run can paste it: the program as it
    was run, and the ``--archive-dir`` it was given (without it the command would look at
    another archive)."""
    if not text or "`archive " not in text:
        return text
    import re
    import shlex

    prog = invoked_as()
    given = f" --archive-dir {shlex.quote(str(_given_dir[0]))}" if _given_dir else ""
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}

    def fix(m: re.Match) -> str:
        words = m.group(1)
        tail = given if words.split(" ", 1)[0] in commands else ""
        return f"`{prog} {words}{tail}`"

    return re.sub(r"`archive ([^`]+)`", fix, text)


def config_roots(archive_dir: Path, root_options: list[str] | None):
    """The config roots ingest reads: discovered, from config.toml, and from ``--root``."""
    from ..config import load_settings
    from ..roots import discover_roots, parse_root_option

    extra = [parse_root_option(v) for v in root_options or []]
    settings = load_settings(archive_dir) if archive_dir.is_dir() else None
    configured = settings.roots if settings else None
    if extra:  # a typo must not hide a profile and mark its sessions gone from source
        from ..errors import UsageError

        known = {r.profile: r.path for r in discover_roots([], configured)}
        names = [name for name, _ in extra]
        for name in names:
            if name in known or names.count(name) > 1:
                where = f" ({known[name]})" if name in known else ""
                raise UsageError(
                    f"--root {name}=…: {name} is already a profile{where}",
                    hint="give the extra root a name of its own, e.g. "
                    f"--root {name}-old=PATH",
                )
    return discover_roots(extra, configured)


def open_repo(archive_dir: Path):
    from ..repo import Repository

    return Repository(archive_dir, readonly=True)


def context_threshold(archive_dir: Path, given: int | None) -> int:
    """The bloated-context threshold: ``--threshold``, else config.toml's, else 100,000."""
    if given is not None:
        return given
    from ..config import load_settings

    return load_settings(archive_dir).context_threshold if archive_dir.is_dir() else 100_000


def check_profile(repo, profile: str | None) -> None:
    """``--profile`` must name a profile the archive holds: a typo is refused (exit 2) with
    the known names, not answered with "no match"."""
    if profile is None:
        return
    known = repo.catalog.profiles()
    if profile not in known:
        from ..errors import UsageError

        raise UsageError(f"no profile {profile!r} in the archive",
                         hint="known: " + (", ".join(known) or "none yet; run archive ingest"))


def make_filters(profile, project, branch, model, tool, since, until, agent=None):
    """The filters of the shared listing and search options, dates parsed; ``--since`` after
    ``--until`` is refused (exit 2)."""
    from ..dates import parse_when
    from ..errors import UsageError
    from ..filters import SearchFilters

    if agent is not None:
        from ..sources import check_agent

        check_agent(agent)
    start = parse_when(since) if since else None
    end = parse_when(until, end_of_day=True) if until else None
    if start is not None and end is not None and start > end:
        raise UsageError(f"--since {since} is later than --until {until}",
                         hint="swap them, or drop one")
    return SearchFilters(
        agent=agent,
        profile=profile,
        project=project,
        branch=branch,
        model=model,
        tool=tool,
        since=start,
        until=end,
    )
