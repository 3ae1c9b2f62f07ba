"""One error hierarchy for the data layer, kept so by walking the source: every exception
class of store/ lives in store/errors.py, and no store module raises a bare built-in
exception (a `ValueError` the API cannot tell from any other, answered 422 where a
missing row should be 404)."""

import ast
import builtins
import importlib
import inspect
from pathlib import Path

import pytest

from openorch.store import Store, errors

STORE = Path(__file__).resolve().parents[2] / "src" / "openorch" / "store"

#: Built-in exception classes by name (ValueError, RuntimeError, TypeError, KeyError...).
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if inspect.isclass(value) and issubclass(value, BaseException)
}

#: register_run's lost races end as an `OperationalError` (the Scheduler retries it as a
#: passing outage), whose `orig` argument is a plain exception carrying the detail. (A
#: `__getattr__` raises AttributeError anywhere: that is Python's protocol.)
#: audit.snapshot given something that is neither a row nor a mapping is a programming
#: error (TypeError), not bad input; so is a lazily loaded mixin that breaks the
#: features' rules (features.load).
ALLOWED = {
    ("audit.py", "TypeError"),
    ("features.py", "TypeError"),
    ("runs/schedulers.py", "Exception"),
}


def _modules() -> list[Path]:
    """Every module of store/, its rooms (runs/, queues/, alerts/, ops/) included."""
    return sorted(STORE.rglob("*.py"))


def _where(path: Path) -> str:
    """The module's path under store/ ("runs/schedulers.py")."""
    return path.relative_to(STORE).as_posix()


def _bare_builtin_errors(path: Path) -> list[str]:
    """Lines that build or raise a built-in exception class: `raise ValueError(...)`,
    `raise KeyError`, `error = TypeError(...)`."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    protocol = {
        id(inner)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef) and function.name == "__getattr__"
        for inner in ast.walk(function)
    }
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            target = node.func.id
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name):
            target = node.exc.id
        if target == "AttributeError" and id(node) in protocol:
            continue
        where = _where(path) if path.is_relative_to(STORE) else path.name
        if target in BUILTIN_EXCEPTIONS and (where, target) not in ALLOWED:
            found.append((node.lineno, f"{where}:{node.lineno} {target}"))
    return [text for _line, text in sorted(found)]


@pytest.mark.parametrize("path", _modules(), ids=_where)
def test_no_bare_builtin_exception_is_raised(path: Path) -> None:
    found = _bare_builtin_errors(path)
    assert not found, (
        "raise a class of store/errors.py (BadInput, NotFound, ...) instead: " + ", ".join(found)
    )


@pytest.mark.parametrize("path", _modules(), ids=_where)
def test_every_store_exception_class_is_in_errors(path: Path) -> None:
    parts = path.relative_to(STORE).with_suffix("").parts
    name = ".".join(("openorch", "store", *(parts[:-1] if parts[-1] == "__init__" else parts)))
    module = importlib.import_module(name)
    defined_here = [
        value.__name__
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == name
        and name != "openorch.store.errors"
    ]
    assert not defined_here, f"{name} defines {defined_here}: move them to store/errors.py"


def test_the_walk_sees_a_bare_error(tmp_path: Path) -> None:
    """Guard against a vacuous pass."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f(x):\n    if x:\n        raise ValueError('no')\n    raise KeyError\n")
    assert _bare_builtin_errors(sample) == ["sample.py:3 ValueError", "sample.py:4 KeyError"]


def test_every_store_error_is_a_value_error_with_its_message() -> None:
    """The documented contract: bad input or a missing row is a ValueError, and code
    decides by class (NotFound -> 404 in the API), never by message text."""
    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    ]
    assert errors.NotFound in classes and errors.TransitionRefused in classes
    for cls in classes:
        assert issubclass(cls, errors.StoreError), cls


def test_moved_names_still_import_from_where_they_were() -> None:
    """Public names kept working: the classes moved, their old homes re-export them."""
    from openorch import store
    from openorch.store import backup, opening
    from openorch.store.ops import copying
    from openorch.store.queues import elements, pipelines
    from openorch.store.runs import state

    assert store.ConnectError is opening.ConnectError is errors.ConnectError
    assert store.LostElementError is pipelines.LostElementError is errors.LostElementError
    assert store.DuplicateReferenceError is elements.DuplicateReferenceError
    assert state.TransitionRefused is errors.TransitionRefused
    assert copying.CopyRefused is errors.CopyRefused and copying.CopyFailed is errors.CopyFailed
    assert backup.BackupError is errors.BackupError
    assert issubclass(errors.LostElementError, RuntimeError)
    assert issubclass(errors.CopyFailed, RuntimeError)


def test_a_missing_alert_channel_is_not_found(sqlite_db_url: str) -> None:
    """Looking up or deleting a channel that does not exist is NotFound (404 in the
    API), not a plain ValueError (422); a bad value stays BadInput."""
    store = Store(sqlite_db_url)
    try:
        with pytest.raises(errors.NotFound, match="No alert channel named 'nope'"):
            store.get_alert_channel("nope")
        with pytest.raises(errors.NotFound):
            store.delete_alert_channel("nope")
        with pytest.raises(errors.BadInput, match="kind must be one of"):
            store.save_alert_channel("x", "carrier pigeon")
    finally:
        store.close()
