"""The one masking function: every secret form is hidden, everything else kept."""

import pytest
import sqlalchemy as sa

from openorch.masking import HIDDEN, escape_controls, for_terminal, mask
from openorch.store import mask as store_mask

SECRET = "s3cr3t-Value"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # user:password in a SQLAlchemy URL (a password holding '@' too)
        (f"postgresql+psycopg://robot:{SECRET}@db.example:5432/rpa", "robot:***@db.example"),
        (f"postgresql+psycopg://robot:{SECRET}@x@db.example/rpa", "robot:***@db.example"),
        # password= and PWD= in query strings and ODBC strings, any case
        (f"postgresql+psycopg://robot@h/rpa?sslmode=require&password={SECRET}", "sslmode=require"),
        (f"mssql+pyodbc://h/db?driver=ODBC+Driver+18&PWD={SECRET}&Encrypt=yes", "Encrypt=yes"),
        (f"DRIVER={{ODBC Driver 18}};SERVER=h;UID=robot;Pwd={{{SECRET};x}}}}y}};", "UID=robot"),
        # odbc_connect, URL-encoded
        (
            f"mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Drobot%3BPWD%3D{SECRET}%3B",
            "UID%3Drobot",
        ),
        # git URLs: user:token and a bare token as the user
        (f"cloning 'https://robot:{SECRET}@git.example/rpa.git' failed", "robot:***@git.example"),
        (f"https://{SECRET}@github.com/org/repo.git", "https://***@github.com"),
        # in a sentence, with other words around
        (f"Login refused (token={SECRET}) for user robot", "for user robot"),
    ],
)
def test_each_secret_form_is_masked(text: str, kept: str) -> None:
    masked = mask(text)
    assert SECRET not in masked and SECRET.lower() not in masked.lower()
    assert HIDDEN in masked
    assert kept in masked
    assert mask(masked) == masked  # idempotent


def test_text_without_secrets_is_unchanged() -> None:
    for text in (
        "ssh://git@git.example/rpa.git",
        "git@git.example:rpa.git",
        "sqlite:////home/me/openorch.db",
        "a=b&c=d",
        "bypass=1",
        "user@example.com",
    ):
        assert mask(text) == text


def test_a_url_object_and_the_store_export_are_the_same_function() -> None:
    url = sa.make_url(f"postgresql+psycopg://robot:{SECRET}@h/rpa?password={SECRET}")
    assert SECRET not in mask(url)
    assert store_mask is mask


def test_control_characters_are_escaped_for_terminals() -> None:
    name = "evil\x1b[2J\x1b]0;owned\x07\rname\nnext\x9b"
    shown = escape_controls(name)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert shown == "evil\\x1b[2J\\x1b]0;owned\\x07\\rname\\nnext\\x9b"
    assert escape_controls("plain näme ✓") == "plain näme ✓"
    assert for_terminal(f"https://u:{SECRET}@h/\x1b") == "https://u:***@h/\\x1b"


#: Passwords SQLAlchemy accepts unencoded that an expression stopping at '/', '?', '#'
#: or a space once printed in clear (issue 23, F3).
AWKWARD_PASSWORDS = ["Sl/ash-Secret-99", "Qu?ery-Secret-99", "Ha#sh-Secret-99", "Spa ce-Secret-99"]


@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
@pytest.mark.parametrize(
    "template",
    [
        "postgresql+psycopg://rpa2:{pw}@127.0.0.1:56432/rpa2",
        "postgresql://rpa2:{pw}@db.example/rpa2?sslmode=require",
        "mssql+pyodbc://robot:{pw}@sql.example/rpa?driver=ODBC+Driver+18+for+SQL+Server",
        "Database from the environment: postgresql+psycopg://rpa2:{pw}@127.0.0.1:56432/rpa2",
        "The database server is unreachable (postgresql://rpa2:{pw}@h:1/rpa2): timeout",
    ],
)
def test_passwords_with_url_delimiters_are_masked(template: str, password: str) -> None:
    text = template.format(pw=password)
    masked = mask(text)
    for piece in password.replace("?", " ").replace("/", " ").replace("#", " ").split():
        assert piece not in masked, masked
    assert "rpa2:***@" in masked or "robot:***@" in masked
    assert mask(masked) == masked


@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
def test_a_whole_connection_string_is_masked_from_sqlalchemys_own_parse(password: str) -> None:
    text = f"postgresql+psycopg://rpa2:{password}@127.0.0.1:56432/rpa2"
    parsed = sa.make_url(text)
    assert parsed.password == password  # what SQLAlchemy would send is exactly what is hidden
    assert mask(text) == parsed.render_as_string(hide_password=True)
