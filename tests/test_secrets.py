"""`archive secrets`: sessions holding credentials are found by kind, and no secret is printed.

Secrets are planted in a copy of a real session of the conftest HOME (its main transcript, a
tool output longer than the parser's cap, and its sub-agent transcript). They are built at run
time so this file holds no credential-shaped literal for a push-protection scanner to flag.
"""

from __future__ import annotations

import io
import shutil

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import secrets as secrets_mod
from archive.redact import find_secrets
from archive.transcript import parse_bytes

WORK_ID = "29ccd257-68b1-427f-ae5f-6524b7cb6f20"  # work profile, with a sub-agent transcript
PLANTED_ID = "5ec12e75-0000-4000-8000-00000000c0de"
WORK_FOLDER = "-src-experiments-claude-p"
CWD = "/src/experiments/claude_p"

ANTHROPIC = "sk-ant-" + "api03-" + "Zq7xW2" * 16 + "-AA"
GITHUB = "gh" + "p_" + "R8kd2LmQ" * 4 + "x9Za"
GITHUB_2 = "gh" + "p_" + "T4nB7vYc" * 4 + "p3Kw"
PEM_BODY = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + "kP3q" * 3,
            "Jq9c" * 16, "vN2s" * 16]
PEM = "\n".join(["-----BEGIN " + "PRIVATE KEY-----", *PEM_BODY, "-----END PRIVATE KEY-----"])
URL_PASSWORD = "Hunt3r2-" + "Qm9x"
URL = f"postgres://admin:{URL_PASSWORD}@db.internal:5432/app"
PLANTED = [ANTHROPIC, GITHUB, GITHUB_2, PEM, URL]
# What must never be printed: each secret, and pieces of it long enough to be recognised.
FRAGMENTS = [ANTHROPIC, ANTHROPIC[7:40], GITHUB, GITHUB[4:30], GITHUB_2[4:30], PEM_BODY[0][:30],
             PEM_BODY[1][:30], URL_PASSWORD, f"admin:{URL_PASSWORD}"]
EXPECTED_KINDS = {"anthropic-key": 1, "github-token": 2, "private-key": 1, "url-password": 1}


def line(**fields) -> bytes:
    base = {"isSidechain": False, "userType": "external", "cwd": CWD, "sessionId": PLANTED_ID,
            "version": "2.1.17", "gitBranch": "", "timestamp": "2026-01-23T18:00:00.000Z"}
    return orjson.dumps(base | fields) + b"\n"


def plant(home) -> int:
    """Copy WORK_ID to PLANTED_ID in the work profile and add secrets to the copy; returns the
    turn that holds them (a new last turn)."""
    folder = home.root("work") / "projects" / WORK_FOLDER
    original = (folder / f"{WORK_ID}.jsonl").read_bytes()
    turns = len(parse_bytes(original).turns)
    data = original.replace(WORK_ID.encode(), PLANTED_ID.encode())
    data += line(type="user", uuid="p1", message={
        "role": "user", "content": f"deploy with {ANTHROPIC} and push with {GITHUB}"})
    data += line(type="assistant", uuid="p2", message={
        "model": "claude-opus-4-5-20251101", "id": "msg_p2", "type": "message",
        "role": "assistant", "content": [{"type": "tool_use", "id": "toolu_p", "name": "Bash",
                                          "input": {"command": "cat deploy/.env deploy/key"}}]})
    # The URL sits past the parser's 8 KiB cap of tool output: only a raw scan finds it.
    output = "DEBUG=1\n" * 1500 + f"DATABASE_URL={URL}\n{PEM}\n"
    data += line(type="user", uuid="p3", message={"role": "user", "content": [
        {"tool_use_id": "toolu_p", "type": "tool_result", "content": output}]})
    (folder / f"{PLANTED_ID}.jsonl").write_bytes(data)
    agents = folder / PLANTED_ID / "subagents"
    shutil.copytree(folder / WORK_ID / "subagents", agents)
    agent = agents / "agent-a2271d1.jsonl"
    agent.write_bytes(
        agent.read_bytes().replace(WORK_ID.encode(), PLANTED_ID.encode())
        + line(type="user", isSidechain=True, agentId="a2271d1", message={
            "role": "user", "content": f"the token is {GITHUB_2}"})
    )
    return turns + 1


def assert_no_secret(*outputs: str) -> None:
    for text in outputs:
        for fragment in FRAGMENTS:
            assert fragment not in text


@pytest.fixture
def planted(home, cli):
    turn = plant(home)
    cli.json("ingest")
    return turn


def test_lists_exactly_the_planted_session_with_its_kinds(planted, cli):
    result = cli("secrets", "--json")
    assert orjson.loads(result.stdout) == [{
        "session_id": PLANTED_ID,
        "profile": "work",
        "project": CWD,
        "kinds": EXPECTED_KINDS,
        "total": 5,
        "turns": [planted],
    }]
    assert_no_secret(result.stdout, result.stderr)


def test_table_names_kinds_and_counts_never_the_strings(planted, cli):
    result = cli("secrets")
    assert PLANTED_ID[:8] in result.stdout and WORK_ID[:8] not in result.stdout
    for kind, n in EXPECTED_KINDS.items():
        assert f"{kind} ×{n}" in result.stdout
    assert "5 credential-shaped strings in 1 session" in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_narrow_view_says_turn_for_one_turn(planted, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = " ".join(cli("secrets").stdout.split())
    assert f"5 strings in turn {planted}" in out and "in turns" not in out


def test_profile_filter_and_clean_profiles(planted, cli):
    assert [r["session_id"] for r in cli.json("secrets", "--profile", "work")] == [PLANTED_ID]
    assert cli.json("secrets", "--profile", "personal") == []
    result = cli("secrets", "--profile", "personal")  # nothing found is not a failure
    assert result.stdout == "" and "no credential-shaped strings" in result.stderr
    result = cli("secrets", "--profile", "nobody", code=2)
    assert "profiles in the archive: default, personal, work" in result.stderr


def test_each_copy_is_listed_and_the_newest_version_counts(planted, home, cli):
    folder = home.root("work") / "projects" / WORK_FOLDER
    other = home.root("personal") / "projects" / WORK_FOLDER
    other.mkdir()
    shutil.copyfile(folder / f"{PLANTED_ID}.jsonl", other / f"{PLANTED_ID}.jsonl")
    cli.json("ingest")
    rows = cli.json("secrets")
    assert sorted(r["profile"] for r in rows) == ["personal", "work"]
    personal = next(r for r in rows if r["profile"] == "personal")
    assert personal["total"] == 4  # its copy has no sub-agent transcript
    # The work transcript is rewritten without its secrets: its newest version is clean. Its
    # sub-agent transcript, deleted at the source, lives on in the archive with its token.
    (folder / f"{PLANTED_ID}.jsonl").write_bytes((folder / f"{WORK_ID}.jsonl").read_bytes())
    shutil.rmtree(folder / PLANTED_ID)
    cli.json("ingest")
    work = next(r for r in cli.json("secrets") if r["profile"] == "work")
    assert (work["kinds"], work["turns"]) == ({"github-token": 1}, [])


def test_no_archive_is_an_error_and_an_empty_result_is_not(home, cli):
    assert "no archive" in cli("secrets", code=1).stderr
    cli.json("ingest")
    assert cli.json("secrets") == []  # the fixtures hold no credential-shaped string


# -- the scanner over long lines -----------------------------------------------------------------


# A secret holding another one's trigger: a window cut inside it must not count the inner one.
NESTED = "password=Xy7" + "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".c2lnbmF0dXJl"


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(
    layout=st.lists(
        st.tuples(st.integers(0, 1500), st.sampled_from([*PLANTED, NESTED]),
                  st.sampled_from([b" ", b"\xff", b'"', b"\\n"])),
        max_size=16,
    ),
    window=st.integers(1500, 4000),
    newlines=st.booleans(),
    ending=st.sampled_from([b"", b"\n"]),
)
def test_windowed_scan_of_a_long_line_finds_what_a_whole_scan_finds(layout, window, newlines,
                                                                     ending):
    """A line longer than the window is scanned in overlapping pieces: no secret is lost at a
    cut, and none is counted twice."""
    parts = []
    for filler, secret, sep in layout:
        parts += [b"x " * (filler // 2), sep, secret.replace("\n", "\\n").encode(), sep]
    data = b"".join(parts)
    if newlines:
        data = data.replace(b"x x ", b"x\nx ", 3)
    data += ending
    whole = [f.kind for piece in data.split(b"\n")
             for f in find_secrets(piece.decode("utf-8", "surrogateescape"))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(secrets_mod, "_WINDOW", window)
        mp.setattr(secrets_mod, "_OVERLAP", 1000)  # half is longer than any planted secret
        mp.setattr(secrets_mod, "_BLOCK", 777)
        found = list(secrets_mod.iter_findings(io.BytesIO(data)))
    assert [kind for kind, _ in found] == whole
    assert all(o == 0 or data[o - 1] == 0x0A for _, o in found)  # each names its line's start
