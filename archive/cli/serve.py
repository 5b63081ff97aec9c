"""``archive serve``: the archive in a browser (the ``archive.web`` front-end).

The web stack is imported only when the command runs, so no other command's start-up grows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .common import ArchiveDirOpt, archive_path, command


@command()
def serve(
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535,
                                      help="Port to listen on (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(
        "--host", help="Address to bind; anything but loopback prints a warning.")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open it in a browser.")] = False,
    archive_dir: ArchiveDirOpt = None,
):
    """Browse the archive in a web browser: search, sessions, context charts, activity.

    Read-only, on 127.0.0.1 by default, behind a random token in the printed address (other
    local users must not read transcripts). Needs the web extra: pip install
    'session-archive[web]'.

    Example: archive serve --open
    """
    from ..web.server import serve as run_server

    run_server(archive_path(archive_dir), host=host, port=port, open_browser=open_browser)
