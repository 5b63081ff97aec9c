"""`archive mcp`: the real server in a subprocess, driven by the MCP SDK's own stdio client.

The archive is built by the real CLI from the fixtures and from generated sessions with
planted phrases in three profiles (one deleted at its source before the last ingest), with
secrets planted in a prompt and in a tool output. The Claude Code end-to-end test at the end
runs the pinned client against a stand-in Messages API on loopback (tests/claude_code.py).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import orjson
import pytest
from conftest import BIG_ID, lay_out

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed")
from anyio.from_thread import start_blocking_portal  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

ANTHROPIC_KEY = "".join(["sk-", "ant-", "api03-", "Qx7Lm2Vb9Nc4Zr8Tp1Wd6Hs3" * 3, "AA"])
GITHUB_TOKEN = "".join(["gh", "p_", "R4nd0mT0k3nV4lu3Xy7Zq2Wd9Lk5Mn8Pb1Sx3"])
PASSWORD = "Tr0ub4dor-and-3-horses"
SECRETS = (ANTHROPIC_KEY, GITHUB_TOKEN, PASSWORD)

# (profile, project folder, cwd, planted phrase, in prompt or answer, turn)
PLANTED = {
    "quokka flamingo rebalancing": ("default", "-home-me-alpha", "/home/me/alpha", "prompt", 2),
    "zebrafish tessellation": ("work", "-home-me-beta", "/home/me/beta", "answer", 3),
    "marmoset cartography": ("personal", "-home-me-gamma", "/home/me/gamma", "prompt", 4),
}
DELETED = "marmoset cartography"  # its source file is deleted before the second ingest
LONG_ID = "10000000-0000-4000-8000-00000000face"
LONG_TURNS = 400


def _sid(n: int) -> str:
    return str(uuid.UUID(int=n << 96))  # 00000001-…, 00000002-…: "0000000" is ambiguous


def write_transcript(path: Path, session_id: str, cwd: str, turns: list[dict], *,
                     day: int = 10, model: str = "claude-opus-4-1") -> None:
    """A transcript shaped like Claude Code's lines: per turn a prompt, a Bash call with its
    output, and an answer. ``turns``: dicts with prompt, answer, and optional output."""
    lines, parent = [], None
    for n, t in enumerate(turns, 1):
        when = f"2026-11-{day:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000Z"
        common = dict(sessionId=session_id, cwd=cwd, gitBranch="main", version="2.1.39",
                      isSidechain=False, userType="external", timestamp=when)
        ids = [str(uuid.uuid4()) for _ in range(4)]
        tool_id = f"toolu_{ids[0][:8]}"
        usage = {"input_tokens": 1000 * n}
        lines += [
            dict(type="user", uuid=ids[0], parentUuid=parent,
                 message={"role": "user", "content": t["prompt"]}, **common),
            dict(type="assistant", uuid=ids[1], parentUuid=ids[0], requestId=f"req_{ids[1]}",
                 message={"id": f"msg_{ids[1]}", "role": "assistant", "model": model,
                          "content": [{"type": "tool_use", "id": tool_id, "name": "Bash",
                                       "input": {"command": "cat .env"}}],
                          "usage": usage}, **common),
            dict(type="user", uuid=ids[2], parentUuid=ids[1],
                 message={"role": "user", "content": [
                     {"type": "tool_result", "tool_use_id": tool_id,
                      "content": t.get("output", "total 0")}]}, **common),
            dict(type="assistant", uuid=ids[3], parentUuid=ids[2], requestId=f"req_{ids[3]}",
                 message={"id": f"msg_{ids[3]}", "role": "assistant", "model": model,
                          "content": [{"type": "text", "text": t["answer"]}],
                          "usage": usage | {"input_tokens": 1000 * n + 500}}, **common),
        ]
        parent = ids[3]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def profile_root(home: Path, profile: str) -> Path:
    return home / ".claude" if profile == "default" else home / ".ccs/instances" / profile


def plant(home: Path) -> dict[str, tuple[str, str, int]]:
    """Generated sessions: phrase -> (session id, profile, turn); secrets in session 1."""
    found = {}
    for i, (phrase, (profile, project, cwd, where, turn)) in enumerate(PLANTED.items(), 1):
        sid = _sid(i)
        turns = [{"prompt": f"humdrum question {n} about the build",
                  "answer": f"humdrum answer {n}"} for n in range(1, 6)]
        turns[turn - 1][where] += f" {phrase}"
        if i == 1:
            turns[2]["prompt"] += f" and configure the pelican gateway with {ANTHROPIC_KEY}"
            turns[2]["output"] = f"GITHUB_TOKEN={GITHUB_TOKEN}\nDB_PASSWORD={PASSWORD}\n"
            turns[2]["answer"] = "The pelican gateway reads GITHUB_TOKEN from .env"
        write_transcript(profile_root(home, profile) / "projects" / project / f"{sid}.jsonl",
                         sid, cwd, turns, day=10 + i)
        found[phrase] = (sid, profile, turn)
    write_transcript(
        profile_root(home, "work") / "projects/-home-me-long" / f"{LONG_ID}.jsonl",
        LONG_ID, "/home/me/long",
        [{"prompt": f"long step {n} " + "why " * 30, "answer": f"done {n} " + "because " * 60}
         for n in range(1, LONG_TURNS + 1)], day=20,
    )
    return found


def env_for(home: Path, archive: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG")}
    return env | {"HOME": str(home), "SESSION_ARCHIVE_DIR": str(archive),
                  "SESSION_ARCHIVE_FSYNC": "0", "COLUMNS": "200"}


def archive_cli(env: dict, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "archive", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return result


class Client:
    """The SDK's stdio client, made callable from synchronous tests (an anyio portal runs
    its tasks). ``call`` returns (text, is_error)."""

    def __init__(self, env: dict, errlog: Path, args: list[str] | None = None,
                 command: str = sys.executable):
        self._errlog = open(errlog, "w")  # noqa: SIM115 (closed in close())
        params = StdioServerParameters(command=command, args=args or ["-m", "archive", "mcp"],
                                       env=env)
        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._transport = self.portal.wrap_async_context_manager(
            stdio_client(params, errlog=self._errlog))
        read, write = self._transport.__enter__()
        self._session_cm = self.portal.wrap_async_context_manager(ClientSession(read, write))
        self.session = self._session_cm.__enter__()
        self.init = self.portal.call(self.session.initialize)

    def tools(self):
        return self.portal.call(self.session.list_tools).tools

    def call(self, name: str, **arguments) -> tuple[str, bool]:
        result = self.portal.call(self.session.call_tool, name, arguments)
        text = "".join(c.text for c in result.content if c.type == "text")
        return text, bool(result.is_error)

    def ok(self, name: str, **arguments) -> dict:
        text, is_error = self.call(name, **arguments)
        assert not is_error, text
        return orjson.loads(text)

    def close(self) -> None:
        for cm in (self._session_cm, self._transport, self._portal_cm):
            cm.__exit__(None, None, None)
        self._errlog.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Fixtures in three profiles plus the planted sessions, ingested twice (the deleted one
    between), and one server kept for the whole module."""
    base = tmp_path_factory.mktemp("mcp")
    home, archive = base / "home", base / "archive"
    lay_out(home)
    planted = plant(home)
    env = env_for(home, archive)
    archive_cli(env, "ingest", "--quiet")
    sid, profile, _ = planted[DELETED]
    (profile_root(home, profile) / "projects" / PLANTED[DELETED][1] / f"{sid}.jsonl").unlink()
    archive_cli(env, "ingest", "--quiet")
    client = Client(env, base / "server.log")
    yield {"home": home, "archive": archive, "env": env, "planted": planted, "client": client,
           "log": base / "server.log"}
    client.close()


@pytest.fixture
def server(world) -> Client:
    return world["client"]


def tokens(text: str) -> int:
    return (len(text) + 3) // 4


# -- what the server offers -------------------------------------------------------------------


def test_lists_four_read_only_tools_described_for_a_model(server):
    tools = {t.name: t for t in server.tools()}
    assert set(tools) == {"search", "list_sessions", "read_session", "session_context"}
    for t in tools.values():
        assert len(t.description) > 200, t.name  # what it returns and when to use it
        assert "budget_tokens" in t.input_schema["properties"], t.name
        assert t.annotations.read_only_hint is True
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["read_session"].input_schema["required"] == ["session"]
    assert {"profile", "project", "branch", "model", "since", "until", "limit", "offset"} <= set(
        tools["search"].input_schema["properties"])
    assert {"bloated", "sort", "threshold"} <= set(
        tools["list_sessions"].input_schema["properties"])
    assert "every profile" in (server.init.instructions or "")


@pytest.mark.parametrize("phrase", list(PLANTED), ids=["prompt-default", "answer-work",
                                                       "deleted-personal"])
def test_planted_phrase_is_the_first_hit_with_session_profile_and_turn(world, server, phrase):
    sid, profile, turn = world["planted"][phrase]
    result = server.ok("search", query=f'"{phrase}"')
    first = result["hits"][0]
    assert (first["session_id"], first["profile"], first["turn"]) == (sid, profile, turn)
    assert phrase.split()[0] in first["snippet"].lower()
    assert first["project"] == PLANTED[phrase][2]
    assert first.get("gone_from_source", False) is (phrase == DELETED)
    assert "next" not in result  # one hit: nothing more to get


def test_search_filters_paging_and_group_sessions(world, server):
    hits = server.ok("search", query="humdrum", profile="work")["hits"]
    assert hits and {h["profile"] for h in hits} == {"work"}
    assert server.ok("search", query="humdrum", since="2026-11-12", until="2026-11-12")[
        "hits"][0]["session_id"] == _sid(2)
    assert server.ok("search", query="humdrum", project="GAMMA")["hits"][0]["session_id"] == (
        _sid(3))
    first = server.ok("search", query="humdrum", limit=3)
    assert len(first["hits"]) == 3 and first["next"] == {"offset": 3}
    assert "offset=3" in first["note"]
    second = server.ok("search", query="humdrum", limit=3, offset=3)
    seen = [(h["session_id"], h["turn"]) for h in first["hits"] + second["hits"]]
    assert len(set(seen)) == 6  # the second page goes on where the first stopped
    grouped = server.ok("search", query="humdrum", group_sessions=True, limit=50)["hits"]
    assert len({h["session_id"] for h in grouped}) == len(grouped) == 3
    only = server.ok("search", query="humdrum", session=_sid(2))["hits"]
    assert {h["session_id"] for h in only} == {_sid(2)}
    empty = server.ok("search", query="nothingmatchesthisword")
    assert empty["hits"] == [] and "no match" in empty["note"]


def test_list_sessions_filters_sorts_and_pages(world, server):
    rows = server.ok("list_sessions", limit=100)["sessions"]
    by_id = {r["session_id"]: r for r in rows}
    gone = by_id[world["planted"][DELETED][0]]
    assert gone["gone_from_source"] is True and gone["profiles"] == ["personal"]
    assert by_id[BIG_ID]["turns"] > 1 and "context_tokens" in by_id[BIG_ID]
    work = server.ok("list_sessions", profile="work", limit=100)["sessions"]
    assert work and all("work" in r["profiles"] for r in work)
    largest = server.ok("list_sessions", sort="context", limit=5)["sessions"]
    sizes = [r.get("context_tokens") or 0 for r in largest]
    assert sizes == sorted(sizes, reverse=True)
    bloated = server.ok("list_sessions", bloated=True, threshold=100_000, limit=100)
    assert bloated["bloated_past_tokens"] == 100_000
    assert LONG_ID in {r["session_id"] for r in bloated["sessions"]}  # 400 turns × 1000 tokens
    assert all(r["context_tokens"] > 100_000 for r in bloated["sessions"])
    page = server.ok("list_sessions", limit=2)
    assert len(page["sessions"]) == 2 and page["next"] == {"offset": 2}
    nxt = server.ok("list_sessions", limit=2, offset=2)["sessions"]
    assert not {r["session_id"] for r in nxt} & {r["session_id"] for r in page["sessions"]}


def test_read_session_turns_ranges_and_the_way_on(world, server):
    sid, profile, turn = world["planted"]["zebrafish tessellation"]
    one = server.ok("read_session", session=sid[:8], turn=turn)
    assert one["session_id"] == sid and one["profile"] == profile and one["turn_count"] == 5
    assert [t["turn"] for t in one["turns"]] == [turn]
    assert "zebrafish tessellation" in one["turns"][0]["answer"]
    assert one["turns"][0]["tools"] == ["Bash cat .env"]
    assert "next" not in one
    last = server.ok("read_session", session=sid, start=-2)
    assert [t["turn"] for t in last["turns"]] == [4, 5]
    # A long session: pages of whole turns within the budget, each saying where to go on.
    got, start, pages = [], 1, 0
    while start is not None:
        text, is_error = server.call("read_session", session=LONG_ID, start=start,
                                     budget_tokens=2000)
        assert not is_error and tokens(text) <= 2000
        page = orjson.loads(text)
        got += [t["turn"] for t in page["turns"]]
        start = page.get("next", {}).get("start")
        pages += 1
    assert got == list(range(1, LONG_TURNS + 1)) and pages > 10


def test_read_session_of_a_deleted_session_and_handoff(world, server):
    sid, _profile, _turn = world["planted"][DELETED]
    data = server.ok("read_session", session=sid)
    assert data["gone_from_source"] is True and len(data["turns"]) == 5
    assert "marmoset cartography" in data["turns"][3]["prompt"]
    handoff = server.ok("read_session", session=sid, handoff=True)
    assert handoff["handoff"].startswith("# Hand-off:")
    assert "marmoset cartography" in handoff["handoff"]


def test_session_context_is_the_cli_report(world, server):
    cli_report = orjson.loads(archive_cli(world["env"], "context", BIG_ID, "--json").stdout)
    report = server.ok("session_context", session=BIG_ID)
    for key in ("context_tokens", "peak_context_tokens", "compactions", "first_turn_over",
                "suggested_fork_turn", "commands", "threshold"):
        assert report[key] == cli_report[key], key
    assert report["turn_count"] == len(cli_report["turns"])
    assert report["growth"][0] == [1, cli_report["turns"][0]["context_tokens"]]
    long = server.ok("session_context", session=LONG_ID, threshold=50_000)
    assert long["first_turn_over"] == 50 and long["suggested_fork_turn"] == 49
    assert "--turns 49 --new-id --to work" in long["commands"]["fork"]
    small = server.ok("session_context", session=LONG_ID, budget_tokens=300)
    assert 0 < len(small["growth"]) < LONG_TURNS and "every" in small["growth_note"]


# -- secrets and budgets ------------------------------------------------------------------------


def _every_result(world, server):
    sid = world["planted"]["quokka flamingo rebalancing"][0]
    calls = [
        ("search", {"query": "pelican"}),
        ("search", {"query": "pelican gateway", "group_sessions": True}),
        ("search", {"query": "GITHUB_TOKEN"}),
        ("search", {"query": "tool_output:GITHUB_TOKEN"}),
        ("search", {"query": ANTHROPIC_KEY}),
        ("search", {"query": f'"{PASSWORD}"'}),
        ("list_sessions", {"limit": 100}),
        ("read_session", {"session": sid}),
        ("read_session", {"session": sid, "tool_output": True}),
        ("read_session", {"session": sid, "turn": 3, "tool_output": True, "budget_tokens": 200}),
        ("read_session", {"session": sid, "handoff": True}),
        ("read_session", {"session": ANTHROPIC_KEY}),  # an error quoting what was asked
        ("read_session", {"session": GITHUB_TOKEN[:10]}),
        ("session_context", {"session": sid}),
        ("search", {"query": "pelican", "since": f"password={PASSWORD}"}),
    ]
    for name, args in calls:
        yield name, args, server.call(name, **args)


def test_no_result_ever_holds_a_planted_secret(world, server):
    masked_output = False
    for name, args, (text, _is_error) in _every_result(world, server):
        for secret in SECRETS:
            assert secret not in text, (name, args)
        if name == "read_session" and args.get("tool_output") and "budget_tokens" not in args:
            turn3 = [t for t in orjson.loads(text)["turns"] if t["turn"] == 3][0]
            output = turn3["tools"][0]["output"]
            assert "[REDACTED:github-token]" in output and "[REDACTED:password]" in output
            masked_output = True
    assert masked_output
    hit = server.ok("search", query="pelican")["hits"][0]
    assert hit["turn"] == 3 and "[REDACTED:" in hit["snippet"]
    log = world["log"].read_text()
    assert not any(secret in log for secret in SECRETS)  # nor on the server's stderr


@pytest.mark.parametrize("budget", [200, 1000, 4000])
def test_budgets_hold_on_the_largest_fixture(server, budget):
    calls = [
        ("read_session", {"session": BIG_ID}),
        ("read_session", {"session": BIG_ID, "tool_output": True}),
        ("read_session", {"session": BIG_ID, "handoff": True}),
        ("session_context", {"session": BIG_ID}),
        ("search", {"query": "the OR a OR file", "limit": 100}),
        ("list_sessions", {"limit": 100}),
    ]
    for name, args in calls:
        text, is_error = server.call(name, **args, budget_tokens=budget)
        assert not is_error, (name, text)
        assert tokens(text) <= budget, (name, budget, tokens(text))
        data = orjson.loads(text)
        if name == "read_session" and not args.get("handoff"):
            assert data["turns"] and data["turn_count"] > 1
            assert data["next"]["start"] == data["turns"][-1]["turn"] + 1
        if name == "search" and budget < 4000:
            assert "next" in data  # cut short: says where the rest is
    default = server.call("read_session", session=BIG_ID, tool_output=True)[0]
    assert 3000 < tokens(default) <= 4000  # the default budget is about 4,000 tokens


def test_a_huge_single_turn_is_cut_and_says_so(world, server, tmp_path):
    # The largest turn of the largest fixture, read alone at the smallest budget.
    data = server.ok("read_session", session=BIG_ID, start=1, end=1, tool_output=True,
                     budget_tokens=200)
    assert tokens(orjson.dumps(data).decode()) <= 200
    if data["turns"][0].get("cut"):
        assert "larger budget_tokens" in data["note"]


# -- bad arguments ----------------------------------------------------------------------------

BAD = [
    ("unknown-session", "read_session", {"session": "ffffffff-dead"},
     ["show", "ffffffff-dead"]),
    ("ambiguous-prefix", "read_session", {"session": "0000000"}, ["show", "0000000"]),
    ("malformed-query", "search", {"query": '"unbalanced'}, ["search", '"unbalanced']),
    ("bad-date", "search", {"query": "humdrum", "since": "next blursday"},
     ["search", "humdrum", "--since", "next blursday"]),
    ("empty-query", "search", {"query": "  "}, ["search", "  "]),
    ("no-such-turn", "read_session", {"session": _sid(1), "turn": 99},
     ["show", _sid(1), "--turn", "99"]),
    ("unknown-profile-copy", "session_context", {"session": _sid(1), "from_profile": "nope"},
     ["context", _sid(1), "--from", "nope"]),
    ("budget-too-small", "search", {"query": "x", "budget_tokens": 10}, None),
    ("limit-too-big", "list_sessions", {"limit": 1000}, None),
    ("handoff-with-range", "read_session", {"session": _sid(1), "handoff": True, "turn": 1},
     None),
    ("wrong-type", "search", {"query": "humdrum", "limit": "many"}, None),
    ("missing-argument", "read_session", {}, None),
    ("unknown-tool", "delete_everything", {}, None),
]


@pytest.mark.parametrize("name,args,cli_args", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(world, server, name, args,
                                                                    cli_args):
    text, is_error = server.call(name, **args)
    assert is_error, text
    assert "Traceback" not in text and "internal error" not in text
    if cli_args is not None:  # the same one-line message and hint as the CLI's stderr
        cli = archive_cli(world["env"], *cli_args, code=2)
        # The CLI names itself as it was run (`python -m archive` here) in the commands it
        # suggests; the server's agent runs `archive`.
        cli_line = cli.stderr.splitlines()[0].replace(f"{shlex.quote(sys.executable)} -m archive",
                                                      "archive")
        assert text.splitlines()[0] == cli_line
        if name == "read_session" and args["session"] == "0000000":
            assert text.count("\n") == 3 and _sid(1) in text  # the candidates, as the CLI
    assert server.ok("search", query='"zebrafish tessellation"')["hits"]  # still serving


def test_stdout_carries_only_the_protocol(world):
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "read_session", "arguments": {"session": "nope"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "search", "arguments": {"query": "zebrafish"}}},
    ]
    env = world["env"] | {"ARCHIVE_DEBUG": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "archive", "mcp"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        for r in requests:
            proc.stdin.write(orjson.dumps(r) + b"\n")
        proc.stdin.flush()
        messages = []
        while len([m for m in messages if m.get("id") in (1, 2, 3)]) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read().decode()
            messages.append(orjson.loads(line))  # every line of stdout is JSON-RPC
        proc.stdin.close()  # end of input: the server ends
        rest = proc.stdout.read()
        assert proc.wait() == 0, proc.stderr.read().decode()
    finally:
        watchdog.cancel()
        proc.kill()
    assert all(m["jsonrpc"] == "2.0" for m in messages) and rest == b""
    by_id = {m.get("id"): m for m in messages}
    assert by_id[2]["result"]["isError"] is True
    assert "no session matches 'nope'" in by_id[2]["result"]["content"][0]["text"]
    assert "zebrafish" in by_id[3]["result"]["content"][0]["text"]


def test_an_ingest_during_the_session_is_seen_without_a_restart(tmp_path):
    home, archive = tmp_path / "home", tmp_path / "archive"
    env = env_for(home, archive)
    (profile_root(home, "default") / "projects").mkdir(parents=True)
    client = Client(env, tmp_path / "server.log")  # started before any archive exists
    try:
        text, is_error = client.call("search", query="axolotl")
        assert is_error and text.startswith(f"error: no archive at {archive}")
        first = str(uuid.UUID(int=7))
        write_transcript(profile_root(home, "default") / "projects/-p" / f"{first}.jsonl", first,
                         "/p", [{"prompt": "the capybara question", "answer": "fine"}])
        archive_cli(env, "ingest", "--quiet")
        assert client.ok("search", query="capybara")["hits"][0]["session_id"] == first
        assert client.ok("search", query="axolotl")["hits"] == []
        second = str(uuid.UUID(int=8))
        write_transcript(profile_root(home, "default") / "projects/-p" / f"{second}.jsonl",
                         second, "/p", [{"prompt": "what about the axolotl", "answer": "ok"}])
        archive_cli(env, "ingest", "--quiet")  # while the server holds catalog and index open
        assert client.ok("search", query="axolotl")["hits"][0]["session_id"] == second
        assert {r["session_id"] for r in client.ok("list_sessions")["sessions"]} == {first,
                                                                                     second}
        assert client.ok("read_session", session=second)["turns"][0]["prompt"] == (
            "what about the axolotl")
    finally:
        client.close()


# -- registering it ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["script", "module"])
def test_print_config_starts_a_working_server(world, tmp_path, how):
    script = Path(sys.executable).parent / "archive"
    if how == "script" and not script.is_file():
        pytest.skip(f"no archive script beside {sys.executable}")
    start = [str(script)] if how == "script" else [sys.executable, "-m", "archive"]
    out = subprocess.run([*start, "mcp", "--print-config", "--archive-dir", str(world["archive"])],
                         env=world["env"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)["mcpServers"]["archive"]
    assert config["args"][-3:] == ["mcp", "--archive-dir", str(world["archive"])]
    assert Path(config["command"]).is_absolute()
    env = world["env"] | {"SESSION_ARCHIVE_DIR": str(tmp_path / "elsewhere"), "PATH": "/usr/bin"}
    client = Client(env, tmp_path / "server.log", args=config["args"], command=config["command"])
    try:  # the --archive-dir of the config wins over the environment; no PATH needed
        assert client.ok("search", query='"zebrafish tessellation"')["hits"]
    finally:
        client.close()


def test_without_the_sdk_the_command_says_what_to_install(world):
    code = ("import sys; sys.modules['mcp'] = None; sys.argv = ['archive', 'mcp']; "
            "from archive.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], env=world["env"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("error: the MCP server needs the mcp package (install it "
                                     "with: pip install 'session-archive[mcp]')")
    # --print-config needs no SDK.
    code = code.replace("'mcp']", "'mcp', '--print-config']")
    result = subprocess.run([sys.executable, "-c", code], env=world["env"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "mcpServers" in result.stdout


def test_only_the_mcp_command_imports_the_sdk():
    code = ("import sys; import archive.cli, archive.mcp_server, archive.query; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout


# -- Claude Code itself -----------------------------------------------------------------------


def test_claude_code_finds_the_planted_phrase_through_the_server(world, tmp_path):
    """The pinned Claude Code, given the config `archive mcp --print-config` prints, loads the
    server's tools, calls them for a stand-in model, and sends back what the archive found,
    with the secrets of that session masked."""
    from claude_code import VERSION, StandIn, claude_or_reason

    claude, why = claude_or_reason()
    if claude is None:
        pytest.skip(why)
    printed = archive_cli(world["env"], "mcp", "--print-config", "--archive-dir",
                          str(world["archive"])).stdout
    config = tmp_path / "mcp.json"
    config.write_text(printed)
    sid, profile, turn = world["planted"]["zebrafish tessellation"]
    secret_sid = world["planted"]["quokka flamingo rebalancing"][0]
    script = [
        ("ToolSearch", {"query": "select:mcp__archive__search"}),
        ("mcp__archive__search", {"query": '"zebrafish tessellation"'}),
        ("ToolSearch", {"query": "select:mcp__archive__read_session"}),
        ("mcp__archive__read_session", {"session": secret_sid[:8], "turn": 3,
                                        "tool_output": True}),
    ]
    home = tmp_path / "claude-home"
    home.mkdir()
    with StandIn(script, final_text="Found it in the work profile.") as api:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-stand-in",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
        run = subprocess.run(
            [str(claude), "-p", "--mcp-config", str(config), "--strict-mcp-config",
             "--allowedTools", "mcp__archive__search,mcp__archive__read_session",
             "--", "How did we settle the zebrafish question?"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
    assert run.returncode == 0, (VERSION, run.stdout, run.stderr)
    assert "Found it in the work profile." in run.stdout
    found = api.results.get("mcp__archive__search")
    assert found is not None, f"no tool_result of the archive's search in {len(api.requests)} " \
                              "requests"
    first = orjson.loads(found)["hits"][0]
    assert (first["session_id"], first["profile"], first["turn"]) == (sid, profile, turn)
    assert "zebrafish tessellation" in first["snippet"]
    read = api.results.get("mcp__archive__read_session") or ""
    assert "[REDACTED:github-token]" in read and "pelican gateway" in read
    sent = orjson.dumps(api.requests).decode()
    assert not any(secret in sent for secret in SECRETS)  # nothing raw reached the model
