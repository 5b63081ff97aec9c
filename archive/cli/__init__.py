"""The ``archive`` command: a Typer app over the library, one module per command family.

Each command parses its options, calls a library function that returns data, and renders it
(rich tables on a terminal, or JSON with ``--json``). Errors are one line on stderr with an exit
code (see errors.py). Heavy imports (whoosh) happen inside the commands that need them, so
``archive --help`` stays fast.

``common`` holds what the command modules share (the app, options, the error guard, output
helpers) and imports none of them; importing a command module registers its commands on
``app``.
"""

from __future__ import annotations

import functools
import sys

import typer

from ..errors import EXIT_USAGE
from . import common, read  # noqa: F401  read registers the read commands
from .common import APP_SETTINGS

# The order `archive --help` lists the commands in (groups, such as `schedule`, come last).
COMMAND_ORDER = (
    "roots", "ingest", "versions", "snapshots", "cat", "verify", "search", "sessions", "show",
    "diff", "reindex", "repair", "stats", "demo", "context", "export", "at-risk", "lost",
    "restore", "resume", "secrets", "mcp", "serve", "push", "pull",
)


def _name(info) -> str:
    from typer.main import get_command_name

    return info.name or get_command_name(info.callback.__name__)


def _first_line(doc: str | None) -> str | None:
    """A docstring's first paragraph on one line: the command's description in the overview."""
    if not doc:
        return None
    return " ".join(doc.strip().split("\n\n")[0].split())


@functools.cache
def whole_app() -> typer.Typer:
    """The app with every command registered, in `archive --help`'s order.

    The read commands (``read``, imported above) are what a person runs query after query;
    the other command modules are imported here, only when another command, the overview,
    help or a Tab asks for them: a cold `archive search` does not import eleven modules it
    never runs."""
    from . import (  # noqa: F401
        completion,
        context,
        demo,
        export,
        ingest,
        mcp,
        nightly,
        remote,
        restore,
        secrets,
        serve,
    )

    app = common.app
    app.registered_commands.sort(
        key=lambda info: COMMAND_ORDER.index(_name(info))
        if _name(info) in COMMAND_ORDER else len(COMMAND_ORDER)
    )
    # `archive` alone lists every command with its whole one-line description (click would
    # cut it to the terminal's width with "..."; a given short help is wrapped instead).
    for info in app.registered_commands:
        if info.short_help is None and info.help is None:
            info.short_help = _first_line(info.callback.__doc__)
    from typer.main import solve_typer_info_help

    for group in app.registered_groups:
        group.short_help = _first_line(solve_typer_info_help(group))
    return app


def __getattr__(name: str):
    if name == "app":  # `from archive.cli import app`: the whole app
        return whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"archive (session-archive) {__version__}")
        raise typer.Exit()


@common.app.callback(invoke_without_command=True, no_args_is_help=False)
def _top(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", "-V", callback=_show_version, is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """A searchable, versioned archive of Claude Code and Codex CLI sessions."""
    if ctx.invoked_subcommand is None:  # `archive` alone: the overview, on stdout, exit 0
        typer.echo(ctx.get_help())


def app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``archive COMMAND …``: one holding just COMMAND.

    Typer turns every registered command into a click command before dispatching: ~80 ms for
    this tool's commands, a quarter of a cold `archive search`. Converting only the one asked
    for takes a few ms. Anything else (no command, an option first, a command group such as
    `schedule`, an unknown name) gets the whole app, so help and errors are Typer's own."""
    if len(argv) < 2 or argv[1].startswith("-"):
        return whole_app()
    found = [info for info in common.app.registered_commands if _name(info) == argv[1]]
    if len(found) != 1:  # not a read command: load the others
        found = [info for info in whole_app().registered_commands if _name(info) == argv[1]]
    if len(found) != 1:
        return whole_app()
    one = typer.Typer(**APP_SETTINGS)
    one.registered_commands = found
    one.callback()(_no_options)  # keeps COMMAND a subcommand (a lone command would be the app)
    return one


def _no_options() -> None:  # the group callback of a one-command app: no options of its own
    pass


def main() -> None:
    """Console-script entry point."""
    if len(sys.argv) > 1 and sys.argv[1] == "__complete":  # a Tab in the shell
        whole_app()
        from . import completion

        sys.exit(completion.run(sys.argv[2:]))
    try:
        app_for(sys.argv)()
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)


__all__ = ["app", "app_for", "main", "EXIT_USAGE"]
