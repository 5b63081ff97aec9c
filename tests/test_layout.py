"""Every read command at 80 and at 200 columns over the fixture archive (issue 16, "Done when").

No column is narrower than its content's shortest useful form (ids and counts whole, no
zero-width column), every command the tool suggests is whole on one line (so pasting it works),
hit headings never leave the time alone on a line, snippets are one plain line, and wrapped
tool lines of `show` stay indented.
"""

from __future__ import annotations

import random
import re

import orjson
import pytest
from conftest import BIG_ID, SHORT_ID

PLANTED_KEY = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GROWING_ID = "7acd37a8-2745-4b58-a8a9-46164b22ad9e"
LOST_ID = "9b1e0000-1111-4222-8333-444455556666"


@pytest.fixture
def archived(home, cli):
    """The fixture home plus a session holding a credential and a history.jsonl naming a
    session that was never archived, ingested."""
    secret = home.session_file("work", "-experiments-worktrees", SHORT_ID.replace("5", "7"))
    lines = [orjson.dumps({
        "type": "user", "uuid": "u1", "parentUuid": None, "sessionId": secret.stem,
        "cwd": "/experiments/worktrees", "timestamp": "2026-11-10T01:00:00.000Z",
        "message": {"role": "user", "content": f"deploy with token {PLANTED_KEY} please"}})]
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"\n".join(lines) + b"\n")
    history = [{"display": "a prompt whose session was deleted before any ingest",
                "pastedContents": {}, "timestamp": 1772000000000,
                "project": "/Users/dain/workspace/lost-project", "sessionId": LOST_ID}]
    (home.root("default") / "history.jsonl").write_bytes(
        b"".join(orjson.dumps(h) + b"\n" for h in history))
    cli("ingest", "--quiet")
    cli("restore", SHORT_ID, "--to", "work")  # a second copy, for `diff`
    cli("ingest", "--quiet")
    return home


READS = {
    "roots": ["roots"],
    "snapshots": ["snapshots"],
    "versions": ["versions", SHORT_ID],
    "search": ["search", "test OR file", "--limit", "8"],
    "search-sessions": ["search", "test OR file", "--sessions", "--limit", "8"],
    "sessions": ["sessions"],
    "show": ["show", BIG_ID],
    "diff": ["diff", SHORT_ID[:8]],
    "stats": ["stats"],
    "context": ["context", BIG_ID, "--threshold", "1000"],
    "secrets": ["secrets"],
    "at-risk": ["at-risk", "--days", "100000"],
    "lost": ["lost"],
    "restore": ["restore", BIG_ID, "--to", "work", "--turns", "2", "--new-id", "--dry-run"],
}

# A cell or heading piece that is an id or a count cut short: `556046…`, `12…`.
CUT = re.compile(r"[0-9a-f]{1,7}…|~?\d[\d,.]*[KMG]?…")
TIME_ALONE = re.compile(r"^\s*(\d{4}-\d\d-\d\d )?\d\d:\d\d\s*$")


def run(cli, monkeypatch, args, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    return cli(*args, code=None)


def check_columns(out: str, columns: int) -> None:
    for line in out.splitlines():
        # Only a command meant to be copied may be longer than the terminal (it wraps softly).
        copied = line.lstrip().startswith(("archive ", "cd "))
        assert len(line) <= columns or copied, (columns, line)
        # A zero-width column shows as two borders side by side.
        assert not re.search(r"[┃│][┃│]", line), (columns, line)
        if "┃" in line:  # a header row: no header name cut
            assert "…" not in line, (columns, line)
        for piece in re.split(r"[┃│]|\s{2,}| · ", line):  # ids and counts whole
            assert not CUT.fullmatch(piece.strip()), (columns, line)


@pytest.mark.parametrize("columns", [80, 200])
def test_every_read_command_reads_well(archived, cli, monkeypatch, columns):
    for name, args in READS.items():
        result = run(cli, monkeypatch, args, columns)
        assert result.exit_code in (0, 1), (name, result.output)
        check_columns(result.stdout, columns)
        if name.startswith("search"):
            for line in result.stdout.splitlines():
                assert not TIME_ALONE.match(line), (name, columns, line)
                assert "\\n" not in line, (name, columns, line)
                if name == "search":  # a snippet line (titles are the grouped rows' own)
                    assert "**" not in line, (name, columns, line)
                assert not line.lstrip().startswith("#"), (name, columns, line)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize("columns", [80, 200])
def test_suggested_commands_are_whole_on_one_line(archived, cli, monkeypatch, columns):
    grows = ["context", GROWING_ID, "--threshold", "50000"]  # past it from turn 4
    report = cli.json(*grows)
    out = run(cli, monkeypatch, grows, columns).stdout
    assert "Two ways on:" in out
    assert report["commands"]["fork"] and report["commands"]["handoff"]
    for command in report["commands"].values():
        assert command in _lines(out), (columns, command, out)
    args = ["restore", BIG_ID, "--to", "work", "--turns", "2", "--dry-run"]
    resume = cli.json(*args)["resume_command"]
    assert len(resume) > 80
    assert resume in _lines(run(cli, monkeypatch, args, columns).stdout)
    demo = run(cli, monkeypatch, ["demo", "--archive-dir", str(archived.path / "demo")], columns)
    tries = [line for line in _lines(demo.stdout) if line.startswith("archive ")]
    assert len(tries) >= 4
    assert all(line.endswith(f"--archive-dir {archived.path / 'demo'}") for line in tries), tries


def test_show_tool_lines_stay_indented_when_wrapped(archived, cli, monkeypatch):
    out = run(cli, monkeypatch, ["show", BIG_ID], 80).stdout.splitlines()
    blocks = []
    for i, line in enumerate(out):
        if re.match(r"^  [→✗] ", line):
            block = [line]
            for nxt in out[i + 1:]:
                if not nxt.startswith("    ") or re.match(r"^  [→✗] ", nxt):
                    break
                block.append(nxt)
            blocks.append(block)
    assert blocks
    assert any(len(b) > 1 for b in blocks)  # some wrap at 80 columns
    for block in blocks:  # and every one ends with its size, in the indented block
        joined = " ".join(line.strip() for line in block)
        assert re.search(r"\(\d[\d.]* (B|KiB|MiB) out\)$", joined), block


def test_titles_are_cut_only_by_a_terminal_column(archived, cli):
    rows = cli.json("sessions", "--all")
    longest = max(len(r["title"] or "") for r in rows)
    assert longest > 80, longest


WIDE_PIECES = ["✅", "🚀", "テスト", "中文字符", "done", "ab", "x", "完了しました", "🎉🎉", "更新"]


@pytest.mark.parametrize("columns", [80, 200])
def test_snippets_keep_every_character_beside_wide_ones(home, cli, monkeypatch, columns):
    """Emoji and CJK take two cells: a wrapped snippet line that fits but for its trailing
    space lost its last character to "…" (Rich compares characters with cells there)."""
    folder = home.root("default") / "projects" / "-w-wide"
    folder.mkdir(parents=True)
    for n in range(16):
        pick = random.Random(n).choice
        words = [pick(WIDE_PIECES) for _ in range(60)]
        words.insert(20 + n, "zebrafish")
        sid = f"{n:08d}-0000-4000-8000-000000000000"
        line = {"type": "user", "uuid": f"u{n}", "parentUuid": None, "sessionId": sid,
                "cwd": "/w/wide", "timestamp": f"2026-11-10T{n:02d}:00:00.000Z",
                "message": {"role": "user", "content": " ".join(words)}}
        (folder / f"{sid}.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    cli("ingest", "--quiet")
    from archive.render import plain_snippet

    hits = cli.json("search", "zebrafish", "--limit", "20")
    assert len(hits) == 16
    out = run(cli, monkeypatch, ["search", "zebrafish", "--limit", "20"], columns).stdout
    flat = re.sub(r"[\s│┃]", "", out)
    for hit in hits:
        window = re.sub(r"\s", "", plain_snippet(hit["snippet"])[0])
        assert any(p in window for p in ("✅", "🚀", "テスト")), window
        assert window in flat, (columns, window, out)


def _diverge(home, cli, session_id: str, project: str, folder: str) -> None:
    """``session_id`` copied from personal to work, then each copy grown apart."""
    cli("restore", session_id, "--to", "work")
    for profile in ("personal", "work"):
        line = {"type": "user", "uuid": f"grown-{profile}", "parentUuid": None,
                "sessionId": session_id, "cwd": project, "timestamp": "2026-11-10T01:00:00.000Z",
                "message": {"role": "user", "content": f"more from {profile}"}}
        with home.session_file(profile, folder, session_id).open("ab") as f:
            f.write(orjson.dumps(line) + b"\n")
    cli("ingest", "--quiet")


def _headings(out: str) -> dict[str, list[str]]:
    """Each block's heading, its continuation lines (indented under the facts) joined, by the
    block's first word."""
    found: dict[str, list[str]] = {}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line and not line[0].isspace() and "  " in line:
            joined = line
            for nxt in lines[i + 1:]:
                if not nxt.startswith(" " * 10):
                    break
                joined += " " + nxt.strip()
            found.setdefault(line.split()[0], []).append(joined)
    return found


def _facts(heading_text: str) -> list[str]:
    return [f.strip() for f in heading_text.split("  ", 1)[1].split(" · ")]


@pytest.mark.parametrize("columns", [80, 200])
def test_headings_keep_profile_date_and_project_folder_whole(archived, cli, monkeypatch,
                                                             columns):
    """A new user saw `personal, work (diverged) · …rkspa…`, a lost session's project as `…`
    and at-risk's profile as `d…`: every fact of a heading is whole, a project path is cut at
    its start only (never inside its last folder) and not at all when it fits."""
    from conftest import FASTHOOKS_ID

    from archive.render import local_time

    _diverge(archived, cli, FASTHOOKS_ID, "/workspace", "-workspace")
    monkeypatch.setenv("COLUMNS", str(columns))
    checked = 0
    for args in (["sessions", "--profile", "personal"], ["sessions", "--all"], ["lost"],
                 ["at-risk", "--days", "100000"]):
        rows = cli.json(*args)
        out = run(cli, monkeypatch, args, columns).stdout
        heads = _headings(out) if columns < 120 else {}
        for row in rows if heads else ():
            sid = row.get("session_id")
            if not sid:
                continue
            # the short id, as `sessions` and `search` show it (the full one is in --json)
            assert not any(line.startswith(sid) for line in out.splitlines()), sid
            facts = next((f for f in map(_facts, heads[sid[:8]]) if row["profile"] in f),
                         _facts(heads[sid[:8]][0]))
            project = row.get("project")
            if project:
                last = project.rstrip("/").rsplit("/", 1)[-1]
                shown = facts[-1]
                assert shown == project or (shown.startswith("…/")
                                            and project.endswith(shown[1:])), (shown, out)
                assert shown.endswith("/" + last), (shown, out)
                if shown != project:  # cut only where the whole path would not fit
                    line = next(x for x in out.splitlines() if x.endswith(shown))
                    assert len(line) - len(shown) + len(project) > columns, (line, project)
            if args[0] == "at-risk":
                dates = {local_time(r["mtime"]) for r in rows if r["session_id"] == sid}
                assert row["profile"] in facts and dates & set(facts), facts
            elif args[0] == "lost":
                assert row["profile"] in facts and local_time(row["started"]) in facts, facts
            else:
                profiles = ", ".join(row.get("addresses") or row.get("profiles")
                                     or [row["profile"]])
                assert any(f.startswith(profiles) for f in facts), (profiles, facts)
            checked += 1
        if columns < 120:
            assert heads, out
        check_columns(out, columns)
    if columns < 120:
        assert checked > 20
    diverged = run(cli, monkeypatch, ["sessions", "--profile", "personal"], columns).stdout
    assert "(diverged)" in diverged and "/workspace" in diverged
    assert "…rkspa" not in diverged


@pytest.mark.parametrize("columns", [80, 200])
def test_show_header_lines_stay_indented_when_wrapped(archived, cli, monkeypatch, columns):
    """`show`'s header wrapped "on branch" onto a line of its own at column 0."""
    for args in (["show", BIG_ID], ["show", LOST_ID]):
        out = run(cli, monkeypatch, [*args, "--no-pager"], columns).stdout.splitlines()
        start = next(i for i, line in enumerate(out) if line.startswith("  session "))
        end = next(i for i, line in enumerate(out) if re.match(r"(Turn|Prompt) 1 · ", line))
        header = out[start:end]
        assert len(header) >= 3
        assert all(line.startswith("  ") and line[2] != " " for line in header), header
        assert all(len(line) <= columns for line in header), header
        if args[1] == BIG_ID:
            joined = " ".join(line.strip() for line in header)
            assert "on branch spotter-4te" in joined
            assert (len(header) > 5) == (columns == 80)  # it wraps at 80, not at 200


@pytest.mark.parametrize("columns", [80, 200])
def test_context_compaction_label_stays_on_one_line(archived, cli, monkeypatch, columns):
    """At 80 columns "⇣ compacted (manual, \\n142K before)" wrapped after its bar."""
    report = cli.json("context", BIG_ID, "--threshold", "1000")
    assert report["compactions"]
    out = run(cli, monkeypatch, ["context", BIG_ID, "--threshold", "1000"], columns).stdout
    labels = [line for line in out.splitlines() if "⇣" in line]
    assert len(labels) == len(report["compactions"]), out
    for line in labels:
        assert re.search(r"⇣ compacted \(\w+, [\d.]+K before\)$", line), (columns, line)
        assert len(line) <= columns
        beside_bar = "█" in line
        assert beside_bar == (columns == 200), (columns, line)  # under the bar when narrow
    assert not any(line.startswith(("142K before", "before)")) for line in out.splitlines())


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_stats_cuts_project_paths_at_their_start(archived, cli, monkeypatch, columns):
    """`stats` folded "danieldemmel.me-ne|xt" over two rows: a path gives way from its start,
    at a folder boundary, its last folder whole, one row per project."""
    projects = [r["project"] or "-" for r in cli.json("stats")["by_project"][:20]]
    out = run(cli, monkeypatch, ["stats"], columns).stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("By project"))
    rows = [line for line in out[start:] if line.startswith("│")]
    assert len(rows) == len(projects), rows  # no row folded onto a second one
    for line, project in zip(rows, projects, strict=True):
        shown = line.split("│")[1].strip()
        assert len(line) <= columns
        if shown != project:
            assert shown.startswith("…") and project.endswith(shown[1:]), (shown, project)
        last = project.rsplit("/", 1)[-1]
        if columns >= 80:  # room for every last folder here
            assert shown == project or shown.startswith("…/"), (shown, project)
            assert shown.endswith(last), (shown, project)
    cut = sum(line.split("│")[1].strip() != p for line, p in zip(rows, projects, strict=True))
    assert (cut > 0) == (columns < 200)


@pytest.mark.parametrize("columns", [80, 200])
def test_snippets_break_long_words_after_a_slash_not_inside_a_name(home, cli, monkeypatch,
                                                                   columns):
    """At 200 columns a snippet split "tokeniz|er.css": a word longer than its column (a path
    in JSON) breaks after a slash or a comma, so every name in it stays whole on one line."""
    folder = home.root("default") / "projects" / "-w-long"
    folder.mkdir(parents=True)
    names = []
    for n in range(12):
        parts = ["Users", "someone", "x" * (n * 3 + 1), "danieldemmel.me-next", "public",
                 "styles", "components", "tokenizer"]  # each name unique to its session
        path = "/" + "/".join(f"{part}-{n:02d}" for part in parts) + ".css"
        names.append(path)
        word = f'{{"file_path":"{path}","old_string":"ruby","new_string":"css"}}'
        sid = f"{n:08d}-0000-4000-8000-00000000000a"
        line = {"type": "user", "uuid": f"u{n}", "parentUuid": None, "sessionId": sid,
                "cwd": "/w/long", "timestamp": f"2026-11-10T{n:02d}:00:00.000Z",
                "message": {"role": "user", "content": f"zebrafish: {word} now"}}
        (folder / f"{sid}.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    cli("ingest", "--quiet")
    assert len(cli.json("search", "zebrafish", "--limit", "20")) == 12
    out = run(cli, monkeypatch, ["search", "zebrafish", "--limit", "20"], columns).stdout
    lines = out.splitlines()
    check_columns(out, columns)
    pieces = {p for path in names for p in path.split("/") if p}
    for piece in pieces:  # each folder and file name whole on some line
        assert any(piece in line for line in lines), (columns, piece, out)
    flat = re.sub(r"[\s│┃]", "", out)
    for path in names:  # and nothing lost
        assert path in flat, (columns, path)


@pytest.mark.parametrize("text", [
    "dev # Opens at http://localhost:5173 ``` The dev server started",
    "a **bold** word and ``` fenced ``` dev code",
    "one\\n\\n**two** dev three",
    "x  ```json { \"dev\": 1 } ``` The dev",
])
def test_a_snippet_line_has_one_space_where_markup_stood_between_spaces(text):
    """Markdown fences and bold markers dropped from a snippet between two spaces leave one
    space, not two (an answer's ``` on its own line read "5173  The dev"), and highlights
    still fall on their words."""
    from archive.render import plain_snippet

    at = text.rindex("dev")
    line, spans = plain_snippet(text, [(at, at + 3)])
    assert "  " not in line, line
    assert [line[a:b] for a, b in spans] == ["dev"], (line, spans)


def test_at_risk_cleanup_periods_wrap_under_themselves(archived, cli, monkeypatch):
    """At 80 columns the "cleanupPeriodDays:" line of several profiles wraps with its later
    lines indented past the label, not back to the first column."""
    out = run(cli, monkeypatch, ["at-risk", "--days", "100000"], 80).stdout.splitlines()
    first = next(i for i, line in enumerate(out) if line.startswith("cleanupPeriodDays: "))
    label = len("cleanupPeriodDays: ")
    lines = [out[first]]
    for line in out[first + 1:]:
        if not line.startswith(" " * label) or not line.strip():
            break
        lines.append(line)
    text = " ".join(line.strip() for line in lines).replace("cleanupPeriodDays: ", "", 1)
    periods = cli.json("roots")
    assert len(lines) > 1, out[first:first + 3]  # long enough to wrap at 80
    for root in periods:
        assert root["profile"] in text, (root["profile"], text)


@pytest.mark.parametrize("columns", [80, 200])
def test_context_figures_stay_whole(archived, cli, monkeypatch, columns):
    """`context`'s heading keeps "now …, peak …, threshold …" whole: on the heading's line
    when it fits, else on a line of its own (at 80 columns a full session id leaves no room),
    never with a figure wrapped alone onto the next line."""
    out = run(cli, monkeypatch, ["context", BIG_ID, "--threshold", "1000"], columns).stdout
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "now " in line and "threshold " in line)
    figures = lines[at].strip()
    assert re.search(r"now [\d.,]+K?, peak [\d.,]+K?.*, threshold [\d.,]+K?$", figures), lines[:3]
    assert lines[0].startswith(f"Context of {BIG_ID}:")
    assert (at == 0) == (columns == 200), lines[:3]
