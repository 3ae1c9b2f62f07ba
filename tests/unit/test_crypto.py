"""Credential encryption: Fernet keys, round trips, and the messages for wrong keys."""

import pytest

from openorch.crypto import Cipher, describe_encrypted_password, generate_key, validate_key


def test_round_trip_and_a_wrong_key_is_a_clear_error() -> None:
    key = generate_key()
    token = Cipher(key).encrypt("pässwörd")
    assert Cipher(key.decode()).decrypt(token) == "pässwörd"
    with pytest.raises(ValueError):
        Cipher(generate_key()).decrypt(token)


@pytest.mark.parametrize("bad", [None, "", "not a key", b"short", 42])
def test_bad_keys_are_refused(bad: object) -> None:
    assert not validate_key(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Cipher(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("password", ["", "x", "a" * 15, "a" * 16, "a" * 40])
def test_the_description_brackets_a_short_password_length(password: str) -> None:
    token = Cipher(generate_key()).encrypt(password)
    text = describe_encrypted_password(token)
    low, high = (int(n) for n in text.split(". ")[1].split(" ")[0].split("-"))
    assert text.startswith(f"{len(token)} encrypted bytes.")
    assert low <= len(password.encode()) <= high
