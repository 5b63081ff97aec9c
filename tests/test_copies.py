"""Sessions by name, and one session held by several profiles (identical or diverged)."""

from __future__ import annotations

import shutil
import uuid

import orjson
from conftest import FASTHOOKS_ID, SHORT_ID

SHORT_PROJECT = "-home-marco-projects-spotter"


def _line(**fields) -> bytes:
    return orjson.dumps(fields) + b"\n"


def _turn(session_id: str, prompt: str, answer: str, when: str) -> bytes:
    user = str(uuid.uuid4())
    return _line(
        type="user", uuid=user, parentUuid=None, isSidechain=False, sessionId=session_id,
        cwd="/home/marco/projects/spotter", timestamp=when,
        message={"role": "user", "content": prompt},
    ) + _line(
        type="assistant", uuid=str(uuid.uuid4()), parentUuid=user, isSidechain=False,
        sessionId=session_id, cwd="/home/marco/projects/spotter", timestamp=when,
        message={"role": "assistant", "model": "claude-opus-4-1", "id": f"msg_{user}",
                 "content": [{"type": "text", "text": answer}]},
        requestId=f"req_{user}",
    )


def _rename(path, session_id: str, name: str) -> None:
    with open(path, "ab") as fh:
        fh.write(_line(type="custom-title", customTitle=name, sessionId=session_id))


def test_session_is_found_by_its_custom_name(home, cli):
    path = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    _rename(path, SHORT_ID, "auth-feature")
    cli.json("ingest")
    shown = cli.json("show", "Auth-Feature")
    assert shown["session_id"] == SHORT_ID
    assert shown["custom_title"] == "auth-feature"
    assert cli.json("versions", "auth-feature")[0]["path"].endswith(f"{SHORT_ID}.jsonl")
    assert cli("cat", "auth-feature").stdout_bytes == path.read_bytes()
    rows = cli.json("sessions", "--name", "auth")
    assert [r["session_id"] for r in rows] == [SHORT_ID]
    assert rows[0]["name"] == "auth-feature"
    plan = cli.json("restore", "auth-feature", "--to", "work", "--dry-run")
    assert plan["session_id"] == SHORT_ID
    hits = cli.json("search", "start OR the", "--session", "auth-feature", "--limit", "50")
    assert hits and {h["session_id"] for h in hits} == {SHORT_ID}
    exported = cli("export", "auth-feature", "--format", "json").stdout
    assert orjson.loads(exported)["session_id"] == SHORT_ID


def test_ambiguous_name_exits_2_and_lists_candidates(home, cli):
    _rename(home.session_file("default", SHORT_PROJECT, SHORT_ID), SHORT_ID, "same-name")
    _rename(
        home.session_file("personal", "-workspace", FASTHOOKS_ID), FASTHOOKS_ID, "same-name"
    )
    cli.json("ingest")
    result = cli("show", "same-name", code=2)
    assert "name of 2 sessions" in result.stderr
    assert SHORT_ID in result.stderr and FASTHOOKS_ID in result.stderr
    assert "personal" in result.stderr and "/workspace" in result.stderr


def _copy_to_work(home):
    src = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    dest = home.session_file("work", SHORT_PROJECT, SHORT_ID)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return src, dest


def test_identical_copies_are_one_session_in_several_profiles(home, cli):
    _copy_to_work(home)
    cli.json("ingest")
    hits = [h for h in cli.json("search", "phx.server") if h["session_id"] == SHORT_ID]
    assert len(hits) == 1
    assert hits[0]["profiles"] == ["default", "work"]
    rows = [r for r in cli.json("sessions") if r["session_id"] == SHORT_ID]
    assert len(rows) == 1
    assert rows[0]["profiles"] == ["default", "work"]
    assert rows[0]["diverged"] is False
    diff = cli.json("diff", SHORT_ID)
    assert diff["identical"] is True and diff["first_differing_turn"] is None


def test_a_copy_that_only_grew_is_not_diverged(home, cli):
    src, _dest = _copy_to_work(home)
    with open(src, "ab") as fh:
        fh.write(_turn(SHORT_ID, "only the original grows", "fine", "2026-02-11T10:00:00.000Z"))
    cli.json("ingest")
    row = next(r for r in cli.json("sessions") if r["session_id"] == SHORT_ID)
    assert row["diverged"] is False
    assert sorted(c["turns"] for c in row["copies"]) == [1, 2]


def test_diverged_copies_are_flagged_and_diff_names_the_first_differing_turn(home, cli):
    src, dest = _copy_to_work(home)
    with open(src, "ab") as fh:
        fh.write(_turn(SHORT_ID, "default asks about caching", "use ETS", "2026-02-11T10:00:00Z"))
    with open(dest, "ab") as fh:
        fh.write(_turn(SHORT_ID, "work asks about logging", "use Logger", "2026-02-12T10:00:00Z"))
    cli.json("ingest")
    row = next(r for r in cli.json("sessions") if r["session_id"] == SHORT_ID)
    assert row["diverged"] is True
    assert {c["profile"]: c["turns"] for c in row["copies"]} == {"default": 2, "work": 2}
    diff = cli.json("diff", SHORT_ID, "--from", "default", "--from", "work")
    assert diff["diverged"] is True
    assert diff["first_differing_turn"] == 2
    text = cli("diff", SHORT_ID).stdout
    assert "different from turn 2" in text
    hits = cli.json("search", "phx.server")
    assert sorted(h["profile"] for h in hits if h["session_id"] == SHORT_ID) == [
        "default", "work"
    ]


def test_diff_of_a_session_with_one_copy_is_a_usage_error(home, cli):
    cli.json("ingest")
    result = cli("diff", SHORT_ID, code=2)
    assert "nothing to compare" in result.stderr


def test_the_listing_page_is_the_first_copy_of_each_session_in_listing_order(home, cli):
    """`sessions` takes its order in SQL and reads whole rows for the page only: the same rows
    as every row read, ordered and de-duplicated in Python (newest first, or largest context
    first with ties newest first), for each page size, filter and both orders."""
    from archive.filters import SearchFilters
    from archive.repo import Repository

    src, _dest = _copy_to_work(home)  # a session in two profiles, the original grown
    with open(src, "ab") as fh:
        fh.write(_turn(SHORT_ID, "the original grows", "fine", "2026-02-11T10:00:00.000Z"))
    cli.json("ingest")
    with Repository(home.archive, readonly=True) as repo:
        catalog = repo.catalog
        for filters in (SearchFilters(), SearchFilters(profile="work"),
                        SearchFilters(project="spotter")):
            for by_context in (False, True):
                everything = catalog.session_rows(*catalog._session_filter(filters))
                if by_context:
                    everything.sort(key=lambda r: r["context_tokens"] or 0, reverse=True)
                expected, seen = [], set()
                for r in everything:
                    if r["session_id"] not in seen:
                        seen.add(r["session_id"])
                        expected.append(r)
                for limit in (None, 1, 2, 50):
                    rows, total = catalog.session_page(filters, limit, by_context=by_context)
                    assert total == len(expected)
                    assert rows == expected[:limit] if limit else rows == expected
        all_rows, total = catalog.session_page(SearchFilters(), None)
    assert total >= 3 and len({r["session_id"] for r in all_rows}) == total
    assert [r["profile"] for r in all_rows if r["session_id"] == SHORT_ID] == ["default"]


def test_diff_says_in_words_which_copy_grew_or_that_both_changed(home, cli):
    """Each of diff's verdicts is a sentence naming what happened: identical, only one copy grew
    (named), both changed."""
    src, dest = _copy_to_work(home)
    cli.json("ingest")
    same = cli("diff", SHORT_ID, "--from", "work", "--from", "default").stdout
    assert "They are identical (same bytes)." in same
    with open(dest, "ab") as fh:
        fh.write(_turn(SHORT_ID, "work asks about logging", "use Logger", "2026-02-12T10:00:00Z"))
    cli.json("ingest")
    grew = cli("diff", SHORT_ID, "--from", "work", "--from", "default").stdout
    assert "Only work grew after the copy; same up to turn 1, different from turn 2." in grew
    assert "They one" not in grew
    with open(src, "ab") as fh:
        fh.write(_turn(SHORT_ID, "default asks about caching", "use ETS", "2026-02-11T10:00:00Z"))
    cli.json("ingest")
    both = cli("diff", SHORT_ID, "--from", "work", "--from", "default").stdout
    assert ("Both changed after the copy (they diverged); same up to turn 1, different from "
            "turn 2.") in both
