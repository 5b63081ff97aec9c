"""Claude Code's project-folder encoding, and joining paths that must stay inside a root.

Claude Code stores a session under ``projects/<encoded cwd>/``, where the encoding replaces
every character that is not an ASCII letter or digit with ``-`` (one for one, no collapsing).
It cannot be decoded reliably: the real project path comes from the ``cwd`` field of the lines.

Long names. Claude Code's ``sanitizePath`` (sessionStoragePortable.ts, seen in several public
copies of its source) cuts an encoded name longer than 200 characters to 200 and appends ``-``
and a hash of the *unencoded* path in base 36: ``Bun.hash`` (wyhash, seed 0, over the UTF-8
bytes) in the CLI, which is a Bun binary, but a 32-bit djb2 when the same code runs under
Node.js (npm installs, the Agent SDK). The same source then looks a long project up by the
200-character prefix when the exact name is missing, which is an admission that both forms
exist. So the folder name is ambiguous: :func:`project_folder` prefers a folder that already
exists in the target (under either form) and otherwise writes the Bun form. Unverified against
a running Claude Code; the hash values are checked against wyhash's and Bun's published vectors.

The JavaScript regex works on UTF-16 code units, so a character outside the BMP (an emoji)
becomes two dashes, and the 200 limit counts code units.

Safe joins. :func:`safe_join` and :func:`open_safe_dir` are how restore names and opens every
path it writes: no empty, ``.``, ``..``, absolute or NUL-holding part, and no symlink on the way
that leads outside the root, except at prefixes the caller allows (CCS links ``projects``).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import UsageError
from .roots import SESSION_ID, name_problem

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
MAX_SANITIZED_LENGTH = 200
_MASK64 = (1 << 64) - 1


class UnsafePath(UsageError):
    """A path that would leave the root it is meant to stay in (exit 2)."""


# -- encoding --------------------------------------------------------------------------------


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _sanitize(path: str) -> str:
    # One dash per UTF-16 code unit, as the JS regex (no ``u`` flag) replaces.
    return _NOT_ALNUM.sub(lambda m: "-" * _utf16_units(m.group()), path)


def encode_project_path(path: str) -> str:
    """``/home/me/my_app`` -> ``-home-me-my-app``, as Claude Code names the project folder.

    Names over 200 characters get the Bun (CLI) hash suffix; see :func:`project_folder`."""
    return project_folder_candidates(path)[0]


def project_folder_candidates(path: str) -> list[str]:
    """The names Claude Code may use for ``path``: one, or for long paths the Bun form then the
    Node.js form."""
    sanitized = _sanitize(path)
    if len(sanitized) <= MAX_SANITIZED_LENGTH:
        return [sanitized]
    head = sanitized[:MAX_SANITIZED_LENGTH]
    bun = _base36(wyhash(_js_utf8(path), 0))
    node = _base36(abs(djb2_js(path)))
    return [f"{head}-{bun}", f"{head}-{node}"]


def project_folder(path: str, existing: Iterable[str] = ()) -> str:
    """The folder name to write ``path``'s sessions under, given the names already in
    ``projects/``: an existing folder of either hash form wins (that Claude Code made it)."""
    candidates = project_folder_candidates(path)
    have = set(existing)
    for name in candidates:
        if name in have:
            return name
    return candidates[0]


PROJECT_DIR_NAME_ENV = "CLAUDE_CODE_PROJECT_DIR_NAME"
_DIR_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DEVICE_NAME = re.compile(r"^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)


def project_dir_override(environ: Mapping[str, str], with_config_dir: bool) -> str | None:
    """The one folder name Claude Code (2.1.328, read from its code) uses under ``projects/``
    instead of the encoded cwd: ``CLAUDE_CODE_PROJECT_DIR_NAME``, honoured only when the client
    runs with ``CLAUDE_CONFIG_DIR`` set (``with_config_dir``) and only for a plain name
    (letters, digits, ``_``, ``-``; at most 64; not a Windows device name). Else None."""
    name = environ.get(PROJECT_DIR_NAME_ENV)
    if not with_config_dir or not name or not _DIR_NAME.match(name) or _DEVICE_NAME.match(name):
        return None
    return name


def _js_utf8(text: str) -> bytes:
    # A JS string with a lone surrogate becomes U+FFFD when Bun converts it to UTF-8.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def djb2_js(text: str) -> int:
    """JS ``hash = ((hash << 5) - hash + charCodeAt(i)) | 0`` from 0: a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h = ((h << 5) - h + (data[i] | data[i + 1] << 8)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


_WY = (0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3)


def _mum(a: int, b: int) -> tuple[int, int]:
    x = a * b
    return x & _MASK64, x >> 64


def _mix(a: int, b: int) -> int:
    lo, hi = _mum(a, b)
    return lo ^ hi


def _r8(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _r4(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def wyhash(data: bytes, seed: int = 0) -> int:
    """wyhash "final v4" as in Zig's std.hash.Wyhash, which backs ``Bun.hash``."""
    n = len(data)
    s0 = seed ^ _mix(seed ^ _WY[0], _WY[1])
    if n <= 16:
        if n >= 4:
            quarter = (n >> 3) << 2
            end = n - 4
            a = (_r4(data, 0) << 32) | _r4(data, quarter)
            b = (_r4(data, end) << 32) | _r4(data, end - quarter)
        elif n > 0:
            a = (data[0] << 16) | (data[n >> 1] << 8) | data[n - 1]
            b = 0
        else:
            a = b = 0
    else:
        i = 0
        if n >= 48:
            s1 = s2 = s0
            while i + 48 < n:
                s0 = _mix(_r8(data, i) ^ _WY[1], _r8(data, i + 8) ^ s0)
                s1 = _mix(_r8(data, i + 16) ^ _WY[2], _r8(data, i + 24) ^ s1)
                s2 = _mix(_r8(data, i + 32) ^ _WY[3], _r8(data, i + 40) ^ s2)
                i += 48
            s0 ^= s1 ^ s2
        while i + 16 < n:
            s0 = _mix(_r8(data, i) ^ _WY[1], _r8(data, i + 8) ^ s0)
            i += 16
        a = _r8(data, n - 16)
        b = _r8(data, n - 8)
    a ^= _WY[1]
    b ^= s0
    a, b = _mum(a, b)
    return _mix(a ^ _WY[0] ^ n, b ^ _WY[1])


# -- names that become path parts -------------------------------------------------------------


def check_part(part: str, what: str = "path part") -> str:
    """One path component: refused when it could name anything but a child of its folder."""
    if "\x00" in part:
        raise UnsafePath(f"{what} {part!r} contains a NUL byte")
    if part in ("", ".", "..") or "/" in part:
        raise UnsafePath(f"{what} {part!r} is not a plain name")
    return part


def split_relative(rel: str) -> list[str]:
    """``a/b/c`` -> parts, refusing absolute paths, ``..``, ``.``, empty parts and NUL."""
    if "\x00" in rel:
        raise UnsafePath(f"path {rel!r} contains a NUL byte")
    if rel.startswith("/"):
        raise UnsafePath(f"path {rel!r} is absolute where a relative one is expected")
    return [check_part(p, f"part of {rel!r}") for p in rel.split("/")]


def check_session_id(value: str) -> str:
    """A session id (or a prefix of one) that is safe as a file and folder name; the message
    says what is wrong with one that is not."""
    problem = name_problem(value, SESSION_ID, 128)
    if problem:
        raise UnsafePath(
            f"invalid session id {value!r}: it {problem}",
            hint="letters, digits, '.', '_' or '-', as in the transcript's file name",
        )
    return value


def check_project_path(value: str) -> str:
    """An absolute project path for ``--project``, normalised and, when it exists, resolved
    (Claude Code encodes the realpath of its cwd)."""
    if "\x00" in value:
        raise UnsafePath("--project contains a NUL byte")
    if not value.startswith("/"):
        raise UnsafePath(f"--project must be an absolute path, got {value!r}")
    parts = value.split("/")
    if any(p in (".", "..") for p in parts):
        raise UnsafePath(
            f"--project {value!r} contains '.' or '..'", hint="give the real absolute path"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"--project {value!r} is not valid UTF-8") from None
    clean = "/" + "/".join(p for p in parts if p)
    return os.path.realpath(clean) if os.path.exists(clean) else clean


# -- joins that stay inside a root ------------------------------------------------------------


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _check_link(
    link: Path, prefix: str, real_root: str, allowed: list[str], link_ok: Mapping
) -> str:
    """Where the symlink ``link`` leads, refused unless inside the root or an allowed base."""
    real = os.path.realpath(link)
    bases = [*allowed, *(os.path.realpath(b) for b in link_ok.get(prefix, ()))]
    if not any(_inside(real, b) for b in bases):
        raise UnsafePath(f"{link} is a symlink to {real}, outside {real_root}")
    return real


def safe_join(root: Path, rel: str, *, link_ok: Mapping[str, Sequence[Path]] | None = None) -> Path:
    """``root/rel`` after checking that writing there stays inside ``root``.

    ``link_ok`` maps a relative prefix (``"projects"``) to folders a symlink at that prefix may
    lead into; any other symlink on the way must resolve inside the root (or inside a folder an
    allowed link led to). Missing parts are fine: they will be created."""
    link_ok = link_ok or {}
    parts = split_relative(rel)
    real_root = os.path.realpath(root)
    allowed = [real_root]
    current = Path(root)
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break
        except NotADirectoryError:
            raise UnsafePath(f"{current.parent} is not a folder") from None
        if stat.S_ISLNK(st.st_mode):
            real = _check_link(current, "/".join(parts[: i + 1]), real_root, allowed, link_ok)
            allowed.append(real)
            if i < len(parts) - 1 and not os.path.isdir(current):
                raise UnsafePath(f"{current} is not a folder")
        elif i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"{current} is not a folder")
    return Path(root).joinpath(*parts)


def open_safe_dir(
    root: Path,
    rel_dir: str,
    *,
    link_ok: Mapping[str, Sequence[Path]] | None = None,
    mode: int = 0o700,
) -> tuple[int, list[Path]]:
    """Open (creating with ``mode`` what is missing) the folder ``root/rel_dir`` one part at a
    time with ``O_NOFOLLOW``, so a symlink swapped in after :func:`safe_join` cannot redirect the
    write. A symlink is followed only where :func:`safe_join`'s rule allows it, and only if the
    folder opened is the one it resolved to. Returns the fd and the folders created."""
    link_ok = link_ok or {}
    parts = split_relative(rel_dir) if rel_dir else []
    real_root = os.path.realpath(root)
    allowed = [real_root]
    created: list[Path] = []
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(root, flags)
    current = Path(root)
    try:
        for i, part in enumerate(parts):
            current = current / part
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                    created.append(current)
                except FileExistsError:
                    pass
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                real = _check_link(current, "/".join(parts[: i + 1]), real_root, allowed, link_ok)
                allowed.append(real)
                nxt = os.open(part, flags, dir_fd=fd)
                want = os.stat(real)
                got = os.fstat(nxt)
                if (got.st_dev, got.st_ino) != (want.st_dev, want.st_ino):
                    os.close(nxt)
                    raise UnsafePath(f"{current} changed while it was being opened")
            elif stat.S_ISDIR(st.st_mode):
                try:
                    nxt = os.open(part, flags | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafePath(f"{current} changed while it was being opened") from None
                    raise
            else:
                raise UnsafePath(f"{current} is not a folder")
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd, created
