"""A lost catalog is refused, never re-initialised, and rebuilt from the snapshot manifests
(issue 14, item 6)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
from conftest import SHORT_ID
from test_search_cli import make_session

from archive.errors import EXIT_DAMAGED
from archive.faults import FAULT_ENV

REPO = Path(__file__).resolve().parent.parent


def catalog_state(archive: Path) -> dict:
    """Everything the catalog records of the archive's history (not the derived tables, not
    the stat cache), in a form independent of row ids."""
    con = sqlite3.connect(archive / "catalog.sqlite")
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "snapshots": q("SELECT * FROM snapshots ORDER BY id"),
            "files": q("SELECT profile, relpath, kind, session_id, first_snapshot, gone_snapshot "
                       "FROM files ORDER BY profile, relpath"),
            "versions": q(
                "SELECT f.profile, f.relpath, v.seq, v.sha256, v.size, v.snapshot_id, "
                "v.captured_at, v.mtime_ns, b.seq, "
                "(SELECT group_concat(chunk, ',') FROM (SELECT chunk FROM version_chunks "
                " WHERE version_id = v.id ORDER BY pos)) "
                "FROM versions v JOIN files f ON f.id = v.file_id "
                "LEFT JOIN versions b ON b.id = v.appended_to ORDER BY f.profile, f.relpath, v.seq"
            ),
            "chunks": q("SELECT * FROM chunks ORDER BY sha256"),
        }
    finally:
        con.close()


def _session(home: Path, profile_dir: Path, word: str) -> tuple[str, Path]:
    sid = str(uuid.uuid4())
    path = profile_dir / "projects" / f"-p-{word}" / f"{sid}.jsonl"
    make_session(path, sid, f"/p/{word}", "main", "claude-x", [(f"the {word} question", "ok")])
    return sid, path


def _append(path: Path, sid: str, text: str) -> None:
    with open(path, "ab") as fh:
        fh.write(orjson.dumps({"type": "user", "sessionId": sid, "uuid": str(uuid.uuid4()),
                               "message": {"role": "user", "content": text},
                               "timestamp": "2026-11-21T10:00:00.000Z"}) + b"\n")


def _history(home, cli) -> tuple[list[str], str, Path]:
    """Several snapshots: 47 sessions deleted at the source, one back unchanged, one back
    changed, appends, a rewrite. Returns the gone ids, a grown session and its path."""
    root = home.root("work")
    made = [_session(home.path, root, f"word{n}") for n in range(47)]
    cli.json("ingest")
    grown_sid, grown = _session(home.path, root, "tapir")
    cli.json("ingest")
    _append(grown, grown_sid, "the okapi follow-up")
    for _sid, path in made:
        path.rename(path.with_suffix(".bak"))  # deleted at the source
    assert cli.json("ingest")["gone_from_source"] == 47
    made[0][1].with_suffix(".bak").rename(made[0][1])  # back, unchanged
    made[1][1].with_suffix(".bak").rename(made[1][1])
    _append(made[1][1], made[1][0], "the wombat afterthought")  # back, changed
    _append(grown, grown_sid, "the dugong second follow-up")
    cli.json("ingest")
    short = home.session_file("default", "-home-marco-projects-spotter", SHORT_ID)
    short.write_bytes(short.read_bytes()[: len(short.read_bytes()) // 2])  # rewritten shorter
    cli.json("ingest")
    return [sid for sid, _ in made[2:]], grown_sid, grown


def test_emptied_catalog_is_refused_then_repaired_with_every_version_and_gone_flag(home, cli):
    gone, grown_sid, grown = _history(home, cli)
    before = catalog_state(home.archive)
    assert len(before["snapshots"]) == 5 and sum(1 for f in before["files"] if f[5]) >= 45
    catalog = home.archive / "catalog.sqlite"
    catalog.write_bytes(b"")  # truncated to 0 bytes

    for args in (["ingest"], ["verify"], ["reindex"], ["sessions"], ["versions", grown_sid]):
        result = cli(*args, code=EXIT_DAMAGED)
        assert "archive repair" in result.stderr and "Traceback" not in result.stderr, args
        assert catalog.read_bytes() == b"", args  # never re-initialised

    out = cli.json("repair")
    assert out["ok"] and out["needed"] and out["versions"] == len(before["versions"])
    assert out["gone_from_source"] == sum(1 for f in before["files"] if f[5])
    assert len(out["moved_aside"]) == 1
    assert (home.archive / out["moved_aside"][0]).read_bytes() == b""  # kept, not deleted
    assert catalog_state(home.archive) == before

    assert cli.json("verify")["ok"] is True
    cli("reindex")
    assert cli.json("search", "dugong")[0]["session_id"] == grown_sid
    assert cli.json("search", "word5")[0]["session_id"] in gone  # a gone session, still found
    assert cli.json("search", "word5")[0]["gone_from_source"] is True
    assert cli("cat", grown_sid).stdout_bytes == grown.read_bytes()
    nxt = cli.json("ingest")
    assert nxt["versions_added"] == 0 and nxt["snapshot"] == 6
    after = catalog_state(home.archive)
    assert after["files"] == before["files"] and after["versions"] == before["versions"]


def test_a_crash_between_manifest_and_commit_is_harmless(space, cli):
    home, archive = space
    root = home / ".ccs" / "instances" / "work"
    sids = [_session(home, root, f"w{n}") for n in range(5)]
    cli.json("ingest")
    _append(sids[0][1], sids[0][0], "the ibis remark")
    _session(home, root, "kiwi")
    env = {k: v for k, v in os.environ.items() if k not in (FAULT_ENV, "ARCHIVE_DEBUG")}
    env.update(PYTHONPATH=str(REPO), **{FAULT_ENV: "after-manifest-before-commit"})
    crashed = subprocess.run([sys.executable, "-m", "archive", "ingest", "-q"], env=env,
                             cwd=REPO, capture_output=True, timeout=300)
    assert crashed.returncode == 137, crashed.stderr.decode()[-2000:]
    assert cli.json("verify")["ok"] is True
    cli.json("ingest")  # records the same batch again, in snapshot 3
    before = catalog_state(archive)
    (archive / "catalog.sqlite").unlink()
    assert cli("ingest", code=EXIT_DAMAGED)
    assert not (archive / "catalog.sqlite").exists()
    out = cli.json("repair")
    assert out["ok"] and out["moved_aside"] == []
    after = catalog_state(archive)
    # The same versions and bytes; the crashed batch's versions are dated by its own snapshot.
    strip = lambda rows: [r[:5] + r[7:] for r in rows]  # noqa: E731  (no snapshot, no time)
    assert strip(after["versions"]) == strip(before["versions"])
    assert after["chunks"] == before["chunks"]
    assert {r[5] for r in after["versions"]} - {r[5] for r in before["versions"]} == {2}
    assert cli.json("verify")["ok"] is True


def test_repair_names_a_damaged_manifest_and_keeps_the_garbled_catalog(home, cli):
    cli.json("ingest")
    manifests = sorted((home.archive / "manifests").iterdir())
    assert manifests and all(p.stat().st_mode & 0o077 == 0 for p in manifests)
    victim = manifests[0]
    blob = bytearray(victim.read_bytes())
    blob[-5] ^= 0xFF
    victim.write_bytes(bytes(blob))
    report = cli.json("verify", code=1)
    assert [(d["what"], d["name"]) for d in report["damage"]] == [("manifest", victim.name)]
    garbage = b"SQLite format 3\x00" + os.urandom(5000)
    (home.archive / "catalog.sqlite").write_bytes(garbage)
    result = cli("repair", "--json", code=1)
    out = orjson.loads(result.stdout)
    assert out["damaged_manifests"] == [
        {"name": victim.name, "problem": "content does not match its hash"}
    ]
    assert victim.name in result.stderr
    assert (home.archive / out["moved_aside"][0]).read_bytes() == garbage


def test_sound_catalog_is_left_alone_and_dry_run_changes_nothing(home, cli):
    cli.json("ingest")
    before = catalog_state(home.archive)
    out = cli.json("repair")
    assert out["needed"] is False and out["moved_aside"] == []
    forced = cli.json("repair", "--force")
    assert forced["needed"] is False
    assert [n for n in forced["moved_aside"] if n.endswith(".sqlite")] == [
        n for n in os.listdir(home.archive) if n.startswith("catalog.replaced-") and
        n.endswith(".sqlite")
    ]
    assert catalog_state(home.archive) == before
    for p in (home.archive / "manifests").iterdir():
        if p.name.split("-")[1] == "00001":
            p.unlink()  # the manifests no longer hold every version: --force must not lose them
    result = cli("repair", "--force", code=1)
    assert "kept the catalog" in result.stderr
    assert catalog_state(home.archive) == before
    (home.archive / "catalog.sqlite").write_bytes(b"")
    dry = cli.json("repair", "--dry-run")
    assert dry["needed"] and dry["versions"] < len(before["versions"])
    assert (home.archive / "catalog.sqlite").read_bytes() == b""
    assert not any(p.name.startswith("catalog.damaged") for p in home.archive.iterdir())
    assert len([n for n in os.listdir(home.archive) if n.startswith("catalog.replaced-")
                and n.endswith(".sqlite")]) == 1


def test_an_archive_from_before_manifests_gets_a_baseline_at_its_next_ingest(home, cli):
    cli.json("ingest")
    for p in (home.archive / "manifests").iterdir():
        p.unlink()  # as an archive written before manifests existed
    report = cli.json("verify")
    assert report["manifests_checked"] == 0 and report["unmanifested_versions"] > 0
    _append(home.session_file("default", "-home-marco-projects-spotter", SHORT_ID), SHORT_ID,
            "the capybara note")
    cli.json("ingest")
    assert cli.json("verify")["unmanifested_versions"] == 0
    before = catalog_state(home.archive)
    (home.archive / "catalog.sqlite").write_bytes(b"")
    cli.json("repair")
    assert catalog_state(home.archive) == before
