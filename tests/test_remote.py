"""Several machines through a real S3 server (SeaweedFS on loopback): push, pull, verify.

Two archives with different HOMEs stand in for two machines; every command is the real CLI in
a subprocess, every byte goes through the real server.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
from s3server import s3  # noqa: F401 (the session fixture)

from archive.faults import FAULT_ENV

REPO = Path(__file__).resolve().parent.parent
PHRASE = "marmalade quasar tundra"
SECRET = "AKIAZ3QX7PLANTEDKEY9"


def _line(**fields) -> bytes:
    return orjson.dumps(fields) + b"\n"


def make_session(path: Path, sid: str, turns: list[tuple[str, str]], cwd="/home/u/proj") -> Path:
    """A transcript shaped like Claude Code's: (prompt, answer) pairs."""
    out, parent = [], None
    for n, (prompt, answer) in enumerate(turns, 1):
        common = dict(sessionId=sid, cwd=cwd, gitBranch="main", version="2.1.39",
                      isSidechain=False, userType="external",
                      timestamp=f"2026-11-10T{n % 24:02d}:00:00.000Z")
        u, a = str(uuid.uuid4()), str(uuid.uuid4())
        out.append(_line(type="user", uuid=u, parentUuid=parent,
                         message={"role": "user", "content": prompt}, **common))
        out.append(_line(type="assistant", uuid=a, parentUuid=u, requestId=f"req_{a}",
                         message={"id": f"msg_{a}", "role": "assistant", "model": "claude-x",
                                  "content": [{"type": "text", "text": answer}],
                                  "usage": {"input_tokens": 100 * n}}, **common))
        parent = a
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))
    return path


class Machine:
    """One machine: its HOME (profile ``default`` in ~/.claude), its archive, the real CLI."""

    def __init__(self, base: Path, name: str, server):
        self.name = name
        self.home = base / name / "home"
        self.archive = base / name / "archive"
        (self.home / ".claude" / "projects").mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in (
            "CLAUDE_CONFIG_DIR", "CCS_HOME", "XDG_DATA_HOME", "ARCHIVE_DEBUG", FAULT_ENV)}
        self.env.update(HOME=str(self.home), SESSION_ARCHIVE_DIR=str(self.archive),
                        SESSION_ARCHIVE_FSYNC="0", COLUMNS="200", PYTHONPATH=str(REPO),
                        **server.env)

    def session(self, sid: str, turns, project="-home-u-proj") -> Path:
        return make_session(self.home / ".claude" / "projects" / project / f"{sid}.jsonl",
                            sid, turns)

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "archive", *map(str, args)]

    def run(self, *args, code: int | None = 0, env: dict | None = None, timeout=300):
        r = subprocess.run(self.cmd(*args), env={**self.env, **(env or {})}, cwd=REPO,
                           capture_output=True, timeout=timeout)
        assert b"Traceback" not in r.stderr, r.stderr.decode()
        if code is not None:
            assert r.returncode == code, (
                f"{args}: exit {r.returncode} != {code}\n{r.stdout.decode()}\n{r.stderr.decode()}"
            )
        return r

    def json(self, *args, code: int | None = 0, **kw):
        return orjson.loads(self.run(*args, "--json", code=code, **kw).stdout)


def ordinary(n: int, tag: str) -> list[tuple[str, str]]:
    return [(f"{tag} question {i} about the build", f"{tag} answer {i}") for i in range(n)]


@pytest.fixture
def two(tmp_path, s3):  # noqa: F811
    """Machines A (label laptop) and B (label desktop) joined to one fresh bucket."""
    url = s3.new_place()
    a, b = Machine(tmp_path, "a", s3), Machine(tmp_path, "b", s3)
    a.run("remote", "add", "cloud", url, "--endpoint", s3.endpoint, "--machine-name", "laptop")
    key = a.run("remote", "key", "cloud").stdout.decode().strip()
    b.run("remote", "add", "cloud", url, "--endpoint", s3.endpoint, "--key", key,
          "--machine-name", "desktop")
    a.url = b.url = url
    a.bucket, a.prefix = s3.bucket, url.split("/", 3)[3] + "/"
    return a, b


def test_two_machines_find_and_restore_each_others_sessions(two):
    a, b = two
    sid_a, sid_b = str(uuid.uuid4()), str(uuid.uuid4())
    turns = ordinary(5, "alpha")
    turns[2] = (f"where did {PHRASE} go, token {SECRET}", "nowhere")
    src_a = a.session(sid_a, turns)
    b.session(sid_b, ordinary(4, "beta"))
    for m in (a, b):
        m.run("ingest", "--quiet")
        assert m.json("push")["manifests_sent"] >= 1
    pulled_b = b.json("pull")
    assert pulled_b["ok"] and pulled_b["versions_added"] >= 1
    assert list(pulled_b["machines"].values()) == ["laptop"]
    assert a.json("pull")["machines"] and a.json("pull")["versions_added"] == 0  # idempotent

    hits = b.json("search", PHRASE)
    first = hits["hits"][0] if isinstance(hits, dict) else hits[0]
    assert first["session_id"] == sid_a
    assert first["profile"] == "laptop:default"
    sessions = {s["session_id"]: s["profile"] for s in b.json("sessions")}
    assert sessions[sid_a] == "laptop:default" and sessions[sid_b] == "default"
    a_sessions = {s["session_id"]: s["profile"] for s in a.json("sessions")}
    assert a_sessions[sid_b] == "desktop:default"
    assert PHRASE in b.run("show", sid_a).stdout.decode()
    assert SECRET not in b.run("export", sid_a, "--format", "md").stdout.decode()  # masked

    b.run("restore", sid_a, "--to", "default")
    restored = b.home / ".claude" / "projects" / "-home-u-proj" / f"{sid_a}.jsonl"
    assert restored.read_bytes() == src_a.read_bytes()
    # restored into a local profile: the next ingest archives it as B's own, push sends it
    b.run("ingest", "--quiet")
    for profile in ("laptop:default", "default"):
        assert sid_a in {s["session_id"] for s in b.json("sessions", "--profile", profile)}


def test_second_push_sends_nothing_and_a_twin_machine_almost_nothing(two):
    a, b = two
    for i in range(6):
        sid = str(uuid.uuid4())
        src = a.session(sid, ordinary(8, f"shared{i}"))
        twin = b.session(sid, [])
        twin.write_bytes(src.read_bytes())  # the same session on both machines
    a.run("ingest", "--quiet")
    first = a.json("push")
    assert first["objects_sent"] >= 6
    again = a.json("push")
    assert again["objects_sent"] == 0 and again["manifests_sent"] == 0
    assert again["manifests_present"] == first["manifests_sent"]
    b.session(str(uuid.uuid4()), ordinary(8, "only-on-b"))
    b.run("ingest", "--quiet")
    twin = b.json("push")
    assert twin["manifests_sent"] >= 1
    assert twin["objects_sent"] == 1  # only the session A does not have
    assert twin["objects_present"] >= 6


def test_two_pushes_at_once_both_land_and_verify(two):
    a, b = two
    for m in (a, b):
        for i in range(15):
            m.session(str(uuid.uuid4()), ordinary(6, f"{m.name}{i}"))
        m.run("ingest", "--quiet")
    procs = [subprocess.Popen(m.cmd("push", "--json"), env=m.env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for m in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    check = a.json("verify", "--remote", "cloud")
    assert check["ok"] and len(check["machines"]) == 2
    assert check["objects_checked"] == check["objects_named"] >= 30
    assert b.json("pull")["versions_added"] == 15
    assert a.json("pull")["versions_added"] == 15


@pytest.mark.parametrize("seed", range(4))
def test_push_killed_at_random_points_never_names_a_missing_object(two, seed):
    a, _ = two
    rng = random.Random(seed)
    for i in range(40):
        a.session(str(uuid.uuid4()), ordinary(rng.randint(2, 10), f"s{seed}-{i}"))
    a.run("ingest", "--quiet")
    local = len(list((a.archive / "manifests").iterdir()))
    for _round in range(3):
        p = subprocess.Popen(a.cmd("push", "--quiet"), env=a.env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        time.sleep(rng.uniform(0.2, 2.5))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        check = a.json("verify", "--remote", "cloud", code=None)
        assert check["ok"], check["problems"]
    done = a.json("push")
    assert done["manifests_sent"] + done["manifests_present"] == local
    check = a.json("verify", "--remote", "cloud")
    assert check["manifests"] == local and check["ok"]


def test_push_killed_between_objects_and_manifest_is_completed(two):
    a, b = two
    a.session(str(uuid.uuid4()), ordinary(5, "fault"))
    a.run("ingest", "--quiet")
    r = a.run("push", code=137, env={FAULT_ENV: "push-after-objects-before-manifest"})
    assert r.returncode == 137
    check = a.json("verify", "--remote", "cloud")
    assert check["manifests"] == 0 and check["unreferenced"] >= 1  # objects, no manifest yet
    assert b.json("pull")["versions_added"] == 0
    done = a.json("push")
    assert done["manifests_sent"] >= 1 and done["objects_sent"] == 0  # objects were there
    assert b.json("pull")["versions_added"] == 1


def test_pull_killed_before_commit_is_completed(two):
    a, b = two
    sid = str(uuid.uuid4())
    a.session(sid, ordinary(5, "pullfault"))
    a.run("ingest", "--quiet")
    a.run("push", "--quiet")
    b.run("pull", code=137, env={FAULT_ENV: "pull-after-manifest-before-commit"})
    assert sid not in {s["session_id"] for s in b.json("sessions", code=None)
                       } if (b.archive / "catalog.sqlite").exists() else True
    assert b.json("pull")["versions_added"] == 1
    assert b.json("pull")["versions_added"] == 0
    b.run("verify")
    assert sid in {s["session_id"] for s in b.json("sessions")}


def _bucket_keys(s3, m: Machine) -> list[str]:  # noqa: F811
    """Keys under the machine's remote, relative to its prefix."""
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=m.bucket,
                                                                  Prefix=m.prefix)
    return [o["Key"][len(m.prefix):] for page in pages for o in page.get("Contents", [])]


def test_altered_or_truncated_object_is_named_by_verify_and_refused_by_pull(two, s3):  # noqa: F811
    a, b = two
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    a.session(bad, ordinary(4, "tampered"), project="-home-u-other")
    a.run("ingest", "--quiet")
    a.run("push", "--quiet")
    [target] = [k for k in _bucket_keys(s3, a) if k.startswith("objects/")]  # bad's one chunk
    a.session(good, ordinary(4, "intact"))
    a.run("ingest", "--quiet")  # a later snapshot: a manifest of its own
    a.run("push", "--quiet")
    client = s3.client()
    blob = bytearray(client.get_object(Bucket=a.bucket, Key=a.prefix + target)["Body"].read())
    blob[len(blob) // 2] ^= 0x01
    client.put_object(Bucket=a.bucket, Key=a.prefix + target, Body=bytes(blob))
    check = a.json("verify", "--remote", "cloud", code=1)
    assert [p["key"] for p in check["problems"]] == [target]
    assert "does not authenticate" in check["problems"][0]["problem"]
    assert check["problems"][0]["needed_by"] == (
        f"laptop:default/projects/-home-u-other/{bad}.jsonl")
    r = b.run("pull", code=1)
    assert target in r.stderr.decode() and r.stderr.decode().startswith("error: refused")
    pulled = {s["session_id"] for s in b.json("sessions")}
    assert good in pulled and bad not in pulled  # the intact one, never the damaged one
    b.run("verify")  # nothing damaged was stored
    # truncated: refused the same way, every time
    client.put_object(Bucket=a.bucket, Key=a.prefix + target, Body=bytes(blob[:20]))
    problems = a.json("verify", "--remote", "cloud", "--sample", "5", code=1)["problems"]
    assert "not sealed data" in problems[0]["problem"]
    b.run("pull", code=1)
    assert bad not in {s["session_id"] for s in b.json("sessions")}
    # the machine that holds a sound copy heals the bucket; then the pull completes
    assert a.json("push", "--heal")["objects_healed"] == 1
    assert a.json("verify", "--remote", "cloud")["ok"]
    b.run("pull")
    assert bad in {s["session_id"] for s in b.json("sessions")}
    assert a.json("push", "--heal")["objects_healed"] == 0


def test_manifest_that_does_not_decrypt_is_refused(two, s3):  # noqa: F811
    a, b = two
    sid = str(uuid.uuid4())
    a.session(sid, ordinary(3, "fine"))
    a.run("ingest", "--quiet")
    a.run("push", "--quiet")
    machine = (a.archive / "machine-id").read_text().strip()
    forged = f"machines/{machine}/manifests/{'0' * 64}"
    s3.client().put_object(Bucket=a.bucket, Key=a.prefix + forged,
                           Body=b"SA1" + os.urandom(80))
    r = b.run("pull", code=1)
    assert forged in r.stderr.decode() and "does not authenticate" in r.stderr.decode()
    assert sid in {s["session_id"] for s in b.json("sessions")}  # the sound one still came
    check = a.json("verify", "--remote", "cloud", code=1)
    assert [p["key"] for p in check["problems"]] == [forged]


def test_wrong_key_is_refused_and_not_recorded(two, s3, tmp_path):  # noqa: F811
    a, _ = two
    a.session(str(uuid.uuid4()), ordinary(2, "k"))
    a.run("ingest", "--quiet")
    a.run("push", "--quiet")
    c = Machine(tmp_path, "c", s3)
    other = Machine(tmp_path, "d", s3)
    other.run("remote", "add", "x", s3.new_place(), "--endpoint", s3.endpoint)
    wrong = other.run("remote", "key", "x").stdout.decode().strip()
    r = c.run("remote", "add", "cloud", a.url, "--endpoint", s3.endpoint,
              "--key", wrong, code=77)
    assert r.stderr.decode().count("\n") == 1 and "does not open" in r.stderr.decode()
    assert c.json("remote", "list") == []
    r = c.run("remote", "add", "cloud", a.url, "--endpoint", s3.endpoint,
              "--key", "sa1-short", code=2)
    assert "not a remote key" in r.stderr.decode()
    r = c.run("remote", "add", "cloud", a.url, "--endpoint", s3.endpoint,
              "--machine-name", "evil\x1b[2J", code=2)
    assert "not a machine name" in r.stderr.decode() and "\x1b" not in r.stderr.decode()
    # no key at all: a new key cannot join a bucket that has one
    c.run("remote", "add", "cloud", a.url, "--endpoint", s3.endpoint, code=77)


def test_key_file_is_private_and_joins(two, tmp_path, s3):  # noqa: F811
    a, _ = two
    key_file = a.archive / "remotes" / "cloud.key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert (a.archive / "machine-id").read_text().strip() != (
        two[1].archive / "machine-id").read_text().strip()
    c = Machine(tmp_path, "c", s3)
    c.run("remote", "add", "cloud", a.url, "--endpoint", s3.endpoint,
          "--key-file", key_file)
    listed = c.json("remote", "list")
    assert [r["name"] for r in listed] == ["cloud"] and listed[0]["label"]
    c.run("remote", "remove", "cloud")
    assert c.json("remote", "list") == [] and not (c.archive / "remotes" / "cloud.key").exists()


def test_bucket_holds_no_plaintext(two, s3):  # noqa: F811
    a, _ = two
    sid = str(uuid.uuid4())
    src = a.session(sid, [(f"tell me about {PHRASE}", f"the key is {SECRET}")] * 3)
    a.run("ingest", "--quiet")
    a.run("push", "--quiet")
    # control: plaintext put straight into the store is visible to this grep
    control = f"control-{uuid.uuid4().hex}"
    s3.client().put_object(Bucket=s3.bucket, Key=f"control/{control}",
                           Body=control.encode() * 50)
    time.sleep(1)
    stored = b"".join(p.read_bytes() for p in s3.data_dir.rglob("*") if p.is_file())
    assert control.encode() in stored
    for needle in (PHRASE, SECRET, sid, hashlib.sha256(src.read_bytes()).hexdigest()):
        assert needle.encode() not in stored, needle
    names = " ".join(_bucket_keys(s3, a))
    for sha in (p.parent.name + p.name for p in (a.archive / "objects").glob("??/*")):
        assert sha not in names and sha[:16] not in names


def test_ingest_push_and_pull_for_the_nightly_job(two):
    a, b = two
    sid = str(uuid.uuid4())
    a.session(sid, ordinary(3, "nightly"))
    a.run("ingest", "--quiet", "--push")
    b.run("ingest", "--quiet", "--pull")
    assert sid in {s["session_id"] for s in b.json("sessions")}
    # pulled sessions are recorded by local manifests: a lost catalog comes back with them
    (b.archive / "catalog.sqlite").rename(b.archive / "lost.sqlite")
    b.run("repair")
    b.run("reindex", "--quiet")
    assert sid in {s["session_id"] for s in b.json("sessions", "--profile", "laptop:default")}
    assert b.json("pull")["versions_added"] == 0  # not pulled twice
    b.run("push", "--quiet")  # B's own (empty) snapshots go; the pulled ones never do
    assert a.json("pull")["versions_added"] == 0


def test_ingest_push_without_a_remote_is_a_usage_error(tmp_path, s3):  # noqa: F811
    m = Machine(tmp_path, "lonely", s3)
    m.session(str(uuid.uuid4()), ordinary(2, "x"))
    r = m.run("ingest", "--quiet", "--push", code=2)
    assert "no remote added yet" in r.stderr.decode()
    assert m.json("sessions")  # the ingest itself was done


def test_schedule_line_carries_push_and_pull(tmp_path):
    from archive.schedule import cron_line

    line = cron_line(tmp_path, "03:00", entry=["archive"], environ={},
                     extra=("--push", "--pull"))
    assert " ingest --quiet " in line and "--push --pull" in line
