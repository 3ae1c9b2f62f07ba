"""Fernet keys and credential encryption, under the name they have always had.

The code lives in the data layer (`openorch.store.keys`: its errors are the data
layer's, and the data layer encrypts); the password description every screen shows
lives with the `Credential` model (`openorch.database.constants`). While this module
held both, it and the data layer imported each other.
"""

from openorch.database.constants import describe_encrypted_password
from openorch.store.keys import KEY_BYTES, Cipher, generate_key, validate_key

__all__ = ["KEY_BYTES", "Cipher", "describe_encrypted_password", "generate_key", "validate_key"]
