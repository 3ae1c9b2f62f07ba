"""How the SDK modules reuse the data layer's signatures and docstrings instead of
writing them out again: the data layer (`openorch.store.Store`) is the one source."""

import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def signature_without_self(method: Callable[..., Any]) -> inspect.Signature:
    """A method's signature as a module function's (without `self`)."""
    signature = inspect.signature(method)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def documented_by(method: Callable[..., Any]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Give a hand-written wrapper the data layer method's docstring."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        function.__doc__ = method.__doc__
        return function

    return decorate
