"""The original's module-level encryption functions, re-exported from openorch."""

from openorch.sdk.crypto_util import (
    decrypt_string,
    encrypt_string,
    generate_key,
    get_key,
    set_key,
    validate_key,
)

__all__ = [
    "decrypt_string",
    "encrypt_string",
    "generate_key",
    "get_key",
    "set_key",
    "validate_key",
]
