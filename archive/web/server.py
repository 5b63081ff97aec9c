"""Start the web front-end: bind, print the tokened address, serve until Ctrl-C.

The socket is bound before anything is printed, so the address printed is one that answers
(``--port 0`` picks a free port, which tests use). The token is new at every start.
"""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(archive_dir: Path, *, host: str, port: int, open_browser: bool,
          threshold: int | None = None, out=None) -> None:
    """Serve the archive at ``archive_dir`` until interrupted."""
    from .data import ArchiveError, open_repo

    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise ArchiveError(
            f"`archive serve` needs the web extra ({exc.name} is not installed)",
            hint="pip install 'session-archive[web]'",
        ) from None
    with open_repo(archive_dir):  # no archive: say so now, not on the first page
        pass
    out = out or sys.stdout
    if host not in LOOPBACK:
        print(f"warning: serving on {host}: anyone who can reach this address and learns the "
              "token can read every archived session", file=sys.stderr, flush=True)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ArchiveError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                           hint="pick another --port, or --port 0 for any free one") from None
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    app = create_app(archive_dir, token, cookie_name=f"archive_token_{port}",
                     threshold=threshold)
    url = address(host, port, token)
    print(f"Serving {archive_dir} read-only at\n  {url}\nCtrl-C stops it.", file=out, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, date_header=False)
    uvicorn.Server(config).run(sockets=[sock])
