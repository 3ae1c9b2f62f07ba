"""`Store`'s lazily loaded feature mixins (store/features.py) end up exactly where the
eager composition had them: same classes, same order, same method for every name."""

import importlib

from openorch.store import Store, features


def test_loaded_features_resolve_as_the_eager_composition_did() -> None:
    features.load()
    classes = [getattr(importlib.import_module(m), n) for m, n in features.FEATURES]
    mro = Store.__mro__
    assert [c for c in mro if c in classes] == classes
    eager_bases = tuple(
        base for base in Store.__bases__ if base is not features.LazyFeatures
    ) + tuple(classes)
    eager = type("EagerStore", eager_bases, {})
    names = {name for cls in classes for name in vars(cls) if not name.startswith("__")}
    assert names, "no feature methods found"
    for name in sorted(names):
        assert getattr(Store, name) is getattr(eager, name), name


def test_a_missing_name_is_still_an_attribute_error() -> None:
    features.load()
    try:
        Store.no_such_method  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("a missing name must raise AttributeError")
