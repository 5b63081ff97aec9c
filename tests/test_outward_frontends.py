"""Nothing leaks, nothing acts on a terminal: the front ends beside the CLI.

The battery of ``test_outward_cli.py`` (every credential kind and escape sequences in every part
of a transcript, history.jsonl, titles and project paths), plus bidi overrides and a session
with a second version, is ingested once; then every result of the MCP server (the real
``archive mcp`` process and the SDK's stdio client), every page and fragment of ``archive
serve`` (the real server over HTTP), the picker's rows and preview (Textual's pilot) and
``resume --print`` are checked: no piece of any secret, and no raw ESC, C1, BEL or bidi override
(only the visible forms ``^[``, ``\\x9b``, ``<U+202E>``, or a JSON escape).
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest
from credentials import CREDENTIALS, leaked
from test_outward_cli import ATTACK, BIG, ESCAPES, PATH_SID, WORD, _lay_out, _sid, _turn, _write

# What must never arrive raw: C0 controls but newline and tab, DEL, C1, bidi overrides.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

BIDI = _sid("bidi-overrides")
BIDI_TEXT = "invoice \u202egnp.exe\u202c and \u2066isolated\u2069"
DIFFED = _sid("two-versions")  # version 2 rewrites every turn: the diff shows them all
PLANTED = [c.text for c in CREDENTIALS] + [f"before {seq} after" for seq in ESCAPES.values()]


def clean(where: str, text: str) -> None:
    """``text`` holds no piece of a secret and no character a terminal would act on."""
    assert leaked(text) == [], (where, leaked(text), text[:3000])
    bad = sorted({repr(m) for m in FORBIDDEN.findall(text)})
    assert bad == [], (where, bad, text[:3000])


def _env(home: Path, archive: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG",
                        "COLUMNS", "LINES")}
    return env | {"HOME": str(home), "SESSION_ARCHIVE_DIR": str(archive),
                  "SESSION_ARCHIVE_FSYNC": "0", "COLUMNS": "200"}


def _cli(env: dict, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "archive", *args], env=env,
                            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr[-2000:])
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("frontends")
    home, archive = base / "home", base / "archive"
    _lay_out(home)
    folder = home / ".claude" / "projects" / "-tmp-battery-proj"
    bidi_cwd = "/tmp/bidi\u202eroot"
    _write(home / ".claude" / "projects" / "-tmp-bidi-root" / f"{BIDI}.jsonl",
           [{"type": "summary", "summary": f"title {BIDI_TEXT}", "leafUuid": "x"},
            *_turn(BIDI, 1, BIDI_TEXT, cwd=bidi_cwd)])
    diffed = folder / f"{DIFFED}.jsonl"

    def versioned(tag: str) -> list[dict]:
        return [line for n, text in enumerate(PLANTED, 1)
                for line in _turn(DIFFED, n, f"{text} {tag}")]

    _write(diffed, versioned("first"))
    env = _env(home, archive)
    _cli(env, "ingest", "--quiet")
    _write(diffed, versioned("second"))
    _cli(env, "ingest", "--quiet")
    sessions = orjson.loads(_cli(env, "sessions", "--limit", "1000", "--json").stdout)
    return {"home": home, "archive": archive, "env": env, "base": base,
            "sessions": sorted({(s["session_id"], s["profile"]) for s in sessions})}


def test_the_world_holds_the_battery(world):
    """The planted text is there and readable when asked for, so the checks below mean it."""
    shown = _cli(world["env"], "show", DIFFED, "--json", "--no-redact").stdout
    assert set(leaked(shown)) == {c.id for c in CREDENTIALS}
    assert len(world["sessions"]) > 2 * len(CREDENTIALS)
    versions = orjson.loads(_cli(world["env"], "versions", DIFFED, "--json").stdout)
    assert len(versions if isinstance(versions, list) else versions["versions"]) == 2


# -- archive mcp --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_client(world):
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    from test_mcp import Client

    client = Client(world["env"], world["base"] / "mcp.log")
    yield client
    client.close()


def _call(client, tool: str, **args) -> tuple[str, bool]:
    result = client.portal.call(client.session.call_tool, tool, args)
    return "".join(c.text for c in result.content if c.type == "text"), bool(result.is_error)


def _paged(client, tool: str, key: str, **args) -> list[str]:
    """Every page of a paged tool's result, following ``next``."""
    texts, offset = [], 0
    while True:
        text, is_error = _call(client, tool, offset=offset, **args)
        assert not is_error, text
        texts.append(text)
        data = orjson.loads(text)
        if "next" not in data or not data[key]:
            return texts
        offset = data["next"]["offset"]


def test_mcp_search_and_list_sessions(world, mcp_client):
    texts = []
    for query in (WORD, "before after", "title:key OR title:token OR title:batterymark",
                  "gnp isolated"):
        for grouped in (False, True):
            texts += _paged(mcp_client, "search", "hits", query=query, limit=100,
                            group_sessions=grouped, budget_tokens=50_000)
    for sort in ("recent", "context"):
        texts += _paged(mcp_client, "list_sessions", "sessions", sort=sort, limit=100,
                        budget_tokens=50_000)
    texts += _paged(mcp_client, "list_sessions", "sessions", name="a", limit=100)
    joined = "\n".join(texts)
    clean("mcp search/list_sessions", joined)
    assert joined.count("[REDACTED:") > 3 * len(CREDENTIALS)
    assert "\\u001b" in joined and "\\u202e" in joined  # escaped, not dropped


def _read_all(client, session: str, **args) -> list[str]:
    texts, start = [], 1
    while True:
        text, is_error = client.call("read_session", session=session, start=start,
                                     budget_tokens=50_000, **args)
        assert not is_error, text
        texts.append(text)
        data = orjson.loads(text)
        if "next" not in data:
            return texts
        start = data["next"]["start"]


def test_mcp_read_session_and_context(world, mcp_client):
    texts = []
    for sid in (BIG, ATTACK, PATH_SID, BIDI, DIFFED):
        texts += _read_all(mcp_client, sid, tool_output=True, from_profile="default")
        for handoff in (True,):
            texts.append(mcp_client.call("read_session", session=sid, handoff=handoff,
                                         from_profile="default", budget_tokens=50_000)[0])
        texts.append(mcp_client.call("read_session", session=sid, turn=1, version=1,
                                     from_profile="default")[0])
        texts.append(mcp_client.call("session_context", session=sid, threshold=100,
                                     from_profile="default", budget_tokens=50_000)[0])
    for sid, profile in world["sessions"]:  # every title and project path, in each head
        texts.append(mcp_client.call("read_session", session=sid, turn=1, from_profile=profile,
                                     budget_tokens=2_000)[0])
    joined = "\n".join(texts)
    clean("mcp read_session/session_context", joined)
    assert joined.count("[REDACTED:") > 3 * len(CREDENTIALS)
    data = orjson.loads(_read_all(mcp_client, ATTACK, tool_output=True)[0])
    prompts = "\n".join(t["prompt"] for t in data["turns"])
    assert ESCAPES["osc52-clipboard"] in prompts  # the data itself is exact, once decoded


def test_mcp_errors(world, mcp_client):
    texts = []
    for c in CREDENTIALS:
        texts.append(mcp_client.call("read_session", session=c.text)[0])  # not found: quoted
    texts.append(mcp_client.call("read_session", session="all credentials")[0])  # ambiguous
    for seq in ESCAPES.values():
        texts.append(mcp_client.call("read_session", session=f"x{seq}")[0])
        texts.append(mcp_client.call("search", query=f"({seq}")[0])
    texts.append(mcp_client.call("read_session", session=BIDI_TEXT)[0])
    for prefix in "0123456789abcdef":  # ambiguous: the candidates' titles are listed
        texts.append(mcp_client.call("read_session", session=prefix)[0])
    texts.append(mcp_client.call("search", query=f"({CREDENTIALS[3].text}")[0])
    texts.append(mcp_client.call("read_session", session=BIG, turn=CREDENTIALS[3].text)[0])
    texts.append(mcp_client.call("list_sessions", sort=f"{CREDENTIALS[0].text}\x1b[2J")[0])
    for text in texts:
        clean("mcp error", text)
    joined = "\n".join(texts)
    assert "no session matches 'x\\x1b]8;;" in joined  # named, as its repr
    assert "input_value=(not shown)" in joined  # the SDK's quote of a rejected argument


# -- archive serve ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(world):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    from urllib.parse import urlparse

    from test_web import Server, start_server, stop

    proc, url = start_server(world["env"], world["archive"])
    u = urlparse(url)
    yield Server(url, f"{u.scheme}://{u.netloc}", u.query.split("token=")[1], u.port, proc)
    stop(proc)


def _body(server, path: str, status: int | None = 200) -> str:
    code, _, body = server.get(path)
    if status is not None:
        assert code == status, (path, code, body[:1000])
    return html.unescape(body)  # a secret must not hide behind an entity either


def _pages(server, path: str) -> list[str]:
    bodies, page = [], 1
    while True:
        body = _body(server, f"{path}&page={page}" if "?" in path else f"{path}?page={page}")
        bodies.append(body)
        if f"page={page + 1}" not in body or page > 60:
            return bodies
        page += 1


def test_serve_search_sessions_and_activity(world, web):
    bodies = []
    for query in (WORD, "before after", "title:key OR title:token", "gnp isolated"):
        bodies += _pages(web, f"/?q={quote(query)}")
        bodies += _pages(web, f"/?q={quote(query)}&sessions=1")
    bodies += _pages(web, "/sessions")
    bodies += _pages(web, "/sessions?sort=context")
    for by in ("project", "profile"):
        bodies.append(_body(web, f"/activity?days=366&by={by}"))
    joined = "\n".join(bodies)
    clean("serve search/sessions/activity", joined)
    # The matches stay marked on the visible snippet, after the shown escape sequences.
    assert "<mark>before</mark>" in joined and "<mark>after</mark>" in joined
    assert joined.count("[REDACTED:") > 3 * len(CREDENTIALS)
    assert "^[" in joined and "<U+202E>" in joined  # shown, not dropped


def test_serve_session_pages(world, web):
    bodies = []
    for sid in (BIG, ATTACK, PATH_SID, BIDI, DIFFED):
        q = "profile=default"
        bodies.append(_body(web, f"/session/{sid}?{q}"))
        for start in range(41, 200, 40):
            bodies.append(_body(web, f"/session/{sid}/turns?start={start}&{q}"))
            bodies.append(_body(web, f"/session/{sid}/turns?start=1&stop={start}&{q}"))
        bodies.append(_body(web, f"/session/{sid}?v=1&{q}"))
        bodies.append(_body(web, f"/session/{sid}/context?{q}"))
        bodies.append(_body(web, f"/session/{sid}/versions?{q}"))
        bodies.append(_body(web, f"/session/{sid}/diff?{q}"))
    bodies.append(_body(web, f"/session/{DIFFED}/diff?a=1&b=2"))
    bodies.append(_body(web, f"/session/{BIG}/diff?profile=work"))
    for sid, profile in world["sessions"]:  # every title and project path
        bodies.append(_body(web, f"/session/{sid}?profile={profile}"))
    joined = "\n".join(bodies)
    clean("serve session pages", joined)
    diff = bodies[-len(world["sessions"]) - 2]
    assert diff.count("[REDACTED:") >= 2 * len(CREDENTIALS)  # before and after of each turn
    assert "^[" in joined and "<U+202E>" in joined


def test_serve_error_pages(world, web):
    bodies = []
    for c in CREDENTIALS:
        bodies.append(_body(web, f"/session/{quote(c.text, safe='')}", None))
        bodies.append(_body(web, f"/?q={quote('(' + c.text, safe='')}", None))
    for seq in [*ESCAPES.values(), BIDI_TEXT]:
        bodies.append(_body(web, f"/session/{quote('x' + seq, safe='')}", None))
        bodies.append(_body(web, f"/?q={quote('(' + seq, safe='')}", None))
    bodies.append(_body(web, f"/session/{quote('all credentials')}", None))
    joined = "\n".join(bodies)
    # The query box echoes what the user typed (theirs, not a transcript's): only error texts
    # are checked here, i.e. what the page says about the input.
    messages = "\n".join(re.findall(r'<div class="error" id="error">(.*?)</div>', joined, re.S))
    assert messages, joined[:2000]
    clean("serve errors", messages)


# -- the picker and resume --print --------------------------------------------------------------


def _with_env(world, monkeypatch):
    for k, v in world["env"].items():
        if k in ("HOME", "SESSION_ARCHIVE_DIR", "SESSION_ARCHIVE_FSYNC"):
            monkeypatch.setenv(k, v)
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)


def test_picker_rows_and_preview(world, monkeypatch):
    pytest.importorskip("textual")
    from test_tui import _settle

    from archive.roots import discover_roots
    from archive.tui.app import PickerApp

    _with_env(world, monkeypatch)
    shown: list[str] = []

    def rows_text(rows) -> str:
        return "\n".join(f"{r.title}\n{r.project}\n{r.snippet}\n{r.profile}" for r in rows)

    async def go(query: str) -> None:
        app = PickerApp(world["archive"], discover_roots())
        async with app.run_test(size=(160, 50)) as pilot:
            if query:
                await pilot.press(*query)
            await _settle(pilot, app)
            shown.append(rows_text(app.rows))
            for i in range(len(app.rows)):
                app.select(i)
                await _settle(pilot, app)
                data = app.session_data
                for t in data["turns"]:
                    app.turn = t["turn"]
                    app.show_preview(app.rows[i])
                    shown.append(app.preview_plain)
            await pilot.press("escape")

    for query in ("", WORD, "before after", "gnp isolated", "token"):
        asyncio.run(go(query))
    # What the picker asks of the archive, for every row of every query.
    from archive.tui.source import Source

    source = Source(world["archive"], limit=1000)
    for query in ("", WORD, "key OR token OR password OR secret"):
        rows = source.rows(query)
        shown.append(rows_text(rows))
        for r in rows:
            shown.append(orjson.dumps(source.session(r.session_id, r.profile)).decode())
    joined = "\n".join(shown)
    clean("picker", joined)
    assert "[REDACTED:" in joined and "^[" in joined and "<U+202E>" in joined
    for r in source.rows(""):  # a highlight still covers what matched
        assert r.highlights == []
    for r in source.rows(WORD):
        assert all(r.snippet[a:b].lower() == WORD for a, b in r.highlights), r.snippet
    moved = [r for r in source.rows("before after") if "^[" in r.snippet and r.highlights]
    assert moved
    for r in moved:  # a match after a shown escape sequence still covers the word
        assert {r.snippet[a:b].lower() for a, b in r.highlights} <= {"before", "after"}


def test_visible_spans_move_with_the_text():
    from archive.outward import visible_spans

    text = "a\x1b[8mkey\x1b[0m b\u202ez"
    shown, spans = visible_spans(text, [(5, 8), (13, 14)])
    assert shown == "a^[[8mkey^[[0m b<U+202E>z"
    assert [shown[a:b] for a, b in spans] == ["key", "b"]
    assert visible_spans("plain", [(0, 5)]) == ("plain", [(0, 5)])


def test_resume_print(world):
    out = []
    for sid in (PATH_SID, ATTACK, BIDI, BIG):
        result = _cli(world["env"], "resume", sid, "--print", "--from", "default")
        out.append(result.stdout + result.stderr)
    joined = "\n".join(out)
    clean("resume --print", joined)
    assert "--resume" in joined and "^[" in joined
