"""Nightly operation: the crontab line, the ingest log, at-risk and lost, through the real CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from conftest import BIG_ID, FASTHOOKS_ID, SHORT_ID

from archive import schedule
from archive.catalog import Catalog
from archive.ingest import IngestError, IngestResult, ingest
from archive.retention import at_risk, cleanup_period, unarchived_at_risk
from archive.roots import discover_roots
from archive.runlog import append_failure, append_run, last_run, read_runs

REAL_CRONTAB = shutil.which("crontab")  # looked up before any test puts a fake first on PATH
DAY = 86400

W1 = "ef958aa1-0e93-49f0-bb71-150f63befcd1"  # work, -experiments-worktrees
W2 = "29ccd257-68b1-427f-ae5f-6524b7cb6f20"  # work, -src-experiments-claude-p
P1 = "3680252d-d4e3-4416-bddd-8f5b5b4fdb7f"  # personal, -Users-dain-workspace-danieldemmel-me-next
SHORT_PROJECT = "-home-marco-projects-spotter"
BIG_PROJECT = "-home-USER-projects-spotter-worktrees-spotter-4te"


def build_archive(home) -> IngestResult:
    """Setup through the library without the index: `archive ingest`'s index part is being
    finished in another change (switch to cli("ingest") once it passes)."""
    return ingest(home.archive, discover_roots(), durable=False, index=False)


# -- schedule: the crontab line ------------------------------------------------------------------


@pytest.fixture
def fake_crontab(tmp_path, monkeypatch) -> Path:
    """A ``crontab`` first on PATH that keeps the crontab in a file; returns that file."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    store = tmp_path / "crontab.txt"
    script = bindir / "crontab"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        f"  -l) if [ -f '{store}' ]; then cat '{store}'; "
        'else echo "no crontab for ${USER:-me}" >&2; exit 1; fi ;;\n'
        f"  -) cat > '{store}' ;;\n"
        '  *) echo "fake crontab: unsupported $*" >&2; exit 2 ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return store


def expected_line(home, hour: int = 3, minute: int = 17) -> str:
    adir = home.archive
    return (
        f"{minute} {hour} * * * {sys.executable} -m archive ingest --quiet "
        f"--archive-dir {adir} --log {adir}/logs/ingest.log # session-archive"
    )


FOREIGN = (
    b'SHELL=/bin/bash\nMAILTO=""\n# nightly jobs   (keep me)\n'
    b"*/5 * * * * date +\\%s >> /tmp/ticks  # trailing comment\n"
    b"\n@reboot echo 'hi'\t\n"
)


def test_schedule_install_again_at_and_remove_keep_foreign_lines(home, cli, fake_crontab):
    fake_crontab.write_bytes(FOREIGN)
    result = cli("schedule", "install")
    assert fake_crontab.read_bytes() == FOREIGN + expected_line(home).encode() + b"\n"
    assert expected_line(home) in result.stdout

    cli("schedule", "install")  # idempotent
    assert fake_crontab.read_bytes() == FOREIGN + expected_line(home).encode() + b"\n"

    result = cli("schedule", "install", "--at", "22:05")  # replaces ours, in place
    assert fake_crontab.read_bytes() == FOREIGN + expected_line(home, 22, 5).encode() + b"\n"
    assert "03:17" in result.stdout

    shown = cli.json("schedule", "show")
    assert shown["installed"] is True
    assert shown["line"] == expected_line(home, 22, 5) and shown["at"] == "22:05"
    assert shown["log"] == str(home.archive / "logs" / "ingest.log")
    assert shown["last_run"] is None

    result = cli("schedule", "remove")
    assert expected_line(home, 22, 5) in result.stdout
    assert fake_crontab.read_bytes() == FOREIGN
    cli("schedule", "remove")  # nothing to remove is fine
    assert fake_crontab.read_bytes() == FOREIGN
    result = cli("schedule", "show", code=1)
    assert "no session-archive line" in result.stderr


def test_schedule_ours_between_foreign_lines_is_replaced_in_place(home, cli, fake_crontab):
    before, after = b"# top\n1 1 * * * a\n", b"2 2 * * * b\n# end"
    old = b"0 4 * * * /old/archive ingest # session-archive\n"
    duplicate = b"0 5 * * * /older/archive ingest   # session-archive\n"
    disabled = b"# 0 6 * * * /x/archive ingest # session-archive\n"
    fake_crontab.write_bytes(before + old + disabled + duplicate + after)
    cli("schedule", "install")
    assert fake_crontab.read_bytes() == (
        before + expected_line(home).encode() + b"\n" + disabled + after
    )
    cli("schedule", "remove")
    assert fake_crontab.read_bytes() == before + disabled + after


def test_schedule_missing_final_newline_is_kept(home, cli, fake_crontab):
    foreign = b"MAILTO=me@example.com\n# no newline at the end\n1 2 * * * true"
    fake_crontab.write_bytes(foreign)
    cli("schedule", "install")
    assert fake_crontab.read_bytes() == expected_line(home).encode() + b"\n" + foreign
    cli("schedule", "remove")
    assert fake_crontab.read_bytes() == foreign


def test_schedule_from_no_crontab(home, cli, fake_crontab):
    cli("schedule", "show", code=1)  # `crontab -l` exit 1 "no crontab for …" is not an error
    cli("schedule", "install", "--at", "7:00")
    assert fake_crontab.read_bytes() == expected_line(home, 7, 0).encode() + b"\n"
    cli("schedule", "remove")
    assert fake_crontab.read_bytes() == b""


def test_schedule_show_reports_the_last_run(home, cli, fake_crontab):
    cli("schedule", "install")
    log = home.archive / "logs" / "ingest.log"
    result = build_archive(home)
    append_run(log, result)
    shown = cli.json("schedule", "show")
    assert shown["last_run"]["snapshot"] == result.snapshot
    assert shown["last_run"]["files_seen"] == result.files_seen > 0
    assert shown["last_run"]["status"] == "ok"
    text = cli("schedule", "show").stdout
    assert f"snapshot {result.snapshot}" in text and "0 errors" in text


def test_schedule_without_crontab_prints_the_line(home, cli, tmp_path, monkeypatch):
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = cli("schedule", "install", code=1)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "crontab is not installed" in result.stderr
    assert result.stdout.strip() == expected_line(home)
    result = cli("schedule", "remove", code=1)
    assert "no crontab command" in result.stderr


def test_schedule_bad_time_is_a_usage_error(home, cli, fake_crontab):
    result = cli("schedule", "install", "--at", "24:00", code=2)
    assert "HH:MM" in result.stderr
    assert not fake_crontab.exists()


def test_cron_line_quotes_paths_escapes_percent_and_keeps_root_env(tmp_path):
    adir = tmp_path / "my archive 100%"
    line = schedule.cron_line(
        adir, "00:00", entry=["/opt/x y/archive"], environ={"CLAUDE_CONFIG_DIR": "/c d"}
    )
    assert line.startswith("0 0 * * * CLAUDE_CONFIG_DIR='/c d' '/opt/x y/archive' ingest --quiet")
    assert f"'{tmp_path}/my archive 100\\%'" in line
    assert "%'" not in line.replace("\\%", "")  # every % is escaped for cron
    assert line.endswith(" # session-archive") and schedule.is_ours(line)
    assert schedule.line_option(line, "--log") == f"{adir}/logs/ingest.log"


def test_entry_point_is_the_console_script_or_python_m(tmp_path):
    script = tmp_path / "bin" / "archive"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    link = tmp_path / "archive"
    link.symlink_to(script)
    assert schedule.entry_point(str(link), "/v/bin/python") == [str(script.resolve())]
    main = str(Path(schedule.__file__).parent / "__main__.py")
    assert schedule.entry_point(main, "/v/bin/python") == ["/v/bin/python", "-m", "archive"]
    assert schedule.entry_point("/usr/bin/pytest", "/v/bin/python")[1:] == ["-m", "archive"]


@pytest.mark.skipif(REAL_CRONTAB is None, reason="no crontab (Debian: apt-get install cron)")
def test_real_crontab_round_trip(home, cli):
    """Against the real binary; the user's crontab is saved first and restored after."""
    saved = subprocess.run([REAL_CRONTAB, "-l"], capture_output=True)
    had = saved.returncode == 0
    if not had and b"no crontab" not in saved.stderr.lower():
        pytest.skip(f"crontab -l fails here: {saved.stderr.decode(errors='replace').strip()}")
    foreign = saved.stdout if had else b""
    foreign += b"" if not foreign or foreign.endswith(b"\n") else b"\n"
    foreign += b'MAILTO=""\n# session-archive test: a foreign line\n'
    try:
        subprocess.run([REAL_CRONTAB, "-"], input=foreign, check=True)
        cli("schedule", "install")
        cli("schedule", "install", "--at", "04:44")
        listed = subprocess.run([REAL_CRONTAB, "-l"], capture_output=True, check=True).stdout
        assert listed == foreign + expected_line(home, 4, 44).encode() + b"\n"
        assert cli.json("schedule", "show")["at"] == "04:44"
        cli("schedule", "remove")
        listed = subprocess.run([REAL_CRONTAB, "-l"], capture_output=True, check=True).stdout
        assert listed == foreign
    finally:
        if had:
            subprocess.run([REAL_CRONTAB, "-"], input=saved.stdout, check=True)
        else:
            subprocess.run([REAL_CRONTAB, "-r"], check=False)
    restored = subprocess.run([REAL_CRONTAB, "-l"], capture_output=True)
    assert restored.returncode == saved.returncode and restored.stdout == saved.stdout


# -- the ingest log ------------------------------------------------------------------------------


def _result(n: int, errors: int = 0) -> IngestResult:
    return IngestResult(
        snapshot=n, files_seen=10 * n, versions_added=n, seconds=1.5,
        errors=[IngestError("work", f"projects/-p/{i}.jsonl", "Permission denied")
                for i in range(errors)],
    )


def test_runlog_keeps_the_last_runs_privately(tmp_path):
    log = tmp_path / "logs" / "sub" / "ingest.log"
    assert last_run(log) is None
    for n in range(1, 16):
        append_run(log, _result(n, errors=n % 3), keep_runs=10)
    runs = read_runs(log)
    assert [r["snapshot"] for r in runs] == list(range(6, 16))
    last = last_run(log)
    assert last["snapshot"] == 15 and last["files_seen"] == 150
    assert last["status"] == "ok" and last["error_count"] == 0
    assert runs[-2]["status"] == "errors" and runs[-2]["error_count"] == 2
    assert runs[-2]["errors"][1] == {
        "profile": "work", "path": "projects/-p/1.jsonl", "error": "Permission denied"
    }
    assert last["finished"].endswith("Z") and last["started"] < last["finished"]
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.parent.parent.stat().st_mode) == 0o700
    assert [p.name for p in log.parent.iterdir()] == ["ingest.log"]  # no temp file left


def test_runlog_size_cap_and_odd_paths(tmp_path):
    log = tmp_path / "ingest.log"
    for n in range(1, 30):
        append_run(log, _result(n, errors=40), max_bytes=8000)
        assert log.stat().st_size <= 8000
    assert last_run(log)["snapshot"] == 29
    assert 1 < len(read_runs(log)) < 10
    append_run(log, _result(30, errors=5000), max_bytes=8000)  # the newest alone is too big
    assert log.stat().st_size <= 8000
    assert last_run(log)["error_count"] == 5000 and last_run(log)["errors_omitted"] > 0
    odd = IngestResult(snapshot=31, errors=[
        IngestError("p", 'projects/a\nrun x="y"\u2028 b.jsonl', "boom\n  error fake=1")
    ])
    append_run(log, odd, max_bytes=8000)
    assert last_run(log)["errors"] == [odd.errors[0].to_dict()]
    append_failure(log, "another process is writing the archive", exit_code=75)
    assert last_run(log)["status"] == "failed" and last_run(log)["exit_code"] == 75
    assert read_runs(log)[-2]["snapshot"] == 31


def test_runlog_never_holds_transcript_content(home, tmp_path):
    phrase = "zebra-quokka-7781-never-log-me"
    target = home.session_file("work", "-experiments-worktrees", W1)
    with open(target, "ab") as fh:
        fh.write(orjson.dumps({"type": "user", "message": {"content": phrase}}) + b"\n")
    result = build_archive(home)
    assert result.versions_added > 0
    result.errors.append(IngestError("work", f"projects/-experiments-worktrees/{W1}.jsonl",
                                     "Permission denied"))
    log = home.archive / "logs" / "ingest.log"
    append_run(log, result)
    data = log.read_bytes()
    assert W1.encode() in data  # paths are logged
    assert phrase.encode() not in data
    assert all(phrase.encode() not in p.read_bytes() for p in log.parent.iterdir())


# -- at-risk ---------------------------------------------------------------------------------------


def _age_everything(home, now: float) -> None:
    for p in home.path.rglob("*"):
        if p.is_file():
            os.utime(p, (now - DAY, now - DAY))


def _set_age(path: Path, now: float, days: float) -> None:
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.utime(p, (now - days * DAY, now - days * DAY))


@pytest.fixture
def aged(home):
    """work keeps 10 days, personal has an invalid value (so 30), default has none (30)."""
    now = time.time()
    _age_everything(home, now)
    (home.root("work") / "settings.json").write_text('{"cleanupPeriodDays": 10}')
    (home.root("personal") / "settings.json").write_text('{"cleanupPeriodDays": 0}')
    _set_age(home.session_file("work", "-experiments-worktrees", W1), now, 5)  # 5 left
    _set_age(home.session_file("work", "-src-experiments-claude-p", W2), now, 2)  # 8 left
    _set_age(home.session_file("default", SHORT_PROJECT, SHORT_ID), now, 25)  # 5 left
    _set_age(home.root("default") / "projects" / BIG_PROJECT / f"{BIG_ID}.jsonl", now, 40)
    _set_age(home.root("default") / "projects" / BIG_PROJECT / BIG_ID, now, 28)  # sidecars
    _set_age(home.session_file("personal", "-Users-dain-workspace-danieldemmel-me-next", P1),
             now, 20)  # 10 left at 30 days; overdue if the invalid 0 were used
    return now


def _sessions(rows) -> set[tuple[str, str]]:
    return {(r["profile"], r["session_id"]) for r in rows if r["kind"] == "session"}


def test_at_risk_uses_each_profiles_cleanup_period(home, cli, aged):
    result = cli("at-risk", "--json", code=1)  # not archived yet: exit 1
    rows = orjson.loads(result.stdout)
    assert _sessions(rows) == {("work", W1), ("default", SHORT_ID), ("default", BIG_ID)}
    assert all(r["archived"] is False for r in rows)
    by_id = {r["session_id"]: r for r in rows if r["kind"] == "session"}
    assert by_id[W1]["days_left"] == pytest.approx(5, abs=0.1)
    assert by_id[SHORT_ID]["days_left"] == pytest.approx(5, abs=0.1)
    assert by_id[BIG_ID]["days_left"] == 0  # overdue: goes at the next start
    assert by_id[W1]["path"] == str(home.session_file("work", "-experiments-worktrees", W1))
    assert by_id[W1]["mtime"].endswith("Z")
    sidecars = [r for r in rows if r["session_id"] == BIG_ID and r["kind"] != "session"]
    assert len(sidecars) == 2 and {r["kind"] for r in sidecars} == {"subagent"}
    assert set(rows[0]) >= {"profile", "session_id", "path", "mtime", "days_left", "archived"}

    assert cli.json("at-risk", "--days", "0", code=1) == [
        r for r in rows if r["days_left"] == 0
    ]
    wide = cli.json("at-risk", "--days", "9", code=1)
    assert ("work", W2) in _sessions(wide) and ("personal", P1) not in _sessions(wide)

    text = cli("at-risk", code=1).stdout
    assert "work 10 (settings.json)" in text and "personal 30 (default)" in text
    assert "3 sessions (5 files) deleted within 7 days; 5 files not archived" in text


def test_at_risk_after_ingest_and_after_an_append(home, cli, aged):
    build_archive(home)
    rows = cli.json("at-risk")  # exit 0: everything at risk is archived
    assert rows and all(r["archived"] for r in rows)
    assert "all are archived" in cli("at-risk").stdout

    short = home.session_file("default", SHORT_PROJECT, SHORT_ID)
    with open(short, "ab") as fh:
        fh.write(b'{"type":"user","message":{"content":"one more"}}\n')
    _set_age(short, aged, 25)
    w1 = home.session_file("work", "-experiments-worktrees", W1)
    _set_age(w1, aged, 6)  # touched, same bytes: the hash says archived
    rows = cli.json("at-risk", code=1)
    archived = {r["session_id"]: r["archived"] for r in rows if r["kind"] == "session"}
    assert archived == {SHORT_ID: False, W1: True, BIG_ID: True}

    roots = discover_roots()
    cat = Catalog(home.archive, readonly=True)
    try:  # the cheap check for ingest: stat only, so the touched file counts as changed
        cheap = unarchived_at_risk(roots, cat, days=7)
    finally:
        cat.close()
    assert {(r.session_id, r.kind) for r in cheap} == {(SHORT_ID, "session"), (W1, "session")}
    rows = at_risk(roots, None, days=7)  # no archive: nothing is archived
    assert [r.session_id for r in rows if r.kind == "session"] == [BIG_ID, W1, SHORT_ID]
    assert not any(r.archived for r in rows)


def test_cleanup_period_settings(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert cleanup_period(root) == (30, "default")
    for bad in ('{"cleanupPeriodDays": 0}', '{"cleanupPeriodDays": "7"}', "{not json",
                '{"cleanupPeriodDays": true}', "[1]", '{"cleanupPeriodDays": -3}'):
        (root / "settings.json").write_text(bad)
        assert cleanup_period(root) == (30, "default"), bad
    (root / "settings.json").write_text('{"cleanupPeriodDays": 14, "model": "x"}')
    assert cleanup_period(root) == (14, "settings.json")
    (root / "settings.local.json").write_text('{"cleanupPeriodDays": 3}')
    assert cleanup_period(root) == (3, "settings.local.json")  # the smaller wins
    (root / "settings.local.json").write_text('{"cleanupPeriodDays": 99999}')
    assert cleanup_period(root) == (14, "settings.json")


# -- lost ------------------------------------------------------------------------------------------


def _history(*entries) -> bytes:
    return b"".join(
        (e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in entries
    )


def test_lost_lists_only_sessions_neither_at_source_nor_archived(home, cli):
    build_archive(home)
    # Archived, then deleted by Claude Code: not lost.
    home.session_file("personal", "-workspace", FASTHOOKS_ID).unlink()
    # At the source, never archived: not lost.
    fresh = "11111111-2222-3333-4444-555555555555"
    home.session_file("personal", "-workspace", fresh).write_bytes(b'{"type":"user"}\n')
    gone_old = "dead0000-0000-0000-0000-000000000001"
    gone_new = "dead0000-0000-0000-0000-000000000002"
    long_prompt = "Fix the\n   flaky\ttest in " + "very " * 40 + "long"
    (home.root("personal") / "history.jsonl").write_bytes(_history(
        {"display": "old entry without a session id", "timestamp": 1_600_000_000_000,
         "project": "/old"},
        b"not json at all",
        b"[1, 2, 3]",
        {"display": "archived one", "timestamp": 1_700_000_000_000, "project": "/w",
         "sessionId": FASTHOOKS_ID},
        {"display": "fresh one", "timestamp": 1_700_000_100_000, "project": "/w",
         "sessionId": fresh},
        {"display": long_prompt, "timestamp": 1_750_000_000_000,
         "project": "/home/me/app", "sessionId": gone_old},
        {"display": "newest lost", "timestamp": 1_760_000_000_000, "project": "/home/me/b",
         "sessionId": gone_new},
        b'{"display": "cut',
    ))
    (home.root("default") / "history.jsonl").write_bytes(_history(
        {"display": "second prompt", "timestamp": 1_750_000_050_000,
         "project": "/home/me/app", "sessionId": gone_old},
        {"display": "a short one", "timestamp": 1_700_000_000_000, "project": "/s",
         "sessionId": SHORT_ID},
    ))
    rows = cli.json("lost")
    assert [r["session_id"] for r in rows] == [gone_new, gone_old]  # newest first
    old = rows[1]
    assert old["profile"] == "personal" and old["project"] == "/home/me/app"
    assert old["prompts"] == 2
    assert old["started"] == "2025-06-15T15:06:40Z"
    assert old["first_prompt"].startswith("Fix the flaky test in very very")
    assert "\n" not in old["first_prompt"] and len(old["first_prompt"]) <= 80
    assert old["first_prompt"].endswith("…")
    assert set(old) == {"session_id", "profile", "project", "first_prompt", "started",
                        "prompts"}
    text = cli("lost").stdout
    assert gone_new in text and "newest lost" in text and FASTHOOKS_ID not in text


def test_lost_without_archive_or_history(home, cli):
    assert cli.json("lost") == []
    (home.root("work") / "history.jsonl").write_bytes(_history(
        {"display": "x", "timestamp": 1_700_000_000_000, "project": "/p", "sessionId": W1},
        {"display": "y", "timestamp": 1_700_000_000_000, "project": "/p", "sessionId": "gone"},
    ))
    result = cli("lost")  # no archive yet: W1 is at the source, "gone" is lost
    assert "gone" in result.stdout and W1 not in result.stdout
    assert "no archive" in result.stderr


def test_schedule_show_after_a_run_that_found_no_root(tmp_path, cli, fake_crontab, monkeypatch):
    """A logged run that found no config root recorded no snapshot: `schedule show` says so,
    not "snapshot None, 0 files seen"."""
    empty = tmp_path / "empty-home"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    archive = tmp_path / "archive"
    log = archive / "logs" / "ingest.log"  # where the cron line logs
    cli("ingest", "--archive-dir", str(archive), "--log", str(log), "--quiet")
    assert read_runs(log)[-1]["snapshot"] is None
    text = cli("schedule", "show", "--archive-dir", str(archive), code=None).stdout
    assert "no config root found, nothing archived" in text and "None" not in text, text
