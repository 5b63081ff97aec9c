"""Errors that carry their exit code.

The library raises these; the CLI prints ``error: <message>`` (and the hint) on one line of
stderr and exits with ``exit_code``. Anything else that escapes is a bug: the CLI reports it in
one line too, with the traceback only when ``ARCHIVE_DEBUG=1``.
"""

from __future__ import annotations

import errno
import functools

# Exit codes, documented in the README. 65, 74 and 75 are EX_DATAERR, EX_IOERR and EX_TEMPFAIL
# from sysexits.h: cron and scripts know them as "bad data", "I/O trouble", "try again later".
EXIT_OK = 0
EXIT_FAILURE = 1  # some files failed, damage found, no search hit
EXIT_USAGE = 2  # bad arguments, unknown or ambiguous session
EXIT_EXISTS = 3  # restore target already exists
EXIT_DAMAGED = 65  # archive data cannot be read: the catalog (`archive repair`), the index
EXIT_IO = 74  # the disk is full, or reading/writing the archive failed
EXIT_LOCKED = 75  # another ingest holds the archive lock


class ArchiveError(Exception):
    """A failure the user can act on; ``str()`` is the one-line message."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ArchiveError):
    exit_code = EXIT_USAGE


class SessionNotFound(UsageError):
    """No session matches the id, prefix or name given."""


class AmbiguousSession(UsageError):
    """Several sessions match; ``candidates`` lists them for the user to pick."""

    def __init__(self, message: str, candidates: list, **kw):
        super().__init__(message, **kw)
        self.candidates = candidates


class ArchiveLocked(ArchiveError):
    exit_code = EXIT_LOCKED


class TargetExists(ArchiveError):
    exit_code = EXIT_EXISTS


class IndexOutOfDate(ArchiveError):
    """The index on disk was built with another schema version: ``archive reindex`` fixes it."""


class Damaged(ArchiveError):
    """Archived bytes that fail their check (an object, a version): named, never returned."""


class CatalogDamaged(ArchiveError):
    """The catalog cannot be used (missing beside objects, empty, garbled): never re-created
    over an archive's history; ``archive repair`` rebuilds it from the snapshot manifests."""

    exit_code = EXIT_DAMAGED

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(
            message,
            hint=hint or "run `archive repair` to rebuild it from the snapshot manifests",
            exit_code=exit_code,
        )


class StorageError(ArchiveError):
    """The archive's disk refused a read or write (full, quota, I/O error)."""

    exit_code = EXIT_IO


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def from_environment(exc: BaseException, where: str = "the archive") -> ArchiveError | None:
    """The user-facing error for a failure of the machine rather than of the program: a full
    disk, an I/O error, a catalog that SQLite cannot read. None for anything else (a bug).

    The message never quotes the exception text beyond SQLite's and the OS's own words, which
    hold no transcript content."""
    import sqlite3

    if isinstance(exc, ArchiveError):
        return exc
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return StorageError(
            f"no space left on the disk of {where}",
            hint="free some space and run the command again; nothing recorded was lost",
        )
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return StorageError(
            f"input/output error in {where}", hint="check the disk, then run `archive verify`"
        )
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "disk is full" in text:
            return StorageError(
                "no space left on the disk of the catalog",
                hint="free some space and run the command again; nothing recorded was lost",
            )
        if "disk I/O error" in text:
            return StorageError(
                "input/output error in the catalog", hint="check the disk, then `archive verify`"
            )
        return None
    if isinstance(exc, sqlite3.DatabaseError):  # not a database, malformed image, …
        return CatalogDamaged(f"the catalog is damaged ({exc})")
    return None


def environment_errors(fn):
    """Decorate a library entry point so a full disk, an I/O error or a garbled catalog leaves
    it as the ArchiveError saying so (exit 65/74), not as a bug."""
    import sqlite3

    @functools.wraps(fn)
    def wrapped(*a, **kw):
        try:
            return fn(*a, **kw)
        except (OSError, sqlite3.Error) as exc:
            known = from_environment(exc)
            if known is None:
                raise
            raise known from None

    return wrapped


class IndexDamaged(ArchiveError):
    """The index cannot be read (a truncated or garbled segment): derived data, so ``archive
    reindex`` rebuilds it from the archive."""

    exit_code = EXIT_DAMAGED
