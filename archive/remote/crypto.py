"""Keys, names and sealing for the bucket: the bucket sees only ciphertext and keyed names.

- A remote's key is 32 random bytes, written ``sa1-<base64url>``. Two subkeys come from it by
  HKDF-SHA256: one names things (HMAC-SHA256), one seals them (AES-256-GCM).
- An object is named by the HMAC of its plaintext SHA-256, never by the SHA-256 itself, so the
  bucket cannot confirm a guess ("does anyone hold this file?") by looking for its hash.
- Sealed bytes are ``SA1`` + a random 96-bit nonce + AES-GCM ciphertext and tag; the associated
  data is the object's key in the bucket, so bytes moved to another name do not open.
- A key-check object (a sealed known text) tells a wrong key from damaged data.

All primitives are ``cryptography``'s and the standard library's; nothing here is home-made
beyond choosing them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from .errors import RemoteDamaged, WrongKey

KEY_PREFIX = "sa1-"
MAGIC = b"SA1"
NONCE = 12
KEYCHECK = "keycheck"
_KEYCHECK_TEXT = b"session-archive remote key check, format 1"


def new_key() -> str:
    return KEY_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def parse_key(text: str) -> bytes:
    """The 32 key bytes of ``sa1-…``; anything else is a usage error."""
    from ..errors import UsageError

    text = text.strip()
    raw = None
    if text.startswith(KEY_PREFIX):
        body = text[len(KEY_PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raw = None
    if raw is None or len(raw) != 32:
        raise UsageError(
            "not a remote key", hint="give the text `archive remote key NAME` prints (sa1-…)"
        )
    return raw


class Keys:
    """The naming and sealing subkeys of one remote key."""

    def __init__(self, key_text: str):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        master = parse_key(key_text)

        def derive(info: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

        self._names = derive(b"session-archive/remote/v1/names")
        self._aead = AESGCM(derive(b"session-archive/remote/v1/seal"))

    def name(self, kind: str, value: str) -> str:
        """A keyed name: HMAC-SHA256 of ``kind:value``, hex."""
        return hmac.new(self._names, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def seal(self, data: bytes, where: str) -> bytes:
        nonce = os.urandom(NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, where.encode())

    def open(self, blob: bytes, where: str) -> bytes:
        """The plaintext of ``blob`` stored at ``where``; RemoteDamaged when it does not
        authenticate (altered, truncated, moved, or sealed with another key)."""
        from cryptography.exceptions import InvalidTag

        if len(blob) < len(MAGIC) + NONCE + 16 or not blob.startswith(MAGIC):
            raise RemoteDamaged(f"{where} is not sealed data (truncated or foreign)")
        nonce = blob[len(MAGIC):len(MAGIC) + NONCE]
        try:
            return self._aead.decrypt(nonce, blob[len(MAGIC) + NONCE:], where.encode())
        except InvalidTag:
            raise RemoteDamaged(f"{where} does not authenticate (altered or truncated)") from None

    def keycheck_blob(self, where: str) -> bytes:
        return self.seal(_KEYCHECK_TEXT, where)

    def check(self, blob: bytes, where: str, remote: str) -> None:
        try:
            ok = self.open(blob, where) == _KEYCHECK_TEXT
        except RemoteDamaged:
            ok = False
        if not ok:
            raise WrongKey(
                f"the key of remote {remote!r} does not open this bucket's data",
                hint="use the key `archive remote key` prints on a machine that pushed here: "
                "`archive remote remove`, then `archive remote add … --key KEY`",
            )
