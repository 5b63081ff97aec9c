"""Set-aside copies (``<id>.orphaned-…jsonl``, ``<id>.jsonl.superseded-…``: old versions Claude
Code moved out of the way, labelled a1, a2… by ``archive versions``) reachable wherever a
version is: restore names them as what they are, a session archived only as set-aside copies is
found by id and prefix, and the web pages and the MCP tools take the labels as the CLI does.

Real files in a temporary HOME (the Claude Code 2.1.328 fixture), the real CLI, a real ``archive
serve`` and the real MCP server through the SDK's stdio client.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import orjson
import pytest
import test_claude_current
from test_claude_current import ORPHANED, PROJECT, SID, SUPERSEDED, lay_out_current

from archive.transcript import parse_bytes

claude_home = test_claude_current.claude_home  # the fixture: an empty HOME and archive

# A second session whose transcript was never archived: only its two set-aside copies were.
# Its id shares its first 8 characters with SID, so a short prefix names both.
ONLY = "2cd34aa7-0000-4000-8000-00000000a51d"
ONLY_ORPHANED = f"{ONLY}.orphaned-1796413700000-0a0b0c0d.jsonl"
ONLY_SUPERSEDED = f"{ONLY}.jsonl.superseded-1796413750000"


def local(iso: str) -> str:
    """A UTC time as the pages and the CLI show it (this machine's zone)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime(
        "%Y-%m-%d %H:%M")


def lay_out(root: Path) -> Path:
    """The fixture session with its two set-aside copies, and ONLY's two copies beside it
    (no ``ONLY.jsonl``): the earlier copies' bytes, under ONLY's id."""
    folder = lay_out_current(root)
    for src, dst in ((ORPHANED, ONLY_ORPHANED), (SUPERSEDED, ONLY_SUPERSEDED)):
        (folder / dst).write_bytes((folder / src).read_bytes().replace(SID.encode(),
                                                                       ONLY.encode()))
    assert not (folder / f"{ONLY}.jsonl").exists()
    return folder


def turns_of(path: Path) -> list[str]:
    return [t.prompt for t in parse_bytes(path.read_bytes()).turns]


# -- restore names a set-aside copy as what it is -------------------------------------------------


def test_restore_of_a_set_aside_copy_says_which_and_when_it_was_set_aside(claude_home, cli):
    folder = lay_out(claude_home / ".claude")
    other = claude_home / ".ccs" / "instances" / "other"
    other.mkdir(parents=True)
    cli("ingest", "-q")

    dry = cli("restore", SID, "--version", "a1", "--to", "other", "--dry-run").stdout
    head = " ".join(dry.split())  # the line may wrap
    assert f"(set-aside copy a1, set aside {local('2026-12-04T19:49:54.723Z')}, captured" in head
    assert head.startswith(f"Would restore session {SID} from profile default")
    assert "version a1 of" not in head
    assert not (other / "projects").exists()

    done = " ".join(cli("restore", SID, "-v", "A2", "--to", "other").stdout.split())
    assert f"Restored session {SID} from profile default (set-aside copy a2, set aside " \
           f"{local('2026-12-04T19:50:00.000Z')}, captured" in done
    restored = other / "projects" / PROJECT / f"{SID}.jsonl"
    assert restored.read_bytes() == (folder / SUPERSEDED).read_bytes()

    # --json says when; a version of the transcript's own keeps its wording.
    data = cli.json("restore", SID, "-v", "a1", "--to", "other", "--force", "--dry-run")
    assert (data["version"], data["set_aside_at"]) == ("a1", "2026-12-04T19:49:54.723Z")
    own = " ".join(cli("restore", SID, "--from", "default", "--to", "other", "--force",
                       "--dry-run").stdout.split())
    assert "(version 1 of 1, captured" in own and "set-aside" not in own
    assert cli.json("restore", SID, "--from", "default", "--to", "other", "--force",
                    "--dry-run")["set_aside_at"] is None

    # A fork from further than the copy reaches names the copy too.
    err = cli("restore", SID, "--from", "default", "-v", "a1", "--turns", "9", "--to", "other",
              "--new-id", code=2).stderr
    assert f"set-aside copy a1 of session {SID} has" in err


# -- a session archived only as set-aside copies --------------------------------------------------


def test_a_session_archived_only_as_set_aside_copies_is_found_listed_read_and_restored(
        claude_home, cli):
    folder = lay_out(claude_home / ".claude")
    other = claude_home / ".ccs" / "instances" / "other"
    other.mkdir(parents=True)
    cli("ingest", "-q")

    # Found by full id and by a unique prefix; its versions are its copies' labels.
    for ref in (ONLY, ONLY[:12]):
        rows = cli.json("versions", ref)
        assert [(r["version"], r["set_aside"], r["path"].rsplit("/", 1)[1]) for r in rows] == [
            ("a1", True, ONLY_ORPHANED), ("a2", True, ONLY_SUPERSEDED)], ref
    assert [r["set_aside_at"] for r in rows] == ["2026-12-04T19:48:20.000Z",
                                                 "2026-12-04T19:49:10.000Z"]
    table = cli("versions", ONLY).stdout
    assert "a1: set aside" in table and "a2: set aside" in table

    # A prefix both sessions share is ambiguous and names both; it is still one session.
    ambiguous = cli("show", SID[:8], code=2).stderr
    assert "is the prefix of 2 sessions" in ambiguous and ONLY in ambiguous and SID in ambiguous
    assert cli.json("versions", SID)[0]["version"] == 1  # SID keeps its own versions
    assert "no session matches '2cd34aa7-ffff'" in cli("versions", "2cd34aa7-ffff", code=2).stderr

    # show reads the newest copy, or the one asked for.
    shown = cli.json("show", ONLY[:12])
    assert (shown["session_id"], shown["version"]) == (ONLY, "a2")
    assert shown["set_aside_at"] == "2026-12-04T19:49:10.000Z"
    assert [t["prompt"] for t in shown["turns"]] == turns_of(folder / ONLY_SUPERSEDED)
    head = " ".join(cli("show", ONLY, "--no-pager").stdout.split())
    assert f"session {ONLY} (set-aside copy a2, set aside {local('2026-12-04T19:49:10Z')}, " \
           "profile default)" in head
    first = cli.json("show", ONLY, "--version", "a1")
    assert [t["prompt"] for t in first["turns"]] == turns_of(folder / ONLY_ORPHANED)
    exported = orjson.loads(cli("export", ONLY, "-v", "a1", "--format", "json", "-o", "-").stdout)
    assert [t["prompt"] for t in exported["turns"]] == turns_of(folder / ONLY_ORPHANED)
    assert exported["version"] == "a1"
    assert cli.json("context", ONLY[:12])["turns"][-1]["turn"] == \
        len(turns_of(folder / ONLY_SUPERSEDED))

    # cat: exact bytes, newest by default; a version number names nothing here.
    assert cli("cat", ONLY).stdout_bytes == (folder / ONLY_SUPERSEDED).read_bytes()
    assert cli("cat", ONLY, "-v", "a1").stdout_bytes == (folder / ONLY_ORPHANED).read_bytes()
    err = cli("cat", ONLY, "--version", "1", code=2).stderr
    assert "no version 1" in err and "only copies Claude Code set aside" in err
    assert "a1, a2" in err and "Traceback" not in err

    # restore writes the newest copy as the session's transcript, and names it.
    done = " ".join(cli("restore", ONLY[:12], "--to", "other").stdout.split())
    assert f"Restored session {ONLY} from profile default (set-aside copy a2, set aside" in done
    restored = other / "projects" / PROJECT / f"{ONLY}.jsonl"
    assert restored.read_bytes() == (folder / ONLY_SUPERSEDED).read_bytes()
    again = cli.json("restore", ONLY, "-v", "a1", "--to", "other", "--force")
    assert again["version"] == "a1" and again["path"] == str(restored)
    assert restored.read_bytes() == (folder / ONLY_ORPHANED).read_bytes()


# -- the web pages --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The layout above ingested by the real CLI in a subprocess, for the server and MCP."""
    from test_mcp import archive_cli, env_for

    base = tmp_path_factory.mktemp("set-aside")
    home, archive = base / "home", base / "archive"
    home.mkdir()
    folder = lay_out(home / ".claude")
    env = env_for(home, archive)
    archive_cli(env, "ingest", "--quiet")
    return {"env": env, "archive": archive, "folder": folder, "base": base}


def test_web_versions_page_lists_and_opens_set_aside_copies(world):
    from test_web import Server, start_server, stop

    proc, url = start_server(world["env"], world["archive"])
    u = urlparse(url)
    server = Server(url, f"{u.scheme}://{u.netloc}", u.query.split("token=")[1], u.port, proc)
    folder = world["folder"]
    try:
        page = server.page(f"/session/{SID}/versions")
        assert "versions (3)" in page
        for label in ("a1", "a2"):
            assert f'<td>{label}</td>' in page
            assert f"/session/{SID}?profile=default&amp;v={label}" in page
            assert f"archive cat {SID} --from default --version {label}" in page
        assert f"a1: set aside {local('2026-12-04T19:49:54.723Z')}" in page
        assert ORPHANED in page and SUPERSEDED in page
        # The comparison starts from the newest set-aside copy to the transcript.
        assert 'name="a" value="a2" checked' in page and 'name="b" value="1" checked' in page

        # A set-aside copy opens as a session page, says what it is, and reads its own turns.
        one = server.page(f"/session/{SID}?profile=default&v=a1")
        assert f"set-aside copy a1 (set aside {local('2026-12-04T19:49:54.723Z')})" in one
        assert f"{len(turns_of(folder / ORPHANED))} turn" in one
        assert f"archive restore {SID} --version a1 --to PROFILE" in one
        newest = server.page(f"/session/{SID}")
        assert "version 1 of 1" in newest and "set-aside copy" not in newest
        assert f"{len(turns_of(folder / (SID + '.jsonl')))} turn" in newest

        # Two versions compared by label.
        diff = server.page(f"/session/{SID}/diff?profile=default&a=a1&b=1")
        assert "version a1 → 1" in diff and 'id="diff-summary"' in diff
        added = len(turns_of(folder / f"{SID}.jsonl")) - len(turns_of(folder / ORPHANED))
        assert added > 0 and f"{added} turn" in diff.split('id="diff-summary">')[1][:40]

        # A label that is not a version, or one the session lacks: the CLI's error, 400.
        status, _, body = server.get(f"/session/{SID}?v=x1")
        assert status == 400 and "is not a version" in body
        status, _, body = server.get(f"/session/{SID}?v=a7")
        assert status == 400 and "no set-aside copy a7" in body and "a1, a2" in body

        # The session archived only as set-aside copies: found by prefix, listed, opened.
        only = server.page(f"/session/{ONLY[:12]}/versions")
        assert "versions (2)" in only and ONLY_ORPHANED in only and ONLY_SUPERSEDED in only
        assert 'name="a" value="a1" checked' in only and 'name="b" value="a2" checked' in only
        newest = server.page(f"/session/{ONLY[:12]}")
        assert ONLY in newest and "set-aside copy a2" in newest
        assert f"{len(turns_of(folder / ONLY_SUPERSEDED))} turn" in newest
    finally:
        stop(proc)


# -- the MCP tools --------------------------------------------------------------------------------


def test_mcp_read_session_lists_and_reads_set_aside_copies(world):
    from test_mcp import Client

    folder = world["folder"]
    client = Client(world["env"], world["base"] / "mcp.log")
    try:
        tools = {t.name: t for t in client.tools()}
        assert "a1" in tools["read_session"].input_schema["properties"]["version"]["description"]

        newest = client.ok("read_session", session=SID)
        assert newest["version"] == 1 and newest["version_count"] == 1
        assert newest["set_aside_copies"] == [
            {"version": "a1", "set_aside_at": "2026-12-04T19:49:54.723Z"},
            {"version": "a2", "set_aside_at": "2026-12-04T19:50:00.000Z"}]
        assert "set_aside_at" not in newest

        one = client.ok("read_session", session=SID, version="a1")
        assert (one["version"], one["set_aside_at"]) == ("a1", "2026-12-04T19:49:54.723Z")
        assert one["turn_count"] == len(turns_of(folder / ORPHANED))
        assert [t["prompt"] for t in one["turns"]] == turns_of(folder / ORPHANED)
        assert client.ok("read_session", session=SID, version=1)["turn_count"] == \
            len(turns_of(folder / f"{SID}.jsonl"))
        report = client.ok("session_context", session=SID, version="a2")
        assert report["turn_count"] == len(turns_of(folder / SUPERSEDED))

        # A label the session lacks: the CLI's error line, and the server goes on serving.
        from test_mcp import archive_cli

        cli_error = archive_cli(world["env"], "cat", SID, "--version", "a7", code=2).stderr
        text, is_error = client.call("read_session", session=SID, version="a7")
        assert is_error and text.splitlines()[0] == cli_error.splitlines()[0]
        assert "no set-aside copy a7" in text

        # The session archived only as set-aside copies, by prefix.
        only = client.ok("read_session", session=ONLY[:12])
        assert (only["session_id"], only["version"]) == (ONLY, "a2")
        assert "version_count" not in only
        assert [c["version"] for c in only["set_aside_copies"]] == ["a1", "a2"]
        assert [t["prompt"] for t in only["turns"]] == turns_of(folder / ONLY_SUPERSEDED)
        first = client.ok("read_session", session=ONLY, version="a1")
        assert [t["prompt"] for t in first["turns"]] == turns_of(folder / ONLY_ORPHANED)
    finally:
        client.close()

