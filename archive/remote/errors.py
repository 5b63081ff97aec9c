"""The ways a remote can fail, each with its exit code (README's table)."""

from __future__ import annotations

from ..errors import ArchiveError, Damaged

EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the bucket cannot be reached, or refuses us
EXIT_WRONG_KEY = 77  # EX_NOPERM: the key does not open this bucket's data


class RemoteUnavailable(ArchiveError):
    """The endpoint, the credentials or the bucket refused or failed (network, 403, 404)."""

    exit_code = EXIT_UNAVAILABLE


class WrongKey(ArchiveError):
    """The bucket's key-check object does not open with this key."""

    exit_code = EXIT_WRONG_KEY


class RemoteDamaged(Damaged):
    """Bytes from the bucket that fail authentication or their hash: refused, never stored."""
