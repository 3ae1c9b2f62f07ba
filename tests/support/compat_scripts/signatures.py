"""Print the public call signatures of the `OpenOrchestrator` package that is importable:
every public function of `db_util` and `crypto_util`, every public method of
`OrchestratorConnection`, and `to_row_dict`/`format_password` of the ORM classes.

One JSON object: {"own": [names defined by the package itself, not imported into it],
"signatures": {"db_util.get_logs": [[name, kind, default or null, has_default], ...]}}.
Defaults are compared by `repr`, annotations are not (openorch's are wider on purpose).
"""

import importlib
import inspect
import json
import types

from OpenOrchestrator.common import crypto_util
from OpenOrchestrator.database import db_util
from OpenOrchestrator.database.constants import Constant, Credential
from OpenOrchestrator.database.jobs import Job
from OpenOrchestrator.database.logs import Log
from OpenOrchestrator.database.queues import QueueElement
from OpenOrchestrator.database.schedulers import Scheduler
from OpenOrchestrator.database.triggers import QueueTrigger, ScheduledTrigger, SingleTrigger
from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection


def describe(function: object) -> list[list[object]]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [
        [
            p.name,
            p.kind.name,
            None if p.default is inspect.Parameter.empty else repr(p.default),
            p.default is not inspect.Parameter.empty,
        ]
        for p in parameters
    ]


def public_functions(module: object) -> dict[str, object]:
    # dir(), not vars(): a module may make its functions on first access (PEP 562, with
    # its own __dir__), as openorch's db_util does.
    values = {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}
    return {name: value for name, value in values.items() if inspect.isfunction(value)}


def main() -> None:
    found: dict[str, list[list[object]]] = {}
    own: list[str] = []
    for label, module in (("db_util", db_util), ("crypto_util", crypto_util)):
        for name, function in public_functions(module).items():
            found[f"{label}.{name}"] = describe(function)
            if function.__module__ == module.__name__:  # type: ignore[attr-defined]
                own.append(f"{label}.{name}")
    for name in dir(OrchestratorConnection):
        if name.startswith("_") and name != "__init__":
            continue
        member = inspect.getattr_static(OrchestratorConnection, name)
        if isinstance(member, classmethod):
            found[f"OrchestratorConnection.{name}"] = describe(member.__func__)
        elif inspect.isfunction(member):
            found[f"OrchestratorConnection.{name}"] = describe(member)
        else:
            continue
        own.append(f"OrchestratorConnection.{name}")
    for model in (
        Constant,
        Credential,
        Job,
        Log,
        QueueElement,
        Scheduler,
        SingleTrigger,
        ScheduledTrigger,
        QueueTrigger,
    ):
        for name in ("to_row_dict", "format_password"):
            if hasattr(model, name):
                found[f"{model.__name__}.{name}"] = describe(getattr(model, name))
                own.append(f"{model.__name__}.{name}")
    print(
        json.dumps({"own": sorted(own), "signatures": found, "surface": surface()}, sort_keys=True)
    )


#: The modules scripts and tools import (the original's GUI apps are not offered).
MODULES = (
    "OpenOrchestrator.common.crypto_util",
    "OpenOrchestrator.common.datetime_util",
    "OpenOrchestrator.database.base",
    "OpenOrchestrator.database.constants",
    "OpenOrchestrator.database.data_types.string_list",
    "OpenOrchestrator.database.db_util",
    "OpenOrchestrator.database.jobs",
    "OpenOrchestrator.database.logs",
    "OpenOrchestrator.database.queues",
    "OpenOrchestrator.database.schedulers",
    "OpenOrchestrator.database.triggers",
    "OpenOrchestrator.database.truncated_string",
    "OpenOrchestrator.orchestrator_connection.connection",
)


def surface() -> dict[str, dict[str, list[str]]]:
    """Per module: every public name ("all") and those whose value comes from the package
    itself ("own": classes, functions, its modules), not from SQLAlchemy or the stdlib."""
    found = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = [name for name in dir(module) if not name.startswith("_")]
        own = []
        for name in names:
            value = getattr(module, name)
            origin = (
                value.__name__
                if isinstance(value, types.ModuleType)
                else getattr(value, "__module__", "") or ""
            )
            if origin.startswith("OpenOrchestrator"):
                own.append(name)
        found[module_name] = {"all": sorted(names), "own": sorted(own)}
    return found


if __name__ == "__main__":
    main()
