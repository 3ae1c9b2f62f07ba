"""Every log row goes through the one masking function: a password or token in a
message never reaches the Logs table, on either database."""

import uuid

import pytest

from openorch.database import LogLevel
from openorch.store import Store

SECRET = f"pw-{uuid.uuid4().hex}"

FORMS = {
    "user:password URL": f"postgresql+psycopg://robot:{SECRET}@db.example/rpa",
    "password= in a query": f"postgresql+psycopg://robot@db/rpa?sslmode=require&password={SECRET}",
    "PWD= in ODBC": f"DRIVER={{ODBC Driver 18}};SERVER=h;UID=robot;PWD={SECRET};",
    "odbc_connect": f"mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BUID%3Dr%3BPWD%3D{SECRET}",
    "git URL with a token": f"cloning https://robot:{SECRET}@git.example/rpa.git failed",
    "git URL with a bare token": f"fetch https://{SECRET}@github.com/org/rpa.git",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_secret_form_is_masked_in_the_logs(store: Store, form: str) -> None:
    store.create_log("masking", LogLevel.INFO, None, f"before {FORMS[form]} after")
    (log,) = store.get_logs(process_name="masking")
    assert SECRET not in log.log_message
    assert "***" in log.log_message
    assert log.log_message.startswith("before ") and log.log_message.endswith(" after")


def test_a_message_without_secrets_is_stored_as_given(store: Store) -> None:
    message = "ssh://git@git.example/rpa.git; user@example.com; a=b&c=d; 100% done"
    store.create_log("masking", LogLevel.INFO, None, message)
    (log,) = store.get_logs(process_name="masking")
    assert log.log_message == message
