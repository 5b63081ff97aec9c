"""The pinned Codex CLI writes a session, the archive keeps it, the session is deleted and
restored into another Codex home, and ``codex exec resume`` sends the earlier conversation back
to the stand-in: the restored rollout is one Codex itself can resume."""

from __future__ import annotations

import orjson
import pytest

from archive.sources import by_agent


def _texts(body: dict) -> list[str]:
    out = []
    for item in body.get("input") or []:
        for part in item.get("content") or [] if isinstance(item.get("content"), list) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
    return out


def test_codex_session_archived_deleted_restored_and_resumed(tmp_path, monkeypatch, cli):
    from codex_cli import VERSION, StandIn, codex_or_reason, run_codex, write_config

    codex, why = codex_or_reason()
    if codex is None:
        pytest.skip(why)
    home, archive = tmp_path / "home", tmp_path / "archive"
    project = tmp_path / "project"
    project.mkdir()
    (home / ".claude").mkdir(parents=True)
    codex_home, other = home / ".codex", tmp_path / "other-codex"
    for var in ("CLAUDE_CONFIG_DIR", "CCS_HOME", "CODEX_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SESSION_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("SESSION_ARCHIVE_FSYNC", "0")

    with StandIn() as api:
        write_config(codex_home, api.url)
        write_config(other, api.url)
        (other / "sessions").mkdir()
        first = run_codex(codex, home, codex_home, project, "--sandbox", "danger-full-access",
                          "how many wombats fit in a teacup")
        assert first.returncode == 0, (VERSION, first.stdout, first.stderr[-2000:])
        (rollout,) = (codex_home / "sessions").rglob("rollout-*.jsonl")
        relpath = rollout.relative_to(codex_home).as_posix()
        kind, sid = by_agent("codex").classify(relpath)
        assert kind == "session"
        original = rollout.read_bytes()

        cli("ingest", "-q")
        hit = cli.json("search", "wombats teacup", "--agent", "codex")[0]
        assert hit["session_id"] == sid
        shown = cli("show", sid).stdout
        assert "hello-from-tool" in shown  # the tool really ran and its output was archived

        rollout.unlink()
        restored = cli.json("restore", sid, "--to", "spare", "--root", f"spare={other}")
        assert (other / relpath).read_bytes() == original
        assert restored["resume_command"].endswith(f"CODEX_HOME={other} codex resume {sid}")

        asked = len(api.requests)
        resumed = run_codex(codex, home, other, tmp_path, "resume", sid, "and a second teacup?")
        assert resumed.returncode == 0, (VERSION, resumed.stdout, resumed.stderr[-2000:])
    later = api.requests[asked:]
    assert later, "codex exec resume sent nothing to the stand-in"
    sent = _texts(later[0])
    assert "how many wombats fit in a teacup" in sent  # the earlier prompt, from the restore
    assert "and a second teacup?" in sent
    assert any(item.get("type") == "function_call_output" for item in later[0]["input"])
    assert orjson.loads((other / relpath).read_bytes().splitlines()[0])["payload"]["id"] == sid
    assert (other / relpath).read_bytes().startswith(original)  # resumed turns appended
