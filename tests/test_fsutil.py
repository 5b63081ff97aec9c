"""fsutil: the one atomic write, private folders and the "only a regular file" rule."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from archive import fsutil
from archive.errors import TargetExists
from archive.fsutil import (
    NotRegularFile,
    atomic_write,
    private_mkdir,
    private_umask,
    tighten_tree,
)
from archive.store import ObjectStore


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_atomic_write_is_0600_under_umask_000_and_replaces_a_regular_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    os.chmod(target, 0o644)
    with umask(0):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o600
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_write_leaves_nothing_behind_and_the_old_file_as_it_was(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def blocks():
        yield b"part one, "
        raise OSError(28, "No space left on device")  # what a full disk does mid-write

    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, blocks())
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]
    with pytest.raises(OSError, match="No space left"):
        atomic_write(tmp_path / "new.txt", blocks())
    assert os.listdir(tmp_path) == ["out.txt"]


def test_the_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    """Durability needs the file fsync'ed before its rename and the folder after it: a spy
    around the real os.fsync records what each call synced and what the name held then."""
    target = tmp_path / "out.txt"
    target.write_bytes(b"old")
    calls: list[tuple[str, bytes]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        what = "folder" if stat.S_ISDIR(st.st_mode) else "file"
        if what == "folder":
            assert st.st_ino == os.stat(tmp_path).st_ino
        calls.append((what, target.read_bytes()))
        real_fsync(fd)

    monkeypatch.setattr(fsutil.os, "fsync", spy)
    atomic_write(target, b"new")
    assert calls == [("file", b"old"), ("folder", b"new")]


def test_no_fsync_at_all_when_not_durable(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: calls.append(fd))
    atomic_write(tmp_path / "x", b"data", durable=False)
    assert calls == [] and (tmp_path / "x").read_bytes() == b"data"


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_only_a_regular_file_is_ever_replaced(tmp_path, kind):
    target = tmp_path / "target"
    victim = tmp_path / "victim"
    victim.write_text("keep")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        target.symlink_to(victim)
    else:
        target.mkdir()
    before = os.lstat(target)
    with pytest.raises(NotRegularFile, match=f"is a {'FIFO' if kind == 'fifo' else kind}"):
        atomic_write(target, b"new")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert victim.read_text() == "keep"
    assert sorted(os.listdir(tmp_path)) == ["target", "victim"]


def test_without_replace_an_existing_name_is_never_touched(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(TargetExists):
        atomic_write(target, b"new", replace=False)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]
    atomic_write(tmp_path / "fresh.txt", b"new", replace=False)
    assert (tmp_path / "fresh.txt").read_bytes() == b"new"


def test_private_mkdir_makes_every_missing_parent_0700_and_leaves_existing_ones(tmp_path):
    os.chmod(tmp_path, 0o755)
    with umask(0):
        made = private_mkdir(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a", tmp_path / "a/b", tmp_path / "a/b/c"]
    assert [mode(p) for p in made] == [0o700] * 3
    assert mode(tmp_path) == 0o755
    assert private_mkdir(tmp_path / "a" / "b") == []


def test_tighten_tree_changes_files_and_folders_never_a_link_target(tmp_path):
    top = tmp_path / "archive"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "f").write_text("x")
    outside = tmp_path / "outside"
    outside.write_text("y")
    os.chmod(outside, 0o644)
    (top / "link").symlink_to(outside)
    os.chmod(top / "sub", 0o755)
    os.chmod(top / "sub" / "f", 0o644)
    assert tighten_tree(top) == 2
    assert mode(top / "sub") == 0o700 and mode(top / "sub" / "f") == 0o600
    assert mode(outside) == 0o644


def test_private_umask_restores_the_old_one():
    with umask(0o022):
        with private_umask():
            assert os.umask(0o077) == 0o077
        assert os.umask(0o022) == 0o022


def test_a_failed_object_write_leaves_no_temp_file(tmp_path):
    """The store writes through fsutil too: a failure inside leaves tmp/ empty."""
    store = ObjectStore(tmp_path / "objects")
    sha, _, new = store.put(b"hello\n")
    assert new and store.get(sha) == b"hello\n"
    assert mode(store.path_for(sha)) == 0o600
    fan = store.path_for("ab" + "0" * 62).parent
    fan.mkdir(parents=True)
    os.rmdir(fan)
    fan.write_bytes(b"")  # a file where the fan-out folder should be: the write fails
    with pytest.raises(OSError):
        store.put(b"x", "ab" + "0" * 62)
    assert os.listdir(tmp_path / "objects" / "tmp") == []
