"""End-to-end: ingest indexes, and search / sessions / show / reindex / stats read it back."""

from __future__ import annotations

import os
import uuid

import orjson
import pytest
from conftest import BIG_ID, FASTHOOKS_ID, SHORT_ID

SHORT_PROJECT = "-home-marco-projects-spotter"

# (profile, project folder, cwd, branch, model, planted phrase, prompt or answer, turn of it)
PLANTED = [
    ("default", "-home-me-alpha", "/home/me/alpha", "main", "claude-opus-4-1",
     "quokka flamingo rebalancing", "prompt", 2),
    ("work", "-home-me-beta", "/home/me/beta", "feature-x", "claude-sonnet-4-5",
     "zebrafish tessellation", "answer", 3),
    ("personal", "-home-me-gamma", "/home/me/gamma", "main", "claude-haiku-4-5",
     "外部キー制約のエラーを直して", "prompt", 1),
]


def _line(**fields) -> bytes:
    return orjson.dumps(fields) + b"\n"


def make_session(path, session_id, cwd, branch, model, turns, *, day=10, tool="Bash"):
    """A transcript with ``turns`` (prompt, answer) pairs, shaped like Claude Code's lines."""
    lines = []
    parent = None
    for n, (prompt, answer) in enumerate(turns, 1):
        when = f"2026-11-{day:02d}T{n:02d}:00:00.000Z"
        common = dict(sessionId=session_id, cwd=cwd, gitBranch=branch, version="2.1.39",
                      isSidechain=False, userType="external", timestamp=when)
        user = str(uuid.uuid4())
        lines.append(_line(type="user", uuid=user, parentUuid=parent,
                           message={"role": "user", "content": prompt}, **common))
        tool_id = f"toolu_{user[:8]}"
        a1 = str(uuid.uuid4())
        lines.append(_line(type="assistant", uuid=a1, parentUuid=user, requestId=f"req_{a1}",
                           message={"id": f"msg_{a1}", "role": "assistant", "model": model,
                                    "content": [{"type": "tool_use", "id": tool_id, "name": tool,
                                                 "input": {"command": "ls -la"}}],
                                    "usage": {"input_tokens": 100 * n}}, **common))
        r = str(uuid.uuid4())
        lines.append(_line(type="user", uuid=r, parentUuid=a1,
                           message={"role": "user", "content": [
                               {"type": "tool_result", "tool_use_id": tool_id,
                                "content": "total 0"}]}, **common))
        a2 = str(uuid.uuid4())
        lines.append(_line(type="assistant", uuid=a2, parentUuid=r, requestId=f"req_{a2}",
                           message={"id": f"msg_{a2}", "role": "assistant", "model": model,
                                    "content": [{"type": "text", "text": answer}],
                                    "usage": {"input_tokens": 100 * n + 50}}, **common))
        parent = a2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))


@pytest.fixture
def planted(home):
    """Generated sessions with unique phrases at known turns, in three profiles."""
    ids = {}
    for i, (profile, project, cwd, branch, model, phrase, where, turn) in enumerate(PLANTED):
        sid = str(uuid.UUID(int=(i + 1) << 96))
        turns = [(f"ordinary question {n} about the build", f"ordinary answer {n}")
                 for n in range(1, 5)]
        prompt, answer = turns[turn - 1]
        turns[turn - 1] = (f"{prompt} {phrase}", answer) if where == "prompt" else (
            prompt, f"{answer} {phrase}")
        make_session(home.session_file(profile, project, sid), sid, cwd, branch, model, turns,
                     day=10 + i, tool=["Bash", "Grep", "Read"][i])
        ids[phrase] = (sid, profile, turn)
    return ids


@pytest.mark.parametrize("phrase", [p[5] for p in PLANTED], ids=["prompt", "answer", "japanese"])
def test_planted_phrase_is_rank_one_with_session_turn_and_profile(home, cli, planted, phrase):
    cli.json("ingest")
    query = "外部キー" if phrase.startswith("外部") else f'"{phrase}"'
    hits = cli.json("search", query)
    sid, profile, turn = planted[phrase]
    assert (hits[0]["session_id"], hits[0]["turn"], hits[0]["profile"]) == (sid, turn, profile)
    assert set(hits[0]) >= {
        "session_id", "turn", "profile", "project", "timestamp", "score", "snippet", "title",
    }


@pytest.mark.parametrize(
    ("option", "value", "expected_profiles"),
    [
        ("--profile", "work", {"work"}),
        ("--project", "GAMMA", {"personal"}),
        ("--branch", "feature-x", {"work"}),
        ("--model", "haiku", {"personal"}),
        ("--tool", "Grep", {"work"}),
        ("--since", "2026-11-11", {"work", "personal"}),
        ("--until", "2026-11-11", {"default", "work"}),
    ],
    ids=["profile", "project-substring", "branch", "model-substring", "tool", "since", "until"],
)
def test_every_filter_narrows(home, cli, planted, option, value, expected_profiles):
    cli.json("ingest")
    everything = cli.json("search", "ordinary", "--limit", "100")
    assert {h["profile"] for h in everything} >= {"default", "work", "personal"}
    narrowed = cli.json("search", "ordinary", option, value, "--limit", "100")
    planted_ids = {sid for sid, _, _ in planted.values()}
    assert {h["profile"] for h in narrowed if h["session_id"] in planted_ids} == expected_profiles
    rows = cli.json("sessions", option, value)
    assert {r["profile"] for r in rows if r["session_id"] in planted_ids} == expected_profiles


def test_no_hit_exits_1_and_bad_query_exits_2(home, cli, planted):
    cli.json("ingest")
    result = cli("search", "xylophonequasar", code=1)
    assert "no match" in result.stderr
    assert cli("search", "xylophonequasar", "--json", code=1).stdout.strip() == "[]"
    result = cli("search", '"unbalanced', code=2)
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    result = cli("search", "x", "--since", "the day after", code=2)
    assert "cannot read the date" in result.stderr


def test_several_arguments_are_one_query(home, cli, planted):
    """`archive search jwt OR token` (unquoted, as gh and rg take words) is the query
    "jwt OR token", not an "unexpected extra argument" error."""
    cli.json("ingest")
    together = cli.json("search", "ordinary question 3 OR answer", "--limit", "100")
    apart = cli.json("search", "ordinary", "question", "3", "OR", "answer", "--limit", "100")
    assert apart == together and together
    phrase = PLANTED[0][5]
    assert cli.json("search", f'"{phrase}"', "--profile", PLANTED[0][0])[0]["turn"] == \
        cli.json("search", "--profile", PLANTED[0][0], f'"{phrase}"')[0]["turn"]


def test_sessions_grouping_and_json_keys(home, cli, planted):
    cli.json("ingest")
    hits = cli.json("search", "ordinary", "--sessions", "--limit", "100")
    ids = [h["session_id"] for h in hits]
    assert len(ids) == len(set(ids)) and set(ids) >= {s for s, _, _ in planted.values()}
    rows = cli.json("sessions")
    assert set(rows[0]) >= {
        "session_id", "profile", "project", "started", "ended", "turns", "title",
        "gone_from_source",
    }
    ended = [r["ended"] or r["started"] or "" for r in rows]
    assert ended == sorted(ended, reverse=True)  # newest first


def test_deleted_session_is_still_found(home, cli, planted):
    cli.json("ingest")
    sid, profile, _ = planted["zebrafish tessellation"]
    home.session_file(profile, "-home-me-beta", sid).unlink()
    cli.json("ingest")
    hits = cli.json("search", "zebrafish")
    assert hits[0]["session_id"] == sid and hits[0]["gone_from_source"] is True
    row = next(r for r in cli.json("sessions") if r["session_id"] == sid)
    assert row["gone_from_source"] is True


def test_appended_turn_is_indexed_without_reindexing_the_rest(home, cli, planted):
    first = cli.json("ingest")
    assert first["indexed"]["transcripts"] > 10
    sid, profile, _ = planted["quokka flamingo rebalancing"]
    path = home.session_file(profile, "-home-me-alpha", sid)
    before = path.read_bytes()
    make_session(path, sid, "/home/me/alpha", "main", "claude-opus-4-1",
                 [("fresh prompt about narwhal migrations", "fine")], day=20)
    path.write_bytes(before + path.read_bytes())
    second = cli.json("ingest")
    assert second["indexed"]["transcripts"] == 1
    # The last old turn (4) is re-indexed with the new turn (5), plus the session document.
    assert second["indexed"]["documents"] == 3
    hits = cli.json("search", "narwhal")
    assert (hits[0]["session_id"], hits[0]["turn"]) == (sid, 5)
    assert cli.json("search", '"quokka flamingo rebalancing"')[0]["turn"] == 2


def test_show_json_and_one_turn(home, cli, planted):
    cli.json("ingest")
    sid, _, turn = planted["quokka flamingo rebalancing"]
    data = cli.json("show", sid[:8])
    assert data["turn_count"] == 4 and len(data["turns"]) == 4
    assert data["turns"][1]["context_tokens"] == 250
    one = cli.json("show", sid, "--turn", str(turn))
    assert [t["turn"] for t in one["turns"]] == [turn]
    assert "quokka" in one["turns"][0]["prompt"]
    text = cli("show", sid, "--turn", "2").stdout
    assert "quokka flamingo rebalancing" in text and "Bash" in text
    assert "no turn 9" in cli("show", sid, "--turn", "9", code=2).stderr


def test_bad_lines_are_skipped_and_counted(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    original = path.read_bytes()
    path.write_bytes(
        original + b"not json at all\n" + b'{"type":"user","message":\xff\xfe}\n'
        + b'{"type":"hologram","sessionId":"x"}\n' + b'{"type":"user","mess'
    )
    result = cli.json("ingest")
    assert result["errors"] == []
    data = cli.json("show", SHORT_ID)
    assert data["bad_lines"] == 3  # non-JSON, invalid UTF-8, the cut last line
    assert data["turn_count"] == 1
    assert cli("cat", SHORT_ID).stdout_bytes.endswith(b'{"type":"user","mess')


def test_reindex_rebuilds_from_the_archive_alone(home, cli, planted):
    cli.json("ingest")
    before = cli.json("search", "ordinary", "--limit", "100")
    for p in (home.archive / "index").iterdir():
        p.unlink()
    result = cli("reindex")
    assert "Reindexed" in result.stdout
    after = cli.json("search", "ordinary", "--limit", "100")
    assert [(h["session_id"], h["turn"]) for h in after] == [
        (h["session_id"], h["turn"]) for h in before
    ]


def test_schema_version_mismatch_says_to_reindex(home, cli, planted):
    cli.json("ingest")
    meta = home.archive / "index" / "meta.json"
    data = orjson.loads(meta.read_bytes())
    data["schema_version"] = data["schema_version"] + 1
    meta.write_bytes(orjson.dumps(data))
    result = cli("search", "ordinary", code=1)
    assert "schema version" in result.stderr and "archive reindex" in result.stderr
    cli("reindex")
    assert cli.json("search", "ordinary")


def test_next_ingest_rebuilds_an_index_of_another_schema_version(home, cli, planted):
    """After an upgrade that changes the schema, the nightly ingest rebuilds the index (it is
    derived data) instead of failing every night until someone runs reindex."""
    cli.json("ingest")
    meta = home.archive / "index" / "meta.json"
    data = orjson.loads(meta.read_bytes())
    data["schema_version"] = data["schema_version"] - 1
    meta.write_bytes(orjson.dumps(data))
    assert "archive reindex" in cli("search", "ordinary", code=1).stderr
    sid = str(uuid.UUID(int=99 << 96))
    make_session(home.session_file("default", "-home-me-delta", sid), sid, "/home/me/delta",
                 "main", "claude-opus-4-1", [("a pelican question", "a pelican answer")])
    result = cli.json("ingest")
    assert not result["errors"] and result["indexed"]["rebuilt"] is True
    assert any("rebuilt" in w for w in result["warnings"])
    assert orjson.loads(meta.read_bytes())["schema_version"] == data["schema_version"] + 1
    for phrase, (old_sid, _profile, turn) in planted.items():
        hits = cli.json("search", f'"{phrase}"')
        assert (hits[0]["session_id"], hits[0]["turn"]) == (old_sid, turn)
    assert cli.json("search", "pelican")[0]["session_id"] == sid


def test_stats(home, cli, planted):
    cli.json("ingest")
    data = cli.json("stats")
    assert data["sessions"] == 20  # 17 fixture sessions + 3 generated
    by_profile = {r["profile"]: r for r in data["by_profile"]}
    assert by_profile["work"]["sessions"] == 3
    assert data["archive_bytes"] > 0 and data["index_bytes"] > 0
    assert "sessions" in cli("stats").stdout


def test_fixture_sessions_are_searchable(home, cli):
    cli.json("ingest")
    hits = cli.json("search", "phx.server")
    assert hits[0]["session_id"] == SHORT_ID
    assert any(h["session_id"] == FASTHOOKS_ID for h in cli.json("search", "fibonacci"))
    big = cli.json("show", BIG_ID)
    assert big["compactions"] == [{"turn": 1, "trigger": "manual", "pre_tokens": 142431}]


# Built from parts so that the repository itself holds no credential-shaped string.
_FAKE_KEY = "".join(["sk-", "ant-", "api03-", "aB3dE6gH9kLmN0pQrS2tUv4wXy5z" * 3, "AA"])


def test_search_and_show_mask_secrets_unless_asked(home, cli):
    sid = "5ec12e70-0000-4000-8000-000000000001"
    make_session(
        home.session_file("default", "-home-me-keys", sid), sid, "/home/me/keys", "main",
        "claude-opus-4-1", [(f"configure the pelican gateway with key {_FAKE_KEY} please", "ok")],
    )
    cli.json("ingest")
    hits = cli.json("search", "pelican")
    assert hits[0]["session_id"] == sid
    assert _FAKE_KEY not in hits[0]["snippet"] and "[REDACTED:anthropic-key]" in hits[0]["snippet"]
    for h0, h1 in hits[0]["highlights"]:
        assert hits[0]["snippet"][h0:h1].lower().startswith("pelican")
    for args in (["search", "pelican"], ["show", sid], ["show", sid, "--json"]):
        result = cli(*args)
        assert _FAKE_KEY not in result.stdout + result.stderr, args
    assert _FAKE_KEY in cli("search", "pelican", "--no-redact", "--json").stdout
    assert _FAKE_KEY in cli("show", sid, "--no-redact", "--json").stdout


def test_history_prompts_of_lost_sessions_are_searchable_as_prompt_only(home, cli):
    lost = "dead0000-0000-4000-8000-000000000001"
    history = home.root("default") / "history.jsonl"
    history.write_bytes(
        _line(display="mix phx.server doesnt seem to start", timestamp=1770757912000,
              project="/home/marco/projects/spotter", sessionId=SHORT_ID)
        + _line(display="teach me about the axolotl regeneration cache", timestamp=1700000000000,
                project="/home/me/old", sessionId=lost)
        + b"not json\n"
    )
    cli.json("ingest")
    hits = cli.json("search", "axolotl")
    assert [(h["session_id"], h["prompt_only"], h["project"]) for h in hits][:1] == [
        (lost, True, "/home/me/old")
    ]
    assert "(prompt only)" in cli("search", "axolotl").stdout
    # A session the archive holds is not duplicated by its history line.
    assert all(not h["prompt_only"] for h in cli.json("search", "phx.server"))


def test_history_with_an_impossible_timestamp_is_indexed_and_listed(home, cli):
    """One history.jsonl reader serves the index and `archive lost`: a timestamp no date can
    hold (or a boolean) leaves the prompt undated in both, never fails the ingest."""
    odd = "dead0000-0000-4000-8000-000000000002"
    (home.root("default") / "history.jsonl").write_bytes(
        _line(display="the quetzal migration plan", timestamp=1e300, project="/p",
              sessionId=odd)
        + _line(display="second quetzal prompt", timestamp=True, sessionId=odd)
    )
    cli.json("ingest")
    hits = cli.json("search", "quetzal", "--sessions")
    assert [(h["session_id"], h["prompt_only"], h["timestamp"]) for h in hits] == [
        (odd, True, None)
    ]
    lost = [r for r in cli.json("lost") if r["session_id"] == odd]
    assert lost and lost[0]["started"] is None and lost[0]["prompts"] == 2


def test_tool_output_cap_and_procs_come_from_config(home, cli, planted):
    """`[index] tool_output_cap` limits what ingest and reindex index of each tool's output;
    `[index] procs = 2` indexes with two processes and finds the same as one."""
    cli.json("ingest")
    query = ("tool_output:total", "--project", "/home/me/alpha", "--limit", "100")
    one = cli.json("search", *query)
    assert one and {h["turn"] for h in one} == {1, 2, 3, 4}  # each turn's "total 0"
    (home.archive / "config.toml").write_text("[index]\nprocs = 2\n")
    cli("reindex")
    two = cli.json("search", *query)
    assert [(h["session_id"], h["turn"]) for h in two] == [
        (h["session_id"], h["turn"]) for h in one
    ]
    assert cli.json("search", "ordinary", "--limit", "100")
    (home.archive / "config.toml").write_text("[index]\ntool_output_cap = 3\n")
    cli("reindex")
    cli("search", *query, code=1)  # "total 0" cut to "tot"
    sid = str(uuid.UUID(int=98 << 96))  # and ingest applies the cap too
    make_session(home.session_file("default", "-home-me-zeta", sid), sid, "/home/me/zeta",
                 "main", "claude-opus-4-1", [("zeta question", "zeta answer")])
    assert cli.json("ingest")["indexed"]["transcripts"] == 1
    assert cli.json("search", "zeta")
    cli("search", "tool_output:total", "--project", "/home/me/zeta", code=1)


def test_small_batches_index_in_one_process():
    from archive.indexer import PARALLEL_MAX_TRANSCRIPT, PARALLEL_MIN_BYTES, index_procs

    assert index_procs(PARALLEL_MIN_BYTES - 1) == 1
    assert index_procs(10 * PARALLEL_MIN_BYTES, configured=1) == 1
    assert index_procs(0, configured=2) == 2
    huge = PARALLEL_MAX_TRANSCRIPT + 1  # parsed whole, then forked from: memory, not speed
    assert index_procs(10 * PARALLEL_MIN_BYTES, largest=huge) == 1
    assert index_procs(10 * PARALLEL_MIN_BYTES) in (1, 2)  # decided by a look at the cores

    from archive.indexer import _busy_cores

    busy = _busy_cores(0.05)
    assert busy is None or 0 <= busy <= os.cpu_count()


def test_show_keeps_text_and_tool_calls_in_order(home, cli, monkeypatch):
    """A turn that says something, runs a tool, then answers shows it in that order."""
    sid = str(uuid.UUID(int=77 << 96))
    common = dict(sessionId=sid, cwd="/home/me/order", gitBranch="main", version="2.1.39",
                  isSidechain=False, userType="external", timestamp="2026-11-20T10:00:00.000Z")
    blocks = [{"type": "text", "text": "Let me look at the folder first."},
              {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]
    lines = [
        _line(type="user", uuid="u1", parentUuid=None,
              message={"role": "user", "content": "what is in here?"}, **common),
        *[_line(type="assistant", uuid=f"a{i}", parentUuid="u1", requestId="req_1",
                message={"id": "msg_1", "role": "assistant", "model": "claude-opus-4-1",
                         "content": [block]}, **common) for i, block in enumerate(blocks)],
        _line(type="user", uuid="r1", parentUuid="a1", message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "notes.txt"}]},
            **common),
        _line(type="assistant", uuid="a2", parentUuid="r1", requestId="req_2",
              message={"id": "msg_2", "role": "assistant", "model": "claude-opus-4-1",
                       "content": [{"type": "text", "text": "There is one file, notes.txt."}]},
              **common),
    ]
    path = home.session_file("default", "-home-me-order", sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    cli.json("ingest")
    turn = cli.json("show", sid)["turns"][0]
    assert turn["steps"] == [{"text": "Let me look at the folder first."}, {"tool_call": 0},
                             {"text": "There is one file, notes.txt."}]
    assert turn["tool_calls"][0]["name"] == "Bash"
    monkeypatch.setenv("COLUMNS", "200")
    text = cli("show", sid).stdout
    first, tool, last = (text.index("Let me look"), text.index("→ Bash"),
                         text.index("There is one file"))
    assert first < tool < last


def test_field_phrase_query(home, cli, planted):
    """field:"a phrase" is Whoosh syntax the README promises: it must parse and match."""
    cli.json("ingest")
    sid, profile, turn = planted["quokka flamingo rebalancing"]
    hits = cli.json("search", 'prompt:"quokka flamingo"')
    assert [(h["session_id"], h["turn"]) for h in hits] == [(sid, turn)]
    cli("search", 'answer:"quokka flamingo"', code=1)
    cli("search", 'prompt:"flamingo quokka"', code=1)  # a phrase keeps its order


@pytest.mark.parametrize("columns", ["80", "160"])
def test_search_shows_the_snippet_at_any_width(home, cli, planted, monkeypatch, columns):
    """A narrow terminal gets one block per hit, a wide one a table: the snippet (what a person
    reads) is there either way, with the session, turn and profile."""
    cli.json("ingest")
    sid, profile, turn = planted["zebrafish tessellation"]
    monkeypatch.setenv("COLUMNS", columns)
    out = cli("search", "zebrafish").stdout
    assert "zebrafish tessellation" in " ".join(out.replace("│", " ").split())
    assert sid[:8] in out and profile in out
    assert (f"turn {turn}" in out) == (columns == "80")


@pytest.mark.parametrize("columns", ["80", "160"])
def test_sessions_show_the_title_at_any_width(home, cli, planted, monkeypatch, columns):
    cli.json("ingest")
    monkeypatch.setenv("COLUMNS", columns)
    out = cli("sessions", "--project", "/home/me/beta").stdout
    sid, _profile, _turn = planted["zebrafish tessellation"]
    assert sid[:8] in out and "ordinary question 1 about the build" in " ".join(
        out.replace("│", " ").split())


def test_an_append_counts_only_its_new_bytes_for_the_process_choice(home, cli, planted):
    """Whether to fork a second index process depends on the bytes whose turns get indexed:
    for a session that only grew, its new tail, not the whole file."""
    from archive.indexer import _new_bytes
    from archive.ingest import ingest
    from archive.repo import Repository
    from archive.roots import discover_roots

    cli.json("ingest")
    sid, profile, _turn = planted["quokka flamingo rebalancing"]
    path = home.session_file(profile, "-home-me-alpha", sid)
    before = path.stat().st_size
    tail = _line(type="user", uuid=str(uuid.uuid4()), parentUuid=None, sessionId=sid,
                 cwd="/home/me/alpha", timestamp="2026-11-20T10:00:00.000Z",
                 message={"role": "user", "content": "one more question"})
    with path.open("ab") as f:
        f.write(tail)
    ingest(home.archive, discover_roots(environ={}, home=home.path), index=False)
    with Repository(home.archive, readonly=True) as repo:
        todo = {f.session_id: (v, d) for f, v, d, _t in repo.catalog.files_to_index()}
        version, described = todo[sid]
        assert version.size == before + len(tail)
        assert _new_bytes(repo, version, described) == len(tail)


def test_stats_counts_a_session_held_by_two_profiles_once(home, cli):
    """A session restored into a second profile is one session with two locations: once in the
    totals and in its project, once in each profile that holds it."""
    cli.json("ingest")
    before = cli.json("stats")
    cli.json("restore", SHORT_ID, "--to", "work")
    cli.json("ingest")
    after = cli.json("stats")
    assert after["sessions"] == before["sessions"]
    assert after["turns"] == before["turns"]
    projects = {r["project"]: r["sessions"] for r in after["by_project"]}
    assert projects == {r["project"]: r["sessions"] for r in before["by_project"]}
    profiles = {r["profile"]: r["sessions"] for r in after["by_profile"]}
    assert profiles["work"] == {r["profile"]: r["sessions"] for r in before["by_profile"]}[
        "work"] + 1
