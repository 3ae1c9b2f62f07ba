"""Fernet encryption of credential passwords, and the one rule of what a key is.

Part of the data layer (its errors are the data layer's); `openorch.crypto` re-exports
these names under the name they have always had.

Fernet (AES-128-CBC + HMAC-SHA256) tokens written by the original OpenOrchestrator
decrypt here and the other way round. Keys are per-object (`Cipher`), never global, so
two connections with two keys can live in one process.

`cryptography` is imported on first encryption, not at import time: most processes
never touch a credential, and the SDK's import time is part of every process start.
The key is still checked up front (a Fernet key is urlsafe base64 of exactly 32 bytes,
the same test `Fernet(key)` makes).
"""

import base64
import binascii
from typing import TYPE_CHECKING

from openorch.store import errors
from openorch.store.errors import BadInput

if TYPE_CHECKING:
    # Lazy: cryptography loads on first key use (SDK start-up time).
    from cryptography.fernet import Fernet

#: Length of the raw key Fernet needs (16 bytes signing + 16 bytes encryption).
KEY_BYTES = 32

_INVALID_KEY = (
    "Invalid AES key: expected a urlsafe-base64 key of 32 bytes as made by "
    "`openorch key` or Fernet.generate_key()."
)


def generate_key() -> bytes:
    """A new random key, urlsafe-base64 of 32 bytes, as `Fernet.generate_key()` makes."""
    # Lazy: cryptography loads on first key use (SDK start-up time).
    from cryptography.fernet import Fernet

    return Fernet.generate_key()


def validate_key(key: str | bytes | None) -> bool:
    """True when `key` is a usable Fernet key."""
    try:
        Cipher(key)
    except ValueError:
        return False
    return True


def _bad_key(message: str) -> ValueError:
    return BadInput(message)


def _key_bytes(key: object) -> bytes:
    """The key as ASCII bytes after the checks `Fernet(key)` would make.

    Raises:
        BadInput: missing, mistyped or malformed key (never repeating the key).
    """
    if key is None or key == "" or key == b"":
        raise _bad_key("No encryption key was given: an AES (Fernet) key is required.")
    if isinstance(key, str):
        try:
            key = key.strip().encode("ascii")
        except UnicodeEncodeError as error:
            raise _bad_key(_INVALID_KEY) from error
    if not isinstance(key, bytes):
        raise _bad_key(f"The encryption key must be a string, not {type(key).__name__}.")
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError) as error:
        raise _bad_key(_INVALID_KEY) from error
    if len(raw) != KEY_BYTES:
        raise _bad_key(_INVALID_KEY)
    return key


class Cipher:
    """Encrypts and decrypts strings under one Fernet key.

    Raises:
        ValueError: when the key is missing or not a Fernet key (the message says so
            without repeating the key).
    """

    def __init__(self, key: str | bytes | None) -> None:
        self.key: bytes = _key_bytes(key)
        self._fernet_instance: Fernet | None = None

    @property
    def _fernet(self) -> "Fernet":
        if self._fernet_instance is None:
            # Lazy: cryptography loads on first key use (SDK start-up time).
            from cryptography.fernet import Fernet

            try:
                self._fernet_instance = Fernet(self.key)
            except ValueError as error:  # a spelling the checks above let through
                raise _bad_key(_INVALID_KEY) from error
        return self._fernet_instance

    def encrypt(self, plain: str) -> str:
        """Encrypt a UTF-8 string into a Fernet token (text), as the original does:
        `Fernet(key).encrypt(plain.encode()).decode()`."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by `encrypt` (or by the original).

        Raises:
            KeyMismatch: when the token was made with another key or is damaged (a
                ValueError and a `cryptography.fernet.InvalidToken`).
        """
        # Lazy: cryptography loads on first key use (SDK start-up time).
        from cryptography.fernet import InvalidToken

        mismatch = (
            "The encryption key does not match: this credential was encrypted with "
            "another key (or its stored value is damaged)."
        )
        if not isinstance(token, str | bytes):
            raise errors.KeyMismatch(mismatch)
        try:
            data = token.encode("ascii") if isinstance(token, str) else token
            return self._fernet.decrypt(data).decode("utf-8")
        except (InvalidToken, UnicodeError, TypeError) as error:
            raise errors.KeyMismatch(mismatch) from error
