"""Claude Code as it is today (2.1.328): transcripts written by the real client against the
stand-in (tests/fixtures/claude-code-2.1.328, see its PROVENANCE.md) parse into the right
turns, names and context sizes, and survive archive → delete → restore → ``claude --resume``."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from archive.transcript import KNOWN_TYPES, parse_bytes, parse_file

CURRENT = Path(__file__).parent / "fixtures" / "claude-code-2.1.328" / "projects"
PROJECT = "-tmp-cc-fixture-2-1-328-work-demo-project"
SID = "2cd34aa7-cdcf-4c13-bf72-e8a972e3846e"
AGENT = "a4e94205a65b4f955"
MAIN = CURRENT / PROJECT / f"{SID}.jsonl"
SUBAGENT = CURRENT / PROJECT / SID / "subagents" / f"agent-{AGENT}.jsonl"
NEW_TYPES = ("queue-operation", "atis-latch", "api-request-shape", "api-request-blob",
             "api-request", "cost-state")


def line_types(path: Path) -> set[str]:
    return {orjson.loads(line).get("type") for line in path.read_bytes().splitlines()}


def test_the_fixture_holds_the_line_types_of_today():
    """The fixture really has what 2.1.328 writes (else the tests below prove little)."""
    types = line_types(MAIN)
    assert set(NEW_TYPES) <= types
    assistant = [orjson.loads(line) for line in MAIN.read_bytes().splitlines()
                 if b'"type":"assistant"' in line]
    assert assistant and all("requestRef" in a and "requestId" not in a for a in assistant)


def test_current_transcript_parses_into_its_turns_and_tool_calls():
    s = parse_file(MAIN)
    assert s.session_id == SID
    assert s.project == "/tmp/cc-fixture-2.1.328/work/demo-project"
    assert s.versions == ["2.1.328"]
    # The /rename run and the sub-agent's <task-notification> are no prompts a person typed.
    assert [t.prompt for t in s.turns] == ["Look at notes.txt please", "And how many lines?"]
    first, second = s.turns
    assert [(c.name, c.key_argument) for c in first.tool_calls] == [
        ("Bash", "echo hello-from-bash"),
        ("Read", "/tmp/cc-fixture-2.1.328/work/demo-project/notes.txt"),
        ("Task", "Count words"),
    ]
    assert first.tool_calls[0].output == "hello-from-bash"
    assert "alpha beta gamma" in first.tool_calls[1].output
    assert first.answer.startswith("The notes have three words.")
    assert second.answer == "Still three words." and second.tool_calls == []
    assert s.tools == ["Bash", "Read", "Task"]


def test_every_line_type_of_today_is_known_and_none_is_a_turn():
    s = parse_file(MAIN)
    assert s.unknown_lines == 0 and s.bad_lines == 0
    assert set(NEW_TYPES) | {"tools-used"} <= KNOWN_TYPES
    # Only the new lines, each on its own: no turn, no title, nothing unknown.
    only_new = b"".join(line + b"\n" for line in MAIN.read_bytes().splitlines()
                        if orjson.loads(line).get("type") in NEW_TYPES)
    alone = parse_bytes(only_new)
    assert alone.turns == [] and alone.unknown_lines == 0 and alone.title is None
    assert alone.session_id == SID


def test_context_sizes_are_what_the_model_reported():
    """The stand-in reports 1000 input tokens per message sent: 10 messages at the end of the
    first prompt (tool calls, results, the sub-agent's notification), 12 at the second; usage
    repeated on assistant lines of one response (same message id, requestRef) counts once."""
    s = parse_file(MAIN)
    assert [t.context_tokens for t in s.turns] == [10000, 12000]
    assert s.context_tokens == s.peak_context_tokens == 12000
    assert not s.context_estimated


def test_rename_names_the_session():
    s = parse_file(MAIN)
    assert s.custom_title == "Word counting" and s.agent_name == "Word counting"
    assert s.title == "Word counting"
    sidecar = orjson.loads((CURRENT / PROJECT / SID / "custom-title.json").read_bytes())
    assert sidecar == {"customTitle": "Word counting"}


def test_the_sub_agent_transcript_parses_as_a_sub_agent():
    meta = orjson.loads(SUBAGENT.with_suffix(".meta.json").read_bytes())
    assert meta["agentType"] == "general-purpose" and meta["toolUseId"] == "toolu_standin_03"
    s = parse_file(SUBAGENT, is_subagent=True)
    assert s.session_id == SID and s.agent_id == AGENT and s.is_subagent
    assert [t.prompt for t in s.turns] == ["Count the words in notes.txt"]
    assert s.unknown_lines == 0


def _line(kind: str, **fields) -> bytes:
    return orjson.dumps({"type": kind, "sessionId": SID, **fields}) + b"\n"


PROMPT = orjson.dumps({"type": "user", "sessionId": SID, "uuid": "u1",
                       "message": {"role": "user", "content": "hello there"}}) + b"\n"


@pytest.mark.parametrize(("lines", "title"), [
    ([_line("custom-title", customTitle="mine"), _line("agent-name", agentName="agent"),
      _line("ai-title", aiTitle="generated"), _line("summary", summary="old")], "mine"),
    ([_line("ai-title", aiTitle="generated"), _line("agent-name", agentName="agent"),
      _line("summary", summary="old")], "agent"),
    ([_line("summary", summary="old"), _line("ai-title", aiTitle="generated")], "generated"),
    ([_line("summary", summary="old")], "old"),
    ([], "hello there"),
])
def test_name_precedence_custom_title_agent_name_ai_title_summary(lines, title):
    assert parse_bytes(PROMPT + b"".join(lines)).title == title


# -- end to end with the real client ----------------------------------------------------------


def _claude_env(api, home: Path, **extra: str) -> dict[str, str]:
    import os

    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-stand-in",
            "TMPDIR": str(home / "tmp"), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **extra}


def _run_claude(claude: Path, env: dict, cwd: Path, *args: str) -> str:
    import subprocess

    from claude_code import VERSION

    Path(env["TMPDIR"]).mkdir(exist_ok=True)
    done = subprocess.run([str(claude), "-p", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (VERSION, done.stdout, done.stderr[-2000:])
    return done.stdout


@pytest.fixture
def real_claude():
    from claude_code import claude_or_reason

    claude, why = claude_or_reason()
    if claude is None:
        pytest.skip(why)
    return claude


@pytest.fixture
def claude_home(tmp_path, monkeypatch):
    """An empty HOME for the real client and the archive (no profiles but ~/.claude)."""
    home, archive = tmp_path / "home", tmp_path / "archive"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SESSION_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("SESSION_ARCHIVE_FSYNC", "0")
    monkeypatch.setenv("COLUMNS", "200")
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG",
                "CLAUDE_CODE_PROJECT_DIR_NAME"):
        monkeypatch.delenv(var, raising=False)
    return home


def sent_text(request: dict) -> str:
    return orjson.dumps(request.get("messages") or []).decode()


def test_a_restored_session_is_resumed_by_the_real_client(real_claude, claude_home, tmp_path,
                                                           cli):
    """Claude Code writes a session; it is archived, deleted at the source, restored into a
    CCS instance folder, and `claude -p --resume ID` with CLAUDE_CONFIG_DIR set to that folder
    sends the earlier prompt, tool call and tool result back to the model."""
    from claude_code import StandIn

    project = tmp_path / "work" / "pelican"
    project.mkdir(parents=True)
    script = [("Bash", {"command": "echo quokka-marker", "description": "Mark"})]
    with StandIn(script, final_text="Noted the pelican.") as api:
        _run_claude(real_claude, _claude_env(api, claude_home), project,
                    "--allowedTools", "Bash", "--", "Remember the word pelican")
    (written,) = (claude_home / ".claude" / "projects").glob("*/*.jsonl")
    sid, original = written.stem, written.read_bytes()
    cli("ingest")
    written.unlink()
    instance = claude_home / ".ccs" / "instances" / "other"
    instance.mkdir(parents=True)
    restored = cli.json("restore", sid, "--to", "other")
    path = Path(restored["path"])
    assert path.is_relative_to(instance / "projects") and path.read_bytes() == original
    with StandIn([], final_text="It was pelican.") as api:
        out = _run_claude(real_claude, _claude_env(api, claude_home,
                                                   CLAUDE_CONFIG_DIR=str(instance)),
                          project, "--resume", sid, "--", "Which word was it?")
    assert "It was pelican." in out
    sent = sent_text(api.requests[-1])
    for earlier in ("Remember the word pelican", "echo quokka-marker", "quokka-marker",
                    "Noted the pelican.", "Which word was it?"):
        assert earlier in sent, earlier
    # The client appended to the restored file: it resumed that file, not a new session.
    assert path.read_bytes().startswith(original) and len(path.read_bytes()) > len(original)


# -- set-aside copies and sidecars --------------------------------------------------------------

ORPHANED = f"{SID}.orphaned-1796413794723-1a2b3c4d.jsonl"
SUPERSEDED = f"{SID}.jsonl.superseded-1796413800000"
# Sidecars beside the real ones (subagents/agent-*.jsonl, .meta.json, custom-title.json), with
# bytes no text codec would keep (an upload), in every folder Claude Code keeps for a session.
EXTRA_SIDECARS = {
    "subagents/journal.jsonl": b'{"event":"spawn","agentId":"a4e94205a65b4f955"}\n',
    "subagents/workflows/wf-1/state.json": b'{"step":2}',
    "tool-results/toolu_standin_01.txt": b"hello-from-bash\n" * 50,
    "uploads/screenshot.png": b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + bytes(range(256)),
    "tasks/a4e94205a65b4f955.output": b"done\r\n",
}
FILE_HISTORY = {"3f1c0e2a@v1": b"alpha beta gamma\n", "3f1c0e2a@v2": b"alpha beta\n"}


def lay_out_current(root: Path) -> Path:
    """The fixture session in ``root``, with set-aside copies and every kind of sidecar."""
    folder = root / "projects" / PROJECT
    shutil.copytree(CURRENT / PROJECT, folder)
    data = MAIN.read_bytes()
    (folder / ORPHANED).write_bytes(data[: data.index(b"\n", len(data) // 3) + 1])
    (folder / SUPERSEDED).write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])
    for rel, blob in EXTRA_SIDECARS.items():
        (folder / SID / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / SID / rel).write_bytes(blob)
    history = root / "file-history" / SID
    history.mkdir(parents=True)
    for name, blob in FILE_HISTORY.items():
        (history / name).write_bytes(blob)
    return folder


def snapshot_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_set_aside_copies_are_old_versions_not_sessions(claude_home, cli):
    folder = lay_out_current(claude_home / ".claude")
    cli("ingest")
    listed = cli.json("sessions")
    ids = [s["session_id"] for s in (listed["sessions"] if isinstance(listed, dict) else listed)]
    assert ids == [SID]  # no session named "<id>.orphaned-…" or "<id>.jsonl.superseded-…"
    shown = cli.json("show", SID)
    assert shown["parts"]["set-aside"] == 2
    # Both copies are archived byte for byte, as files of this session.
    from archive.repo import Repository

    with Repository(claude_home.parent / "archive", readonly=True) as repo:
        kept = {f.relpath.rsplit("/", 1)[1]: b"".join(repo.iter_version_bytes(
                    repo.catalog.latest_version(f.id)))
                for f in repo.catalog.files_of_session("default", SID) if f.kind == "set-aside"}
    assert kept == {name: (folder / name).read_bytes() for name in (ORPHANED, SUPERSEDED)}


def test_every_sidecar_kind_is_archived_and_restored_byte_exact(claude_home, cli):
    root = claude_home / ".claude"
    folder = lay_out_current(root)
    before = snapshot_of(folder / SID)
    history_before = snapshot_of(root / "file-history" / SID)
    assert len(before) == 8 and len(history_before) == 2
    cli("ingest")
    shown = cli.json("show", SID)
    assert shown["parts"] == {"subagents": 1, "subagent-meta": 3, "other": 1,
                              "tool-results": 1, "uploads": 1, "tasks": 1, "file-history": 2,
                              "set-aside": 2}
    text = cli("show", SID).stdout
    assert "1 sub-agent transcript(s)" in text and "2 file-history snapshot(s)" in text
    shutil.rmtree(root / "projects")
    shutil.rmtree(root / "file-history")
    other = claude_home / ".ccs" / "instances" / "other"
    other.mkdir(parents=True)
    cli("restore", SID, "--to", "other")
    restored = other / "projects" / PROJECT
    assert snapshot_of(restored / SID) == before
    assert snapshot_of(other / "file-history" / SID) == history_before
    assert (restored / f"{SID}.jsonl").read_bytes() == MAIN.read_bytes()
    # A set-aside copy is history, not something to put back beside the session.
    assert sorted(p.name for p in restored.iterdir()) == [SID, f"{SID}.jsonl"]


@pytest.mark.parametrize(("relpath", "expected"), [
    (f"projects/-p/{ORPHANED}", ("set-aside", SID)),
    (f"projects/-p/{SUPERSEDED}", ("set-aside", SID)),
    (f"projects/-p/{SID}.superseded-1796413800000.jsonl", ("set-aside", SID)),
    (f"projects/-p/{SID}.jsonl", ("session", SID)),
    (f"projects/-p/{SID}/subagents/journal.jsonl", ("sidecar", SID)),
    (f"projects/-p/{SID}/subagents/agent-{AGENT}.jsonl", ("subagent", SID)),
    (f"projects/-p/{SID}/uploads/a.png", ("sidecar", SID)),
    (f"file-history/{SID}/3f1c0e2a@v1", ("file-history", SID)),
    ("file-history/x", ("other", None)),
])
def test_classify_knows_set_aside_copies_and_file_history(relpath, expected):
    from archive.roots import classify

    assert classify(relpath) == expected


# -- /cd moves a live transcript ----------------------------------------------------------------

MOVED_TO = "-tmp-cc-fixture-2-1-328-work-elsewhere"


def _prompt_line(text: str, cwd: str) -> bytes:
    return orjson.dumps({"type": "user", "sessionId": SID, "cwd": cwd, "uuid": "u-after-cd",
                         "timestamp": "2026-12-04T20:10:00.000Z",
                         "message": {"role": "user", "content": text}}) + b"\n"


def test_a_moved_session_is_one_session_whose_versions_go_on(claude_home, cli):
    """/cd moves the transcript and its folder into another project folder and appends there:
    the archive keeps one session, its second version an append to the first (only the new
    tail stored), nothing "gone from source"; and `archive repair` rebuilds the same."""
    from archive.repo import Repository

    root = claude_home / ".claude"
    old = lay_out_current(root)
    cli("ingest")
    new = root / "projects" / MOVED_TO
    new.mkdir()
    (old / f"{SID}.jsonl").rename(new / f"{SID}.jsonl")
    (old / SID).rename(new / SID)
    with open(new / f"{SID}.jsonl", "ab") as f:
        f.write(_prompt_line("After the move", "/tmp/cc-fixture-2.1.328/work/elsewhere"))
    report = cli.json("ingest")
    assert report["gone_from_source"] == 0
    archive = claude_home.parent / "archive"

    def session_files():
        with Repository(archive, readonly=True) as repo:
            files = [f for f in repo.catalog.files_of_session("default", SID)
                     if f.kind in ("session", "subagent")]
            return {f.relpath: (f.gone_snapshot, [(v.seq, v.appended_to is not None)
                                                  for v in repo.catalog.versions(f.id)])
                    for f in files}

    expected = {
        f"projects/{MOVED_TO}/{SID}.jsonl": (None, [(1, False), (2, True)]),
        f"projects/{MOVED_TO}/{SID}/subagents/agent-{AGENT}.jsonl": (None, [(1, False)]),
    }
    assert session_files() == expected
    listed = cli.json("sessions")
    rows = listed["sessions"] if isinstance(listed, dict) else listed
    assert [(r["session_id"], r.get("gone_from_source", False)) for r in rows] == [(SID, False)]
    assert cli.json("show", SID)["turns"][-1]["prompt"] == "After the move"
    assert cli.json("show", SID, "--version", "1")["turn_count"] == 2
    cli("repair", "--force")
    assert session_files() == expected


# -- CLAUDE_CODE_PROJECT_DIR_NAME ---------------------------------------------------------------


def _archived_fixture(claude_home, cli) -> Path:
    """The fixture session archived from ~/.claude, deleted there; a CCS instance to restore
    into."""
    root = claude_home / ".claude"
    lay_out_current(root)
    cli("ingest")
    shutil.rmtree(root / "projects")
    shutil.rmtree(root / "file-history")
    instance = claude_home / ".ccs" / "instances" / "other"
    (instance / "projects").mkdir(parents=True)
    return instance


def test_restore_writes_where_the_project_dir_name_override_points(claude_home, cli,
                                                                   monkeypatch):
    instance = _archived_fixture(claude_home, cli)
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", "shared_box-1")
    done = cli.json("restore", SID, "--to", "other")
    assert Path(done["path"]) == instance / "projects" / "shared_box-1" / f"{SID}.jsonl"
    assert (instance / "projects" / "shared_box-1" / SID / "subagents").is_dir()
    assert "CLAUDE_CODE_PROJECT_DIR_NAME=shared_box-1 ccs other --resume" \
        in done["resume_command"]
    assert any("CLAUDE_CODE_PROJECT_DIR_NAME" in n for n in done["notes"])


@pytest.mark.parametrize("value", ["a/b", "con", "x" * 65, "has space", ""])
def test_a_name_claude_code_ignores_is_ignored_by_restore_too(claude_home, cli, monkeypatch,
                                                              value):
    instance = _archived_fixture(claude_home, cli)
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", value)
    done = cli.json("restore", SID, "--to", "other")
    assert Path(done["path"]) == instance / "projects" / PROJECT / f"{SID}.jsonl"


def test_without_claude_config_dir_the_override_does_not_apply(claude_home, cli, monkeypatch):
    """~/.claude used without CLAUDE_CONFIG_DIR: Claude Code ignores the variable."""
    _archived_fixture(claude_home, cli)
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", "shared_box")
    done = cli.json("restore", SID, "--to", "default")
    assert Path(done["path"]).parent.name == PROJECT


def test_the_real_client_resumes_from_the_override_folder(real_claude, claude_home, cli,
                                                          monkeypatch, tmp_path):
    """Restored with the override set, the session is found by `claude --resume` run with the
    same two variables from an unrelated directory."""
    from claude_code import StandIn

    instance = _archived_fixture(claude_home, cli)
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", "shared_box")
    cli("restore", SID, "--to", "other")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with StandIn([], final_text="Resumed.") as api:
        env = _claude_env(api, claude_home, CLAUDE_CONFIG_DIR=str(instance),
                          CLAUDE_CODE_PROJECT_DIR_NAME="shared_box")
        out = _run_claude(real_claude, env, elsewhere, "--resume", SID, "--", "Still there?")
    assert "Resumed." in out
    sent = sent_text(api.requests[-1])
    assert "Look at notes.txt please" in sent and "And how many lines?" in sent
    restored = instance / "projects" / "shared_box" / f"{SID}.jsonl"
    assert restored.read_bytes().startswith(MAIN.read_bytes())
    assert b"Still there?" in restored.read_bytes()  # resumed that file, appended to it
    # And a new session from that directory goes to the same folder: the one Claude Code uses.
    with StandIn([], final_text="Fresh.") as api:
        env = _claude_env(api, claude_home, CLAUDE_CONFIG_DIR=str(instance),
                          CLAUDE_CODE_PROJECT_DIR_NAME="shared_box")
        _run_claude(real_claude, env, elsewhere, "--", "A new one")
    assert sorted(p.name for p in (instance / "projects").iterdir()) == ["shared_box"]
    assert len(list((instance / "projects" / "shared_box").glob("*.jsonl"))) == 2


# -- one session id once per root ---------------------------------------------------------------


def _ids_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "projects").glob("*/*.jsonl"))


def _with_copy_elsewhere(claude_home, cli) -> tuple[Path, bytes]:
    """The fixture archived; the instance holds a changed copy of it in another folder."""
    instance = _archived_fixture(claude_home, cli)
    there = instance / "projects" / "-somewhere-else"
    shutil.copytree(CURRENT / PROJECT / SID, there / SID)
    local = MAIN.read_bytes() + _prompt_line("Only in this copy", "/somewhere/else")
    (there / f"{SID}.jsonl").write_bytes(local)
    return instance, local


def test_restore_refuses_to_put_an_id_twice_into_one_root(claude_home, cli):
    instance, _ = _with_copy_elsewhere(claude_home, cli)
    before = snapshot_of(instance)
    failed = cli("restore", SID, "--to", "other", code=3)
    assert "already has session" in failed.stderr and "--force moves it" in failed.stderr
    assert snapshot_of(instance) == before


def test_restore_force_moves_the_other_copy_after_archiving_it(claude_home, cli):
    from archive.repo import Repository

    instance, local = _with_copy_elsewhere(claude_home, cli)
    done = cli.json("restore", SID, "--to", "other", "--force")
    assert done["moved_from"] == [str(instance / "projects" / "-somewhere-else" /
                                      f"{SID}.jsonl")]
    assert _ids_in(instance) == [f"projects/{PROJECT}/{SID}.jsonl"]
    assert not (instance / "projects" / "-somewhere-else" / SID).exists()
    assert (instance / "projects" / PROJECT / f"{SID}.jsonl").read_bytes() == MAIN.read_bytes()
    # The copy that was there is in the archive, byte for byte, before it was removed.
    with Repository(claude_home.parent / "archive", readonly=True) as repo:
        kept = [b"".join(repo.iter_version_bytes(v))
                for f in repo.catalog.files_of_session("other", SID) if f.kind == "session"
                for v in repo.catalog.versions(f.id)]
    assert local in kept


def test_restore_new_id_forks_beside_the_other_copy(claude_home, cli):
    instance, local = _with_copy_elsewhere(claude_home, cli)
    done = cli.json("restore", SID, "--to", "other", "--new-id")
    assert done["session_id"] != SID
    assert _ids_in(instance) == sorted([f"projects/-somewhere-else/{SID}.jsonl",
                                        f"projects/{PROJECT}/{done['session_id']}.jsonl"])
    assert (instance / "projects" / "-somewhere-else" / f"{SID}.jsonl").read_bytes() == local


# -- Claude Desktop / Cowork ----------------------------------------------------------------------

ORG = "0f6c1a2e-9d41-4c55-8d0b-2a1f3e4d5c6b"
ACCOUNT = "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e"
TASK = "local_3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"


def lay_out_cowork(app_dir: Path, account: str = ACCOUNT) -> Path:
    """A Cowork account as Claude Desktop keeps it: the task's record and its config folder."""
    base = app_dir / "local-agent-mode-sessions" / ORG / account
    config = base / TASK / ".claude"
    shutil.copytree(CURRENT / PROJECT, config / "projects" / "-sessions-epic-laughing-keller")
    (config / "file-history" / SID).mkdir(parents=True)
    (config / "file-history" / SID / "3f1c0e2a@v1").write_bytes(b"alpha\n")
    (base / f"{TASK}.json").write_bytes(orjson.dumps({
        "sessionId": TASK, "cliSessionId": SID, "processName": "epic-laughing-keller",
        "cwd": "/sessions/epic-laughing-keller", "title": "Word counting"}))
    return base


def test_cowork_accounts_are_discovered_as_profiles(claude_home, cli, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    (claude_home / ".claude" / "projects").mkdir(parents=True)
    linux = lay_out_cowork(claude_home / ".config" / "Claude")
    mac_account = "aaaabbbb-0000-4000-8000-000000000000"
    lay_out_cowork(claude_home / "Library" / "Application Support" / "Claude", mac_account)
    from archive.roots import discover_roots

    linux_profile, mac_profile = f"cowork-{ORG[:8]}-{ACCOUNT[:8]}", f"cowork-{ORG[:8]}-aaaabbbb"
    origins = {r.profile: r.origin for r in discover_roots()}
    assert origins == {"default": "default", linux_profile: "cowork", mac_profile: "cowork"}
    roots = {r["profile"]: r for r in cli.json("roots")}
    assert roots[linux_profile]["path"] == str(linux)
    assert roots[linux_profile]["session_files"] == 1
    cli("ingest")
    listed = cli.json("sessions")
    rows = listed["sessions"] if isinstance(listed, dict) else listed
    assert {p for r in rows if r["session_id"] == SID
            for p in (r.get("profiles") or [r.get("profile")])} >= {linux_profile}
    shown = cli.json("show", SID, "--from", linux_profile)
    assert shown["title"] == "Word counting" and shown["turn_count"] == 2
    assert shown["parts"]["subagents"] == 1 and shown["parts"]["file-history"] == 1
    # The task's record is archived with it.
    from archive.repo import Repository

    with Repository(claude_home.parent / "archive", readonly=True) as repo:
        names = {f.relpath for f in repo.catalog.files_of_profile(linux_profile).values()}
    assert f"{TASK}.json" in names
    # A Cowork account is a source, not a restore target; restoring from it works.
    refused = cli("restore", SID, "--from", linux_profile, "--to", linux_profile, code=2)
    assert "Cowork" in refused.stderr
    done = cli.json("restore", SID, "--from", linux_profile, "--to", "default")
    assert Path(done["path"]).read_bytes() == MAIN.read_bytes()


def test_no_claude_desktop_no_cowork_profile(claude_home, cli, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    (claude_home / ".config" / "Claude").mkdir(parents=True)  # Desktop without Cowork
    assert [r["profile"] for r in cli.json("roots")] == ["default"]
