"""``archive export``: every fixture in every format, what each format holds, --turns, -o, secret
masking in exports, and the HTML page in a real headless browser."""

from __future__ import annotations

import html
import os
import re
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from conftest import FASTHOOKS, FASTHOOKS_ID, FIXTURES, SHORT_ID, SPOTTER
from test_redact import SECRETS

from archive.errors import UsageError
from archive.export import export_data, export_session, parse_turns
from archive.ingest import ingest
from archive.redact import mask
from archive.roots import discover_roots
from archive.transcript import parse_file

ALL_JSONL = sorted(FIXTURES.rglob("*.jsonl"))
SHORT = SPOTTER / "short.jsonl"
FASTHOOKS_FILE = FASTHOOKS / "sample_main_transcript.jsonl"
FORMATS = ("md", "html", "json")


def _parse(path: Path):
    return parse_file(path, is_subagent=path.parent.name == "subagents"
                      or path.name.startswith("agent-"))


class _TagBalance(HTMLParser):
    """Counts open elements, to show that escaped transcript text never opened or closed one."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def _balanced(page: str) -> bool:
    parser = _TagBalance()
    parser.feed(page)
    parser.close()
    return not parser.errors and not parser.stack


def _turn_numbers_md(md: str) -> list[int]:
    return [int(n) for n in re.findall(r"^## Turn (\d+) ·", md, flags=re.MULTILINE)]


def _turn_numbers_html(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<section class="turn" id="turn-(\d+)">', page)]


# -- every fixture, every format ----------------------------------------------------------------


def test_fixture_ids_are_unique():
    assert len({p.name for p in ALL_JSONL}) == len(ALL_JSONL) > 20


@pytest.mark.parametrize("path", ALL_JSONL, ids=[p.name for p in ALL_JSONL])
def test_every_fixture_exports_in_every_format(path):
    session = _parse(path)
    numbers = [t.number for t in session.turns]

    md = export_session(session, "md").text
    assert md.startswith("# ") and md.endswith("\n")
    assert _turn_numbers_md(md) == numbers
    for turn in session.turns:  # prompts and answers in full, never shortened
        assert turn.prompt in md
        assert turn.answer in md

    page = export_session(session, "html").text
    assert page.startswith("<!DOCTYPE html>")
    assert _balanced(page)
    assert _turn_numbers_html(page) == numbers
    for turn in session.turns:  # line by line: fenced code becomes <pre> blocks
        for line in turn.prompt.splitlines():
            if line.strip() and not line.startswith("```"):
                assert html.escape(line) in page

    data = orjson.loads(export_session(session, "json").text)
    assert data == orjson.loads(orjson.dumps(export_data(session)))
    assert data["session_id"] == session.session_id
    assert data["turn_count"] == len(numbers)
    assert [t["turn"] for t in data["turns"]] == numbers


# -- Markdown ------------------------------------------------------------------------------------

SHORT_PROMPT = "mix phx.server doesnt seem to start"
SHORT_TOOL_LINES = ["- Bash `mix phx.server 2>&1 | head -80` (error)", "- Glob `mix.exs` (error)"]
SHORT_TOOL_OUTPUT = "The user doesn't want to proceed with this tool use"


def _check_short_md(md: str) -> None:
    lines = md.splitlines()
    assert lines[0] == f"# {SHORT_PROMPT}"
    assert "- **Project:** /home/marco/projects/spotter (branch master)" in lines
    assert "- **Dates:** 2026-02-10 21:11 UTC → 2026-02-10 21:16 UTC" in lines
    assert lines[lines.index("**Prompt**") + 2] == SHORT_PROMPT
    tool_lines = [line for line in lines if line.startswith("- ") and not line.startswith("- **")]
    assert tool_lines == SHORT_TOOL_LINES  # one line per call, name then key argument
    assert "Let me check the project structure and try running the server" in md


def test_markdown_of_short_session():
    md = export_session(parse_file(SHORT), "md").text
    _check_short_md(md)
    assert SHORT_TOOL_OUTPUT not in md  # tool output is left out by default

    with_output = export_session(parse_file(SHORT), "md", tool_output=True).text
    assert with_output.count(SHORT_TOOL_OUTPUT) == 2
    for line in SHORT_TOOL_LINES:
        assert line in with_output.splitlines()


def test_markdown_notes_tool_output_cut_at_the_cap():
    path = next(p for p in ALL_JSONL if p.name.startswith("0d3a8e6f"))
    session = _parse(path)
    big = max((c for t in session.turns for c in t.tool_calls), key=lambda c: c.output_size)
    assert big.output_size > len(big.output)  # the parser kept only the start
    md = export_session(session, "md", tool_output=True).text
    assert f"first {len(big.output):,} of {big.output_size:,} characters" in md


# -- through the real CLI, over an archive of the test HOME --------------------------------------


@pytest.fixture
def archived(home):
    """The test HOME ingested without the index: export reads the catalog and objects only (and
    the index half of ingest is being reworked elsewhere)."""
    result = ingest(home.archive, discover_roots(), durable=False, index=False)
    assert not result.errors
    return home


def test_cli_markdown_of_short_session(archived, cli):
    md = cli("export", SHORT_ID[:8]).stdout
    _check_short_md(md)
    assert f"- **Session:** {SHORT_ID} (profile default, version 1)" in md.splitlines()
    assert SHORT_TOOL_OUTPUT not in md
    assert cli("export", SHORT_ID, "--tool-output").stdout.count(SHORT_TOOL_OUTPUT) == 2


def test_cli_turns_2_3_keeps_exactly_those_turns(archived, cli):
    md = cli("export", FASTHOOKS_ID, "--turns", "2:3").stdout
    assert _turn_numbers_md(md) == [2, 3]
    assert "- **Turns:** 2–3 of 5" in md.splitlines()
    page = cli("export", FASTHOOKS_ID, "--turns", "2:3", "--format", "html").stdout
    assert _turn_numbers_html(page) == [2, 3]
    data = orjson.loads(cli("export", FASTHOOKS_ID, "--turns", "2:3", "--format", "json").stdout)
    assert [t["turn"] for t in data["turns"]] == [2, 3]
    assert _turn_numbers_md(cli("export", FASTHOOKS_ID, "--turns", "4:").stdout) == [4, 5]
    assert _turn_numbers_md(cli("export", FASTHOOKS_ID, "--turns", ":2").stdout) == [1, 2]
    assert _turn_numbers_md(cli("export", FASTHOOKS_ID, "--turns", "5").stdout) == [5]


@pytest.mark.parametrize("redact_flag", [(), ("--no-redact",)], ids=["default", "no-redact"])
def test_cli_json_equals_show_json(archived, cli, redact_flag):
    exported = cli("export", FASTHOOKS_ID, "--format", "json", *redact_flag).stdout
    assert exported == cli("show", FASTHOOKS_ID, "--json").stdout

    part = orjson.loads(
        cli("export", FASTHOOKS_ID, "--turns", "2:3", "--format", "json", *redact_flag).stdout
    )
    shown = [cli.json("show", FASTHOOKS_ID, "--turn", str(n)) for n in (2, 3)]
    assert part == shown[0] | {"turns": shown[0]["turns"] + shown[1]["turns"]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("2:3", (2, 3)), ("2:", (2, None)), (":3", (None, 3)), ("4", (4, 4)), (":", (None, None)),
     (" 1:1 ", (1, 1))],
)
def test_parse_turns(spec, expected):
    assert parse_turns(spec) == expected


@pytest.mark.parametrize("spec", ["", "0:2", "2:0", "3:1", "a:b", "1-3", "1:2:3", "-1:", "x"])
def test_parse_turns_rejects_bad_ranges(spec):
    with pytest.raises(UsageError):
        parse_turns(spec)


@pytest.mark.parametrize("spec", ["0:2", "3:1", "a:b", "1-3", "", "6:", "2:9"])
def test_cli_bad_turn_range_is_a_one_line_usage_error(archived, cli, spec):
    result = cli("export", FASTHOOKS_ID, "--turns", spec, code=2)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_cli_writes_a_private_file_and_never_overwrites_without_force(archived, cli, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "session.md"
    old_umask = os.umask(0o022)  # a usual umask would give 0644
    try:
        result = cli("export", SHORT_ID, "-o", target)
        assert result.stdout == ""
        assert target.read_text() == cli("export", SHORT_ID).stdout
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

        refused = cli("export", SHORT_ID, "--format", "json", "-o", target, code=3)
        assert refused.stderr.startswith("error: ") and "exists" in refused.stderr
        assert target.read_text().startswith("# ")  # unchanged

        target.chmod(0o644)
        cli("export", SHORT_ID, "--format", "json", "-o", target, "--force")
        assert orjson.loads(target.read_bytes())["session_id"] == SHORT_ID
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)
    assert [p.name for p in out_dir.iterdir()] == ["session.md"]  # no temp file left behind

    cli("export", SHORT_ID, "-o", tmp_path / "missing" / "x.md", code=2)


# -- HTML ----------------------------------------------------------------------------------------


def test_html_is_self_contained():
    page = export_session(parse_file(FASTHOOKS_FILE), "html", tool_output=True).text
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"\bsrc\s*=", page, flags=re.IGNORECASE)
    hrefs = re.findall(r'\bhref\s*=\s*"([^"]*)"', page, flags=re.IGNORECASE)
    assert hrefs and all(h.startswith("#turn-") for h in hrefs)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, flags=re.I)
    assert "default-src 'none'" in page  # the CSP forbids fetching anything
    for n in range(1, 6):
        assert f'id="turn-{n}"' in page and f'href="#turn-{n}"' in page
    assert '<nav class="toc">' in page


def _write_transcript(path: Path, session_id: str, turns: list[tuple[str, str, str, str]]) -> Path:
    """A minimal Claude Code transcript: per turn (prompt, answer, Bash command, its output)."""
    lines = []
    for i, (prompt, answer, command, output) in enumerate(turns, 1):
        common = {"sessionId": session_id, "cwd": "/tmp/proj", "version": "2.1.0"}
        stamp = f"2026-03-01T10:{i:02d}:00.000Z"
        lines += [
            {**common, "type": "user", "uuid": f"u{i}", "timestamp": stamp,
             "message": {"role": "user", "content": prompt}},
            {**common, "type": "assistant", "uuid": f"a{i}", "timestamp": stamp,
             "message": {"id": f"m{i}", "role": "assistant", "model": "claude-test",
                         "usage": {"input_tokens": 10 * i},
                         "content": [{"type": "text", "text": answer},
                                     {"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                      "input": {"command": command}}]}},
            {**common, "type": "user", "uuid": f"r{i}", "timestamp": stamp,
             "message": {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": f"t{i}", "content": output}]}},
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def test_html_escapes_transcript_markup(tmp_path):
    prompt = "Why does <command-name>/clear</command-name> show up? <script>alert(1)</script> & co"
    answer = "It is a <b>tag</b>; see `<local-command-stdout>` and **this**.\n```\n<div x=1>\n```"
    path = _write_transcript(tmp_path / "t.jsonl", "11111111-2222-4333-8444-555555555555",
                             [(prompt, answer, "echo '<img src=x onerror=alert(1)>'", "<pre>")])
    page = export_session(parse_file(path), "html", tool_output=True).text
    assert _balanced(page)
    for raw in ("<command-name>", "<script>", "<b>tag", "<local-command-stdout>", "<img", "<div x"):
        assert raw not in page
    assert html.escape(prompt) in page
    assert "&lt;command-name&gt;/clear&lt;/command-name&gt;" in page
    assert "<strong>this</strong>" in page  # the little Markdown an answer gets
    assert "<code>&lt;local-command-stdout&gt;</code>" in page


CHROMIUM = shutil.which("chromium")


def _chromium_dom(page, tmp_path) -> str:
    """The DOM headless Chromium builds from ``page`` (a private profile, no network)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (CI installs it)")
def test_html_shows_the_first_prompt_in_headless_chromium(tmp_path):
    assert CHROMIUM, "CI needs: apt-get install -y --no-install-recommends chromium"
    session = parse_file(FASTHOOKS_FILE)
    page = tmp_path / "session.html"
    page.write_text(export_session(session, "html").text, encoding="utf-8")
    dom = _chromium_dom(page, tmp_path)
    first = session.turns[0].prompt
    assert first == "can you run a command ls -la"
    assert re.search(r'<div class="prompt">.*?' + re.escape(html.escape(first, quote=False)),
                     dom, flags=re.DOTALL)
    assert 'id="turn-1"' in dom and 'id="turn-5"' in dom


# -- secrets in exports ---------------------------------------------------------------------------


def _secret_session(tmp_path: Path, text: str) -> Path:
    return _write_transcript(tmp_path / "s.jsonl", "99999999-8888-4777-8666-555555555555",
                             [(f"Please use this: {text}", f"Noted: {text}", text, f"out: {text}")])


def _core(secret: str) -> str:
    """The longest run of key characters in a secret: found even where whitespace was collapsed
    (a tool call's key argument is one line)."""
    return max(re.findall(r"[A-Za-z0-9+/_]{8,}", secret) or [secret], key=len)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("kind", "text", "secret"), [s[1:] for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_exports_mask_each_kind_unless_no_redact(tmp_path, fmt, kind, text, secret):
    session = parse_file(_secret_session(tmp_path, text))

    masked = export_session(session, fmt, tool_output=True)
    assert _core(secret) not in masked.text
    assert mask(kind) in masked.text
    assert masked.masked[kind] >= 3  # prompt, answer, tool output at least
    if fmt == "json":  # every string that held it
        turn = orjson.loads(masked.text)["turns"][0]
        call = turn["tool_calls"][0]
        for value in (turn["prompt"], turn["answer"], call["output"], call["input"]):
            assert mask(kind) in value and _core(secret) not in value

    kept = export_session(session, fmt, tool_output=True, redact=False)
    assert mask(kind) not in kept.text and not kept.masked
    if fmt == "json":
        assert secret in orjson.loads(kept.text)["turns"][0]["prompt"]
    else:
        assert (html.escape(secret) if fmt == "html" else secret) in kept.text


def test_cli_masks_every_kind_and_says_so(home, cli):
    session_id = "77777777-6666-4555-8444-333333333333"
    turns = [(f"turn {i}: {text}", f"ok {text}", "true", "")
             for i, (_, _, text, _) in enumerate(SECRETS)]
    _write_transcript(home.root("default") / "projects" / "-tmp-proj" / f"{session_id}.jsonl",
                      session_id, turns)
    assert not ingest(home.archive, discover_roots(), durable=False, index=False).errors
    for fmt in FORMATS:
        result = cli("export", session_id, "--format", fmt)
        for _, kind, _, secret in SECRETS:
            assert _core(secret) not in result.stdout
            assert mask(kind) in result.stdout
        note = re.match(r"note: masked (\d+) credential-shaped strings \(", result.stderr)
        assert note and int(note[1]) >= 2 * len(SECRETS)  # prompt and answer of every turn
        kept = cli("export", session_id, "--format", fmt, "--no-redact")
        assert "REDACTED" not in kept.stdout and "masked" not in kept.stderr
    kept_md = cli("export", session_id, "--no-redact").stdout
    for *_, secret in SECRETS:
        assert secret in kept_md


MARKDOWN_ANSWER = """## Updates done

- first item
- second **bold** item

| file | lines |
|------|-------|
| a.py | 12    |

```python
print("<b>not bold</b>")
```

A raw <script>document.title='pwned'</script> tag and <img src=x onerror=alert(1)> stay text.
"""


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (CI installs it)")
def test_html_renders_answer_markdown_in_headless_chromium(tmp_path):
    """Headings, lists, tables and code blocks of an answer are rendered (markdown-it-py);
    raw HTML in the transcript stays text: no script runs, no element is made from it."""
    assert CHROMIUM, "CI needs: apt-get install -y --no-install-recommends chromium"
    path = _write_transcript(tmp_path / "t.jsonl", "11111111-2222-4333-8444-666666666666",
                             [("show me markdown", MARKDOWN_ANSWER, "ls", "out")])
    page = tmp_path / "md.html"
    page.write_text(export_session(parse_file(path), "html").text, encoding="utf-8")
    dom = _chromium_dom(page, tmp_path)
    answer = dom[dom.index('<div class="answer">'):]
    assert "<h2>Updates done</h2>" in answer and "## Updates" not in answer
    assert re.search(r"<ul>\s*<li>first item</li>\s*<li>second <strong>bold</strong> item", answer)
    assert re.search(r"<table>.*<th>file</th>.*<td>a\.py</td>", answer, re.S)
    assert '<pre><code class="language-python">print("&lt;b&gt;not bold&lt;/b&gt;")' in answer
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in answer
    assert "<script" not in answer and "<img" not in answer
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)


def test_the_masked_note_counts_what_each_file_holds(home, cli, tmp_path):
    """The note counts the masks in the document written, per format: html shows the title
    twice (<title> and the heading), md once; the numbers differ and each matches its file."""
    session_id = "77777777-6666-4555-8444-333333333334"
    _, kind, _, secret = SECRETS[0]
    turns = [(f"deploy with {secret}", "done", "true", ""), ("and again", f"used {secret}",
                                                              "true", "")]
    _write_transcript(home.root("default") / "projects" / "-tmp-proj" / f"{session_id}.jsonl",
                      session_id, turns)
    assert not ingest(home.archive, discover_roots(), durable=False, index=False).errors
    counts = {}
    for fmt in FORMATS:
        out = tmp_path / f"doc.{fmt}"
        result = cli("export", session_id, "--format", fmt, "-o", str(out))
        note = re.search(r"masked (\d+) credential-shaped strings \((.+?) ×(\d+)\)", result.stderr)
        in_file = out.read_text().count(mask(kind))
        assert note and int(note[1]) == int(note[3]) == in_file > 0, (fmt, result.stderr)
        counts[fmt] = in_file
    assert counts["html"] > counts["md"]  # the title (the first prompt) twice in html
