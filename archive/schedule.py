"""Our one line in the user's crontab: build it, find it, install or replace it, remove it.

Why the ``crontab`` binary (``crontab -l`` to read, ``crontab -`` to write) and not python-crontab:
no new dependency for one line of text; the binary is the only supported way to change a user's
crontab (it validates the file, signals the daemon, honours cron.allow) on every cron flavour;
and treating the crontab as opaque text is what keeps other lines byte-exact, which a library
that parses and re-serialises entries cannot promise.

Rules: our line is the one that ends with ``# session-archive`` and is not itself a comment
(sh ignores the trailing comment). There is at most one: install replaces it in place, remove
drops it, every other byte is kept. A new line goes last; when the last foreign line has no
final newline it goes first instead, so no foreign byte changes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ArchiveError, UsageError

MARKER = "# session-archive"
DEFAULT_AT = "03:17"
LOG_RELPATH = Path("logs") / "ingest.log"
# Environment that changes which roots ingest reads: captured at install time, because cron
# starts jobs with a bare environment and would otherwise read ~/.claude only.
CAPTURED_ENV = ("CLAUDE_CONFIG_DIR", "CCS_HOME")
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TIMEOUT = 30


class CrontabMissing(ArchiveError):
    """No ``crontab`` program: the CLI prints ``line`` (when known) for the user to add by hand."""

    def __init__(self, message: str, *, line: str | None = None, **kw):
        super().__init__(message, **kw)
        self.line = line


@dataclass
class Installed:
    line: str
    previous: str | None  # our line before this install, if there was one
    changed: bool  # False when the same line was already there


def parse_at(value: str) -> tuple[int, int]:
    """``HH:MM`` (24 h) to (hour, minute)."""
    m = _AT.match(value.strip())
    if not m:
        raise UsageError(f"--at expects HH:MM (00:00 to 23:59), got {value!r}")
    return int(m.group(1)), int(m.group(2))


def entry_point(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """How cron should start this program: the console script when we were run as one (absolute,
    symlinks resolved), else ``<python> -m archive``. The interpreter path is kept as is: a
    virtualenv's python is a symlink whose target would lose the virtualenv."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if argv0 and Path(argv0).name == "archive":
        found = argv0 if os.sep in argv0 else shutil.which(argv0)
        if found:
            path = Path(found).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return [str(path)]
    return [executable or sys.executable, "-m", "archive"]


def log_path_for(archive_dir: Path) -> Path:
    return Path(os.path.abspath(archive_dir.expanduser())) / LOG_RELPATH


def _cron_quote(arg: str) -> str:
    # Quoted for sh; an unescaped % is a newline to cron, so escape it after quoting.
    return shlex.quote(arg).replace("%", "\\%")


def ingest_command(
    archive_dir: Path, *, entry: list[str] | None = None, environ: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> str:
    """The shell command cron runs: a quiet ingest into ``archive_dir`` that logs its result
    (``extra``: more ingest options, e.g. ``--push``)."""
    env = os.environ if environ is None else environ
    adir = Path(os.path.abspath(archive_dir.expanduser()))
    words = [
        f"{name}={_cron_quote(env[name])}" for name in CAPTURED_ENV if env.get(name)
    ]
    args = [*(entry or entry_point()), "ingest", "--quiet", "--archive-dir", str(adir),
            "--log", str(log_path_for(adir)), *extra]
    return " ".join(words + [_cron_quote(a) for a in args])


def cron_line(archive_dir: Path, at: str = DEFAULT_AT, **kw) -> str:
    hour, minute = parse_at(at)
    return f"{minute} {hour} * * * {ingest_command(archive_dir, **kw)} {MARKER}"


# -- the crontab as text (pure) ----------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Lines with their ``\\n`` (the last may lack it); joining them gives ``text`` back."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def is_ours(line: str) -> bool:
    body = line.rstrip("\n").rstrip()
    return body.endswith(" " + MARKER) and not body.lstrip().startswith("#")


def find_ours(text: str) -> str | None:
    for line in _lines(text):
        if is_ours(line):
            return line.rstrip("\n")
    return None


def with_line(text: str, line: str) -> str:
    """``text`` with our line set to ``line``; every other byte kept."""
    pieces = _lines(text)
    out: list[str] = []
    placed = False
    for piece in pieces:
        if is_ours(piece):
            if not placed:
                out.append(line + ("\n" if piece.endswith("\n") else ""))
                placed = True
            continue  # a duplicate of ours (copied by hand): keep one
        out.append(piece)
    if placed:
        return "".join(out)
    if not text or text.endswith("\n"):
        return text + line + "\n"
    return line + "\n" + text


def without_ours(text: str) -> str:
    return "".join(p for p in _lines(text) if not is_ours(p))


def line_at(line: str) -> str | None:
    """``HH:MM`` of a daily line of ours, None if it was edited into another shape."""
    fields = line.split()
    if len(fields) > 2 and fields[0].isdigit() and fields[1].isdigit():
        return f"{int(fields[1]):02d}:{int(fields[0]):02d}"
    return None


def line_option(line: str, option: str) -> str | None:
    """The value of ``--log`` or ``--archive-dir`` in our line, unquoted."""
    try:
        words = shlex.split(line.replace("\\%", "%"), comments=True)
    except ValueError:
        return None
    for i, word in enumerate(words[:-1]):
        if word == option:
            return words[i + 1]
    return None


# -- the crontab program -----------------------------------------------------------------------


def crontab_binary(line: str | None = None) -> str:
    found = shutil.which("crontab")
    if not found:
        raise CrontabMissing("no crontab command found", hint="install cron", line=line)
    return found


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C")
    try:
        return subprocess.run(
            args, input=data, capture_output=True, env=env, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ArchiveError(f"could not run {' '.join(args)}: {exc}") from None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"


def read_crontab() -> str | None:
    """The user's crontab, or None when they have none (``crontab -l`` exits 1 for that)."""
    proc = _run([crontab_binary(), "-l"])
    if proc.returncode == 0:
        return proc.stdout.decode("utf-8", "surrogateescape")
    if b"no crontab" in proc.stderr.lower():
        return None
    raise ArchiveError(f"crontab -l failed: {_first_line(proc.stderr)}")


def write_crontab(text: str) -> None:
    proc = _run([crontab_binary(), "-"], text.encode("utf-8", "surrogateescape"))
    if proc.returncode != 0:
        raise ArchiveError(f"crontab refused the new crontab: {_first_line(proc.stderr)}")


def install(archive_dir: Path, at: str = DEFAULT_AT, **kw) -> Installed:
    line = cron_line(archive_dir, at, **kw)
    crontab_binary(line)
    text = read_crontab() or ""
    previous = find_ours(text)
    new = with_line(text, line)
    if new != text:
        write_crontab(new)
    return Installed(line=line, previous=previous, changed=new != text)


def show() -> str | None:
    return find_ours(read_crontab() or "")


def remove() -> str | None:
    """Drop our line; returns it, or None when there was none (nothing is written then)."""
    text = read_crontab()
    ours = find_ours(text or "")
    if ours is not None:
        write_crontab(without_ours(text or ""))
    return ours
