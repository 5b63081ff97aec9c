"""The ASGI application: the token guard, the security headers, and one route per page.

Handlers are plain functions (Starlette runs them in its thread pool); each opens the archive
read-only for the length of one request, asks ``data`` for figures and renders a template.
"""

from __future__ import annotations

import hmac
import os
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import charts, data, markdown
from .format import FILTERS

HERE = Path(__file__).parent
STATIC = HERE / "static"
PER_PAGE = 20  # as `archive search`: each hit shown costs a snippet
SESSIONS_PER_PAGE = 50
TURNS_PER_PAGE = 40  # turns rendered per request; the page loads the next ones as you scroll

# No inline script or style, nothing from another origin, no framing, no plugin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class TokenGuard:
    """403 for every request without the token. The token comes in the URL once (the address
    ``archive serve`` prints); the answer is a redirect to the same page without it, setting an
    HttpOnly, SameSite=Strict cookie that carries it from then on (as Jupyter does)."""

    def __init__(self, app, token: str, cookie_name: str):
        self.app = app
        self.token = token.encode()
        self.cookie_name = cookie_name

    def _ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        cookie = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                jar = SimpleCookie()
                try:
                    jar.load(value.decode("latin-1"))
                except Exception:  # a malformed Cookie header is no token
                    continue
                if self.cookie_name in jar:
                    cookie = jar[self.cookie_name].value
        if given:
            if not all(self._ok(v) for v in given):
                return await self._deny(scope, receive, send)
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            to = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
            response = RedirectResponse(to, status_code=303)
            response.set_cookie(self.cookie_name, self.token.decode(), httponly=True,
                                samesite="strict", path="/")
            return await response(scope, receive, self._with_headers(send))
        if not self._ok(cookie):
            return await self._deny(scope, receive, send)
        return await self.app(scope, receive, self._with_headers(send, time.perf_counter()))

    async def _deny(self, scope, receive, send):
        response = PlainTextResponse(
            "403: this page needs the token in the address `archive serve` printed\n",
            status_code=403,
        )
        await response(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send, started: float | None = None):
        """Adds the security headers, and the time the page took (Server-Timing, which the
        browser's developer tools and scripts/bench.py read)."""

        async def wrapped(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if started is not None:
                    ms = (time.perf_counter() - started) * 1000
                    headers.append((b"server-timing", f"app;dur={ms:.1f}".encode()))
                message["headers"] = headers
            await send(message)

        return wrapped


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters["md"] = markdown.render
    env.globals["agents"] = data.agents()
    return env


def _form(request: Request) -> dict[str, str]:
    return {k: v.strip() for k, v in request.query_params.items() if k != "token"}


def _int(value: str | None, default: int, low: int = 1) -> int:
    try:
        return max(low, int(value)) if value not in (None, "") else default
    except ValueError:
        return default


def _query(form: dict, **changes) -> str:
    """The current page's query string with some parameters changed (for paging links)."""
    merged = {**form, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


def create_app(archive_dir: Path, token: str, *, cookie_name: str = "archive_token",
               threshold: int | None = None):
    """The guarded ASGI app over the archive at ``archive_dir``."""
    env = _environment()
    limit = threshold if threshold is not None else data.threshold(archive_dir)

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        html = env.get_template(name).render(
            request=request, path=request.url.path, form=_form(request), query=_query,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def failed(request: Request, exc: Exception) -> HTMLResponse:
        if isinstance(exc, data.SessionNotFound):
            status = 404
        elif isinstance(exc, data.UsageError):
            status = 400
        elif isinstance(exc, data.ArchiveError):
            status = 500
        else:  # a bug: name it, never echo its message (it may quote a transcript)
            if os.environ.get("ARCHIVE_DEBUG"):  # as the CLI: the traceback only when asked
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            return page(request, "error.html", 500, message=f"internal error: "
                        f"{type(exc).__name__}", hint="a bug: ARCHIVE_DEBUG=1 archive serve "
                        "prints its traceback on the terminal")
        return page(request, "error.html", status, message=data.redact(str(exc)),
                    hint=getattr(exc, "hint", None))

    def guarded(handler):
        def run(request: Request):
            try:
                return handler(request)
            except Exception as exc:  # every failure is a page, never a traceback
                return failed(request, exc)

        return run

    @guarded
    def search(request: Request):
        form = _form(request)
        q = form.get("q", "")
        hits, has_next, error = [], False, None
        pg = _int(form.get("page"), 1)
        with data.open_repo(archive_dir) as repo:
            profiles = data.profiles(repo)
            if q:
                try:
                    hits, has_next = data.search(repo, q, form, page=pg, per_page=PER_PAGE,
                                                 grouped=bool(form.get("sessions")))
                except data.UsageError as exc:
                    error = (data.redact(str(exc)), exc.hint)
        return page(request, "search.html", 400 if error else 200, q=q, hits=hits,
                    has_next=has_next, pg=pg, error=error, profiles=profiles,
                    per_page=PER_PAGE)

    @guarded
    def sessions(request: Request):
        form = _form(request)
        sort = "context" if form.get("sort") == "context" else "recent"
        pg = _int(form.get("page"), 1)
        with data.open_repo(archive_dir) as repo:
            rows, has_next = data.sessions(repo, form, sort=sort, page=pg,
                                           per_page=SESSIONS_PER_PAGE)
            profiles = data.profiles(repo)
        return page(request, "sessions.html", rows=rows, has_next=has_next, pg=pg, sort=sort,
                    profiles=profiles)

    def _session(request: Request) -> dict:
        form = _form(request)
        with data.open_repo(archive_dir) as repo:  # v: a number, or a set-aside copy's a1
            return data.session(repo, request.path_params["ref"],
                                profile=form.get("profile") or None,
                                version=form.get("v") or None, threshold=limit)

    def _window(s: dict, start: int, stop: int | None = None) -> tuple[int, int]:
        start = min(max(1, start), max(1, len(s["turns"])))
        last = min(len(s["turns"]), start + TURNS_PER_PAGE - 1)
        return start, last if stop is None else max(start, min(last, stop))

    @guarded
    def session(request: Request):
        s = _session(request)
        first, last = _window(s, _int(request.query_params.get("start"), 1))
        return page(request, "session.html", s=s, first=first, last=last, side="",
                    per=TURNS_PER_PAGE)

    @guarded
    def turns(request: Request):
        """The next (or earlier) turns of a session page, as an HTML fragment."""
        s = _session(request)
        stop = request.query_params.get("stop")
        first, last = _window(s, _int(request.query_params.get("start"), 1),
                              _int(stop, 1) if stop else None)
        return page(request, "_turns.html", s=s, first=first, last=last, per=TURNS_PER_PAGE,
                    side="before" if stop else "after")

    @guarded
    def turn(request: Request):
        """A turn's own address: the page window holding it, scrolled to it."""
        s = _session(request)
        n = _int(request.path_params["n"], 1)
        start = ((n - 1) // TURNS_PER_PAGE) * TURNS_PER_PAGE + 1
        form = {k: v for k, v in _form(request).items() if k in ("profile", "v")}
        to = f"/session/{s['session_id']}?{_query(form, start=start if start > 1 else None)}"
        return RedirectResponse(to.rstrip("?") + f"#turn-{n}", status_code=303)

    @guarded
    def context(request: Request):
        s = _session(request)
        return page(request, "context.html", s=s, report=s["context"],
                    chart=charts.context_chart(s["context"]))

    @guarded
    def versions(request: Request):
        form = _form(request)
        with data.open_repo(archive_dir) as repo:
            info = data.versions(repo, request.path_params["ref"], form.get("profile") or None)
        return page(request, "versions.html", info=info)

    @guarded
    def diff(request: Request):
        form = _form(request)
        with data.open_repo(archive_dir) as repo:
            info = data.versions(repo, request.path_params["ref"], form.get("profile") or None)
            a = form.get("a") or info["compare"][0]
            b = form.get("b") or info["compare"][1]
            result = data.diff_versions(repo, info["session_id"], a, b,
                                        profile=info["profile"])
        return page(request, "diff.html", info=info, d=result)

    @guarded
    def activity(request: Request):
        form = _form(request)
        days = min(_int(form.get("days"), 30), 366)
        by = "project" if form.get("by") == "project" else "profile"
        with data.open_repo(archive_dir) as repo:
            act = data.activity(repo, days=days, by=by)
        figures = [
            (label, charts.stacked_bars(act["days"], act["groups"],
                                        [[cell[i] for cell in row] for row in act["table"]]))
            for i, label in enumerate(("sessions", "turns", "context tokens"))
        ]
        return page(request, "activity.html", act=act, figures=figures, days=days, by=by)

    def static(request: Request):
        name = request.path_params["name"]
        types = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
        if name == "pygments.css":
            return Response(markdown.pygments_css(), media_type=types["css"])
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return PlainTextResponse("not found\n", status_code=404)
        return Response(path.read_bytes(), media_type=types.get(path.suffix[1:], "text/plain"))

    routes = [
        Route("/", search),
        Route("/sessions", sessions),
        Route("/activity", activity),
        Route("/session/{ref}", session),
        Route("/session/{ref}/turns", turns),
        Route("/session/{ref}/turn/{n}", turn),
        Route("/session/{ref}/context", context),
        Route("/session/{ref}/versions", versions),
        Route("/session/{ref}/diff", diff),
        Route("/static/{name}", static),
    ]
    app = Starlette(routes=routes)
    return TokenGuard(app, token, cookie_name)


__all__ = ["create_app", "CSP"]
