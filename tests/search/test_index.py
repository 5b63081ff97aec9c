"""Tests for archive.search: a real Whoosh index in tmp_path, built from Session dataclasses."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from index_helpers import (
    FILLER,
    REPO,
    T0,
    doc,
    filler_turns,
    index_sessions,
    key_of,
    make_session,
)
from whoosh.filedb.filestore import FileStorage

from archive import search as ix
from archive.errors import ArchiveError, IndexOutOfDate, UsageError
from archive.search import (
    IndexWriter,
    SearchFilters,
    doc_count,
    merges,
    search,
    writer,
)
from archive.search.analysis import index_terms, text_analyzer
from archive.search.schema import SCHEMA_VERSION
from archive.search.snippets import window

# ------------------------------------------------------------------------------------------
# Finding things


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Nine generated sessions over three profiles, with planted phrases."""
    d = tmp_path_factory.mktemp("corpus") / "index"
    rnd = random.Random(42)
    docs = []
    for p, profile in enumerate(["default", "work", "oss"]):
        for s in range(3):
            sid = f"sess-{profile}-{s}"
            turns = filler_turns(rnd, 6)
            docs.append((profile, sid, turns, T0 + timedelta(days=10 * p + s)))
    plants = {
        ("default", "sess-default-1", 3, "prompt"): "please refactor the quasar lighthouse module",
        ("work", "sess-work-2", 5, "answer"): "the zephyr cobalt benchmark regressed",
        ("oss", "sess-oss-0", 2, "prompt"): "外部キー制約のエラーを直して",
    }
    for (profile, sid, turn, field), text in plants.items():
        for prof, sid2, turns, _ in docs:
            if (prof, sid2) == (profile, sid):
                turns[turn - 1][field] += " " + text
    built = [doc(prof, make_session(sid, turns, start=start)) for prof, sid, turns, start in docs]
    added = index_sessions(d, built)
    assert added == 9 * 7
    return d


@pytest.mark.parametrize(
    "query, profile, sid, turn",
    [
        ("quasar lighthouse", "default", "sess-default-1", 3),
        ('"zephyr cobalt benchmark"', "work", "sess-work-2", 5),
        ("外部キー", "oss", "sess-oss-0", 2),
        ("制約", "oss", "sess-oss-0", 2),
    ],
)
def test_planted_phrase_is_rank_one(corpus, query, profile, sid, turn):
    hits = search(corpus, query)
    assert hits, query
    top = hits[0]
    assert (top.profile, top.session_id, top.turn) == (profile, sid, turn)
    assert top.key == key_of(profile, sid)
    assert top.timestamp is not None and top.timestamp.tzinfo is not None
    # The snippet shows the match and the spans point at it.
    assert top.highlights
    assert "\n" not in top.snippet and len(top.snippet) <= 260
    first = top.snippet[slice(*top.highlights[0])]
    assert first.lower() in query.lower() or first in query or query.strip('"').startswith(first)


def test_japanese_word_not_in_text_is_not_found(corpus):
    # キー制 would be found (substring); 外部制約 is not a substring of the sentence.
    assert search(corpus, "外部制約") == []


def test_no_hit_returns_empty_list(corpus):
    assert search(corpus, "xylophonequartz") == []


def test_doc_count_and_snapshot(corpus):
    assert doc_count(corpus) == 63
    assert ix.indexed_snapshot(corpus) == 1


# ------------------------------------------------------------------------------------------
# Filters


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    d = tmp_path_factory.mktemp("filters") / "index"
    specs = [
        ("work", "s1", "/home/u/Alpha-Service", "main", "claude-opus-4-1", "Bash", 10),
        ("home", "s2", "/home/u/beta-web", "dev", "claude-sonnet-4-5", "Read", 40),
        ("oss", "s3", "/srv/alpha-tools", "main", "claude-opus-4-1", "Edit", 70),
    ]
    docs = []
    for profile, sid, project, branch, model, tool, day in specs:
        turns = [{"prompt": "fix the widget rendering", "answer": "done",
                  "tools": [(tool, '{"x": 1}', "ok")]}]
        s = make_session(sid, turns, start=T0 + timedelta(days=day), project=project,
                         branch=branch, model=model)
        docs.append(doc(profile, s))
    index_sessions(d, docs)
    return d


def sids(d, query="widget", **filters) -> set[str]:
    return {h.session_id for h in search(d, query, SearchFilters(**filters), limit=50)}


def test_no_filter_finds_all(filtered):
    assert sids(filtered) == {"s1", "s2", "s3"}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"profile": "work"}, {"s1"}),
        ({"project": "ALPHA"}, {"s1", "s3"}),  # substring, case-insensitive
        ({"project": "beta-web"}, {"s2"}),
        ({"project": "nowhere"}, set()),
        ({"branch": "dev"}, {"s2"}),
        ({"model": "opus"}, {"s1", "s3"}),
        ({"model": "sonnet-4"}, {"s2"}),
        ({"tool": "Bash"}, {"s1"}),
        ({"tool": "edit"}, {"s3"}),
        ({"since": T0 + timedelta(days=30)}, {"s2", "s3"}),
        ({"until": T0 + timedelta(days=50)}, {"s1", "s2"}),
        ({"since": T0 + timedelta(days=30), "until": T0 + timedelta(days=50)}, {"s2"}),
        ({"session_ids": ["s3", "s1"]}, {"s1", "s3"}),
        ({"session_ids": []}, set()),
        ({"profile": "work", "branch": "dev"}, set()),
        ({"profile": "oss", "model": "opus", "project": "alpha"}, {"s3"}),
    ],
)
def test_filters_narrow(filtered, filters, expected):
    assert sids(filtered, **filters) == expected


def test_field_queries(filtered):
    assert sids(filtered, "tools:Bash") == {"s1"}
    assert sids(filtered, "tool:read") == {"s2"}
    assert sids(filtered, "profile:oss widget") == {"s3"}
    assert sids(filtered, "widget NOT profile:oss") == {"s1", "s2"}
    assert sids(filtered, '"widget rendering"') == {"s1", "s2", "s3"}
    assert sids(filtered, '"rendering widget"') == set()


# ------------------------------------------------------------------------------------------
# Tokenising


def test_code_words_are_split(tmp_path):
    d = tmp_path / "index"
    s1 = make_session("jwt", [{"prompt": "why does it fail", "answer": "call jwt.decode() first"}])
    s2 = make_session("tok", [{"prompt": "rotate the refresh_token please"}])
    index_sessions(d, [doc("default", s1), doc("default", s2)])
    hits = search(d, "jwt")
    assert [(h.session_id, h.turn) for h in hits] == [("jwt", 1)]
    assert hits[0].snippet[slice(*hits[0].highlights[0])] == "jwt"
    hits = search(d, "token")
    assert [(h.session_id, h.turn) for h in hits] == [("tok", 1)]
    assert "token" in hits[0].snippet[slice(*hits[0].highlights[0])]
    # A dotted word in the query is a phrase of its parts.
    assert [h.session_id for h in search(d, "jwt.decode")] == ["jwt"]


def test_analyzer_tokens():
    ana = text_analyzer()
    assert [t.text for t in ana("Call jwt.decode() on the refresh_token")] == [
        "call", "jwt", "decod", "refresh", "token"
    ]
    assert [t.text for t in ana("外部キー制約")] == ["外部", "部キ", "キー", "ー制", "制約"]
    # A lone CJK character survives the stop filter (which drops one-letter Latin tokens).
    assert [t.text for t in ana("本 a x")] == ["本"]
    terms = index_terms("jwtトークン is 東京")
    assert terms == ["jwt", "トー", "ーク", "クン", "東京"]


def test_phrase_on_tool_output_without_positions(tmp_path):
    d = tmp_path / "index"
    s = make_session("t", [{"prompt": "run it", "tools": [("Bash", "{}", "connection refused")]}])
    index_sessions(d, [doc("default", s)])
    # tool_output keeps no positions: the phrase becomes AND there instead of raising.
    assert [h.session_id for h in search(d, '"connection refused"')] == ["t"]


def test_read_line_numbers_are_not_indexed(tmp_path):
    d = tmp_path / "index"
    out = "    41\u2192import os\n    42\u2192print(os.sep)\n"
    s = make_session("r", [{"prompt": "show it", "tools": [("Read", "{}", out)]}])
    index_sessions(d, [doc("default", s)])
    assert search(d, "sep") and search(d, "print")
    assert search(d, "tool_output:42") == []


# ------------------------------------------------------------------------------------------
# Ranking


def test_prompt_outranks_tool_output(tmp_path):
    d = tmp_path / "index"
    in_prompt = make_session("in-prompt", [{"prompt": "kumquat", "answer": "ok"}], start=T0)
    in_tool = make_session(
        "in-tool",
        [{"prompt": "list files", "tools": [("Bash", "{}", "kumquat")]}],
        start=T0 + timedelta(days=5),  # newer, so only the field weight can put it second
    )
    index_sessions(d, [doc("default", in_tool), doc("default", in_prompt)])
    hits = search(d, "kumquat")
    assert [h.session_id for h in hits] == ["in-prompt", "in-tool"]
    assert hits[0].score > hits[1].score


def test_answer_outranks_thinking(tmp_path):
    d = tmp_path / "index"
    a = make_session("answer", [{"prompt": "q", "answer": "persimmon"}], start=T0)
    t = make_session("thinking", [{"prompt": "q", "thinking": "persimmon"}],
                     start=T0 + timedelta(days=5))
    index_sessions(d, [doc("default", t), doc("default", a)])
    assert [h.session_id for h in search(d, "persimmon")] == ["answer", "thinking"]


def test_equal_scores_newer_first(tmp_path):
    d = tmp_path / "index"
    turns = [{"prompt": "tangerine soup", "answer": "sure"}]
    old = make_session("old", turns, start=T0)
    new = make_session("new", turns, start=T0 + timedelta(days=3))
    mid = make_session("mid", turns, start=T0 + timedelta(days=1))
    # Indexed oldest first: Whoosh alone would return them in document order.
    index_sessions(d, [doc("default", old), doc("default", mid), doc("default", new)])
    hits = search(d, "tangerine")
    assert [h.session_id for h in hits] == ["new", "mid", "old"]
    assert hits[0].score == pytest.approx(hits[2].score)


def test_title_match_gives_session_hit(tmp_path):
    d = tmp_path / "index"
    s = make_session("titled", [{"prompt": "hello"}, {"prompt": "world"}],
                     title="Migrate billing to stripe")
    index_sessions(d, [doc("default", s)])
    hits = search(d, "stripe")
    assert len(hits) == 1 and hits[0].turn is None and hits[0].title == "Migrate billing to stripe"
    # Words from two different prompts: only the session document holds both.
    hits = search(d, "hello world")
    assert [(h.session_id, h.turn) for h in hits] == [("titled", None)]
    # When a turn matches too, the session document is not listed twice.
    assert [(h.turn) for h in search(d, "hello")] == [1]


def test_group_sessions(tmp_path):
    d = tmp_path / "index"
    many = make_session("many", [{"prompt": f"lychee number {i}"} for i in range(4)],
                        start=T0 + timedelta(days=1))
    one = make_session("one", [{"prompt": "lychee"}, {"prompt": "other"}], start=T0)
    index_sessions(d, [doc("default", many), doc("default", one)])
    flat = search(d, "lychee")
    assert len(flat) == 5
    grouped = search(d, "lychee", group_sessions=True)
    assert sorted(h.session_id for h in grouped) == ["many", "one"]
    assert all(h.turn is not None for h in grouped)
    by_sid = {h.session_id: h for h in grouped}
    assert by_sid["many"].score == pytest.approx(
        max(h.score for h in flat if h.session_id == "many")
    )
    assert len(search(d, "lychee", group_sessions=True, limit=1)) == 1


def test_limit(corpus):
    assert len(search(corpus, "bravo", limit=3)) == 3
    assert search(corpus, "bravo", limit=0) == []


# ------------------------------------------------------------------------------------------
# Updates


def test_incremental_append_reindexes_only_new_turns(tmp_path):
    d = tmp_path / "index"
    rnd = random.Random(1)
    turns = filler_turns(rnd, 5)
    turns[1]["prompt"] += " saffron"
    s = make_session("grow", turns)
    assert index_sessions(d, [doc("default", s)]) == 6
    assert doc_count(d) == 6

    turns = turns + [{"prompt": "now add nutmeg"}, {"prompt": "and cardamom"}]
    grown = make_session("grow", turns)
    with IndexWriter(d) as w:
        assert w.replace_session(doc("default", grown), from_turn=6) == 3  # turns 6, 7 + session
        w.commit(2)
    assert doc_count(d) == 8
    assert [(h.turn) for h in search(d, "nutmeg")] == [6]
    assert [(h.turn) for h in search(d, "saffron")] == [2]  # kept, not re-added
    assert [(h.turn) for h in search(d, "cardamom")] == [7]
    assert ix.indexed_snapshot(d) == 2

    # The last turn changed (it was still being written): re-index from it.
    turns[-1] = {"prompt": "and cinnamon instead"}
    changed = make_session("grow", turns)
    with IndexWriter(d) as w:
        assert w.replace_session(doc("default", changed), from_turn=7) == 2
        w.commit(3)
    assert doc_count(d) == 8
    assert search(d, "cardamom") == []
    assert [(h.turn) for h in search(d, "cinnamon")] == [7]


def test_replacing_same_key_twice_in_one_writer(tmp_path):
    d = tmp_path / "index"
    s1 = make_session("twice", [{"prompt": "first version"}])
    s2 = make_session("twice", [{"prompt": "second version"}, {"prompt": "more"}])
    with IndexWriter(d) as w:
        w.replace_session(doc("default", s1))
        w.replace_session(doc("default", s2))
        w.commit(1)
    assert doc_count(d) == 3
    assert search(d, "first") == []
    assert [h.turn for h in search(d, "second")] == [1]


def test_delete_key_and_set_gone(tmp_path):
    d = tmp_path / "index"
    a = make_session("a", [{"prompt": "walnut"}], title="Nuts")
    b = make_session("b", [{"prompt": "walnut"}])
    index_sessions(d, [doc("default", a), doc("default", b)])
    with IndexWriter(d) as w:
        w.delete_key(key_of("default", "b"))
        assert w.set_gone(key_of("default", "a"), True)
        assert not w.set_gone("no/such/key", True)
        w.commit(2)
    hits = search(d, "walnut")
    assert [(h.session_id, h.gone_from_source, h.title) for h in hits] == [("a", True, "Nuts")]
    assert doc_count(d) == 2
    # The rebuilt session document is still searchable by title and prompts.
    assert [h.turn for h in search(d, "nuts")] == [None]
    with IndexWriter(d) as w:
        w.set_gone(key_of("default", "a"), False)
        w.commit(3)
    assert not search(d, "walnut")[0].gone_from_source


def test_leaving_without_commit_cancels(tmp_path):
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "almond"}]))])
    with IndexWriter(d) as w:
        w.replace_session(doc("default", make_session("b", [{"prompt": "almond"}])))
    assert [h.session_id for h in search(d, "almond")] == ["a"]
    assert ix.indexed_snapshot(d) == 1


def test_subagent_fields(tmp_path):
    d = tmp_path / "index"
    s = make_session("parent-id", [{"prompt": "explore the hazelnut"}], agent_id="a1b2")
    index_sessions(d, [doc("default", s, parent_session_id="parent-id")])
    (hit,) = search(d, "hazelnut")
    assert hit.is_subagent and hit.agent_id == "a1b2"
    assert [h.agent_id for h in search(d, "is_subagent:true hazelnut")] == ["a1b2"]


# ------------------------------------------------------------------------------------------
# Visibility, versions, errors


def test_reader_sees_last_commit_only(tmp_path):
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "pistachio"}]))])
    before = ix.open_index(d).searcher()
    try:
        with IndexWriter(d) as w:
            w.replace_session(doc("default", make_session("b", [{"prompt": "pistachio"}])))
            # Uncommitted: a search right now neither waits nor sees b.
            t = time.monotonic()
            assert [h.session_id for h in search(d, "pistachio")] == ["a"]
            assert time.monotonic() - t < 5
            w.commit(2)
        assert before.doc_count() == 2  # the reader opened earlier still sees its snapshot
        assert sorted(h.session_id for h in search(d, "pistachio")) == ["a", "b"]
    finally:
        before.close()


def test_schema_version_mismatch(tmp_path):
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "x y z"}]))])
    meta = json.loads((d / "meta.json").read_text())
    meta["schema_version"] = SCHEMA_VERSION + 1
    (d / "meta.json").write_text(json.dumps(meta))
    for call in (lambda: search(d, "x"), lambda: doc_count(d), lambda: IndexWriter(d)):
        with pytest.raises(IndexOutOfDate) as e:
            call()
        assert "archive reindex" in e.value.hint
        assert f"schema version {SCHEMA_VERSION + 1}" in str(e.value)
        assert f"uses {SCHEMA_VERSION}" in str(e.value)
    ix.clear_index(d)  # what reindex does
    assert doc_count(d) == 0
    assert ix.indexed_snapshot(d) is None


def test_index_creation_interrupted_reads_as_no_index_yet(tmp_path, monkeypatch):
    """Creating an index writes meta.json before Whoosh's table of contents: dying in between
    leaves "no index yet" (which the next ingest fixes), not "built with schema version
    unknown" (which would wait for someone to run reindex)."""
    d = tmp_path / "index"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for the process dying right here

    monkeypatch.setattr(FileStorage, "create_index", killed)
    with pytest.raises(KeyboardInterrupt):
        IndexWriter(d)
    assert (d / "meta.json").exists()
    monkeypatch.undo()
    with pytest.raises(ArchiveError) as e:
        search(d, "x")
    assert not isinstance(e.value, IndexOutOfDate) and "no index yet" in str(e.value)
    assert index_sessions(d, [doc("default", make_session("a", [{"prompt": "mango"}]))]) == 2
    assert [h.session_id for h in search(d, "mango")] == ["a"]


def test_no_index_yet(tmp_path):
    with pytest.raises(ArchiveError, match="no index yet"):
        search(tmp_path / "missing", "x")
    assert ix.indexed_snapshot(tmp_path / "missing") is None


@pytest.mark.parametrize(
    "query",
    ['"unbalanced quote', "AND", "foo AND", "OR bar", "foo:bar", "title:", "(foo bar",
     "turn:abc", "the", "   ", "foo AND OR bar"],
)
def test_malformed_query(corpus, query):
    with pytest.raises(UsageError) as e:
        search(corpus, query)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("query", ["http://localhost:8080", "std::vector", "turn:[1 TO 3]",
                                   "NOT bravo", "bravo OR charlie", "brav*"])
def test_accepted_queries(corpus, query):
    search(corpus, query)  # must not raise


def test_permissions(tmp_path):
    d = tmp_path / "index"
    old = os.umask(0o022)
    try:
        with IndexWriter(d) as w:
            w.replace_session(doc("default", make_session("a", [{"prompt": "secret"}])))
            temp = d / "MAIN.tmp"
            if temp.exists():  # Whoosh's temp folder, while writing
                assert stat.S_IMODE(temp.stat().st_mode) == 0o700
            w.commit(1)
        assert os.umask(0o022) == 0o022  # restored
    finally:
        os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    entries = list(d.rglob("*"))
    assert any(p.name == "meta.json" for p in entries)
    for p in entries:
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.stat().st_mode) == want, p


# ------------------------------------------------------------------------------------------
# Crashes


def _run_and_kill(script: str, tmp_path: Path) -> str:
    """Run a Python script that SIGKILLs itself; return its stdout.

    Output goes to a file, not a pipe: orphaned children holding a pipe would make us wait.
    """
    out = tmp_path / "stdout.txt"
    with open(out, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            cwd=REPO, stdout=f, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        proc.wait(timeout=120)
    text = out.read_text()
    assert proc.returncode == -signal.SIGKILL, text
    return text


_WRITER_SCRIPT = """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from index_helpers import doc, make_session
    from archive.search import IndexWriter
    w = IndexWriter(Path({d!r}), procs={procs}, limitmb=1)
    for i in range(40):
        turns = [{{"prompt": "durian " + "x%d " % j * 200}} for j in range(5)]
        w.replace_session(doc("default", make_session("dead-%d" % i, turns)))
    print(" ".join(str(t.pid) for t in getattr(w._w, "tasks", [])), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("procs", [1, 2])
def test_recovers_after_writer_killed(tmp_path, procs):
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("kept", [{"prompt": "durian"}]))])
    before = sorted(os.listdir(d))
    out = _run_and_kill(
        _WRITER_SCRIPT.format(tests=str(Path(__file__).parent), d=str(d), procs=procs), tmp_path
    )
    workers = [int(p) for p in out.split()]
    if procs > 1:
        assert workers, "the writer should have started worker processes"
    try:
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "worker processes outlived the killed ingest"
    finally:
        for pid in workers:  # started by this test: never leave them running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert sorted(os.listdir(d)) != before  # the dead writer left files behind
    # Searches still see the last commit.
    assert [h.session_id for h in search(d, "durian")] == ["kept"]
    with IndexWriter(d) as w:
        w.replace_session(doc("default", make_session("new", [{"prompt": "durian"}])))
        w.commit(2)
    assert sorted(h.session_id for h in search(d, "durian")) == ["kept", "new"]
    leftovers = [n for n in os.listdir(d) if n.endswith(".tmp") or ".toc." in n]
    assert leftovers == []
    assert doc_count(d) == 4


def test_breaks_lock_held_by_stray_process(tmp_path, monkeypatch):
    """An orphaned worker keeps Whoosh's flock; the archive lock guarantees it is stale."""
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "quince"}]))])
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(d / "MAIN_WRITELOCK")!r}, os.O_CREAT | os.O_WRONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(writer, "LOCK_WAIT", 0.3)
        with IndexWriter(d) as w:
            w.replace_session(doc("default", make_session("b", [{"prompt": "quince"}])))
            w.commit(2)
        assert sorted(h.session_id for h in search(d, "quince")) == ["a", "b"]
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------------------
# Snippets, an empty index, merges, flushing


def test_snippet_window_spans():
    rnd = random.Random(5)
    for _ in range(200):
        words = [rnd.choice(FILLER + ["\n\n", "  ", "\t"]) for _ in range(rnd.randint(1, 150))]
        text = " ".join(words)
        spans = [(m.start(), m.end()) for m in re.finditer(r"kilo|zulu", text)]
        snippet, highlights = window(text, spans)
        assert "\n" not in snippet and "  " not in snippet and len(snippet) <= 230
        assert all(snippet[a:b] in ("kilo", "zulu") for a, b in highlights)
        if spans:
            assert highlights


def test_empty_index(tmp_path):
    d = tmp_path / "index"
    with IndexWriter(d) as w:
        w.commit(5)
    assert search(d, "anything") == []
    assert doc_count(d) == 0
    assert ix.indexed_snapshot(d) == 5


def _segment_counts(d) -> list[int]:
    with ix.open_index(d).searcher() as s:
        return sorted(leaf.doc_count_all() for leaf, _ in s.reader().leaf_readers())


def _daily(d, i: int) -> None:
    with IndexWriter(d) as w:
        w.replace_session(doc("default", make_session(f"s{i}", [{"prompt": f"olive {i}"}])))
        w.commit(i + 2)


def test_daily_segments_are_merged_in_size_steps(tmp_path, monkeypatch):
    """Small daily segments are merged four of a size at a time, so their number stays
    bounded; a first ingest's big segment is left alone."""
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 4)
    d = tmp_path / "index"
    rnd = random.Random(4)
    big = [doc("default", make_session(f"big{i}", filler_turns(rnd, 5))) for i in range(6)]
    index_sessions(d, big)  # one large segment (36 documents)
    (seg,) = [p for p in d.iterdir() if p.suffix == ".seg"]
    monkeypatch.setattr(merges, "MERGE_MAX_BYTES", seg.stat().st_size - 1)
    for i in range(24):
        _daily(d, i)
        counts = _segment_counts(d)
        assert len(counts) < 2 * merges.MAX_SEGMENTS and 36 in counts
    assert len(counts) < 24  # without merging: one segment per commit
    assert doc_count(d) == 36 + 2 * 24
    assert len(search(d, "olive", limit=50)) == 24


def test_segments_as_big_as_the_largest_are_merged_too(tmp_path, monkeypatch):
    """Merging only "segments under 1/4 of the largest" never merged daily segments as big as
    the first: the index grew by one segment a day, and every search with it."""
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 4)
    d = tmp_path / "index"
    for i in range(20):
        _daily(d, i)
        assert len(_segment_counts(d)) < 2 * merges.MAX_SEGMENTS
    assert len(search(d, "olive", limit=50)) == 20


def test_a_small_commit_leaves_big_merges_to_big_ones(tmp_path, monkeypatch):
    """A commit merges at most MERGE_BUDGET_FACTOR times the text it adds (or the minimum):
    a nightly ingest adding little does not pay for merging the first ingest's big segments,
    a big batch does, and the segment count stays bounded by it."""
    monkeypatch.setattr(merges, "MAX_SEGMENTS", 2)  # merge whatever the tier from 4 segments
    monkeypatch.setattr(merges, "MERGE_MAX_BYTES", 0)  # no tier merges: only that rule
    monkeypatch.setattr(merges, "MERGE_BUDGET_MIN", 1)
    d = tmp_path / "index"
    rnd = random.Random(6)
    for n in range(4):  # four big segments, as a first ingest leaves
        index_sessions(d, [doc("default", make_session(f"b{n}-{i}", filler_turns(rnd, 8)))
                           for i in range(6)], snapshot=n + 1)
    assert len(_segment_counts(d)) == 4
    big = sum(p.stat().st_size for p in d.glob("*.seg"))
    _daily(d, 0)  # a few words: far under the merge it would take
    assert len(_segment_counts(d)) == 5
    with IndexWriter(d) as w:  # a batch with more text than the segments it would merge
        for i in range(12):
            w.replace_session(doc("default", make_session(f"n{i}", filler_turns(rnd, 40))))
        assert w._pending * merges.MERGE_BUDGET_FACTOR > big
        w.commit(9)
    assert len(_segment_counts(d)) < 5
    assert doc_count(d) == 4 * 6 * 9 + 2 + 12 * 41


def test_large_batches_are_flushed_before_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "FLUSH_TEXT_MB", 0.0005)  # ~500 characters
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("old", [{"prompt": "plum"}]))], snapshot=1)
    rnd = random.Random(2)
    with IndexWriter(d) as w:
        for i in range(6):
            w.replace_session(doc("default", make_session(f"n{i}", filler_turns(rnd, 2))))
        # Flushed for speed, but the snapshot is recorded only by commit().
        assert doc_count(d) > 2
        assert ix.indexed_snapshot(d) == 1
        w.commit(2)
    assert doc_count(d) == 2 + 6 * 3
    assert ix.indexed_snapshot(d) == 2


def test_equal_scores_newer_first_across_the_limit(tmp_path):
    d = tmp_path / "index"
    turns = [{"prompt": "tamarind", "answer": "ok"}]
    docs = [doc("default", make_session(f"s{i:02d}", turns, start=T0 + timedelta(days=i)))
            for i in range(40)]
    index_sessions(d, docs)  # oldest first: lowest document numbers
    hits = search(d, "tamarind", limit=3)
    assert [h.session_id for h in hits] == ["s39", "s38", "s37"]


def test_snippets_never_show_part_of_a_secret(tmp_path):
    """Secrets are masked before the snippet window is cut: a window edge that falls inside a
    secret must not leave its other part readable (the private key's body, the token's
    tail), whatever the offset."""
    key_body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    private_key = "".join(["-----BEGIN OPENSSH ", "PRIVATE KEY-----\n", key_body, "\n",
                           "-----END OPENSSH ", "PRIVATE KEY-----"])
    token = "".join(["gh", "p_", "aB3dE6gH9kLmN0pQrS2tUv4wXy5zaB3dE6gH"])
    d = tmp_path / "index"
    docs = []
    for n, gap in enumerate(range(0, 260, 9)):
        prompt = (f"zanzibar {'w ' * gap}{token} {'v ' * (gap // 2)}{private_key} tail "
                  + "filler " * 40)
        docs.append(doc("default", make_session(f"s{n}", [{"prompt": prompt}])))
    index_sessions(d, docs)
    hits = search(d, "zanzibar", limit=100, redact=True)
    assert len(hits) == len(docs)
    pieces = [key_body[i : i + 6] for i in range(0, len(key_body) - 6, 3)]
    pieces += [token[i : i + 6] for i in range(3, len(token) - 6, 3)]
    for h in hits:
        assert not [p for p in pieces if p in h.snippet], h.snippet
        assert any(h.snippet[a:b].lower() == "zanzibar" for a, b in h.highlights)
    plain = search(d, "zanzibar", limit=100)
    assert any(token[3:12] in h.snippet for h in plain)  # unmasked unless asked


def test_a_kept_searcher_sees_every_commit_and_rebuild(tmp_path):
    """Searches reuse an open searcher until the index changes: a commit, or a rebuild that
    reuses the same generation numbers, must be seen by the next search of the process."""
    d = tmp_path / "index"
    index_sessions(d, [doc("default", make_session("a", [{"prompt": "papaya one"}]))])
    assert [h.session_id for h in search(d, "papaya")] == ["a"]
    index_sessions(d, [doc("default", make_session("b", [{"prompt": "papaya two"}]))], 2)
    assert sorted(h.session_id for h in search(d, "papaya")) == ["a", "b"]
    ix.clear_index(d)
    index_sessions(d, [doc("default", make_session("c", [{"prompt": "papaya three"}]))])
    assert [h.session_id for h in search(d, "papaya")] == ["c"]




def test_one_filters_dataclass_for_sessions_and_search():
    """``archive sessions`` and the index read the same SearchFilters (no field-by-field copy)."""
    import archive.filters

    assert SearchFilters is archive.filters.SearchFilters
