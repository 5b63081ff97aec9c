"""Errors that carry their exit code.

The library raises these; the CLI prints ``error: <message>`` (and the hint) on one line of
stderr and exits with ``exit_code``. Anything else that escapes is a bug: the CLI reports it in
one line too, with the traceback only when ``ARCHIVE_DEBUG=1``.
"""

from __future__ import annotations

# Exit codes, documented in the README. 75 is EX_TEMPFAIL from sysexits.h: cron and scripts know
# it as "try again later".
EXIT_OK = 0
EXIT_FAILURE = 1  # some files failed, damage found, no search hit
EXIT_USAGE = 2  # bad arguments, unknown or ambiguous session
EXIT_EXISTS = 3  # restore target already exists
EXIT_DAMAGED = 65  # EX_DATAERR: archive data cannot be read (the search index: `archive reindex`)
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


class IndexDamaged(ArchiveError):
    """The index cannot be read (a truncated or garbled segment): derived data, so ``archive
    reindex`` rebuilds it from the archive."""

    exit_code = EXIT_DAMAGED
