"""The ``context`` command: how big a session's context grew, and the two ways on."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    SESSION_HELP,
    ArchiveDirOpt,
    FromOpt,
    JsonOpt,
    ThresholdOpt,
    VersionOpt,
    archive_path,
    command,
    context_threshold,
    open_repo,
    print_json,
    shown,
    stdout,
)


@command()
def context(
    session_id: Annotated[str, typer.Argument(help=SESSION_HELP)],
    threshold: ThresholdOpt = None,
    version: VersionOpt = None,
    from_profile: FromOpt = None,
    archive_dir: ArchiveDirOpt = None,
    json: JsonOpt = False,
):
    """Show how a session's context grew, turn by turn, and how to go on lean.

    The context at a turn is what the model was sent for its last answer (input + cache
    tokens). Past the threshold, two ready-to-run commands: a fork from the last turn under it
    (archive restore --turns N --new-id) and a hand-off document (archive export --budget).

    Example: archive context 4f2a --threshold 80000
    """
    from ..context import context_report
    from ..views import load_session

    adir = archive_path(archive_dir)
    with open_repo(adir) as repo:
        loaded = load_session(repo, session_id, from_profile=from_profile, version=version)
    report = shown(context_report(loaded, context_threshold(adir, threshold)))
    if json:
        print_json(report)
        return
    from ..render import context_chart

    context_chart(stdout(), report)
