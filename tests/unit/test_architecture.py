"""The layer rules of docs/architecture.md, checked on the source: what may import what.

A failure here names the module and the import that breaks a rule; fix the design rather
than the test (move the query into the data layer, the formatting into the UI).
"""

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "openorch"

#: Layer -> module prefixes it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The data layer knows nothing of the programs or their UIs.
    "openorch.store": (
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
        "fastapi",
    ),
    "openorch.database": (
        "openorch.store",
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
    ),
    # Alerts (rules, channels, the watchdog) run inside headless Schedulers, over the
    # data layer: no UI, no Scheduler internals.
    "openorch.alerts": (
        "openorch.orchestrator",
        "openorch.scheduler",
        "openorch.sdk",
        "nicegui",
        "tkinter",
        "sqlalchemy.orm",
        "sqlalchemy.sql",
    ),
    # The Scheduler's engine runs headless: no UI toolkit outside its window.
    "openorch.scheduler": ("openorch.orchestrator", "nicegui"),
    # The SDK is imported by every RPA process: no UI, no Scheduler.
    "openorch.sdk": ("openorch.orchestrator", "openorch.scheduler", "nicegui", "tkinter"),
    # The HTTP API is a UI too: data through the data layer only, no other UI's code.
    "openorch.api": (
        "openorch.orchestrator",
        "nicegui",
        "tkinter",
        "sqlalchemy.orm",
        "sqlalchemy.sql",
    ),
    # The Orchestrator's UI talks to the database only through the data layer.
    "openorch.orchestrator": ("openorch.scheduler", "tkinter", "sqlalchemy.orm", "sqlalchemy.sql"),
    # A popup is opened by tabs; it never reaches back into one (shared rows and tables
    # live in orchestrator/rows.py, log_table.py, widgets.py).
    "openorch.orchestrator.popups": ("openorch.orchestrator.tabs",),
}

#: UI modules may use SQLAlchemy only for its error classes (to word a message).
UI_SQLALCHEMY_ALLOWED = {"sqlalchemy.exc"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + (1 if path.name == "__init__.py" else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [alias.name for alias in node.names]))
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda path: _module_name(path))
def test_layer_rules(path: Path) -> None:
    module = _module_name(path)
    window = module == "openorch.scheduler.window"  # the one place Tk belongs
    broken = []
    for line, imported, names in _imports(path):
        for layer, forbidden in FORBIDDEN.items():
            if not (module == layer or module.startswith(layer + ".")):
                continue
            for prefix in forbidden:
                if window and prefix == "tkinter":
                    continue
                if imported == prefix or imported.startswith(prefix + "."):
                    broken.append(f"line {line}: imports {imported}")
        ui_sql = module.startswith(("openorch.orchestrator", "openorch.api")) and (
            imported == "sqlalchemy" or imported.startswith("sqlalchemy.")
        )
        if ui_sql and imported not in UI_SQLALCHEMY_ALLOWED and not set(names) <= {"exc"}:
            broken.append(f"line {line}: UI code imports {imported} {names}")
    assert not broken, f"{module} breaks the layer rules: " + "; ".join(broken)


def test_the_rules_see_real_imports() -> None:
    """Guard against a vacuous pass: the walker finds the imports we know are there."""
    imports = {imported for _, imported, _ in _imports(PACKAGE / "store" / "core.py")}
    assert "sqlalchemy" in imports and "openorch.store.engine" in imports


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """Like `_imports`, but only imports that run: those inside functions count (they run
    on first call), those under `if TYPE_CHECKING:` do not."""
    here = _module_name(path).split(".")
    found: list[tuple[int, str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + (1 if path.name == "__init__.py" else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """module -> {module it imports: line}, over src/openorch.

    `from a import b` is an edge to module `a.b` when that is a module, else to `a`.
    Importing `a.b.c` also runs the packages `a` and `a.b` (their `__init__`), so those
    are edges too, except a module's own enclosing packages (already running when it is
    imported): that is how `store.errors` imported back from `crypto` made a circle
    through `store/__init__.py`.
    """
    modules = {_module_name(path): path for path in _sources()}
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for line, base, names in _runtime_imports(path):
            targets = [f"{base}.{name}" for name in names if f"{base}.{name}" in modules]
            if (len(targets) < len(names) or not names) and base in modules:
                targets.append(base)
            for target in list(targets):
                parts = target.split(".")
                for end in range(1, len(parts)):
                    package = ".".join(parts[:end])
                    own = module == package or module.startswith(package + ".")
                    if package in modules and not own:
                        targets.append(package)
            for target in targets:
                if target != module:
                    edges.setdefault(target, line)
        graph[module] = edges
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm,
    iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, list(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, list(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    inside = set(component)
    edges = [
        f"{module} -> {target} (line {line})"
        for module in component
        for target, line in sorted(graph[module].items())
        if target in inside
    ]
    return "; ".join(edges)


def test_no_import_circles() -> None:
    """No two modules import each other, directly or through others, counting imports
    inside functions (a lazy import is still a circle a reader must untangle). A lazy
    import kept for start-up time says so in a comment."""
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles: " + " | ".join(_describe(c, graph) for c in found)


def test_the_circle_check_sees_circles() -> None:
    """Guard against a vacuous pass: a made-up graph's circles are found, and the real
    graph holds a function-level and a package-level edge we know of."""
    made_up = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}, "e": {"e": 1}}
    assert circles(made_up) == [["a", "b", "c"]]
    graph = import_graph()
    assert "openorch.store.migrate" in graph["openorch.store.opening"]  # inside a function
    assert "openorch.store" in graph["openorch.crypto"]  # the package of store.keys


def _store_modules() -> list[Path]:
    """Every module of store/, the rooms' (queues/, runs/, alerts/, ops/) included; a
    room's `__init__.py` holds only its docstring (the rule), so the map names the room."""
    store = PACKAGE / "store"
    return [
        path
        for path in sorted(store.rglob("*.py"))
        if path.name != "__init__.py" or path.parent == store
    ]


def test_every_store_module_is_on_the_architecture_map() -> None:
    """docs/architecture.md maps every store module (module, mixin, tables, callers),
    named by its path under store/ (`core.py`, `queues/claim.py`)."""
    doc = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("## The data layer, module by module", 1)[1].split("\n## ", 1)[0]
    missing = [
        where
        for where in (path.relative_to(PACKAGE / "store").as_posix() for path in _store_modules())
        if f"| `{where}` |" not in section
    ]
    assert not missing, f"add these to docs/architecture.md's data-layer map: {missing}"


#: The rooms of the data layer and what each may import inside store/ (docs/architecture.md,
#: "The rooms of the data layer"). A module's room is its subpackage of store/; the flat
#: modules are the shared "core"; `store/__init__.py` and `features.py` are the "facade"
#: that assembles `Store`. An entry is a whole room or one module of it
#: ("queues.lifecycle"); a room may always import itself. Imports inside functions and
#: under `if TYPE_CHECKING:` count: a lazy import is still a dependency.
ROOMS: dict[str, frozenset[str]] = {
    # Assembles Store: loads every room (alerts and ops only lazily, features.py).
    "facade": frozenset({"core", "queues", "runs", "alerts", "ops"}),
    # Shared by every room: knows none of them. (`opening.py` names the facade's `Store`
    # as a type only; test_no_import_circles keeps a run-time import out.)
    "core": frozenset({"core", "facade"}),
    # A queue knows nothing of triggers, jobs or alerts.
    "queues": frozenset({"core"}),
    # The end of a job releases the queue elements it held; never the other way round.
    "runs": frozenset({"core", "queues.lifecycle"}),
    # Read-only: the database's clock (`runs.state.database_now`) and the one way to read
    # a queue's oldest NEW element (`queues.claim.oldest_new_created`).
    "alerts": frozenset({"core", "runs.state", "queues.claim"}),
    # Figures and chores that span the installation: may read queues and runs (the
    # alerts are read through their tables, not their modules: only the facade loads them).
    "ops": frozenset({"core", "queues", "runs"}),
}

#: The facade's modules (the core's other flat modules are "core").
FACADE = {"openorch.store", "openorch.store.features"}


def room_of(module: str) -> tuple[str, str]:
    """(room, room.module) of a store module: ("queues", "queues.claim"),
    ("core", "core.engine"), ("facade", "facade")."""
    if module in FACADE:
        return "facade", "facade"
    parts = module.split(".")[2:]
    if len(parts) == 1 and parts[0] not in ROOMS:
        return "core", f"core.{parts[0]}"
    return parts[0], ".".join(parts[:2])


def _store_imports(path: Path) -> list[tuple[int, str]]:
    """(line, store module) for every import of a store module in the file, at any depth
    (module level, inside functions, under TYPE_CHECKING); `from openorch.store import x`
    is module `openorch.store.x` when that is a module, else the facade."""
    modules = {_module_name(source) for source in _sources()}
    found: list[tuple[int, str]] = []
    for line, base, names in _imports(path):
        if not (base == "openorch.store" or base.startswith("openorch.store.")):
            continue
        targets = [f"{base}.{name}" for name in names if f"{base}.{name}" in modules]
        if len(targets) < len(names) or not names:
            targets.append(base)
        found.extend((line, target) for target in targets)
    return found


def rooms_broken(module: str, imports: list[tuple[int, str]]) -> list[str]:
    """The imports of `module` (a store module) that its room may not make."""
    room, _ = room_of(module)
    allowed = ROOMS[room]
    broken = []
    for line, target in imports:
        target_room, target_module = room_of(target)
        if target_room == room or target_room in allowed or target_module in allowed:
            continue
        broken.append(f"line {line}: {room} imports {target} ({target_room})")
    return broken


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "store").rglob("*.py")), ids=lambda path: _module_name(path)
)
def test_the_rooms_of_the_data_layer(path: Path) -> None:
    """Each store module imports only what its room may (ROOMS)."""
    module = _module_name(path)
    room, _ = room_of(module)
    assert room in ROOMS, f"{module}: store/{room}/ is a new room; add it to ROOMS and the docs"
    broken = rooms_broken(module, _store_imports(path))
    assert not broken, f"{module} breaks the rule between the rooms: " + "; ".join(broken)


def test_the_room_rule_sees_a_broken_rule() -> None:
    """Guard against a vacuous pass: the walker finds the imports we know are there, and
    an import the table forbids is reported."""
    state = _store_imports(PACKAGE / "store" / "runs" / "state.py")
    assert any(target == "openorch.store.queues.lifecycle" for _, target in state)
    assert not rooms_broken("openorch.store.runs.state", state)
    assert rooms_broken("openorch.store.queues.elements", [(1, "openorch.store.runs.state")])
    assert rooms_broken("openorch.store.runs.jobs", [(1, "openorch.store.queues.elements")])
    assert rooms_broken("openorch.store.core", [(1, "openorch.store.alerts.config")])
    assert rooms_broken("openorch.store.queues.claim", [(1, "openorch.store.ops.metrics")])
    assert not rooms_broken("openorch.store.ops.metrics", [(1, "openorch.store.runs.state")])
    assert rooms_broken("openorch.store.ops.metrics", [(1, "openorch.store.alerts.config")])
    # function-level imports count: copying reads the Schedulers' health inside one
    copying = _store_imports(PACKAGE / "store" / "ops" / "copying.py")
    assert "openorch.store.runs.schedulers" in {target for _, target in copying}
