"""``--force`` replaces only a regular file (issue 14, item 10).

A FIFO, a character device, a symlink (the link itself) or a folder at the target of
``export -o`` or ``restore`` is refused with one line and exit 2, with or without ``--force``,
and is left exactly as it was: a device node never becomes a 0600 file, a FIFO is never opened
(which would hang), a link is never swapped for a file. ``-o -`` is stdout.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import SHORT_ID, private

from archive.fsutil import NotRegularFile
from archive.paths import check_session_id
from archive.roots import check_profile_name


def _make(kind: str, path: Path, victim_dir: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "char-device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
        except PermissionError:
            pytest.skip("creating a device node needs CAP_MKNOD (root)")
    elif kind == "symlink":
        victim = victim_dir / "victim.txt"
        victim.write_text("keep me\n")
        path.symlink_to(victim)
    elif kind == "symlink-to-dev-null":
        path.symlink_to("/dev/null")
    elif kind == "folder":
        path.mkdir()
        (path / "inside.txt").write_text("keep me\n")


def _state(path: Path) -> tuple:
    st = os.lstat(path)
    inside = sorted(os.listdir(path)) if stat.S_ISDIR(st.st_mode) else None
    link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
    return st.st_mode, st.st_ino, st.st_rdev, link, inside


KINDS = ["fifo", "char-device", "symlink", "symlink-to-dev-null", "folder"]


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_export_never_replaces_anything_but_a_regular_file(home, cli, tmp_path, kind, force):
    cli.json("ingest")
    out = tmp_path / "out"
    out.mkdir()
    target = out / "handoff.md"
    _make(kind, target, tmp_path)
    before = _state(target)
    result = cli("export", SHORT_ID, "-o", target, *force, code=2)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert _state(target) == before
    assert sorted(os.listdir(out)) == ["handoff.md"]  # no temp file left behind
    if kind == "symlink":
        assert (tmp_path / "victim.txt").read_text() == "keep me\n"


def test_export_force_replaces_a_regular_file_and_dash_is_stdout(home, cli, tmp_path):
    cli.json("ingest")
    target = tmp_path / "handoff.md"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    cli("export", SHORT_ID, "-o", target, code=3)
    assert target.read_text() == "old\n"
    cli("export", SHORT_ID, "-o", target, "--force")
    assert target.read_text() != "old\n" and private(target)
    assert stat.S_ISREG(os.lstat(target).st_mode)
    to_stdout = cli("export", SHORT_ID, "-o", "-")
    assert to_stdout.stdout == target.read_text()


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("kind", KINDS)
def test_restore_never_replaces_anything_but_a_regular_file(home, cli, tmp_path, kind, force):
    cli.json("ingest")
    plan = cli.json("restore", SHORT_ID, "--to", "work", "--dry-run")
    target = Path(plan["files"][0]["path"])
    target.parent.mkdir(parents=True, exist_ok=True)
    _make(kind, target, target.parent)  # a symlink to a file inside the root
    before = _state(target)
    result = cli("restore", SHORT_ID, "--to", "work", *force, code=2)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    if kind == "symlink-to-dev-null":  # out of the root: refused as such (safe_join)
        assert "symlink to /dev/null, outside" in result.stderr
    else:
        assert "not a regular file" in result.stderr
    assert _state(target) == before
    left = sorted(os.listdir(target.parent))  # no temp file left behind
    assert left == sorted([target.name, *(["victim.txt"] if kind == "symlink" else [])])
    if kind == "symlink":
        assert (target.parent / "victim.txt").read_text() == "keep me\n"


def test_the_refusal_says_what_is_there(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match=r"pipe is a FIFO, not a regular file"):
        from archive.export import write_export

        write_export(fifo, "text", force=True)


# -- issue 14, item 15: a bad session id or profile name says what is wrong with it ----------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("x..y", "contains '..'"),
        ("a/b", "contains '/'"),
        ("a\x00b", "contains a NUL byte"),
        ("-abc", "must start with a letter or digit"),
        ("a" * 129, "is 129 characters long (at most 128)"),
        ("ab cd$", "contains ' ', '$'"),
        ("abc\n", "contains '\\n'"),
        ("", "is empty"),
    ],
    ids=["dotdot", "slash", "nul", "leading-dash", "too-long", "spaces", "newline", "empty"],
)
def test_a_bad_session_id_says_what_is_wrong(value, says):
    with pytest.raises(Exception) as info:
        check_session_id(value)
    assert str(info.value) == f"invalid session id {value!r}: it {says}"
    assert "invalid characters" not in str(info.value)


def test_restore_x_dotdot_y_says_it_contains_dotdot(home, cli):
    cli.json("ingest")
    result = cli("restore", "x..y", "--to", "work", code=2)
    assert "invalid session id 'x..y': it contains '..'" in result.stderr
    result = cli("restore", SHORT_ID, "--to", "a..b", code=2)
    assert "invalid profile name 'a..b': it contains '..'" in result.stderr
    with pytest.raises(Exception, match=r"it is 65 characters long \(at most 64\)"):
        check_profile_name("p" * 65)


def test_ingest_log_never_replaces_a_fifo_or_a_link(home, cli, tmp_path):
    """``--log`` rewrites its file at each run: a FIFO there is neither opened (it would hang)
    nor replaced, a symlink (``--log /dev/stdout``-like) is not swapped for a file."""
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    link = tmp_path / "log.link"
    link.symlink_to("/dev/null")
    for target in (fifo, link):
        before = _state(target)
        result = cli("ingest", "--quiet", "--log", target)
        assert "cannot write the log" in result.stderr and "not a regular file" in result.stderr
        assert _state(target) == before
    assert sorted(os.listdir(tmp_path)) == sorted(["log.fifo", "log.link", "home", "archive"])


def test_export_into_a_path_under_a_file_is_one_line(home, cli, tmp_path):
    cli.json("ingest")
    (tmp_path / "plain").write_text("x")
    result = cli("export", SHORT_ID, "-o", tmp_path / "plain" / "out.md", code=2)
    assert result.stderr.startswith("error: no folder") and "Traceback" not in result.stderr
