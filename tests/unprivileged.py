"""Running the real CLI without the privilege to read everything.

Root reads a chmod-000 folder anyway, so "an unreadable folder" can only be tested without that
privilege. As root the CLI runs as ``nobody`` (uid/gid 65534) when ``nobody`` can start this
interpreter, else still as root but with the two capabilities that bypass permission bits
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) dropped from its bounding set before exec (an
interpreter under /root, as on this machine, is out of nobody's reach). As any other user the CLI
runs as that user. :func:`denied` tells whether the setup really denies a read, so a test can
skip with the reason rather than pass for nothing.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _without_dac_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _works(preexec) -> bool:
    try:
        done = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=preexec, cwd="/",
                              capture_output=True, timeout=60)
    except OSError:
        return False
    return done.returncode == 0


_MODE: list = []


def _preexec():
    """The preexec_fn that takes the privilege away (None when there is none to take)."""
    if not _MODE:
        if os.geteuid() != 0:
            _MODE.append(None)
        elif _works(_as_nobody):
            _MODE.append(_as_nobody)
        elif _works(_without_dac_override):
            _MODE.append(_without_dac_override)
        else:
            _MODE.append(False)
    return _MODE[0]


def how() -> str:
    mode = _preexec()
    return {None: "as this user", False: "not possible"}.get(
        mode, "as nobody" if mode is _as_nobody else "as root without CAP_DAC_*"
    )


@contextmanager
def space() -> Iterator[Path]:
    """A folder the unprivileged CLI can use as HOME (outside pytest's root-only tmp tree)."""
    base = Path(tempfile.mkdtemp(prefix="archive-unpriv-", dir="/tmp"))
    try:
        if _preexec() is _as_nobody:
            os.chown(base, NOBODY, NOBODY)
        yield base
    finally:
        for folder, dirs, _ in os.walk(base):  # as a plain user, undo the test's chmod 000
            for d in dirs:
                try:
                    os.chmod(os.path.join(folder, d), 0o700)
                except OSError:
                    pass
        shutil.rmtree(base, ignore_errors=True)


def hand_over(base: Path) -> None:
    """Make everything under ``base`` the unprivileged user's (as nobody: owned by it)."""
    if _preexec() is _as_nobody:
        for folder, dirs, files in os.walk(base):
            os.chown(folder, NOBODY, NOBODY)
            for name in files + dirs:
                os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess:
    """``archive ARGS`` in a subprocess without the privilege to bypass permission bits."""
    preexec = _preexec()
    if preexec is False:
        raise RuntimeError("no way to run without privileges here")
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "SESSION_ARCHIVE_FSYNC": "0", "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1",
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # the code under test
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "archive", *args], env=full_env, cwd=str(home),
        preexec_fn=preexec, capture_output=True, text=True, timeout=300,
    )


def denied(path: Path, home: Path) -> bool:
    """Whether the unprivileged CLI really cannot list ``path``."""
    preexec = _preexec()
    if preexec is False:
        return False
    done = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.listdir(sys.argv[1])", str(path)],
        preexec_fn=preexec, cwd=str(home), capture_output=True, timeout=60,
    )
    return done.returncode != 0
