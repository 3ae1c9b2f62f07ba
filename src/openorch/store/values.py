"""Constants and credentials."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openorch.database import Constant, Credential
from openorch.store import errors
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, Duplicate, NotFound

T = TypeVar("T")
Named = TypeVar("Named", Constant, Credential)


def _label(model: type[Constant] | type[Credential]) -> str:
    return model.__name__.lower()


def _lookup_name(model: type[Constant] | type[Credential], name: object) -> str:
    """Check a name used to look a row up, so a wrong type or an unstorable character
    is a ValueError here rather than a driver error (or a SQLAlchemy warning) later."""
    checked = v.check_text(model, "name", name)
    assert checked is not None
    return checked


class ValueStore(StoreCore):
    """Named constants and encrypted credentials."""

    def _write_new(self, work: Callable[[Session], T], duplicate: str) -> T:
        """`_write` for an insert by name: another program inserting the same name between
        our check and our commit is a `Duplicate` too, not a driver error."""
        try:
            return self._write(work)
        except IntegrityError as error:
            if isinstance(error, Duplicate):
                raise
            raise Duplicate(duplicate) from error

    # --- by name: constants and credentials share one way to get, add, change, delete ---

    def _get_named(self, model: type[Named], name: object) -> Named:
        key = _lookup_name(model, name)
        row = self._read(lambda session: session.get(model, key))
        if row is None:
            raise NotFound(f"No {_label(model)} named {key!r} exists.")
        return row

    def _all_named(self, model: type[Named]) -> tuple[Named, ...]:
        return self._read(
            lambda session: tuple(session.scalars(select(model).order_by(model.name)))
        )

    def _add_named(self, row: Named) -> Named:
        duplicate = f"A {_label(type(row))} named {row.name!r} already exists."

        def work(session: Session) -> Named:
            if session.get(type(row), row.name) is not None:
                raise Duplicate(duplicate)
            session.add(row)
            return row

        return self._write_new(work, duplicate)

    def _change_named(self, model: type[Named], name: object, **values: object) -> None:
        key = _lookup_name(model, name)

        def work(session: Session) -> None:
            row = session.get(model, key)
            if row is None:
                raise NotFound(f"No {_label(model)} named {key!r} exists.")
            for field, value in {**values, "changed_at": datetime.now()}.items():
                setattr(row, field, value)

        self._write(work)

    def _delete_named(self, model: type[Named], name: object) -> None:
        key = _lookup_name(model, name)

        def work(session: Session) -> None:
            row = session.get(model, key)
            if row is None:
                raise NotFound(f"No {_label(model)} named {key!r} exists.")
            session.delete(row)

        self._write(work)

    # --- constants ----------------------------------------------------------------

    def get_constant(self, name: str) -> Constant:
        """The constant called `name`.

        Raises:
            ValueError: no such constant, or `name` is not a valid name.
        """
        return self._get_named(Constant, name)

    def get_constants(self) -> tuple[Constant, ...]:
        """Every constant, sorted by name."""
        return self._all_named(Constant)

    def create_constant(self, name: str, value: str) -> Constant:
        """Create a constant.

        Raises:
            ValueError: a field is invalid, or a constant with this name exists.
        """
        return self._add_named(
            Constant(
                name=v.check_text(Constant, "name", name),
                value=v.check_text(Constant, "value", value, required=False) or "",
                changed_at=datetime.now(),
            )
        )

    def update_constant(self, name: str, new_value: str) -> None:
        """Give a constant a new value and stamp `changed_at`.

        Raises:
            ValueError: bad value, or no such constant.
        """
        value = v.check_text(Constant, "value", new_value, required=False) or ""
        self._change_named(Constant, name, value=value)

    def delete_constant(self, name: str) -> None:
        """Delete a constant.

        Raises:
            ValueError: no such constant.
        """
        self._delete_named(Constant, name)

    # --- credentials --------------------------------------------------------------

    def get_credential(self, name: str, decrypt_password: bool = True) -> Credential:
        """The credential called `name`, its password decrypted unless asked not to.

        Raises:
            ValueError: no such credential; no key set; the key does not match.
        """
        credential = self._get_named(Credential, name)
        if decrypt_password:
            credential.password = self.cipher.decrypt(credential.password)
        return credential

    def get_credentials(self) -> tuple[Credential, ...]:
        """Every credential, sorted by name, passwords still encrypted."""
        return self._all_named(Credential)

    def key_matches(self) -> bool:
        """True when the key decrypts a stored credential, or there are none to try.

        Checked when a program opens the database, so an admin hears about a wrong key
        at Connect instead of from a failing robot at night.
        """
        with self._reads() as session:
            token = session.scalars(select(Credential.password).limit(1)).first()
        if token is None:
            return True
        try:
            self.cipher.decrypt(token)
        except errors.KeyMismatch:  # built on first use: no cryptography at import
            return False
        return True

    def _encrypt(self, password: object) -> str:
        if not isinstance(password, str):
            raise BadInput(f"password must be a string, not {type(password).__name__}.")
        v.check_storable("password", password)
        token = self.cipher.encrypt(password)
        limit = v.column_length(Credential, "password")
        if len(token) > limit:
            raise BadInput(
                f"password is too long: it is {len(token)} characters once encrypted, the "
                f"limit is {limit} (about {int((limit - 100) / 20 * 16)} characters of password)."
            )
        return token

    def create_credential(self, name: str, username: str, password: str) -> Credential:
        """Create a credential; the password is encrypted with the store's key.

        Raises:
            ValueError: a field is invalid, no key set, or the name exists.
        """
        return self._add_named(
            Credential(
                name=v.check_text(Credential, "name", name),
                username=v.check_text(Credential, "username", username, required=False) or "",
                password=self._encrypt(password),
                changed_at=datetime.now(),
            )
        )

    def update_credential(self, name: str, new_username: str, new_password: str) -> None:
        """Replace a credential's username and password.

        Raises:
            ValueError: a field is invalid, no key set, or no such credential.
        """
        _lookup_name(Credential, name)  # a bad name is refused before the password is used
        username = v.check_text(Credential, "username", new_username, required=False) or ""
        token = self._encrypt(new_password)
        self._change_named(Credential, name, username=username, password=token)

    def delete_credential(self, name: str) -> None:
        """Delete a credential.

        Raises:
            ValueError: no such credential.
        """
        self._delete_named(Credential, name)
