"""`Store`'s lazily loaded feature mixins (store/features.py) end up exactly where the
eager composition had them: same classes, same order, same method for every name."""

import importlib
import inspect
import subprocess
import sys

from openorch.store import Store, features


def test_loaded_features_resolve_as_the_eager_composition_did() -> None:
    features.load()
    classes = [getattr(importlib.import_module(m), n) for m, n in features.FEATURES]
    mro = Store.__mro__
    assert [c for c in mro if c in classes] == classes
    # The feature mixins in LazyFeatures' place among Store's bases (the queue mixins the
    # Overview's and metrics' mixins build on come after it).
    eager_bases = tuple(
        cls
        for base in Store.__bases__
        for cls in (classes if base is features.LazyFeatures else [base])
    )
    eager = type("EagerStore", eager_bases, {})
    names = {name for cls in classes for name in vars(cls) if not name.startswith("__")}
    assert names, "no feature methods found"
    for name in sorted(names):
        # Statically: a classmethod gives a new bound method on every getattr.
        assert inspect.getattr_static(Store, name) is inspect.getattr_static(eager, name), name


def test_a_missing_name_is_still_an_attribute_error() -> None:
    features.load()
    try:
        Store.no_such_method  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("a missing name must raise AttributeError")


def test_threads_that_miss_at_once_all_find_the_feature() -> None:
    """A Scheduler's poll and its watchdog may both be first: each must get the method,
    not an AttributeError because the other thread was loading (a real failure)."""
    code = """
import threading
from openorch.store import Store
from openorch.store import features

results = []
start = threading.Barrier(8)
original = features.importlib.import_module

def slow(name):
    import time
    time.sleep(0.05)  # widen the window another thread can miss in
    return original(name)

features.importlib.import_module = slow

def look():
    start.wait()
    try:
        results.append(Store.get_pending_run_requests.__qualname__)
    except AttributeError as error:
        results.append(repr(error))

threads = [threading.Thread(target=look) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(sorted(set(results)))
"""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "['RunRequestStore.get_pending_run_requests']", result


def test_a_store_made_before_the_load_keeps_a_feature_s_state() -> None:
    """A Scheduler's Store exists before its first heartbeat loads the Scheduler mixin,
    whose per-store state must then still be there (it once lived in an `__init__` that
    such a Store never ran: every headless Scheduler failed to register)."""
    code = """
from openorch.store import Store, features
store = Store("sqlite://")
assert not features._loaded
store._clock_offsets["robot"] = 1.5
assert store._clock_offsets == {"robot": 1.5}
assert Store("sqlite://")._clock_offsets == {}
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr
