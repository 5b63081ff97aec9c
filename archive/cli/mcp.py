"""``archive mcp``: the archive served to Claude Code over MCP (archive/mcp_server.py).

The SDK is imported by the server, never here: registering this command costs nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .common import ArchiveDirOpt, command, print_json


@command()
def mcp(
    archive_dir: ArchiveDirOpt = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the JSON block for a .mcp.json and exit.")
    ] = False,
):
    """Serve the archive to Claude Code over MCP (stdio): search, sessions, read, context.

    Read-only, no lock: an ingest running beside it is seen after its commit. Results fit a
    token budget and always mask credentials. Needs the mcp extra (pip install
    'session-archive[mcp]').

    Example: claude mcp add --scope user archive -- archive mcp
    """
    if print_config:
        from ..mcp_server import client_config

        print_json(client_config(archive_dir))
        return
    from ..mcp_server import serve

    serve(archive_dir)
