"""The original OpenOrchestrator's module-level encryption API, over `openorch.crypto`.

Old tools call `set_key(key)` once and then `encrypt_string` / `decrypt_string` with no
key in sight, so this module keeps one current key. It is the only key that lives in
module state, and only for these old-style functions (and `db_util`'s credential
functions, which read it); `OrchestratorConnection` and `Store` carry their own keys.
Re-exported as `OpenOrchestrator.common.crypto_util`.
"""

from openorch.crypto import Cipher, generate_key, validate_key
from openorch.store.errors import BadInput, NoKey

__all__ = [
    "decrypt_string",
    "encrypt_string",
    "generate_key",
    "get_key",
    "set_key",
    "validate_key",
]

_key: str | bytes | None = None


def set_key(key: str | bytes | None) -> None:
    """Make `key` the key every later call of this module (and of `db_util`) uses;
    None forgets it. As in the original, the key is only checked when it is used
    (`validate_key` checks it now)."""
    global _key
    _key = key


def get_key() -> str | bytes | None:
    """The key last given to `set_key`, as it was given (None when none was set)."""
    return _key


def _current_cipher() -> Cipher:
    if not _key:
        raise NoKey(
            "No encryption key is set: call crypto_util.set_key(key) before encrypting "
            "or decrypting."
        )
    return Cipher(_key)


def encrypt_string(data: str) -> str:
    """Encrypt a string with the current key into a Fernet token (text), exactly as
    the original does: `Fernet(key).encrypt(data.encode()).decode()`.

    Raises:
        NoKey: no key is set (a RuntimeError, as in the original).
        BadInput: the key is not a Fernet key, or `data` is not a string.
    """
    if not isinstance(data, str):
        raise BadInput(f"Only strings can be encrypted, not {type(data).__name__}.")
    return _current_cipher().encrypt(data)


def decrypt_string(data: str) -> str:
    """Decrypt a Fernet token made with the current key (here or by the original).

    Raises:
        NoKey: no key is set (a RuntimeError, as in the original).
        KeyMismatch: the key does not match the token (a `cryptography.fernet.InvalidToken`,
            as in the original).
    """
    return _current_cipher().decrypt(data)
