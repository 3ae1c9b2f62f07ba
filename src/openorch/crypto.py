"""Fernet encryption of credential passwords.

Fernet (AES-128-CBC + HMAC-SHA256) tokens written by the original OpenOrchestrator
decrypt here and the other way round. Keys are per-object (`Cipher`), never global, so
two connections with two keys can live in one process.
"""

from cryptography.fernet import Fernet, InvalidToken


def generate_key() -> bytes:
    """A new random key, urlsafe-base64 of 32 bytes, as `Fernet.generate_key()` makes."""
    return Fernet.generate_key()


def validate_key(key: str | bytes | None) -> bool:
    """True when `key` is a usable Fernet key."""
    try:
        Cipher(key)
    except ValueError:
        return False
    return True


class Cipher:
    """Encrypts and decrypts strings under one Fernet key.

    Raises:
        ValueError: when the key is missing or not a Fernet key (the message says so
            without repeating the key).
    """

    def __init__(self, key: str | bytes | None) -> None:
        if key is None or key == "" or key == b"":
            raise ValueError("No encryption key was given: an AES (Fernet) key is required.")
        if isinstance(key, str):
            key = key.strip().encode("ascii", errors="replace")
        if not isinstance(key, bytes):
            raise ValueError(f"The encryption key must be a string, not {type(key).__name__}.")
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "Invalid AES key: expected a urlsafe-base64 key of 32 bytes as made by "
                "`openorch key` or Fernet.generate_key()."
            ) from error
        self.key = key

    def encrypt(self, plain: str) -> str:
        """Encrypt a UTF-8 string into a Fernet token (text)."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by `encrypt` (or by the original).

        Raises:
            ValueError: when the token was made with another key or is damaged.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise ValueError(
                "The encryption key does not match: this credential was encrypted with "
                "another key (or its stored value is damaged)."
            ) from error
